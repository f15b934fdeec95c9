// The interleaving explorer on synthetic shared-variable programs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exploreExhaustive } from '../../src/explore/exhaustive.js';
import { exploreDpor } from '../../src/explore/dpor.js';
import { explorePct } from '../../src/explore/pct.js';
import { minimizeSchedule } from '../../src/explore/minimize.js';
import { traceKey } from '../../src/explore/trace.js';
import { Rng } from '../../src/explore/rng.js';
import {
  contextSwitches, formatSchedule, parseSchedule, replay, ScheduleError,
} from '../../src/explore/schedule.js';
import { isPreemption, type Program } from '../../src/explore/program.js';
import { incr, load, local, lostUpdate, racyIncr, set, sharedVars, store, type Op } from './programs.js';

function binom(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

const locals = (n: number): Op[] => Array.from({ length: n }, () => local());

/** 3 actors: a racy increment, an atomic increment and a reader of x and y, with private work in between. */
function mixed3(): Program {
  return sharedVars([
    { name: 'A', ops: [...racyIncr('x'), set('y', 1), local()] },
    { name: 'B', ops: [local(), incr('x'), load('y', 'ry'), local()] },
    { name: 'C', ops: [load('x', 'rx'), local(), store('z', (l) => l.rx * 10), load('y', 'ry')] },
  ], { x: 0, y: 0, z: 0 });
}

test('exhaustive finds the lost update, and with `all` counts every interleaving', () => {
  const r = exploreExhaustive(lostUpdate());
  assert.equal(r.verdict, 'fail');
  assert.match(r.failure!.message, /lost update: x = 1/);
  const again = replay(lostUpdate(), r.failure!.schedule);
  assert.equal(again.failure, r.failure!.message);
  const all = exploreExhaustive(lostUpdate(), { all: true });
  assert.equal(all.schedulesRun, binom(4, 2));
  assert.equal(all.failures, 4); // only AABB and BBAA are fine
  // x = 2 with registers (0,1) or (1,0), or the lost update x = 1 with both registers 0
  assert.equal(all.distinctEndStates, 3);
});

test('DPOR finds the lost update', () => {
  const r = exploreDpor(lostUpdate());
  assert.equal(r.verdict, 'fail');
  assert.match(r.failure!.message, /lost update/);
  assert.equal(replay(lostUpdate(), r.failure!.schedule).failure, r.failure!.message);
});

test('independent actors: DPOR runs exactly 1 schedule, exhaustive runs C(n+m, n)', () => {
  for (const [n, m] of [[2, 2], [3, 4], [5, 5]]) {
    const prog = () => sharedVars([
      { name: 'A', ops: Array.from({ length: n }, () => incr('a')) },
      { name: 'B', ops: Array.from({ length: m }, () => incr('b')) },
    ], { a: 0, b: 0 });
    const ex = exploreExhaustive(prog());
    const dp = exploreDpor(prog());
    assert.equal(ex.verdict, 'pass');
    assert.equal(ex.schedulesRun, binom(n + m, n));
    assert.equal(dp.verdict, 'pass');
    assert.equal(dp.schedulesRun, 1);
    assert.equal(dp.schedulesPruned, 0);
    assert.equal(dp.distinctEndStates, 1);
  }
});

test('soundness: 3-actor mixed program — DPOR reaches exactly the end states of unreduced exhaustive search, with fewer schedules', () => {
  const ex = exploreExhaustive(mixed3(), { all: true });
  const dp = exploreDpor(mixed3(), { all: true });
  assert.equal(ex.verdict, 'pass');
  assert.equal(dp.verdict, 'pass');
  assert.deepEqual([...dp.endStates].sort(), [...ex.endStates].sort());
  assert.ok(ex.distinctEndStates > 3);
  assert.ok(dp.schedulesRun < ex.schedulesRun, `${dp.schedulesRun} < ${ex.schedulesRun}`);
  console.log(`# mixed3: exhaustive ${ex.schedulesRun} schedules, DPOR ${dp.schedulesRun} (+${dp.schedulesPruned} sleep-blocked), ${ex.distinctEndStates} end states`);
});

/** Every Mazurkiewicz trace (by exhaustive enumeration) is covered by DPOR; report DPOR schedules per trace. */
function traceCoverage(make: () => Program): { traces: number; dpor: number; blocked: number; exhaustive: number } {
  const all = new Set<string>();
  const ex = exploreExhaustive(make(), { all: true, onSchedule: (s, f) => all.add(traceKey(s, f)) });
  const seen = new Set<string>();
  const dp = exploreDpor(make(), { all: true, onSchedule: (s, f) => seen.add(traceKey(s, f)) });
  assert.deepEqual([...seen].sort(), [...all].sort());
  return { traces: all.size, dpor: dp.schedulesRun, blocked: dp.schedulesPruned, exhaustive: ex.schedulesRun };
}

test('Mazurkiewicz traces: DPOR covers every trace; schedules/traces ratio', () => {
  const cases: Record<string, () => Program> = {
    lostUpdate: lostUpdate,
    mixed3,
    writers3: () => sharedVars([
      { name: 'A', ops: [set('x', 1), set('y', 1)] },
      { name: 'B', ops: [set('x', 2), set('y', 2)] },
      { name: 'C', ops: [set('x', 3), load('y')] },
    ], { x: 0, y: 0 }),
    readers: () => sharedVars([
      { name: 'W', ops: [set('x', 1), ...locals(2)] },
      { name: 'R1', ops: [load('x'), load('x')] },
      { name: 'R2', ops: [load('x'), local()] },
    ], { x: 0 }),
    counters4: () => sharedVars(['A', 'B', 'C', 'D'].map((name) => ({ name, ops: [incr('c'), local()] })), { c: 0 }),
  };
  for (const [name, make] of Object.entries(cases)) {
    const c = traceCoverage(make);
    assert.ok(c.dpor >= c.traces);
    console.log(`# ${name}: ${c.traces} traces, DPOR ${c.dpor} schedules (+${c.blocked} sleep-blocked), ratio ${(c.dpor / c.traces).toFixed(2)}; exhaustive ${c.exhaustive}`);
  }
});

test('DPOR on a program without failures explores each trace of simple programs exactly once', () => {
  // n actors each incrementing one shared counter atomically: n! traces
  const make = () => sharedVars(['A', 'B', 'C'].map((name) => ({ name, ops: [incr('c')] })), { c: 0 });
  const c = traceCoverage(make);
  assert.equal(c.traces, 6);
  assert.equal(c.dpor, 6);
});

test('preemption bound 0 explores only non-preemptive schedules', () => {
  const seen: number[][] = [];
  const r = exploreExhaustive(mixed3(), {
    preemptionBound: 0, all: true, onSchedule: (s) => seen.push([...s]),
  });
  // each schedule runs every actor to completion before switching: 3! orders
  assert.equal(r.schedulesRun, 6);
  assert.ok(r.schedulesPruned > 0);
  for (const s of seen) assert.equal(contextSwitches(s), 2, formatSchedule(s));
  const b1 = exploreExhaustive(lostUpdate(), { preemptionBound: 1, all: true });
  // ABBA and BAAB fail with one preemption; ABAB and BABA need two
  assert.equal(b1.failures, 2);
  assert.equal(b1.schedulesRun, 4);
  const b0 = exploreExhaustive(lostUpdate(), { preemptionBound: 0 });
  assert.equal(b0.verdict, 'pass');
  assert.equal(b0.schedulesRun, 2);
  // DPOR with a bound would miss bounded traces (no bounded POR): refused.
  assert.throws(() => exploreDpor(lostUpdate(), { preemptionBound: 1 }), /DPOR with a preemption bound is not complete/);
});

test('isPreemption: only switching away from an enabled actor counts', () => {
  assert.equal(isPreemption(undefined, 1, [0, 1]), false);
  assert.equal(isPreemption(0, 1, [0, 1]), true);
  assert.equal(isPreemption(0, 1, [1]), false);
  assert.equal(isPreemption(0, 0, [0, 1]), false);
});

test('maxSchedules stops early with verdict incomplete', () => {
  const prog = () => sharedVars([
    { name: 'A', ops: [incr('a'), incr('a'), incr('a')] },
    { name: 'B', ops: [incr('b'), incr('b'), incr('b')] },
  ], { a: 0, b: 0 });
  const r = exploreExhaustive(prog(), { maxSchedules: 5 });
  assert.equal(r.verdict, 'incomplete');
  assert.equal(r.schedulesRun, 5);
  const d = exploreDpor(mixed3(), { maxSchedules: 2 });
  assert.equal(d.verdict, 'incomplete');
  assert.equal(d.schedulesRun, 2);
});

test('PCT is deterministic for a seed and finds the lost update within 50 runs', () => {
  const runs: number[][][] = [];
  for (let k = 0; k < 2; k++) {
    const scheds: number[][] = [];
    explorePct(mixed3(), { seed: 42, depth: 3, runs: 30, all: true, onSchedule: (s) => scheds.push([...s]) });
    runs.push(scheds);
  }
  assert.deepEqual(runs[0], runs[1]);
  assert.ok(new Set(runs[0].map((s) => s.join('.'))).size > 3);
  for (const seed of [1, 2, 3, 4, 5]) {
    const r = explorePct(lostUpdate(), { seed, depth: 2, runs: 50 });
    assert.equal(r.verdict, 'fail', `seed ${seed}`);
    assert.ok(r.schedulesRun <= 50);
    assert.equal(replay(lostUpdate(), r.failure!.schedule).failure, r.failure!.message);
    const again = explorePct(lostUpdate(), { seed, depth: 2, runs: 50 });
    assert.deepEqual(again.failure, r.failure);
    assert.equal(again.schedulesRun, r.schedulesRun);
  }
});

test('Rng is deterministic and roughly uniform', () => {
  const a = new Rng(7), b = new Rng(7), c = new Rng(8);
  const xa = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(xa, Array.from({ length: 5 }, () => b.next()));
  assert.notDeepEqual(xa, Array.from({ length: 5 }, () => c.next()));
  const hist = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) hist[a.int(4)]++;
  for (const h of hist) assert.ok(h > 850 && h < 1150, String(hist));
});

