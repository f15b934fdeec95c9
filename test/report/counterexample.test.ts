// Counterexamples a person reads at once (issue 12): numbered `actor: operation(args) → result`
// lines, a stopped-and-continued operation shown as one interrupted step, the failing check last;
// --json carries the same structure.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { exploreCommand, type ExploreCliOptions } from '../../src/cli/explore.js';
import { modelBackend } from '../../src/scenario/model-backend.js';
import { counterexampleOf, formatCounterexample, type Counterexample } from '../../src/report/counterexample.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import type { EventRecord } from '../../src/trace/schema.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const COLLAPSE = 'scenarios/explore/gup-fast-vs-collapse.yaml';
const backend = modelBackend();

async function run(cmd: 'explore' | 'replay', file: string, o: Partial<ExploreCliOptions>): Promise<{ status: number; out: string }> {
  let out = '';
  const io = { out: (t: string) => { out += t; }, err: () => {}, isTTY: false, cwd: ROOT, env: {} };
  const status = await exploreCommand(cmd, io, backend, file, { json: false, ...o });
  return { status, out };
}

const EXPECTED_LINES = [
  '    1. driver: pin_user_pages_fast(start: buf, nr_pages: 1, gup_flags: FOLL_WRITE) → 1, P = [1024]',
  '       interrupted at before_grab: 2 ran up to after_isolate',
  '    2. khugepaged: collapse_huge_page(addr: buf) → 0',
  '       interrupted at after_isolate: 1 finished, 3 ran',
  '    3. driver: dma_write(pages: P, value: 9) → 0',
  `    ✗  finally: step 7 expect: page{task: app, addr: buf}.pfn == P[0]: expected 1024, got 1536 (${COLLAPSE}:46:9)`,
];

test('explore prints the minimised failure as numbered steps; a pause and its resume are one interrupted step', async () => {
  const r = await run('explore', COLLAPSE, { profile: '5.19' });
  assert.equal(r.status, 0, r.out);
  const lines = r.out.trimEnd().split('\n');
  assert.match(lines[0], /^FAIL gup-fast-vs-collapse \[5\.19\] dpor: /);
  assert.equal(lines[1], '  schedule: driver,khugepaged,driver,driver,khugepaged');
  assert.deepEqual(lines.slice(2), EXPECTED_LINES);
  // Each operation is one numbered line: the five schedule entries are three steps.
  assert.equal(lines.filter((l) => /^ {4}\d\. /.test(l)).length, 3);
});

test('replay prints the same counterexample for the same schedule', async () => {
  const r = await run('replay', COLLAPSE, { profile: '5.19', schedule: 'driver,khugepaged,driver,driver,khugepaged' });
  assert.equal(r.status, 1);
  assert.deepEqual(r.out.trimEnd().split('\n').slice(1), EXPECTED_LINES.map((l) => l.slice(2)));
});

test('--json carries the same structure: steps with their interruptions, the failure last', async () => {
  for (const cmd of ['explore', 'replay'] as const) {
    const r = await run(cmd, COLLAPSE, { profile: '5.19', json: true, ...(cmd === 'replay' && { schedule: 'driver,khugepaged,driver,driver,khugepaged' }) });
    const doc = JSON.parse(r.out) as { runs: Array<{ counterexample: Counterexample }> };
    const c = doc.runs[0].counterexample;
    assert.deepEqual(c.steps.map((s) => [s.n, s.actor, s.op, s.result]), [
      [1, 'driver', 'pin_user_pages_fast', '1'], [2, 'khugepaged', 'collapse_huge_page', '0'], [3, 'driver', 'dma_write', '0'],
    ], cmd);
    assert.deepEqual(c.steps[0].args, { start: 'buf', nr_pages: '1', gup_flags: 'FOLL_WRITE' });
    assert.deepEqual(c.steps[0].bound, { name: 'P', value: [1024] });
    assert.deepEqual(c.steps[0].interruptions, [{ at: 'before_grab', meanwhile: [{ n: 2, begins: true, stoppedAt: 'after_isolate' }] }]);
    assert.deepEqual(c.steps[1].interruptions, [{ at: 'after_isolate', meanwhile: [{ n: 1, begins: false, stoppedAt: null }, { n: 3, begins: true, stoppedAt: null }] }]);
    assert.equal(c.failure?.pos, `${COLLAPSE}:46:9`);
    // The text is this structure printed.
    assert.deepEqual(formatCounterexample(c, '    ').trimEnd().split('\n'), EXPECTED_LINES);
  }
});

test('a step still stopped when another fails is shown interrupted, with no result', () => {
  const scn = loadScenarioFile(`${ROOT}${COLLAPSE}`, backend, COLLAPSE);
  const base = { seq: 0, pos: null, task: 'app', flags: {}, vmstat: {}, changes: [], foliosWritten: 0, footprint: { reads: {}, writes: {} }, warnings: [], notes: [] };
  const actorStep = (name: string) => scn.actors!.find((a) => a.name === name)!.steps[0].index;
  const events: EventRecord[] = [
    { ...base, step: actorStep('khugepaged'), thread: 'khugepaged', op: 'collapse_huge_page', pausedAt: 'after_isolate', args: {}, ret: null },
    { ...base, step: actorStep('driver'), thread: 'driver', op: 'pin_user_pages_fast', args: {}, ret: null, bug: 'boom' },
  ];
  const c = counterexampleOf(scn, events, 'driver: BUG: boom', []);
  assert.equal(c.steps[0].result, null);
  assert.deepEqual(c.steps[0].interruptions, [{ at: 'after_isolate', meanwhile: [{ n: 2, begins: true, stoppedAt: null }] }]);
  assert.deepEqual(formatCounterexample(c).split('\n'), [
    '  1. khugepaged: collapse_huge_page(addr: buf) (still stopped when the run ended)',
    '     interrupted at after_isolate: 2 ran',
    '  2. driver: pin_user_pages_fast(start: buf, nr_pages: 1, gup_flags: FOLL_WRITE) → BUG: boom',
    '  ✗  driver: BUG: boom',
    '',
  ]);
});
