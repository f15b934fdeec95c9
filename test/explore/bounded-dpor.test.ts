// Bounded DPOR (dpor.ts: the conservative backtrack point of Coons et al. / loom's
// Path::backtrack, no sleep sets) must run every Mazurkiewicz trace that bounded exhaustive search
// runs, and reach its end states: on random shared-variable programs, on random real-model
// scenarios and on the race catalogue, for bounds 0, 1 and 2.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { exploreDpor } from '../../src/explore/dpor.js';
import { exploreExhaustive } from '../../src/explore/exhaustive.js';
import { scenarioProgram } from '../../src/explore/scenario.js';
import { compareDporExhaustive } from '../../src/explore/soundness.js';
import { soundnessRun } from '../../src/explore/soundness-run.js';
import { traceKey } from '../../src/explore/trace.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { modelBackend } from '../../src/scenario/model-backend.js';
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

test('bounded DPOR runs every trace bounded exhaustive search runs (random programs, bounds 0-2)', () => {
  fc.assert(fc.property(programArb, fc.integer({ min: 0, max: 2 }), (actorOps, bound) => {
    const make = () => sharedVars(actorOps.map((ops, i) => ({ name: `T${i}`, ops })), { x: 0, y: 0, z: 0 });
    const traces = new Set<string>();
    const ex = exploreExhaustive(make(), { all: true, preemptionBound: bound, onSchedule: (s, f) => traces.add(traceKey(s, f)) });
    const seen = new Set<string>();
    const dp = exploreDpor(make(), { all: true, preemptionBound: bound, onSchedule: (s, f) => seen.add(traceKey(s, f)) });
    assert.deepEqual([...traces].filter((t) => !seen.has(t)), []);
    assert.deepEqual([...ex.endStates].filter((e) => !dp.endStates.has(e)), []);
    assert.ok(dp.schedulesRun <= ex.schedulesRun);
  }), { numRuns: Number(process.env.PINLAB_DPOR_RUNS ?? 400), seed: Number(process.env.PINLAB_DPOR_SEED ?? 11) });
});

test('without the conservative point it would not: the case that needs it', () => {
  // T0: store x, load z; T1: local, set z; T2: load z. With no preemptions, "T2, T1, T0" is the only
  // bounded representative of its trace; the race that asks for T2 first is found at a point where
  // running T2 would be a preemption.
  const make = () => sharedVars([
    { name: 'T0', ops: [store('x', () => 1), load('z', 'r')] }, { name: 'T1', ops: [local(), set('z', 1)] }, { name: 'T2', ops: [load('z', 'r')] },
  ], { x: 0, y: 0, z: 0 });
  const seen = new Set<string>();
  exploreDpor(make(), { all: true, preemptionBound: 0, onSchedule: (s) => seen.add(s.join('')) });
  assert.ok(seen.has('21100'), [...seen].join(' '));
});

test('bounded DPOR = bounded exhaustive search on random real-model scenarios', () => {
  for (const bound of [0, 1]) {
    const sum = soundnessRun(7000 + bound * 1000, 80, { preemptionBound: bound });
    assert.deepEqual(sum.failures.map((f) => `bound ${bound}, seed ${f.seed}: ${f.problems.join('; ')}`), []);
  }
});

const backend = modelBackend();
for (const dir of ['scenarios/explore/', 'test/explore/races/']) {
  const DIR = fileURLToPath(new URL(`../../../${dir}`, import.meta.url));
  for (const f of readdirSync(DIR).filter((x) => x.endsWith('.yaml')).sort()) {
    test(`${dir}${f}: bounded DPOR = bounded exhaustive search (bounds 0, 1, 2)`, () => {
      const scn = loadScenarioFile(`${DIR}${f}`, backend, f);
      for (const profile of scn.profiles) {
        for (const bound of [0, 1, 2]) {
          const c = compareDporExhaustive(scenarioProgram(scn, backend, profile), { preemptionBound: bound });
          assert.deepEqual(c.problems, [], `${f} [${profile}] bound ${bound}`);
        }
      }
    });
  }
}