test('minimize reduces the context switches of a failing schedule', () => {
  // the lost update plus busy-work actors; a failing schedule that switches a lot
  const make = () => sharedVars([
    { name: 'A', ops: [local(), ...racyIncr('x'), local()] },
    { name: 'B', ops: [local(), ...racyIncr('x'), local()] },
    { name: 'C', ops: [incr('y'), incr('y'), incr('y')] },
  ], { x: 0, y: 0 }, (g) => (g.x === 2 ? null : `lost update: x = ${g.x}`));
  const noisy = parseSchedule('A,C,B,C,A,B,C,A,B,A,B', make().actors);
  const r0 = replay(make(), noisy);
  assert.match(r0.failure ?? '', /lost update/);
  const m = minimizeSchedule(make(), noisy);
  assert.equal(m.originalContextSwitches, 10);
  assert.ok(m.contextSwitches < m.originalContextSwitches);
  assert.ok(m.contextSwitches <= 3, `${formatSchedule(m.schedule, make().actors)}: ${m.contextSwitches}`);
  assert.match(replay(make(), m.schedule).failure ?? '', /lost update/);
  assert.throws(() => minimizeSchedule(make(), parseSchedule('A,A,A,A,B,B,B,B,C,C,C', make().actors)), /does not fail/);
});

