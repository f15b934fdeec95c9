// Multi-actor scenarios (setup: + actors:) explored through scenarioProgram and the CLI.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exploreDpor } from '../../src/explore/dpor.js';
import { exploreExhaustive } from '../../src/explore/exhaustive.js';
import { minimizeSchedule } from '../../src/explore/minimize.js';
import { formatSchedule, parseSchedule, replay } from '../../src/explore/schedule.js';
import { scenarioProgram } from '../../src/explore/scenario.js';
import { loadScenario, loadScenarioFile } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/run.js';
import { ScenarioFileError } from '../../src/scenario/errors.js';
import { modelBackend } from '../../src/scenario/model-backend.js';
import { main, type Io } from '../../src/cli/main.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SEED002 = `${ROOT}scenarios/explore/ext4-writeback-race.yaml`;
const backend = modelBackend();

function io(): Io & { text: () => string } {
  let out = '';
  return { out: (t) => { out += t; }, err: (t) => { out += t; }, env: {}, isTTY: false, cwd: ROOT, text: () => out };
}

test('seed 002 as a race: DPOR finds the ext4 BUG on 5.1 with a schedule that replays it', () => {
  const scn = loadScenarioFile(SEED002, backend);
  const p = scenarioProgram(scn, backend, '5.1');
  const r = exploreDpor(p);
  assert.equal(r.verdict, 'fail');
  assert.match(r.failure!.message, /kernel BUG at fs\/ext4\/inode\.c/);
  const m = minimizeSchedule(p, r.failure!.schedule);
  const text = formatSchedule(m.schedule, p.actors);
  const rep = replay(p, parseSchedule(text, p.actors));
  assert.match(rep.failure ?? '', /kernel BUG at fs\/ext4\/inode\.c/);
});

test('seed 002 as a race: every interleaving passes on current (DPOR and exhaustive agree on end states)', () => {
  const scn = loadScenarioFile(SEED002, backend);
  const p = scenarioProgram(scn, backend, 'current');
  const d = exploreDpor(p);
  const e = exploreExhaustive(p);
  assert.equal(d.verdict, 'pass');
  assert.equal(e.verdict, 'pass');
  assert.deepEqual([...d.endStates].sort(), [...e.endStates].sort());
  assert.ok(d.schedulesRun < e.schedulesRun);
});

test('seed 002 as a race: pinlab run runs the actors one after the other, and passes', () => {
  const scn = loadScenarioFile(SEED002, backend);
  for (const r of runScenario(scn, backend)) assert.ok(r.ok, `${r.profile}: ${JSON.stringify(r.verdicts.filter((v) => !v.ok))}`);
});

const SMALL = `
name: two-actors
profile: current
tasks: [a]
setup:
  - create_file: {name: f, size: 2*PAGE_SIZE, fs: ext4}
  - mmap: {length: 2*PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_SHARED, file: f}
    task: a
    as: buf
actors:
  a:
    - get_user_pages: {start: buf, nr_pages: 1, gup_flags: FOLL_WRITE}
      as: P
    - put_page: {page: 'P[0]'}
  b:
    - writeback: {file: f}
    - writeback_complete: {file: f}
  c:
    - reclaim: {file: f}
`;

test('a small multi-actor scenario: DPOR reaches the end states exhaustive search reaches, in fewer schedules', () => {
  const scn = loadScenario(SMALL, 'small.yaml', backend);
  assert.deepEqual(scn.actors!.map((a) => a.name), ['a', 'b', 'c']);
  assert.deepEqual(scn.tasks, ['a', 'b', 'c']);
  const p = scenarioProgram(scn, backend, 'current');
  const d = exploreDpor(p, { all: true });
  const e = exploreExhaustive(p, { all: true });
  assert.deepEqual([...d.endStates].sort(), [...e.endStates].sort());
  assert.ok(e.distinctEndStates > 1, 'the scenario has more than one end state');
  assert.ok(d.schedulesRun < e.schedulesRun, `dpor ${d.schedulesRun} vs exhaustive ${e.schedulesRun}`);
});

test('a step that uses a name another actor binds waits for it', () => {
  const scn = loadScenario(`${SMALL}
  d:
    - put_page: {page: 'P[0]'}
`.replace("    - put_page: {page: 'P[0]'}\n  b:", '  b:'), 'hb.yaml', backend);
  const p = scenarioProgram(scn, backend, 'current');
  const x = p.start();
  assert.deepEqual(x.enabled(), [0, 1, 2]);
  assert.deepEqual(x.blocked?.(), [3]);
  x.step(0);
  assert.ok(x.enabled().includes(3));
});

test('load errors in actors point at the file', () => {
  assert.throws(() => loadScenario(`
name: bad
setup: []
actors:
  a:
    - no_such_op: {}
`, 'bad.yaml', backend), (e: unknown) => e instanceof ScenarioFileError && /bad\.yaml:6:7: unknown operation 'no_such_op'/.test(e.message));
  assert.throws(() => loadScenario('name: bad\nsteps: []\nactors:\n  a: [{expect: []}]\n', 'bad.yaml', backend),
    (e: unknown) => e instanceof ScenarioFileError && /not steps:/.test(e.message));
});

