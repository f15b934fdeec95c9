// --jobs: a search that ends within the probe runs on this thread (no worker started: workers are
// cold isolates, slower than one thread on short searches); a longer one (here: the probe set to
// 0) goes to workers and reaches the same verdict, counts and end states.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { modelBackend } from '../../src/scenario/model-backend.js';
import { scenarioProgram } from '../../src/explore/scenario.js';
import { exploreParallel } from '../../src/explore/parallel.js';
import { exploreDpor } from '../../src/explore/dpor.js';
import { explorePct } from '../../src/explore/pct.js';

const file = fileURLToPath(new URL('../../../scenarios/explore/ext4-writeback-race.yaml', import.meta.url));
const backend = modelBackend();
const p = scenarioProgram(loadScenarioFile(file, backend), backend, 'current');

test('--jobs: a short search starts no worker and is the one-thread search', async () => {
  const one = exploreDpor(p, { all: true });
  const r = await exploreParallel({ file, profile: 'current' }, p, { jobs: 2, mode: 'dpor', opts: { all: true } });
  assert.equal(r.workers, 0);
  assert.equal(r.schedulesRun, one.schedulesRun);
  assert.deepEqual([...r.endStates].sort(), [...one.endStates].sort());
});

test('--jobs: past the probe, workers run the rest and the union of what they send is the one-thread result', async () => {
  const one = exploreDpor(p, { all: true });
  const r = await exploreParallel({ file, profile: 'current' }, p, { jobs: 2, mode: 'dpor', opts: { all: true }, probeSchedules: 0 });
  assert.equal(r.workers, 2);
  assert.equal(r.verdict, one.verdict);
  assert.deepEqual([...r.endStates].sort(), [...one.endStates].sort());
  // PCT: this thread makes the first runs, workers the others; the same runs as one thread
  const pct1 = explorePct(p, { seed: 3, runs: 300 });
  const pct2 = await exploreParallel({ file, profile: 'current' }, p, { jobs: 2, mode: 'pct', opts: {}, pct: { seed: 3, runs: 300 }, probeSchedules: 100 });
  assert.equal(pct2.workers, 2);
  assert.equal(pct2.schedulesRun, pct1.schedulesRun);
  assert.deepEqual([...pct2.endStates].sort(), [...pct1.endStates].sort());
  assert.deepEqual([...pct2.traces!].sort(), [...pct1.traces!].sort());
});