test('schedule strings round-trip, and malformed ones are rejected clearly', () => {
  const actors = ['A', 'B', 'kworker'];
  const s = [0, 0, 1, 2, 0];
  assert.equal(formatSchedule(s), '0.0.1.2.0');
  assert.equal(formatSchedule(s, actors), 'A,A,B,kworker,A');
  assert.deepEqual(parseSchedule('0.0.1.2.0'), s);
  assert.deepEqual(parseSchedule('0.0.1.2.0', actors), s);
  assert.deepEqual(parseSchedule('A, A,B,kworker,A', actors), s);
  assert.deepEqual(parseSchedule(''), []);
  assert.deepEqual(parseSchedule(formatSchedule([])), []);
  assert.throws(() => parseSchedule('0..1'), (e: unknown) => e instanceof ScheduleError && /step 2 is empty/.test(e.message));
  assert.throws(() => parseSchedule('0.3', actors), /step 2 names actor 3, but there are only 3 actors/);
  assert.throws(() => parseSchedule('A,X', actors), /unknown actor "X"/);
  assert.throws(() => parseSchedule('A,B'), /no actor names/);
  assert.throws(() => formatSchedule([5], actors), /out of range/);
  const infeasible = replay(lostUpdate(), [0, 0, 0]);
  assert.equal(infeasible.invalidAt, 2);
});

test('throughput: schedules per second on a synthetic 2-actor program', () => {
  const prog = () => sharedVars([
    { name: 'A', ops: Array.from({ length: 6 }, () => incr('x')) },
    { name: 'B', ops: Array.from({ length: 6 }, () => incr('x')) },
  ], { x: 0 });
  const ex = exploreExhaustive(prog());
  const dp = exploreDpor(prog());
  assert.equal(ex.schedulesRun, binom(12, 6));
  assert.equal(dp.schedulesRun, binom(12, 6)); // every step conflicts: every schedule is its own trace
  const rate = (r: { schedulesRun: number; elapsedMs: number }) => Math.round(r.schedulesRun / (r.elapsedMs / 1000));
  console.log(`# 2 actors x 6 steps: exhaustive ${ex.schedulesRun} schedules at ${rate(ex)}/s, DPOR ${dp.schedulesRun} at ${rate(dp)}/s`);
});
