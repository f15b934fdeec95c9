// Issue 14 point 5: the language says what users mean — names pinlab does not model, hints for a
// failed call's -errno used later, -v's bound values, list's first sentences.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstSentence, main, type Io } from '../../src/cli/main.js';
import { ScenarioFileError } from '../../src/scenario/errors.js';
import { loadScenario } from '../../src/scenario/load.js';
import { modelBackend } from '../../src/scenario/model-backend.js';
import { runScenario } from '../../src/scenario/run.js';
import { NOT_MODELLED_CONSTANTS, NOT_MODELLED_OPS } from '../../src/scenario/not-modelled.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const backend = modelBackend();
const tmp = mkdtempSync(join(tmpdir(), 'pinlab-lang-'));

function errors(text: string): string[] {
  try {
    loadScenario(text, 'f.yaml', backend);
  } catch (e) {
    assert.ok(e instanceof ScenarioFileError);
    return e.diagnostics.map((d) => `${d.pos.line}:${d.pos.col}: ${d.message}`);
  }
  assert.fail('loaded without errors');
}

async function pinlab(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const io: Io = { out: (t) => { out += t; }, err: (t) => { out += t; }, env: {}, isTTY: false, cwd: ROOT };
  return { code: await main(args, io), out };
}

const MMAP = '  - mmap: { length: PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }\n    as: buf\n';

test('real kernel names pinlab does not model say "not modelled", not "unknown" with a did-you-mean to another call', () => {
  assert.deepEqual(errors(`name: t\nsteps:\n${MMAP}  - madvise: { addr: buf, length: PAGE_SIZE, advice: MADV_PAGEOUT }\n  - mremap: { addr: buf }\n`), [
    "5:54: name 'MADV_PAGEOUT' is not modelled: a real kernel constant (reclaiming a range) that pinlab does not model; `pinlab ops` lists what it models",
    "6:5: operation 'mremap' is not modelled: a real kernel call (moving or resizing a mapping) that pinlab does not model; `pinlab ops` lists what it models",
  ]);
  // a misspelling of a modelled name still gets its suggestion
  assert.match(errors(`name: t\nsteps:\n${MMAP}  - madvise: { addr: buf, length: PAGE_SIZE, advice: MADV_DONTNEDE }\n`)[0], /did you mean 'MADV_DONTNEED'/);
});

test('the not-modelled tables name nothing the model has', () => {
  for (const op of Object.keys(NOT_MODELLED_OPS)) assert.ok(!backend.ops.has(op) && !backend.queries.has(op), op);
  for (const c of Object.keys(NOT_MODELLED_CONSTANTS)) assert.ok(!Object.hasOwn(backend.constants, c), c);
});

test('a name bound to a failed call\'s -errno and used later gets a hint at the use', () => {
  const scn = loadScenario(`name: t
machine: { normal: 2M }
steps:
  - mmap: { length: 64G, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - write: { addr: buf, value: 1 }
    expect: { ret: -EFAULT }
  - mmap: { length: PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - write: { addr: buf, value: 1 }
`, 'f.yaml', backend);
  const r = runScenario(scn, backend)[0];
  assert.deepEqual(r.hints.map((h) => `${h.location.line}:${h.location.col}: ${h.message}`), [
    "6:20: step 2 write uses 'buf', which step 1 mmap bound to -ENOMEM: that call failed, so 'buf' is an error code, not an address",
  ]);
  assert.deepEqual(r.bound.map((b) => [b.step, b.name, typeof b.value]), [[1, 'buf', 'number'], [3, 'buf', 'number']]);
});

test('-v prints the values bound by as:; hints are printed without -v', async () => {
  const f = join(tmp, 'v.yaml');
  writeFileSync(f, `name: v\nsteps:\n${MMAP}  - write: { addr: buf, value: 1 }\n  - pin_user_pages: { start: buf, nr_pages: 1, gup_flags: FOLL_WRITE }\n    as: P\n  - unpin_user_pages: { pages: P }\n`);
  const v = await pinlab(['run', '-v', f]);
  assert.match(v.out, /\n {2}bound buf = 0x[0-9a-f]+ \(step 1 mmap\)\n/);
  assert.match(v.out, /\n {2}bound P = \[\d+\] \(step 3 pin_user_pages\)\n/);
  assert.doesNotMatch((await pinlab(['run', f])).out, /bound/);
  const g = join(tmp, 'g.yaml');
  writeFileSync(g, 'name: g\nmachine: { normal: 2M }\nsteps:\n  - mmap: { length: 64G, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }\n    as: buf\n  - read: { addr: buf }\n');
  assert.match((await pinlab(['run', g])).out, /HINT .*g\.yaml:6:19: step 2 read uses 'buf', which step 1 mmap bound to -ENOMEM/);
});

test('list prints whole first sentences', async () => {
  assert.equal(firstSentence('After fork, parent and child share the page. A read-only\nFOLL_PIN...'), 'After fork, parent and child share the page.');
  assert.equal(firstSentence('Since v5.4 the\nfirst line wraps. Second.'), 'Since v5.4 the first line wraps.');
  assert.equal(firstSentence('e.g. a tool, i.e. this one; no end'), 'e.g. a tool, i.e. this one; no end');
  const l = await pinlab(['list']);
  assert.match(l.out, /ro-pin-unshares-after-fork +\[[^\]]+\] +After fork, parent and child share the anonymous page read-only\.\n/);
});
