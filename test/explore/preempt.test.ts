// Yield points (src/preempt.ts): fork between its maybe-pinned test and its write-protect,
// GUP-fast between its grab and its write_protect_seq check, and the mmap_lock wait of GUP's slow
// path; the scenario language's preempt:, the session's pause/resume, and the explorer's blocking.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelBug } from '../../src/check/bug.js';
import { pin_user_pages_fast_gen } from '../../src/gup/api.js';
import { PAGE_SIZE } from '../../src/include/uapi.js';
import { runSegment, runToEnd } from '../../src/preempt.js';
import { do_fork_gen } from '../../src/vm/fork.js';
import { translate } from '../../src/vm/access.js';
import { exploreDpor } from '../../src/explore/dpor.js';
import { scenarioProgram } from '../../src/explore/scenario.js';
import { loadScenario } from '../../src/scenario/load.js';
import { ScenarioFileError } from '../../src/scenario/errors.js';
import { modelBackend } from '../../src/scenario/model-backend.js';
import { kernel, mmap, write } from '../helpers.js';
import { FOLL_WRITE } from '../../src/include/linux/mm.js';
import { createTask, findTask } from '../../src/vm/mm.js';

const STOP = new Set(['before_wrprotect']);

/** GUP-fast pins a page of a parent whose fork is stopped between its test and its write-protect. */
function pinDuringFork(profile: string) {
  const k = kernel(profile, { normal: 2 << 20 });
  const t = createTask(k, 'parent');
  const addr = mmap(k, t, PAGE_SIZE);
  write(k, t, addr, PAGE_SIZE, 1);
  const fork = do_fork_gen(k, t, 'child');
  const seg = k.step('parent', 'fork', {}, () => runSegment(fork, STOP));
  assert.equal(seg.done, false);
  assert.equal(t.mm.mmapWriteLocked, true);
  const pages = [-1];
  const gup = pin_user_pages_fast_gen(k, t, addr, 1, FOLL_WRITE, pages);
  const g = k.step('driver', 'pin_user_pages_fast', {}, () => runSegment(gup, new Set()));
  return { k, t, addr, pages, fork, g, gup };
}

test('5.9: GUP-fast pins inside fork\'s window and fork then shares the pinned page (the race 57efa1fe5957 closed)', () => {
  const { k, t, addr, pages, fork, g } = pinDuringFork('5.9');
  assert.deepEqual(g, { done: true, value: 1 }); // no write_protect_seq check before v5.11
  const pinned = pages[0];
  k.step('parent', 'fork:resume', {}, () => runSegment(fork, STOP));
  const child = findTask(k, 'child');
  assert.equal(translate(child.mm, addr), pinned, 'the child shares the pinned page');
  write(k, t, addr, PAGE_SIZE, 2);
  assert.notEqual(translate(t.mm, addr), pinned, 'the parent\'s write moved it off the pinned page');
});

test('current: GUP-fast sees fork running, leaves the page, and its slow path waits for fork\'s mmap_lock', () => {
  const { k, t, addr, pages, fork, g, gup } = pinDuringFork('current');
  assert.equal(g.done, false);
  assert.equal(!g.done && g.at.point, 'mmap_lock');
  assert.equal(k.vmstat.get('nr_foll_pin_acquired'), 0, 'GUP-fast took nothing while fork ran');
  k.step('parent', 'fork:resume', {}, () => runSegment(fork, STOP));
  assert.equal(t.mm.mmapWriteLocked, false);
  const r = k.step('driver', 'pin_user_pages_fast:resume', {}, () => runSegment(gup, new Set(), !g.done ? g.at : null));
  assert.deepEqual(r, { done: true, value: 1 });
  write(k, t, addr, PAGE_SIZE, 2);
  assert.equal(translate(t.mm, addr), pages[0], 'the parent keeps the pinned page');
});

test('runToEnd: a wait nothing can release is a BUG (deadlock), not a hang', () => {
  const { k, t, addr } = pinDuringFork('current');
  assert.throws(() => k.step('x', 'pin', {}, () => runToEnd(k, pin_user_pages_fast_gen(k, t, addr, 1, FOLL_WRITE, [-1]))),
    (e: unknown) => e instanceof KernelBug && /mmap_lock .*deadlock/.test(e.message));
});

