import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ScenarioFileError } from '../../src/scenario/errors.js';
import { loadScenario } from '../../src/scenario/load.js';
import { renderValue, runScenario, type ScenarioResult } from '../../src/scenario/run.js';
import { FAKE_CONSTANTS, fakeBackend } from './fake-backend.js';

const backend = fakeBackend();

function run(text: string, opts: { profile?: string; trace?: boolean } = {}): ScenarioResult[] {
  return runScenario(loadScenario(text, 's.yaml', backend), backend, opts);
}

function one(text: string, profile?: string): ScenarioResult {
  const r = run(text, profile === undefined ? {} : { profile });
  assert.equal(r.length, 1);
  return r[0];
}

/** "description => ok|FAIL: message" for each verdict. */
function summary(r: ScenarioResult): string[] {
  return r.verdicts.map((v) => `${v.description} => ${v.ok ? 'ok' : `FAIL: ${v.message}`}`);
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

const HEAD = `name: t
tasks: [parent]
steps:
  - mmap: { length: 4*PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
`;

describe('runner verdicts', () => {
  test('ret, bindings, checks: passing and failing', () => {
    const r = one(`${HEAD}  - write: { addr: buf, length: 4*PAGE_SIZE, value: 7 }
    expect: { ret: 0 }
  - pin_user_pages_fast: { start: buf, nr_pages: 4, gup_flags: FOLL_LONGTERM }
    as: P
    expect: { ret: 4 }
  - pin_user_pages_fast: { start: 0x1000, nr_pages: 1 }
    expect: { ret: -EFAULT }
  - expect:
      - page: { addr: buf + PAGE_SIZE }
        refcount: 1025
        pincount: 1
        maybe_dma_pinned: true
      - pinned: { pages: P, index: 3 }
        pfn: P[3]
        value: 8
      - data: { addr: buf }
        value: { ne: 0 }
  - unpin_user_pages: { pages: P }
`);
    assert.deepEqual(summary(r), [
      'step 2 write: ret == 0 => ok',
      'step 3 pin_user_pages_fast: ret == 4 => ok',
      'step 4 pin_user_pages_fast: ret == -EFAULT => ok',
      'step 5 expect: page{addr: buf + PAGE_SIZE}.refcount == 1025 => ok',
      'step 5 expect: page{addr: buf + PAGE_SIZE}.pincount == 1 => ok',
      'step 5 expect: page{addr: buf + PAGE_SIZE}.maybe_dma_pinned == true => ok',
      'step 5 expect: pinned{pages: P, index: 3}.pfn == P[3] => ok',
      'step 5 expect: pinned{pages: P, index: 3}.value == 8 => FAIL: expected 8, got 7',
      'step 5 expect: data{addr: buf}.value != 0 => ok',
      'end: no leaks => ok',
    ]);
    assert.equal(r.ok, false);
    assert.equal(r.profile, 'current');
    assert.equal(r.name, 't');
    assert.equal(r.stepsRun, 6);
    const bad = r.verdicts[7];
    assert.deepEqual([bad.step, bad.location.line, bad.location.col, bad.expected, bad.actual], [5, 20, 9, 8, 7]);
  });

  test('a failing ret is rendered as -errno', () => {
    const r = one(`${HEAD}  - pin_user_pages_fast: { start: 0x1000, nr_pages: 1 }
    expect: { ret: 1 }
`);
    assert.deepEqual(summary(r)[0], 'step 2 pin_user_pages_fast: ret == 1 => FAIL: expected 1, got -EFAULT');
    assert.equal(r.verdicts[0].actual, -14);
  });

  test('ge, le, one_of, and a task named in the query', () => {
    const r = one(`${HEAD}  - write: { addr: buf, value: 5 }
  - fork: { child: kid }
  - write: { addr: buf, value: 6 }
    task: kid
  - expect:
      - page: { addr: buf }
        refcount: { ge: 2 }
        pincount: { le: -1 }
      - data: { task: kid, addr: buf }
        value: { one_of: [1, 6] }
      - data: { addr: buf }
        value: { one_of: [1, 2] }
`);
    assert.deepEqual(summary(r), [
      'step 5 expect: page{addr: buf}.refcount >= 2 => ok',
      'step 5 expect: page{addr: buf}.pincount <= -1 => FAIL: expected <= -1, got 0',
      'step 5 expect: data{task: kid, addr: buf}.value one of [1, 6] => ok',
      'step 5 expect: data{addr: buf}.value one of [1, 2] => FAIL: expected one of 1, 2, got 6',
      'end: no leaks => ok',
    ]);
  });

  test('delta: since scenario start, then since the previous check', () => {
    const r = one(`${HEAD}  - pin_user_pages_fast: { start: buf, nr_pages: 2 }
    as: P
  - expect:
      - vmstat: {}
        nr_foll_pin_acquired: { delta: 2 }
  - pin_user_pages_fast: { start: buf, nr_pages: 3 }
    as: Q
  - expect:
      - vmstat: {}
        nr_foll_pin_acquired: { delta: 3 }
        nr_foll_pin_released: 0
      - page: { addr: buf }
        refcount: 2049
  - unpin_user_pages: { pages: P }
  - expect:
      - vmstat: {}
        nr_foll_pin_acquired: { delta: 1 }
        nr_foll_pin_released: { delta: 2 }
      - page: { addr: buf }
        refcount: { delta: -1024 }
  - unpin_user_pages: { pages: Q }
`);
    assert.deepEqual(summary(r), [
      'step 3 expect: vmstat.nr_foll_pin_acquired changed by 2 => ok',
      'step 5 expect: vmstat.nr_foll_pin_acquired changed by 3 => ok',
      'step 5 expect: vmstat.nr_foll_pin_released == 0 => ok',
      'step 5 expect: page{addr: buf}.refcount == 2049 => ok',
      'step 7 expect: vmstat.nr_foll_pin_acquired changed by 1 => FAIL: expected a change of 1, got 0 (from 5 to 5)',
      'step 7 expect: vmstat.nr_foll_pin_released changed by 2 => ok',
      'step 7 expect: page{addr: buf}.refcount changed by -1024 => ok',
      'end: no leaks => ok',
    ]);
    assert.equal(r.verdicts[4].actual, 0);
    assert.equal(r.verdicts[4].expected, 1);
  });

  test('delta baselines are taken at start even when the first delta check comes late', () => {
    const r = one(`${HEAD}  - pin_user_pages_fast: { start: buf, nr_pages: 4 }
    as: P
  - unpin_user_pages: { pages: P }
  - expect: { vmstat: {}, nr_foll_pin_released: { delta: 4 } }
`);
    assert.deepEqual(summary(r)[0], 'step 4 expect: vmstat.nr_foll_pin_released changed by 4 => ok');
  });

  test('a delta whose baseline a skipped step would have taken is a run-time error', () => {
    const msg = runError(`${HEAD}  - expect: { page: { addr: buf }, refcount: 1 }
    profiles: [5.1]
  - expect: { page: { addr: buf }, refcount: { delta: 0 } }
`);
    assert.match(msg, /^s\.yaml:8:48: delta: there is no earlier value of page\{addr: buf\}\.refcount/);
  });

  test('by_profile: one run per profile, per-profile expectations, default, and a missing profile', () => {
    const text = `name: t
profiles: [5.1, current]
tasks: [parent]
steps:
  - mmap: { length: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - pin_user_pages_fast: { start: buf, nr_pages: 1 }
    as: P
    expect:
      checks:
        - page: { addr: buf }
          refcount: { by_profile: { "5.1": 2, current: 1025 } }
          maybe_dma_pinned: { by_profile: { current: true, default: null } }
  - unpin_user_pages: { pages: P }
`;
    const rs = run(text);
    assert.deepEqual(rs.map((r) => r.profile), ['5.1', 'current']);
    for (const r of rs) assert.equal(r.ok, true, summary(r).join('\n'));
    assert.deepEqual(summary(rs[0]).slice(0, 2), [
      'step 2 pin_user_pages_fast: page{addr: buf}.refcount == 2 => ok',
      'step 2 pin_user_pages_fast: page{addr: buf}.maybe_dma_pinned == null => ok',
    ]);
    assert.deepEqual(summary(rs[1]).slice(0, 1), ['step 2 pin_user_pages_fast: page{addr: buf}.refcount == 1025 => ok']);
    // --profile overrides the file's profiles; a profile with no expectation is an error at the by_profile.
    const msg = (() => {
      try {
        run(text, { profile: '5.19' });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    assert.equal(msg, 's.yaml:12:23: no expectation for profile 5.19 (by_profile lists 5.1, current; add default: to cover the other profiles)');
  });

  test('steps limited to some profiles are skipped on the others', () => {
    const text = `name: t
profiles: [5.1, current]
steps:
  - mmap: { length: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - write: { addr: buf, value: 1 }
    profiles: [5.1]
  - expect: { data: { addr: buf }, value: { by_profile: { "5.1": 1, current: 0 } } }
`;
    const rs = run(text);
    assert.deepEqual(rs.map((r) => [r.profile, r.ok, r.stepsRun]), [['5.1', true, 3], ['current', true, 2]]);
  });

  test('warn: expected, unexpected, none; WARNs alone do not fail a run', () => {
    const r = one(`${HEAD}  - warn_once: { id: gup-bad-flags }
    expect: { warn: bad-flags }
  - warn_once: { id: other }
    expect: { warn: none }
  - warn_once: { id: third }
  - write: { addr: buf, value: 1 }
    expect: { warn: true }
  - write: { addr: buf, value: 1 }
    expect: { warn: false }
`);
    assert.deepEqual(summary(r), [
      "step 2 warn_once: raises WARN 'bad-flags' => ok",
      "step 3 warn_once: raises no WARN => FAIL: raised 'other'",
      'step 5 write: raises a WARN => FAIL: no WARN was raised',
      'step 6 write: raises no WARN => ok',
      'end: no leaks => ok',
    ]);
    assert.deepEqual(r.warnings.map((w) => [w.id, w.scenarioStep, w.expected]),
      [['gup-bad-flags', 2, true], ['other', 3, false], ['third', 4, false]]);
    const quiet = one(`${HEAD}  - warn_once: { id: x }\n`);
    assert.equal(quiet.ok, true);
    assert.equal(quiet.warnings.length, 1);
  });

  test('end: warns and no_warns', () => {
    const r = one(`${HEAD}  - warn_once: { id: gup-pin-bad }
end: { warns: [pin-bad, missing], no_warns: true }
`);
    assert.deepEqual(summary(r), [
      'end: no leaks => ok',
      "end: WARN 'pin-bad' raised => ok",
      "end: WARN 'missing' raised => FAIL: raised only 'gup-pin-bad'",
      "end: no WARN raised => FAIL: raised 'gup-pin-bad'",
    ]);
    assert.equal(r.warnings[0].expected, true);
  });

  test('an expected BUG stops the run and passes', () => {
    const r = one(`${HEAD}  - crash: { message: refcount overflow }
    expect: { bug: refcount overflow }
  - write: { addr: buf, value: 1 }
    expect: { ret: 12345 }
`);
    assert.deepEqual(summary(r), ["step 2 crash: raises BUG containing 'refcount overflow' => ok"]);
    assert.equal(r.ok, true);
    assert.equal(r.stepsRun, 2);
    assert.equal(r.bug?.expected, true);
    assert.equal(r.bug?.scenarioStep, 2);
  });

  test('a step that expects a WARN and a BUG gets both verdicts', () => {
    const r = one(`${HEAD}  - crash: { warn_first: true }
    expect: { warn: before-bug, bug: bad page }
`);
    assert.deepEqual(summary(r), ["step 2 crash: raises BUG containing 'bad page' => ok", "step 2 crash: raises WARN 'before-bug' => ok"]);
    assert.deepEqual(r.warnings.map((w) => [w.id, w.expected]), [['before-bug', true]]);
  });

  test('an unexpected BUG fails the run and stops it; a BUG with the wrong message fails', () => {
    const r = one(`${HEAD}  - pin_user_pages_fast: { start: buf, nr_pages: 1 }
  - crash: {}
  - write: { addr: buf, value: 1 }
`);
    assert.deepEqual(summary(r), ['step 3 crash: BUG: kernel BUG at mm/fake.c: bad page state => FAIL: unexpected BUG: kernel BUG at mm/fake.c: bad page state']);
    assert.equal(r.ok, false);
    assert.equal(r.stepsRun, 3);
    assert.equal(r.bug?.expected, false);
    const w = one(`${HEAD}  - crash: {}
    expect: { bug: overflow }
`);
    assert.deepEqual(summary(w), ["step 2 crash: raises BUG containing 'overflow' => FAIL: got BUG: kernel BUG at mm/fake.c: bad page state"]);
  });

  test('an expected BUG that does not happen fails, and the run goes on', () => {
    const r = one(`${HEAD}  - write: { addr: buf, value: 1 }
    expect: { bug: true, ret: 0 }
`);
    assert.deepEqual(summary(r), ['step 2 write: raises BUG => FAIL: no BUG was raised', 'step 2 write: ret == 0 => ok', 'end: no leaks => ok']);
  });

  test('leaks: none (default), a list of expected leaks, any', () => {
    const pinTwo = `${HEAD}  - pin_user_pages_fast: { start: buf, nr_pages: 2 }\n`;
    const leaky = one(pinTwo);
    assert.deepEqual(leaky.leaks, ['pfn 0: pinned by pin_user_pages_fast at step 2', 'pfn 1: pinned by pin_user_pages_fast at step 2']);
    assert.deepEqual(summary(leaky), ['end: no leaks => FAIL: 2 leaks:\npfn 0: pinned by pin_user_pages_fast at step 2\npfn 1: pinned by pin_user_pages_fast at step 2']);
    assert.equal(one(`${pinTwo}end: { leaks: ['pfn 0', 'pfn 1'] }\n`).ok, true);
    assert.deepEqual(summary(one(`${pinTwo}end: { leaks: ['pfn 0', 'pfn 7'] }\n`)), [
      "end: leaks match ['pfn 0', 'pfn 7'] => FAIL: no leak matches 'pfn 7'\nunexpected leak: pfn 1: pinned by pin_user_pages_fast at step 2",
    ]);
    assert.deepEqual(one(`${pinTwo}end: { leaks: any }\n`).verdicts, []);
  });

  test('a ScenarioError from the model is reported at the step, or at the argument it names', () => {
    assert.equal(runError(`${HEAD}  - reject: { n: 0 }\n`), 's.yaml:6:15: n must be positive');
    assert.equal(runError(`${HEAD}  - pin_user_pages_fast: { start: buf, nr_pages: -1 }\n`), 's.yaml:6:40: nr_pages must not be negative');
    assert.equal(runError(`${HEAD}  - pin_user_pages_fast: { start: buf, nr_pages: 1 }
    as: P
  - expect: { pinned: { pages: P, index: 5 }, pfn: 0 }
`), 's.yaml:8:35: index 5 outside the handle');
    assert.equal(runError('name: t\nmachine: { pages: 0 }\nsteps: []\n'), 's.yaml:2:12: pages must be at least 1');
  });

  test('expression errors at run time point into the expression', () => {
    assert.equal(runError(`${HEAD}  - pin_user_pages_fast: { start: buf, nr_pages: 1 }
    as: P
  - write: { addr: "P[1]", value: 1 }
`), 's.yaml:8:23: index 1 is out of range: the array has 1 element');
    assert.equal(runError(`${HEAD}  - write: { addr: buf, value: buf / 0 }\n`), 's.yaml:6:36: division by zero');
  });

  test('other exceptions from the model propagate (internal errors)', () => {
    assert.throws(() => run(`${HEAD}  - explode: {}\n`), TypeError);
  });

  test('bindings take out, else ret; tasks default to the first; traces are kept on request', () => {
    const r = run(`name: t
tasks: [a, b]
steps:
  - mmap: { length: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE }
    as: x
  - write: { addr: x, value: 9 }
  - expect: { data: { task: a, addr: x }, value: 9 }
`, { trace: true })[0];
    assert.equal(r.ok, true, summary(r).join('\n'));
    const trace = r.trace as { steps: { task: string; op: string; args: Record<string, unknown> }[] };
    assert.deepEqual(trace.steps.map((s) => [s.task, s.op]), [['a', 'mmap'], ['a', 'write']]);
    assert.deepEqual(trace.steps[1].args, { addr: 0x7f0000000000, value: 9 });
    assert.equal(run(`name: t\nsteps: []\n`)[0].trace, undefined);
  });

  test('runs are deterministic', () => {
    const text = `${HEAD}  - pin_user_pages_fast: { start: buf, nr_pages: 2 }
    as: P
  - warn_once: { id: w }
  - expect: { vmstat: {}, nr_foll_pin_acquired: { delta: 2 } }
`;
    assert.deepEqual(JSON.stringify(run(text, { trace: true })), JSON.stringify(run(text, { trace: true })));
  });

  test('machine settings and tasks reach the backend', () => {
    const log = { starts: [] as unknown[] };
    const b = fakeBackend(log);
    runScenario(loadScenario('name: t\nprofile: 5.19\nmachine: { pages: 2M, thp: never }\ntasks: [p, q]\nsteps: []\n', 'm.yaml', b), b);
    assert.deepEqual(log.starts, [{ profile: '5.19', machine: { pages: 2 << 20, thp: 'never' }, tasks: ['p', 'q'] }]);
  });

  test('renderValue', () => {
    assert.equal(renderValue(-14, FAKE_CONSTANTS, true), '-EFAULT');
    assert.equal(renderValue(-14, FAKE_CONSTANTS, false), '-14');
    assert.equal(renderValue(0x7f0000000000), '0x7f0000000000');
    assert.equal(renderValue([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), '[1, 2, 3, 4, 5, 6, 7, 8, ... (10 items)]');
    assert.equal(renderValue('anon'), '"anon"');
    assert.equal(renderValue(undefined), '(missing)');
  });
});
