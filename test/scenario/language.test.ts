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

test('let: binds computed values in order; a later one may use an earlier one; -v shows them', async () => {
  const scn = loadScenario(`name: let
machine: { normal: 8M }
steps:
  - mmap: { length: 2*HPAGE_PMD_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - let: { huge: (buf + HPAGE_PMD_SIZE - 1) & ~(HPAGE_PMD_SIZE - 1), n: 4, last: huge + (n - 1)*PAGE_SIZE }
  - write: { addr: huge, length: n*PAGE_SIZE, value: 1 }
  - expect:
      - data: { addr: last }
        value: 1
`, 'f.yaml', backend);
  assert.equal(scn.steps[1].kind, 'let');
  const r = runScenario(scn, backend)[0];
  assert.ok(r.ok, JSON.stringify(r.verdicts));
  const b = Object.fromEntries(r.bound.map((x) => [x.name, x.value]));
  assert.equal(Number(b.huge) % (2 << 20), 0);
  assert.equal(b.last, Number(b.huge) + 3 * 4096);
  assert.deepEqual(errors(`name: t\nsteps:\n  - let: { x: y + 1 }\n  - let: { y: 2, PAGE_SIZE: 3 }\n  - let: 5\n  - let: { z: 1 }\n    as: w\n`), [
    "3:15: unknown name 'y'; it is bound by 'let:' at step 2, which comes later",
    "4:18: 'PAGE_SIZE' is a constant; choose another name",
    "5:10: let: takes a mapping of names to values ({addr: buf + PAGE_SIZE, n: 4}), found '5'",
    "7:5: unknown key 'as' in a let step (a let step has: let, note, profiles)",
  ]);
});

test('mark: a vmstat delta since a mark needs no earlier check of the same field', () => {
  const scn = loadScenario(`name: mark
profiles: ['5.9', current]
steps:
${MMAP}  - write: { addr: buf, value: 1 }
  - mark: before
  - pin_user_pages: { start: buf, nr_pages: 1, gup_flags: FOLL_WRITE|FOLL_LONGTERM }
    as: P
  - unpin_user_pages: { pages: P }
  - expect:
      - vmstat: {}
        nr_foll_pin_acquired: { delta: 1, since: before }
        nr_foll_pin_released: { delta: 1, since: before }
`, 'f.yaml', backend);
  for (const r of runScenario(scn, backend)) assert.ok(r.ok, `${r.profile}: ${JSON.stringify(r.verdicts.filter((v) => !v.ok))}`);
  assert.deepEqual(errors(`name: t\nsteps:\n  - expect:\n      - vmstat: {}\n        nr_foll_pin_acquired: { delta: 0, since: nomark }\n  - mark: m\n  - expect:\n      - zone: { zone: NORMAL }\n        free: { delta: 0, since: m }\n      - vmstat: {}\n        nr_foll_pin_released: { ge: 0, since: m }\n`), [
    "5:50: unknown mark 'nomark': a mark is taken by an earlier step `- mark: NAME`",
    "9:34: since: compares with a mark, and a mark records the vmstat counters: it applies to vmstat checks, not zone",
    "11:40: since: goes with delta ({delta: N, since: MARK}), not with 'ge'",
  ]);
});

test('create_file with content: its blocks are on disk, so an O_DIRECT read pins and copies them; without, it is holes (and ops says so)', () => {
  const text = (content: string) => `name: cf
steps:
  - create_file: { name: data, size: 2*PAGE_SIZE${content} }
  - open: { path: data, flags: O_RDONLY|O_DIRECT }
    as: fd
  - mmap: { length: 2*PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - mark: before
  - pread: { fd: fd, buf: buf, count: 2*PAGE_SIZE, offset: 0 }
    expect: { ret: 2*PAGE_SIZE }
  - expect:
      - vmstat: {}
        nr_foll_pin_acquired: { delta: PINNED, since: before }
      - data: { addr: buf + PAGE_SIZE }
        value: VALUE
`;
  const run = (t: string) => runScenario(loadScenario(t, 'f.yaml', backend), backend)[0];
  const full = run(text(', content: 7').replace('PINNED', '2').replace('VALUE', '7'));
  assert.ok(full.ok, JSON.stringify(full.verdicts.filter((v) => !v.ok)));
  const holes = run(text('').replace('PINNED', '0').replace('VALUE', '0'));
  assert.ok(holes.ok, JSON.stringify(holes.verdicts.filter((v) => !v.ok)));
  assert.match(backend.ops.get('create_file')!.summary, /Without content: it is all holes/);
  assert.throws(() => runScenario(loadScenario('name: t\nsteps:\n  - create_file: { name: d, size: PAGE_SIZE, content: 0 }\n', 'f.yaml', backend), backend),
    /content must be a token from 1 to 2\^32-1/);
});