const backend = modelBackend();
const RACE = `
name: r
profiles: ['5.9', current]
machine: {normal: 2 << 20}
tasks: [parent]
setup:
  - mmap: {length: PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS}
    task: parent
    as: buf
  - write: {addr: buf, value: 1}
    task: parent
actors:
  parent:
    - fork: {child: child}
      preempt: [before_wrprotect]
  other:
    - write: {addr: buf, value: 3}
      task: parent
`;

test('preempt: a paused fork holds mmap_lock: another thread of the process cannot fault until fork goes on', () => {
  const p = scenarioProgram(loadScenario(RACE, 'r.yaml', backend), backend, 'current');
  const x = p.start();
  assert.deepEqual(x.enabled(), [0, 1]);
  x.step(0); // fork stops before write-protecting the page
  assert.deepEqual(x.enabled(), [0]);
  assert.deepEqual(x.blocked?.(), [1]);
  x.step(0);
  assert.deepEqual(x.enabled(), [1]);
  const r = exploreDpor(p);
  assert.equal(r.verdict, 'pass', r.failure?.message);
});

test('preempt: load errors name the operation and its yield points', () => {
  const bad = (text: string, re: RegExp) => assert.throws(() => loadScenario(text, 'b.yaml', backend),
    (e: unknown) => e instanceof ScenarioFileError && re.test(e.message), text);
  bad(RACE.replace('preempt: [before_wrprotect]', 'preempt: [before_wrprotec]'),
    /b\.yaml:\d+:17: operation 'fork' has no yield point 'before_wrprotec'; did you mean 'before_wrprotect'\? \(its yield points: before_wrprotect\)/);
  bad(`${RACE}      preempt: [x]\n`, /operation 'write' has no yield points: it always runs as one atomic step/);
  bad(RACE.replace('  other:\n', '  other:\n    - expect: []\n      preempt: [x]\n'), /'preempt' has no meaning on an expect step/);
});

test('explore: an actor that can never run ends the schedule as a deadlock', () => {
  const text = `${RACE.replace("profiles: ['5.9', current]", "profiles: ['5.9', current]")}  fourth:
    - pin_user_pages: {start: buf, nr_pages: 1}
      task: parent
      profiles: ['5.9']
      as: Q
  third:
    - unpin_user_pages: {pages: Q}
`;
  const p = scenarioProgram(loadScenario(text, 'd.yaml', backend), backend, 'current');
  const r = exploreDpor(p); // on current the step binding Q is not run
  assert.equal(r.verdict, 'fail');
  assert.match(r.failure!.message, /^deadlock: third can never run \(third: waits for Q\)/);
});

test('replay --trace of a preempted schedule shows each part of the stopped operations, in order', async () => {
  const { main } = await import('../../src/cli/main.js');
  const { mkdtempSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const out = join(mkdtempSync(join(tmpdir(), 'pinlab-preempt-')), 't.json');
  let text = '';
  const io = { out: (t: string) => { text += t; }, err: (t: string) => { text += t; }, env: {}, isTTY: false, cwd: root };
  const code = await main(['replay', 'scenarios/explore/gup-fast-vs-fork.yaml', '--profile', '5.9',
    '--schedule', 'parent,driver,driver,driver,parent,parent', '--trace', out], io);
  assert.equal(code, 1, text);
  assert.match(text, /page\{task: parent, addr: buf\}\.pfn == P\[0\]: expected \d+, got \d+/);
  type Ev = { thread: string; task: string | null; op: string; pausedAt?: string; resumedFrom?: string; notes: string[] };
  const t = JSON.parse(readFileSync(out, 'utf8')) as { runs: Array<{ events: Ev[] }> };
  const events = t.runs[0].events;
  const ops = events.map((e) => `${e.thread}${e.task !== e.thread ? `@${e.task}` : ''} ${e.op}${e.pausedAt ? ` (to ${e.pausedAt})` : ''}${e.resumedFrom ? ' (resumed)' : ''}`);
  assert.deepEqual(ops.slice(2, 8), ['parent fork (to before_wrprotect)', 'driver@parent pin_user_pages_fast (to after_grab)',
    'driver@parent pin_user_pages_fast (resumed)', 'driver dma_write', 'parent fork (resumed)', 'parent write']);
  assert.match(events[2].notes.join(), /paused at before_wrprotect/);
});
