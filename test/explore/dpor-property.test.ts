// Property: on random small shared-variable programs (with blocking steps),
// DPOR reaches exactly the end states of unreduced exhaustive search, covers
// every Mazurkiewicz trace, and runs no more schedules.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { exploreExhaustive } from '../../src/explore/exhaustive.js';
import { exploreDpor } from '../../src/explore/dpor.js';
import { traceKey } from '../../src/explore/trace.js';
import { exploreSplit, splitTree } from '../../src/explore/split.js';
import { awaitNonZero, incr, load, local, set, sharedVars, store, type Op } from './programs.js';

const VARS = ['x', 'y', 'z'];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.constantFrom(...VARS).map((v) => load(v, 'r')),
  fc.constantFrom(...VARS).map((v) => store(v, (l) => (l.r ?? 0) + 1)),
  fc.constantFrom(...VARS).map((v) => incr(v)),
  fc.tuple(fc.constantFrom(...VARS), fc.integer({ min: 0, max: 2 })).map(([v, c]) => set(v, c)),
  fc.constant(local()),
  fc.constantFrom(...VARS).map((v) => awaitNonZero(v, 'w')),
);

const programArb = fc.array(fc.array(opArb, { minLength: 1, maxLength: 4 }), { minLength: 2, maxLength: 3 });

test('DPOR = exhaustive on end states and traces, for random programs with blocking steps', () => {
  let sumDpor = 0, sumTraces = 0, sumEx = 0;
  fc.assert(fc.property(programArb, (actorOps) => {
    const make = () => sharedVars(actorOps.map((ops, i) => ({ name: `T${i}`, ops })), { x: 0, y: 0, z: 0 });
    const traces = new Set<string>();
    const ex = exploreExhaustive(make(), { all: true, onSchedule: (s, f) => traces.add(traceKey(s, f)) });
    const seen = new Set<string>();
    const dp = exploreDpor(make(), { all: true, onSchedule: (s, f) => seen.add(traceKey(s, f)) });
    assert.deepEqual([...dp.endStates].sort(), [...ex.endStates].sort());
    assert.deepEqual([...seen].sort(), [...traces].sort());
    assert.ok(dp.schedulesRun <= ex.schedulesRun);
    sumDpor += dp.schedulesRun; sumTraces += traces.size; sumEx += ex.schedulesRun;
  }), { numRuns: Number(process.env.PINLAB_DPOR_RUNS ?? 300), seed: Number(process.env.PINLAB_DPOR_SEED ?? 4) });
  console.log(`# random programs: exhaustive ${sumEx}, traces ${sumTraces}, DPOR ${sumDpor} (ratio ${(sumDpor / sumTraces).toFixed(3)})`);
});

test('split into subtrees (the --jobs search): DPOR and exhaustive per subtree reach every end state and trace', () => {
  fc.assert(fc.property(programArb, fc.integer({ min: 1, max: 12 }), fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }), (actorOps, target, bound) => {
    const make = () => sharedVars(actorOps.map((ops, i) => ({ name: `T${i}`, ops })), { x: 0, y: 0, z: 0 });
    const b = bound === undefined ? {} : { preemptionBound: bound };
    const ex = exploreExhaustive(make(), { all: true, ...b });
    const splitEx = splitTree(make(), { maxDepth: 4, target, sleepSets: false, ...b });
    const ex2 = exploreSplit(make(), 'exhaustive', { all: true, ...b }, splitEx);
    // the split exhaustive search runs exactly the same schedules
    assert.deepEqual([...ex2.endStates].sort(), [...ex.endStates].sort());
    assert.equal(ex2.schedulesRun, ex.schedulesRun);
    // (with a bound too: bounded DPOR in each subtree, dpor.ts)
    const split = splitTree(make(), { maxDepth: 4, target, sleepSets: bound === undefined, ...b });
    const dp = exploreSplit(make(), 'dpor', { all: true, ...b }, split);
    assert.deepEqual([...dp.endStates].sort(), [...ex.endStates].sort());
    assert.ok(dp.schedulesRun <= ex.schedulesRun);
  }), { numRuns: Number(process.env.PINLAB_DPOR_RUNS ?? 200), seed: Number(process.env.PINLAB_DPOR_SEED ?? 5) });
});
