// Argument edges through the scenario language and the real model: usage errors are located
// (file:line:col of the argument or machine key), and negative ints reach the syscalls as the
// size_t values the kernel sees (docs/scenarios.md "Integers wider than 53 bits").

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScenarioFileError } from '../../src/scenario/errors.js';
import { loadScenario } from '../../src/scenario/load.js';
import { modelBackend } from '../../src/scenario/model-backend.js';
import { runScenario, type ScenarioResult } from '../../src/scenario/run.js';

const backend = modelBackend();

function run(text: string): ScenarioResult {
  const r = runScenario(loadScenario(text, 'e.yaml', backend), backend);
  assert.equal(r.length, 1);
  return r[0];
}

function runError(text: string): string {
  try {
    run(text);
  } catch (e) {
    assert.ok(e instanceof ScenarioFileError, String(e));
    return e.diagnostics.map((d) => `${d.pos.file}:${d.pos.line}:${d.pos.col}: ${d.message}`).join('\n');
  }
  assert.fail('ran without a ScenarioFileError');
}

test('a machine with no ZONE_NORMAL is an error at its key, with the reason', () => {
  const msg = runError('name: m\nmachine: { normal: 0 }\nsteps: []\n');
  assert.match(msg, /^e\.yaml:2:12: machine\.normal must be at least 2M \(one huge page\), not 0: ZONE_NORMAL serves/);
  assert.match(runError('name: m\nmachine:\n  normal: 1M\nsteps: []\n'), /^e\.yaml:3:3: machine\.normal must be at least 2M/);
  assert.match(runError('name: m\nmachine: { normal: 4M, movable: 100 }\nsteps: []\n'), /e\.yaml:2:24: machine\.movable must be a whole number of pages/);
  assert.ok(run('name: m\nmachine: { normal: 2M, movable: 0 }\nsteps: []\n').ok);
});

test('create_file with a size ftruncate() would refuse is an error at the argument', () => {
  const neg = runError('name: f\nsteps:\n  - create_file: { name: d, size: -1 }\n');
  assert.equal(neg, 'e.yaml:3:29: size must not be negative (ftruncate(fd, -1) is -EINVAL)');
  const big = runError('name: f\nsteps:\n  - create_file: { name: d, size: 16G * 1024 }\n');
  assert.match(big, /^e\.yaml:3:29: size 17592186044416 is past what ext4 can hold \(s_maxbytes 17592186040320; ftruncate\(\) would be -EFBIG\)/);
  assert.ok(run('name: f\nsteps:\n  - create_file: { name: d, size: 16G * 1024, fs: tmpfs }\n').ok);
  assert.match(runError('name: f\nsteps:\n  - create_blkdev: { name: d, size: -4096 }\n'), /e\.yaml:3:31: size must not be negative/);
});

test('the CPU store op write takes a length of at least 1', () => {
  const text = `name: w
steps:
  - mmap: { length: PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - write: { addr: buf, length: -1, value: 1 }
`;
  assert.match(runError(text), /^e\.yaml:5:25: length must be at least 1 \(a CPU store into \[addr, addr \+ length\)\), not -1/);
});

test('negative lengths are the size_t values the kernel sees (host: mmap -1 ENOMEM, madvise -1 EINVAL, munmap -4096 EINVAL)', () => {
  const r = run(`name: n
steps:
  - mmap: { length: -1, prot: PROT_READ, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    expect: { ret: -ENOMEM }
  - mmap: { length: -PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    expect: { ret: -ENOMEM }
  - mmap: { length: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - madvise: { addr: buf, length: -1, advice: MADV_DONTNEED }
    expect: { ret: -EINVAL }
  - munmap: { addr: buf, length: -PAGE_SIZE }
    expect: { ret: -EINVAL }
  - mprotect: { addr: buf, length: -1, prot: PROT_READ }
    expect: { ret: -ENOMEM }
`);
  assert.ok(r.ok, r.verdicts.filter((v) => !v.ok).map((v) => v.message).join('\n'));
});

test('nr_pages of the slow GUP calls is an unsigned long: a negative one is a usage error at the argument', () => {
  const text = `name: g
steps:
  - mmap: { length: PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - pin_user_pages: { start: buf, nr_pages: -1 }
`;
  assert.match(runError(text), /^e\.yaml:5:35: nr_pages is an unsigned long: -1 is 2\^64-1 pages/);
});

const OOM = `name: oom
machine: { normal: 2M }
steps:
  - mmap: { length: 1100*PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - write: { addr: buf, length: 1100*PAGE_SIZE, value: 1 }
    expect: { ret: -ENOMEM }
`;

test('an allocation that fails is reported where it happened (warn_alloc()), not as a WARN', () => {
  const r = runScenario(loadScenario(OOM, 'oom.yaml', backend), backend, { trace: true })[0];
  assert.ok(r.ok, r.verdicts.map((v) => v.message).join('\n'));
  assert.equal(r.warnings.length, 0, 'not a WARN');
  assert.equal(r.allocFailures.length, 1);
  const f = r.allocFailures[0];
  assert.equal(f.scenarioStep, 2);
  assert.equal(f.op, 'write');
  assert.equal(f.site, 'do_anonymous_page');
  assert.equal(f.message, 'page allocation failure: order:0, mode:GFP_HIGHUSER_MOVABLE in do_anonymous_page '
    + '(free pages: MOVABLE 0, CMA 0, NORMAL 0)');
  // ... and in the trace: the step's event lists it, and its notes carry it
  const events = (r.trace as { events: Array<{ op: string; allocFailures?: string[]; notes: string[] }> }).events;
  const ev = events.find((e) => e.op === 'write')!;
  assert.deepEqual(ev.allocFailures, [f.message]);
  assert.ok(ev.notes.includes(f.message));
});

test('a failure the caller expects (__GFP_NOWARN: a THP falling back to small pages) is only a trace note', () => {
  const r = runScenario(loadScenario(`name: thp-fallback
machine: { normal: 2M, thp: always }
steps:
  - mmap: { length: PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: small
  - write: { addr: small, value: 1 }
  - mmap: { length: 4M, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - write: { addr: buf, length: 3M, value: 1 }
    expect: { ret: 0 }
`, 'thp.yaml', backend), backend, { trace: true })[0];
  assert.ok(r.ok, r.verdicts.map((v) => v.message).join('\n'));
  assert.equal(r.allocFailures.length, 0);
  const notes = (r.trace as { events: Array<{ notes: string[] }> }).events.flatMap((e) => e.notes);
  assert.ok(notes.some((n) => /allocation failed, order:9, mode:GFP_HIGHUSER_MOVABLE\|__GFP_NOWARN in do_huge_pmd_anonymous_page .*falls back/.test(n)), notes.join('\n'));
});

test('past ten reports the rest are counted, as warn_alloc() is ratelimited', () => {
  const r = run(`name: many
machine: { normal: 2M }
steps:
  - mmap: { length: 1100*PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - write: { addr: buf, length: 1024*PAGE_SIZE, value: 1 }
${Array.from({ length: 12 }, (_, i) => `  - write: { addr: buf + ${1024 + i}*PAGE_SIZE, value: 1 }\n    expect: { ret: -ENOMEM }\n`).join('')}`);
  assert.ok(r.ok, r.verdicts.map((v) => v.message).join('\n'));
  assert.equal(r.allocFailures.length, 10);
  assert.equal(r.allocFailuresSuppressed, 2);
});
