// The race catalogue (scenarios/explore/): on every profile a file lists, DPOR must end the way the
// file's explore: block says (a failure containing the text where fails: names the profile, a pass
// everywhere else), the failing schedule must minimise and replay to the same failure, and — the
// soundness check on real scenarios — DPOR must run every trace and reach every end state that
// unreduced exhaustive search does, with no more schedules.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { exploreDpor } from '../../src/explore/dpor.js';
import { exploreExhaustive } from '../../src/explore/exhaustive.js';
import { minimizeSchedule } from '../../src/explore/minimize.js';
import { replay } from '../../src/explore/schedule.js';
import { scenarioProgram } from '../../src/explore/scenario.js';
import { commutationCheck } from '../../src/explore/soundness.js';
import { traceKey } from '../../src/explore/trace.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { modelBackend } from '../../src/scenario/model-backend.js';
import { runScenario } from '../../src/scenario/run.js';

const DIR = fileURLToPath(new URL('../../../scenarios/explore/', import.meta.url));
const backend = modelBackend();
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

test('the race catalogue has the seeds\' races, each failing on an old profile and passing on a new one', () => {
  assert.ok(files.length >= 1);
  for (const f of files) {
    const scn = loadScenarioFile(`${DIR}${f}`, backend, f);
    assert.ok(scn.actors, `${f}: a race file has actors:`);
    assert.ok(scn.explore && scn.explore.fails.size > 0, `${f}: explore: fails: names the old profile`);
    assert.ok(scn.profiles.some((p) => !scn.explore!.fails.has(p)), `${f}: a profile where every schedule passes`);
  }
});

for (const f of files) {
  const scn = loadScenarioFile(`${DIR}${f}`, backend, f);
  for (const profile of scn.profiles) {
    const want = scn.explore?.fails.get(profile);
    test(`${f} [${profile}]: ${want ? `explore finds '${want.text}'` : 'every interleaving passes'}`, () => {
      const p = scenarioProgram(scn, backend, profile);
      const bound = scn.explore?.preemptionBound;
      const d = bound === undefined ? exploreDpor(p) : exploreExhaustive(p, { preemptionBound: bound });
      if (want) {
        assert.equal(d.verdict, 'fail', `${f} [${profile}]: no failing schedule in ${d.schedulesRun}`);
        const m = minimizeSchedule(p, d.failure!.schedule);
        const rep = replay(p, m.schedule);
        assert.ok(rep.failure?.includes(want.text), `${f} [${profile}]: replayed failure '${rep.failure}' lacks '${want.text}'`);
      } else {
        assert.equal(d.verdict, 'pass', `${f} [${profile}]: ${d.failure?.message} (schedule ${d.failure?.schedule.join('.')})`);
      }
    });
    // Soundness on the real scenario: every Mazurkiewicz trace of a complete (not failing) execution
    // that unreduced search runs, DPOR runs too; the same end states; no more schedules. This is what
    // catches an operation whose footprint misses something it read (a no-op that inspected state).
    test(`${f} [${profile}]: DPOR covers every trace exhaustive search runs`, (t) => {
      if (scn.explore?.preemptionBound !== undefined) { t.skip('a preemption bound does not compose with DPOR'); return; }
      const p = scenarioProgram(scn, backend, profile);
      const traces = new Map<string, string>();
      const e = exploreExhaustive(p, { all: true, maxSchedules: 20_000,
        onSchedule: (s, fps, fail) => { if (fail === undefined) traces.set(traceKey(s, fps), s.join('.')); } });
      if (e.verdict === 'incomplete') { t.skip('more than 20000 schedules'); return; }
      const seen = new Set<string>();
      const d = exploreDpor(p, { all: true, onSchedule: (s, fps) => seen.add(traceKey(s, fps)) });
      const missed = [...traces].filter(([k]) => !seen.has(k)).map(([, s]) => s);
      assert.deepEqual(missed, [], `${f} [${profile}]: DPOR never ran these schedules' traces`);
      assert.deepEqual([...d.endStates].sort(), [...e.endStates].sort(), `${f} [${profile}]: DPOR and exhaustive end states`);
      assert.ok(d.schedulesRun <= e.schedulesRun);
    });
  }
  // The assumption DPOR rests on, checked directly: two adjacent steps of different actors whose
  // footprints do not conflict can be swapped without changing what either does or the end state.
  // An operation that inspects state without recording the read breaks it.
  test(`${f}: independent adjacent steps commute (the footprints are complete)`, () => {
    for (const profile of scn.profiles) {
      assert.deepEqual(commutationCheck(scenarioProgram(scn, backend, profile)), [], `${f} [${profile}]`);
    }
  });

  test(`${f}: pinlab run (actors one after the other) passes on every profile`, () => {
    for (const r of runScenario(scn, backend)) {
      assert.ok(r.ok, `${r.profile}: ${r.verdicts.filter((v) => !v.ok).map((v) => v.message ?? v.description).join('; ')}`);
    }
  });
}