test('pinlab explore and replay: exit 0 when each profile goes as explore: fails: says, 1 on a BUG replayed, 2 on a plain scenario', async () => {
  let o = io();
  assert.equal(await main(['explore', SEED002, '--profile', '5.1'], o), 0, o.text());
  assert.match(o.text(), /FAIL .*\[5\.1\].*expected: the file says it fails here/);
  const m = /schedule: (\S+)/.exec(o.text());
  assert.ok(m, o.text());
  o = io();
  assert.equal(await main(['replay', SEED002, '--profile', '5.1', '--schedule', m[1]], o), 1);
  assert.match(o.text(), /kernel BUG/);
  o = io();
  assert.equal(await main(['explore', SEED002, '--profile', 'current', '--json'], o), 0);
  const doc = JSON.parse(o.text()) as { format: string; command: string; runs: Array<{ verdict: string; expected: string; asExpected: boolean; schedule: null }> };
  assert.deepEqual([doc.format, doc.command], ['pinlab-trace/1', 'explore']);
  assert.deepEqual([doc.runs[0].verdict, doc.runs[0].expected, doc.runs[0].asExpected, doc.runs[0].schedule], ['pass', 'pass', true, null]);
  o = io();
  assert.equal(await main(['explore', `${ROOT}scenarios/fs/ext4-bug-gup.yaml`], o), 2);
  o = io();
  assert.equal(await main(['explore', SEED002, '--mode', 'bogus'], o), 2);
});

test('pinlab explore: a profile that does not fail where the file says it must is exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinlab-explore-'));
  const f = join(dir, 'wrong.yaml');
  writeFileSync(f, readFileSync(SEED002, 'utf8').replace("fails: {'5.1': 'kernel BUG at fs/ext4/inode.c'}", "fails: {current: 'kernel BUG'}"));
  const o = io();
  assert.equal(await main(['explore', f], o), 1, o.text());
  assert.match(o.text(), /FAIL .*\[5\.1\].*UNEXPECTED: the file expects every schedule to pass here/);
  assert.match(o.text(), /PASS .*\[current\].*UNEXPECTED: the file expects a failure containing 'kernel BUG'/);
});

test('pinlab explore: usage errors name the option', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--jobs', '0'], /--jobs must be an integer >= 1/],
    [['--depth', '2'], /--depth applies to --mode pct only/],
    [['--seed', '2'], /--seed applies to --mode pct only/],
    [['--jobs', '2', '--runs', '5'], /--runs with --jobs applies to --mode pct only/],
  ];
  for (const [args, re] of cases) {
    const o = io();
    assert.equal(await main(['explore', SEED002, ...args], o), 2, args.join(' '));
    assert.match(o.text(), re);
  }
  const o = io();
  assert.equal(await main(['replay', SEED002, '--schedule', 'driver', '--jobs', '2'], o), 2);
  assert.match(o.text(), /--jobs applies to explore only/);
});

test('pinlab explore --jobs: the same verdict, counts, end states and counterexample on every run; PCT ranges equal one thread', async () => {
  const run = async (args: string[]) => {
    const o = io();
    await main(['explore', SEED002, '--json', ...args], o);
    return (JSON.parse(o.text()) as { runs: Array<Record<string, unknown>> }).runs.map(({ elapsedMs: _e, ...rest }) => rest);
  };
  const a = await run(['--jobs', '2']);
  const b = await run(['--jobs', '2']);
  assert.deepEqual(a, b);
  const seq = await run([]);
  // a passing search covers the same end states with or without workers
  assert.equal(a[1].distinctEndStates, seq[1].distinctEndStates);
  assert.equal(a[0].verdict, 'fail');
  const pct1 = await run(['--mode', 'pct', '--runs', '60', '--depth', '3', '--seed', '7']);
  const pct2 = await run(['--mode', 'pct', '--runs', '60', '--depth', '3', '--seed', '7', '--jobs', '2']);
  assert.deepEqual(pct2.map(({ jobs: _j, ...r }) => r), pct1);
});

test('pinlab explore --trace writes the trace of the minimised failing schedule', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinlab-explore-'));
  const out = join(dir, 't.json');
  const o = io();
  assert.equal(await main(['explore', SEED002, '--profile', '5.1', '--trace', out], o), 0);
  const t = JSON.parse(readFileSync(out, 'utf8')) as { runs: Array<{ schedule: string[]; verdict: string; events: Array<{ op: string; bug?: string }> }> };
  assert.equal(t.runs.length, 1);
  assert.equal(t.runs[0].verdict, 'fail');
  assert.ok(t.runs[0].schedule.length > 0);
  assert.match(t.runs[0].events.at(-1)!.bug ?? '', /kernel BUG at fs\/ext4\/inode\.c/);
});

test('pinlab explore on a terminal shows a progress line on stderr and clears it; not when piped', async () => {
  let err = '';
  let out = '';
  const tty: Io = { out: (t) => { out += t; }, err: (t) => { err += t; }, env: {}, isTTY: true, cwd: ROOT };
  assert.equal(await main(['explore', SEED002, '--profile', 'current'], tty), 0);
  const ESC = String.fromCharCode(27);
  assert.ok(err.includes(`\r${ESC}[2Kexplore ext4-writeback-vs-driver [current] dpor: `), JSON.stringify(err.slice(0, 80)));
  assert.match(err, /dpor: \d+ schedules/);
  assert.ok(err.endsWith('\r\x1b[2K'), 'the line is cleared before the result');
  assert.match(out, /^PASS /);
  const piped = io();
  await main(['explore', SEED002, '--profile', 'current'], piped);
  assert.ok(!piped.text().includes(ESC));
});
