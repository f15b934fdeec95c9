// pinlab fuzz without a kernel: the generator (deterministic, well-formed, covering every call
// and memory kind with valid and invalid arguments), the encoding, the model side, the
// comparison, shrinking, and the scenario a divergence is written as (it runs and passes on the
// model when the "kernel" results are the model's own).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { firstDifference, pageTainted, taintedPages, type Explained } from '../../src/fuzz/compare.js';
import { COVERAGE_BEGIN, COVERAGE_END, coverageTable } from '../../src/fuzz/doc.js';
import { decodeProgram, encodeProgram, parseResultLine } from '../../src/fuzz/encode.js';
import { generateProgram, generatedOps } from '../../src/fuzz/generate.js';
import { runOnModel } from '../../src/fuzz/model.js';
import { BASE, CALLS, MEM_KINDS, PAGE, type Program } from '../../src/fuzz/program.js';
import { scenarioYaml } from '../../src/fuzz/scenario.js';
import { shrinkProgram, wellFormed } from '../../src/fuzz/shrink.js';
import { modelBackend } from '../../src/scenario/model-backend.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const backend = modelBackend();
const CAPS = { blkdev: true, ioUring: true };
const MACHINE = { normal: 64 << 20, thp: 'never', use_zero_page: false, gup_fast: false };
const tmp = mkdtempSync(join(tmpdir(), 'pinlab-fuzz-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** anon mmap of 8 pages, write 4, O_DIRECT read 4 pages into it, register 2 pages, unregister. */
const SIMPLE: Program = decodeProgram('0;M 0 0 0 8 3 2;T 0 0 0 4 1 77;R 0 0 0 0 16384 0;I 0 0 0 8192 1;J 0;T 0 0 6 1 0 0');

describe('fuzz: the generator', () => {
  test('program i of seed s is the same whenever it is made, and seeds differ', () => {
    for (let i = 0; i < 20; i++) assert.deepEqual(generateProgram(5, i, CAPS), generateProgram(5, i, CAPS));
    const a = Array.from({ length: 20 }, (_, i) => encodeProgram(generateProgram(5, i, CAPS)));
    const b = Array.from({ length: 20 }, (_, i) => encodeProgram(generateProgram(6, i, CAPS)));
    assert.ok(a.filter((x, i) => x !== b[i]).length >= 19);
  });
  test('every program is well formed: child calls between fork and exit, one fork', () => {
    for (let i = 0; i < 2000; i++) assert.ok(wellFormed(generateProgram(11, i, CAPS).calls), encodeProgram(generateProgram(11, i, CAPS)));
  });
  test('2000 programs use every call, every memory kind, bad addresses, misaligned buffers and lengths', () => {
    const ops = new Set<string>();
    const kinds = new Set<number>();
    let bad = 0;
    let misaligned = 0;
    let badAdvice = 0;
    for (let i = 0; i < 2000; i++) {
      for (const c of generateProgram(3, i, CAPS).calls) {
        ops.add(c.op);
        if (c.op === 'M') kinds.add(c.a[1]!);
        if (['U', 'P', 'A', 'T', 'R', 'W', 'I', 'S'].includes(c.op) && c.a[c.op === 'R' || c.op === 'W' ? 1 : 0] === -1) bad++;
        if ((c.op === 'R' || c.op === 'W') && (c.a[2]! % 512 !== 0 || c.a[3]! % 512 !== 0)) misaligned++;
        if (c.op === 'A' && c.a[3] === 99) badAdvice++;
      }
    }
    assert.deepEqual([...ops].sort(), [...generatedOps(CAPS), 'M'].filter((x, i, s) => s.indexOf(x) === i).sort());
    assert.equal(kinds.size, MEM_KINDS.length);
    assert.ok(bad > 50 && misaligned > 100 && badAdvice > 10, `bad ${bad} misaligned ${misaligned} bad advice ${badAdvice}`);
    assert.deepEqual([...new Set(CALLS.map((c) => c.op))].sort(), [...ops].sort(), 'every call of the table is generated');
  });
  test('without io_uring no ring call is generated', () => {
    for (let i = 0; i < 300; i++) for (const c of generateProgram(1, i, { blkdev: false, ioUring: false }).calls) assert.ok(!['I', 'J', 'C'].includes(c.op));
  });
});

describe('fuzz: encoding', () => {
  test('a program survives encode/decode', () => {
    for (let i = 0; i < 200; i++) {
      const p = generateProgram(9, i, CAPS);
      assert.deepEqual(decodeProgram(encodeProgram(p)), p);
    }
  });
  test('result lines: calls, facts per task and slot, the balance; failures', () => {
    const r = parseResultLine('4|0,0,0;16384,4,4|p.0=1f0,z,. c.2=4d|4,4');
    assert.deepEqual(r.calls, [{ ret: 0, dA: 0, dR: 0 }, { ret: 16384, dA: 4, dR: 4 }]);
    assert.deepEqual(r.facts, { 'parent.0': ['1f0', 'z', '.'], 'child.2': ['4d'] });
    assert.deepEqual(r.end, { dA: 4, dR: 4 });
    assert.equal(parseResultLine('5|!crash 11').failure, 'crash 11');
    assert.throws(() => parseResultLine('x|y'), /unreadable result line/);
  });
});

describe('fuzz: the model side', () => {
  test('a simple program: the rets and pin deltas the kernel shows, and the pages', () => {
    const m = runOnModel(backend, SIMPLE, { profile: '6.12.113', machine: MACHINE, blkdev: false });
    assert.equal(m.result.failure, undefined);
    assert.deepEqual(m.result.calls, [
      { ret: 0, dA: 0, dR: 0 }, { ret: 0, dA: 0, dR: 0 }, { ret: 16384, dA: 4, dR: 4 }, { ret: 0, dA: 2, dR: 0 }, { ret: 0, dA: 0, dR: 2 },
      { ret: 0, dA: 0, dR: 0 },
    ]);
    // 4 pages hold the file's token (the DIO read), page 6 the zero page (a read fault), the rest absent.
    assert.deepEqual(m.result.facts['parent.0'], ['1f0', '1f0', '1f0', '1f0', '.', '.', 'z', '.']);
    assert.deepEqual(m.result.end, { dA: 6, dR: 6 });
  });
  test("copy_from_user() through a present PROT_NONE PTE: -EFAULT on x86, the bytes under UML's software walk (uml-6.12 seed 11 p16)", () => {
    // A read-faulted memfd page made PROT_NONE, then process_vm_writev() from it (the local side is copy_from_user()).
    const p = decodeProgram('16;M 0 1 4 4 1 0;T 0 1 0 2 0 0;F 0;P 0 1 0 4 0;M 1 6 4 12 3 0;Q 0 1 1 0 4096 6 0');
    const x86 = runOnModel(backend, p, { profile: '6.12.113', machine: MACHINE, blkdev: false }).result;
    const um = runOnModel(backend, p, { profile: '6.12.113', machine: { ...MACHINE, uml_uaccess: true }, blkdev: false }).result;
    assert.equal(x86.calls[5]!.ret, -14);
    assert.equal(um.calls[5]!.ret, 4096);
  });
  test('a short O_DIRECT write to the block device writes the rest through the page cache: x86 stops at the PROT_NONE page, UML copies it (uml-6.12 seed 11 p1030)', () => {
    const p = decodeProgram('1030;M 0 1 2 2 3 2;F 0;T 1 1 0 2 1 7075;P 1 1 1 1 0;W 1 1 1 0 8192 442368');
    const x86 = runOnModel(backend, p, { profile: '6.12.113', machine: MACHINE, blkdev: true }).result;
    const um = runOnModel(backend, p, { profile: '6.12.113', machine: { ...MACHINE, uml_uaccess: true }, blkdev: true }).result;
    assert.deepEqual(x86.calls[4], { ret: 4096, dA: 1, dR: 1 });
    assert.deepEqual(um.calls[4], { ret: 8192, dA: 1, dR: 1 });
  });
  test('1000 generated programs run on the model without a model error', () => {
    for (let i = 0; i < 1000; i++) {
      const p = generateProgram(21, i, CAPS);
      const m = runOnModel(backend, p, { profile: '6.1.176', machine: MACHINE, blkdev: true });
      assert.equal(m.result.failure, undefined, `${encodeProgram(p)}: ${m.result.failure}`);
      assert.equal(m.result.calls.length, p.calls.length);
      assert.equal(m.result.end.dA, m.result.end.dR, `unbalanced after teardown: ${encodeProgram(p)}`);
    }
  });
});

describe('fuzz: comparison', () => {
  const m = runOnModel(backend, SIMPLE, { profile: '6.12.113', machine: MACHINE, blkdev: false }).result;
  test('the same results: no difference; a pin more: the call, with both sides', () => {
    assert.equal(firstDifference(SIMPLE, m, m), null);
    const k = { ...m, calls: m.calls.map((c, i) => (i === 2 ? { ...c, dA: 5, dR: 5 } : c)) };
    const d = firstDifference(SIMPLE, k, m)!;
    assert.equal(d.kind, 'call');
    assert.equal(d.call, 2);
    assert.deepEqual(d.kernel, { ret: 16384, dA: 5, dR: 5 });
  });
  test('a page present on one side only is a facts difference; an unbalanced end an end difference', () => {
    const k = { ...m, facts: { 'parent.0': ['1f0', '1f0', '1f0', '1f0', '.', '.', '.', '.'] } };
    assert.equal(firstDifference(SIMPLE, k, m)!.kind, 'facts');
    assert.equal(firstDifference(SIMPLE, { ...m, end: { dA: 6, dR: 5 } }, m)!.kind, 'end');
  });
  test('a partial-page read makes its pages incomparable by token, not by presence', () => {
    const p = decodeProgram('1;M 0 0 0 4 3 0;R 0 0 0 512 4096 0');
    assert.deepEqual([...taintedPages(p)].sort(), ['0.0', '0.1']);
    assert.deepEqual([...taintedPages(decodeProgram('1;M 0 0 0 4 3 0;R 0 0 0 0 8192 0'))], []);
  });
  test("UML's stale host mapping (a child's load through no PTE succeeds, the guest's pagemap says not present) is explained only where asked", () => {
    const p = decodeProgram('59;M 0 4 0 1 3 0;A 0 4 0 1 10;T 0 4 0 1 0 3523;F 0;T 1 4 0 1 0 32979');
    const ok = { ret: 0, dA: 0, dR: 0 };
    const facts = { 'parent.4': ['z'], 'child.4': ['.'] };
    const kernel = { id: 59, calls: [ok, ok, ok, ok, ok], facts, end: { dA: 0, dR: 0 } };
    const model = { ...kernel, calls: [ok, ok, ok, ok, { ret: -14, dA: 0, dR: 0 }] };
    const ex: Explained[] = [];
    assert.equal(firstDifference(p, kernel, model, new Map(), ex, { staleMappings: true }), null);
    assert.deepEqual(ex, ['uml-stale-mapping']);
    assert.equal(firstDifference(p, kernel, model)!.call, 4, 'a real kernel: a divergence');
    // The guest kernel mapped the page: the load was the kernel's, a divergence everywhere.
    const mapped = { ...kernel, facts: { ...facts, 'child.4': ['z'] } };
    assert.equal(firstDifference(p, mapped, model, new Map(), [], { staleMappings: true })!.call, 4);
    // A store too (uml-6.1 seed 31337 p2380), but not when the child unmapped the slot afterwards.
    const store = decodeProgram('59;M 0 4 0 1 3 0;A 0 4 0 1 10;T 0 4 0 1 1 3523;F 0;T 1 4 0 1 1 32979');
    assert.equal(firstDifference(store, kernel, model, new Map(), [], { staleMappings: true }), null);
    const unmapped = decodeProgram('59;M 0 4 0 1 3 0;A 0 4 0 1 10;T 0 4 0 1 1 3523;F 0;T 1 4 0 1 1 32979;U 1 4 0 1');
    const k6 = { ...kernel, calls: [...kernel.calls, ok] };
    const m6 = { ...model, calls: [...model.calls, ok] };
    assert.equal(firstDifference(unmapped, k6, m6, new Map(), [], { staleMappings: true })!.call, 4);
  });
  test('a partial copy into a shared memfd slot taints that file page in every slot mapping it (uml-6.12 seed 4242 p566)', () => {
    // s4 and s1 both map the memfd from offset 0; s2 is private anonymous memory.
    const p = decodeProgram('1;M 0 4 4 6 3 0;M 0 1 4 3 3 0;M 0 2 0 4 3 0;R 0 0 1 8 4096 0');
    const t = taintedPages(p);
    assert.ok(pageTainted(t, p, 1, 0) && pageTainted(t, p, 1, 1));
    assert.ok(pageTainted(t, p, 4, 0) && pageTainted(t, p, 4, 1), 'the same memfd pages through the other slot');
    assert.ok(!pageTainted(t, p, 4, 2) && !pageTainted(t, p, 2, 0));
    // The block device's data read into an ext4-shared slot lands in f0: a later read of f0 is not comparable (uml-5.10 seed 31337 p588).
    const q = decodeProgram('1;M 0 5 3 4 3 0;M 0 0 0 4 3 0;R 0 1 5 0 4096 0;R 0 0 0 0 4096 0');
    assert.ok(pageTainted(taintedPages(q), q, 0, 0));
    assert.ok(!pageTainted(taintedPages(decodeProgram('1;M 0 5 0 4 3 0;M 0 0 0 4 3 0;R 0 1 5 0 4096 0;R 0 0 0 0 4096 0')), q, 0, 0), 'an anonymous slot keeps it to itself');
  });
});

describe('fuzz: shrinking', () => {
  test('drops every call the predicate does not need and halves sizes', async () => {
    const p = generateProgram(2, 7, CAPS);
    const calls = [{ op: 'M', task: 0 as const, a: [0, 0, 16, 3, 0] }, ...p.calls, { op: 'W', task: 0 as const, a: [0, 0, 0, 16 * PAGE, 0] }];
    const big: Program = { id: 7, calls };
    let batches = 0;
    const has = (q: Program) => q.calls.some((c) => c.op === 'W' && c.a[3]! >= PAGE);
    const s = await shrinkProgram(big, async (cands) => {
      batches++;
      return cands.map(has);
    });
    assert.ok(has(s.program));
    assert.equal(s.program.calls.length, 1);
    assert.equal(s.program.calls[0]!.a[3], PAGE);
    assert.equal(s.rounds, batches);
  });
});

describe('fuzz: the scenario of a divergence', () => {
  test('written from a run, with that run as the "kernel", it passes on the model', () => {
    const p = decodeProgram('3;M 0 0 0 8 3 2;T 0 0 0 4 1 77;F 0;Q 1 0 0 0 8192 0 0;T 1 0 2 2 1 9;W 0 0 0 4096 8192 0;I 0 0 0 8192 2;X 1;T 0 0 6 1 0 0');
    const m = runOnModel(backend, p, { profile: '6.12.113', machine: MACHINE, blkdev: false });
    assert.equal(m.result.failure, undefined);
    const yaml = scenarioYaml(p, m.result, m, {
      name: 'fuzz-selftest', kernel: 'uml-6.12', release: '6.12.113', profile: '6.12.113', seed: 1, machine: MACHINE, difference: null, original: 3,
    });
    assert.match(yaml, new RegExp(`0x${BASE.toString(16)}`));
    const file = join(tmp, 'self.yaml');
    writeFileSync(file, yaml);
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/pinlab.js'), 'run', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    // And with one expectation changed (a pin more than the model takes) it fails.
    writeFileSync(file, yaml.replace(/nr_foll_pin_acquired:\n {10}delta: 4/, 'nr_foll_pin_acquired:\n          delta: 5'));
    const bad = spawnSync(process.execPath, [join(ROOT, 'bin/pinlab.js'), 'run', file], { encoding: 'utf8' });
    assert.equal(bad.status, 1, bad.stdout + bad.stderr);
  });
});

describe('fuzz: docs/fuzz.md', () => {
  test('its coverage table is the one the generator tables give (npm run docs:fuzz)', () => {
    const doc = readFileSync(join(ROOT, 'docs/fuzz.md'), 'utf8');
    const a = doc.indexOf(COVERAGE_BEGIN);
    const b = doc.indexOf(COVERAGE_END);
    assert.ok(a >= 0 && b > a, 'coverage markers');
    assert.equal(doc.slice(a + COVERAGE_BEGIN.length, b).trim(), coverageTable().trim(), 'run npm run docs:fuzz');
  });
});

describe('fuzz: the command line', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/pinlab.js'), 'fuzz', ...args], { encoding: 'utf8' });
  test('usage errors exit 2 and say what is wrong', () => {
    let r = run('--kernel', 'nope');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no kernel named 'nope'/);
    r = run('--kernel', 'host', '--programs', 'x');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--programs must be a whole number/);
    r = run('--programs', '3');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /give --kernel once/);
    r = spawnSync(process.execPath, [join(ROOT, 'bin/pinlab.js'), 'run', '--programs', '3', 'x.yaml'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--programs only applies to fuzz/);
  });
});

describe('fuzz: the open divergences', () => {
  // test/fuzz/open/: divergences pinlab fuzz found and shrank, not fixed yet (docs/fuzz.md lists
  // them). Each is a scenario of what the kernel did, so it fails on the model; when a fix makes
  // one pass, it belongs in scenarios/fuzz/ (the catalogue) and this test says so.
  const dir = join(ROOT, 'test/fuzz/open');
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml'))) {
    test(`${f} still fails on the model`, () => {
      const r = spawnSync(process.execPath, [join(ROOT, 'bin/pinlab.js'), 'run', join(dir, f)], { encoding: 'utf8' });
      assert.equal(r.status, 1, `${f} passes now (move it to scenarios/fuzz/ with the fix): ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /^FAIL /m);
    });
  }
});
