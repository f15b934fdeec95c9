// Race files (test/explore/races/): pairs and triples of the model's operations, including the
// reproductions of issue 11 (splitter,driver; app,numa; mprotect of an unpopulated VMA; GUP-fast
// against fork with two populated VMAs). On every profile each is explored by DPOR and by
// exhaustive search, which must agree: the same verdict, the same end states and failures, DPOR
// running every Mazurkiewicz trace exhaustive search runs, with no more schedules.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { exploreDpor } from '../../src/explore/dpor.js';
import { exploreExhaustive } from '../../src/explore/exhaustive.js';
import { scenarioProgram } from '../../src/explore/scenario.js';
import { commutationCheck, compareDporExhaustive } from '../../src/explore/soundness.js';
import { loadScenario, loadScenarioFile } from '../../src/scenario/load.js';
import { modelBackend } from '../../src/scenario/model-backend.js';

const DIR = fileURLToPath(new URL('../../../test/explore/races/', import.meta.url));
const backend = modelBackend();
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

test('at least 20 race files', () => assert.ok(files.length >= 20, `${files.length}`));

for (const f of files) {
  const scn = loadScenarioFile(`${DIR}${f}`, backend, f);
  for (const profile of scn.profiles) {
    test(`${f} [${profile}]: DPOR and exhaustive search agree`, () => {
      const p = scenarioProgram(scn, backend, profile);
      const c = compareDporExhaustive(p);
      assert.equal(c.incomplete, false);
      assert.deepEqual(c.problems, [], `${f} [${profile}]`);
      assert.equal(c.dpor.verdict, c.exhaustive.verdict);
      assert.ok(c.traces >= 2, `${f} [${profile}]: only ${c.traces} trace: the actors do not race`);
      assert.deepEqual(commutationCheck(p), [], `${f} [${profile}]: independent adjacent steps must commute`);
    });
  }
}

test('a fork paused half-way in a task with two populated anonymous VMAs breaks no invariant (the child\'s page tables count)', () => {
  for (const f of ['dio-read-vs-fork.yaml', 'fork-vs-munmap.yaml', 'pin-vs-fork-vs-write.yaml', 'gup-fast-vs-fork-populated.yaml']) {
    const scn = loadScenarioFile(`${DIR}${f}`, backend, f);
    for (const profile of scn.profiles) {
      const failures = new Set<string>();
      const c = compareDporExhaustive(scenarioProgram(scn, backend, profile));
      assert.ok(c.traces >= 2);
      exploreExhaustive(scenarioProgram(scn, backend, profile), { all: true, onSchedule: (_s, _f, fail) => { if (fail) failures.add(fail); } });
      for (const m of failures) assert.doesNotMatch(m, /invariant violated/, `${f} [${profile}]`);
    }
  }
});

test('a device writing a freed page through dma_write is a failure (pinlab:dma-use-after-free), not a note', () => {
  const text = `name: dma-after-release
profiles: [current]
machine: {normal: 4 << 20}
tasks: [app]
setup:
  - mmap: {length: PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS}
    task: app
    as: buf
  - write: {addr: buf, value: 1}
    task: app
actors:
  driver:
    - get_user_pages: {start: buf, nr_pages: 1, gup_flags: FOLL_WRITE}
      task: app
      as: G
    - release_pages: {pages: G}
    - note: a driver bug, the device writes after the reference is gone
      dma_write: {pages: G, value: 9}
  app:
    - munmap: {addr: buf, length: PAGE_SIZE}
      task: app
`;
  const p = scenarioProgram(loadScenario(text, 'dma-after-release.yaml', backend), backend, 'current');
  const d = exploreDpor(p);
  assert.equal(d.verdict, 'fail');
  assert.match(d.failure!.message, /WARN pinlab:dma-use-after-free: device DMA into pfn \d+ after it was freed/);
  assert.deepEqual(compareDporExhaustive(p).problems, []);
});
