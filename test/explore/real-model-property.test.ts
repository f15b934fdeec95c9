// DPOR soundness on the real model: random multi-actor scenarios built from the model's own
// operations (src/explore/random-scenario.ts) must reach, under DPOR, exactly the end states,
// failures and Mazurkiewicz traces that exhaustive search reaches, with no more schedules; and
// adjacent independent steps must commute. A footprint that forgets a read or a write fails this
// (each model fix listed in the commit that made it pass was found here). The long run:
// `npm run soundness -- --runs N --seed S` (PINLAB_SOUNDNESS_RUNS / _SEED change this test's).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario } from '../../src/scenario/load.js';
import { modelBackend } from '../../src/scenario/model-backend.js';
import { randomScenario } from '../../src/explore/random-scenario.js';
import { scenarioProgram } from '../../src/explore/scenario.js';
import { commutationCheck, compareDporExhaustive } from '../../src/explore/soundness.js';
import { soundnessRun } from '../../src/explore/soundness-run.js';
import type { Execution, Footprint, Program } from '../../src/explore/program.js';

const RUNS = Number(process.env.PINLAB_SOUNDNESS_RUNS ?? 250);
const SEED = Number(process.env.PINLAB_SOUNDNESS_SEED ?? 20261205);
const backend = modelBackend();

test(`DPOR = exhaustive search on ${RUNS} random real-model scenarios (seed ${SEED})`, () => {
  const sum = soundnessRun(SEED, RUNS);
  const shown = sum.failures.slice(0, 2).map((f) => `seed ${f.seed}: ${f.problems.join('; ')}\n${f.text}`).join('\n');
  assert.equal(sum.failures.length, 0, `${sum.failures.length} of ${sum.cases} cases disagree:\n${shown}`);
  // The cases must really compare something (not all skipped, not all trivial).
  assert.ok(sum.cases - sum.skipped >= RUNS * 0.9, `${sum.skipped} of ${sum.cases} skipped`);
  assert.ok(sum.traces > RUNS, `only ${sum.traces} traces in ${RUNS} cases`);
  assert.ok(sum.schedulesDpor < sum.schedulesExhaustive);
  console.log(`# ${sum.cases - sum.skipped} cases: exhaustive ${sum.schedulesExhaustive} schedules, ${sum.traces} traces, `
    + `DPOR ${sum.schedulesDpor} (${(sum.schedulesDpor / sum.traces).toFixed(3)} per trace)`);
});

test('independent adjacent steps commute in random real-model scenarios', () => {
  const sum = soundnessRun(SEED + 100_000, Math.ceil(RUNS / 4), { commute: true });
  assert.deepEqual(sum.failures.map((f) => `seed ${f.seed}: ${f.problems.join('; ')}`), []);
});

/** The program with reads of objects of `kind` left out of every footprint: a forgotten read. */
function forgetting(p: Program, kind: string): Program {
  const strip = (f: Footprint): Footprint => ({ reads: new Set([...f.reads].filter((r) => !r.startsWith(`${kind}:`))), writes: f.writes });
  return {
    actors: p.actors,
    start(): Execution {
      const x = p.start();
      return { ...x, enabled: () => x.enabled(), blocked: () => x.blocked?.() ?? [], step: (a) => { const r = x.step(a); return { ...r, footprint: strip(r.footprint) }; },
        finalState: () => x.finalState(), finish: () => x.finish() };
    },
  };
}

test('the property catches a forgotten read: without folio reads, a pin racing split_huge_page is missed', () => {
  const text = `name: forgotten-read
profiles: [current]
machine: {normal: 8 << 20, thp: always}
tasks: [app]
setup:
  - mmap: {length: HPAGE_PMD_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS}
    task: app
    as: buf
  - write: {addr: buf, value: 1}
    task: app
actors:
  splitter:
    - split_huge_page: {addr: buf}
      task: app
  driver:
    - pin_user_pages: {start: buf + PAGE_SIZE, nr_pages: 1, gup_flags: FOLL_WRITE}
      task: app
      as: P
    - unpin_user_pages: {pages: P}
`;
  const p = scenarioProgram(loadScenario(text, 'forgotten-read.yaml', backend), backend, 'current');
  assert.deepEqual(compareDporExhaustive(p).problems, []);
  const broken = forgetting(p, 'folio');
  assert.notDeepEqual(compareDporExhaustive(broken).problems, []);
  assert.notDeepEqual(commutationCheck(broken), []);
});

test('random scenarios are reproducible from their seed and use the real operations', () => {
  assert.equal(randomScenario(42), randomScenario(42));
  const ops = new Set<string>();
  for (let s = 0; s < 400; s++) for (const m of randomScenario(s).matchAll(/^ {4}- (\w+):/gm)) ops.add(m[1]);
  for (const op of ['write', 'read', 'pin_user_pages', 'pin_user_pages_fast', 'unpin_user_pages', 'dma_write', 'get_user_pages', 'fork', 'munmap',
    'madvise', 'mprotect', 'migrate_pages', 'split_huge_page', 'writeback', 'writeback_complete', 'reclaim', 'truncate', 'ftruncate',
    'pread', 'aio_pread', 'blk_complete']) {
    assert.ok(ops.has(op), `no random scenario uses ${op}`);
  }
});
