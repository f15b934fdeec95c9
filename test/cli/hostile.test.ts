// The command line against hostile input: paths that are not files, directories to walk, traces
// that cannot be written, repeated options, --version, NO_COLOR, escaping of everything printed,
// exit status 2 (never 3) for what a user can type.
/* eslint-disable no-control-regex -- these tests look for raw control characters in the output */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { main, type Io } from '../../src/cli/main.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FAKE = 'dist/test/scenario/fake-backend.js';
const tmp = mkdtempSync(join(tmpdir(), 'pinlab-cli-hostile-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Run { status: number; out: string; err: string }

/** main() in this process, with the fake backend unless env says otherwise. */
async function pinlab(args: string[], env: Record<string, string | undefined> = {}, isTTY = false): Promise<Run> {
  let out = '';
  let err = '';
  const e: Record<string, string | undefined> = { PINLAB_BACKEND: FAKE, ...env };
  for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
  const io: Io = { out: (t) => { out += t; }, err: (t) => { err += t; }, isTTY, cwd: ROOT, env: e };
  const status = await main(args, io);
  return { status, out, err };
}

let n = 0;
function file(text: string, dir = tmp, name = `h${++n}.yaml`): string {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const PASSING = `name: passing
tasks: [parent]
steps:
  - mmap: { length: 2*PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - pin_user_pages_fast: { start: buf, nr_pages: 2 }
    as: P
  - unpin_user_pages: { pages: P }
`;

function mkfifo(p: string): boolean {
  try {
    if (!existsSync(p)) execFileSync('mkfifo', [p]);
    return true;
  } catch {
    return false;
  }
}

describe('paths on the command line', () => {
  test('a FIFO, a device and a missing path are each reported, before anything runs (exit 2)', async (t) => {
    const fifo = join(tmp, 'fifo.yaml');
    if (!mkfifo(fifo)) { t.skip('no mkfifo'); return; }
    const r = await pinlab(['run', file(PASSING), fifo, '/dev/zero', join(tmp, 'missing.yaml')]);
    assert.equal(r.status, 2);
    assert.equal(r.out, '', 'something ran');
    assert.deepEqual(r.err.trimEnd().split('\n'), [
      `pinlab: ${fifo}: a FIFO (named pipe), not a regular file: pinlab reads scenarios from regular files only`,
      'pinlab: /dev/zero: a character device, not a regular file: pinlab reads scenarios from regular files only',
      `pinlab: ${join(tmp, 'missing.yaml')}: no such file`,
    ]);
  });

  test('run DIR with no scenario files is a usage error, not "0 passed, 0 failed"', async () => {
    const d = join(tmp, 'empty');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'notes.txt'), 'not a scenario');
    const r = await pinlab(['run', d]);
    assert.equal(r.status, 2);
    assert.equal(r.out, '');
    assert.match(r.err, /^pinlab: .*empty: no scenario files \(\.yaml, \.yml\) under this directory/);
  });

  test('a directory walk skips node_modules, hidden entries and links to directories (no loop), follows links to files', async () => {
    const d = join(tmp, 'walk');
    file(PASSING, join(d, 'a'), 'one.yaml');
    file(PASSING.replace('passing', 'two'), join(d, 'b'), 'two.yml');
    file('name: [broken', join(d, 'node_modules/pkg'), 'x.yaml');
    file('name: [broken', join(d, '.git'), 'x.yaml');
    file('name: [broken', d, '.hidden.yaml');
    if (!existsSync(join(d, 'a/loop'))) {
      symlinkSync('..', join(d, 'a/loop'));
      symlinkSync(join(d, 'a/one.yaml'), join(d, 'link.yaml'));
    }
    const r = await pinlab(['run', d]);
    assert.equal(r.status, 0, r.err);
    assert.equal(r.out, 'PASS passing [current] (1 check)\nPASS two [current] (1 check)\nPASS passing [current] (1 check)\n3 passed, 0 failed\n');
  });

  test('a FIFO inside a directory is that file\'s error; the other files still run', async (t) => {
    const d = join(tmp, 'withfifo');
    file(PASSING, d, 'a.yaml');
    if (!mkfifo(join(d, 'b.yaml'))) { t.skip('no mkfifo'); return; }
    const r = await pinlab(['run', d]);
    assert.equal(r.status, 2);
    assert.match(r.out, /^PASS passing \[current\] \(1 check\)\n0?1 passed, 1 failed\n$/);
    assert.match(r.err, /b\.yaml: a FIFO \(named pipe\), not a regular file/);
  });

  test('explore and replay take one FILE: a directory is refused', async () => {
    for (const cmd of ['explore', 'replay']) {
      const r = await pinlab([cmd, tmp, ...(cmd === 'replay' ? ['--schedule', '0'] : [])]);
      assert.equal(r.status, 2);
      assert.match(r.err, new RegExp(`^pinlab: ${cmd} takes one scenario FILE; .* is a directory`));
    }
  });

  test('paths are printed escaped', async () => {
    const r = await pinlab(['run', join(tmp, 'a\x1b[2Jb\rc.yaml')]);
    assert.equal(r.status, 2);
    assert.match(r.err, /a\\x1b\[2Jb\\rc\.yaml: no such file/);
  });

  test('with an empty catalogue, pinlab (no command) is a usage error; PINLAB_SCENARIOS must exist', async () => {
    const d = join(tmp, 'emptycat');
    mkdirSync(d, { recursive: true });
    const r = await pinlab([], { PINLAB_SCENARIOS: d });
    assert.equal(r.status, 2);
    assert.match(r.err, /^pinlab: no scenarios in the catalogue/);
    const l = await pinlab(['list'], { PINLAB_SCENARIOS: join(tmp, 'nope') });
    assert.equal(l.status, 2);
    assert.match(l.err, /PINLAB_SCENARIOS=.*nope: no such directory/);
  });
});

describe('--trace', () => {
  test('an unwritable --trace is found before the run, exit 2 (was exit 3 after it)', async () => {
    for (const [where, why] of [[tmp, 'it is a directory'], [join(tmp, 'no/such/dir/t.json'), 'its directory does not exist']]) {
      const r = await pinlab(['run', file(PASSING), '--trace', where]);
      assert.equal(r.status, 2);
      assert.equal(r.out, '', 'the run went ahead');
      assert.equal(r.err, `pinlab: --trace ${where}: cannot write there: ${why}\n`);
    }
  });

  test('--trace naming a scenario file being run is refused: the trace would overwrite it', async () => {
    const f = file(PASSING);
    const before = readFileSync(f, 'utf8');
    const r = await pinlab(['run', f, '--trace', f]);
    assert.equal(r.status, 2);
    assert.match(r.err, /is one of the scenario files to run: the trace would overwrite it/);
    assert.equal(readFileSync(f, 'utf8'), before);
  });

  test('checking leaves no file behind; a write that fails at the end is exit 2 with the results printed', async (t) => {
    const p = join(tmp, 'trace.json');
    const ok = await pinlab(['run', file(PASSING), '--trace', p]);
    assert.equal(ok.status, 0, ok.err);
    assert.ok(JSON.parse(readFileSync(p, 'utf8')));
    const never = join(tmp, 'never.json');
    await pinlab(['run', join(tmp, 'missing.yaml'), '--trace', never]);
    assert.equal(existsSync(never), false);
    if (!existsSync('/dev/full')) { t.skip('no /dev/full'); return; }
    const full = await pinlab(['run', file(PASSING), '--trace', '/dev/full']);
    assert.equal(full.status, 2);
    assert.match(full.out, /^PASS passing/);
    assert.equal(full.err, 'pinlab: --trace /dev/full: cannot write it: no space left on device\n');
  });
});

describe('options', () => {
  test('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.deepEqual(await pinlab(['--version']), { status: 0, out: `pinlab ${version}\n`, err: '' });
  });

  test('an option with a value given twice is a usage error: --profile no longer silently keeps the last', async () => {
    const f = file(PASSING);
    for (const args of [['--profile', '5.1', '--profile', 'current'], ['--profile=5.1', '--profile', '5.1'], ['--trace', 'a.json', '--trace', 'b.json']]) {
      const r = await pinlab(['run', f, ...args]);
      assert.equal(r.status, 2, args.join(' '));
      assert.equal(r.out, '');
      assert.match(r.err, /^pinlab: --(profile|trace) is given 2 times; give it once/);
    }
    // A flag given twice loses nothing.
    assert.equal((await pinlab(['run', f, '-v', '--verbose'])).status, 0);
  });

  test('arguments echoed in errors are escaped and cut', async () => {
    const cmd = await pinlab(['\x1b[2K\rPASS']);
    assert.match(cmd.err, /^pinlab: unknown command '\\x1b\[2K\\rPASS'/);
    const opt = await pinlab([`--${'x'.repeat(5000)}`]);
    assert.equal(opt.status, 2);
    assert.ok(opt.err.split('\n')[0].length < 400);
    const prof = await pinlab(['run', file(PASSING), '--profile', 'cur\x1brent']);
    assert.match(prof.err, /unknown profile 'cur\\x1brent'/);
  });

  test('NO_COLOR: set and not empty turns colour off; set but empty does not (no-color.org)', async () => {
    const f = file(PASSING);
    const coloured = (r: Run) => r.out.includes('\x1b[32mPASS\x1b[0m');
    assert.ok(coloured(await pinlab(['run', f], {}, true)));
    assert.ok(coloured(await pinlab(['run', f], { NO_COLOR: '' }, true)));
    assert.ok(!coloured(await pinlab(['run', f], { NO_COLOR: '1' }, true)));
    assert.ok(!coloured(await pinlab(['run', f], {}, false)));
  });

  test('--jobs is bounded by the CPUs (each worker is an isolate of ~20 MB: --jobs 100000 exhausted memory)', async () => {
    const r = await pinlab(['explore', join(ROOT, 'scenarios/explore/gup-fast-vs-fork.yaml'), '--jobs', '100000'], { PINLAB_BACKEND: undefined });
    assert.equal(r.status, 2);
    assert.match(r.err, /^pinlab: --jobs must be at most \d+ \(twice the \d+ CPUs here\), found 100000\n$/);
  });

  test('a PINLAB_BACKEND that cannot be loaded is exit 2: the user set it', async () => {
    const r = await pinlab(['ops'], { PINLAB_BACKEND: join(tmp, 'no-backend.js') });
    assert.equal(r.status, 2);
    assert.match(r.err, /^pinlab: cannot load PINLAB_BACKEND=/);
  });
});

describe('escaping everything printed', () => {
  test('a scenario name cannot forge a result line (it is refused), in run and list', async () => {
    const forged = file('name: "x\\e[2K\\rPASS forged [current] (99 checks)"\nsteps: []\n', join(tmp, 'forge'), 'f.yaml');
    const r = await pinlab(['run', forged]);
    assert.equal(r.status, 2);
    assert.doesNotMatch(r.out + r.err, /\x1b|\r/);
    assert.match(r.err, /the name holds the control character \\x1b/);
    const l = await pinlab(['list'], { PINLAB_SCENARIOS: join(tmp, 'forge') });
    assert.equal(l.status, 2);
    assert.doesNotMatch(l.out + l.err, /\x1b|\r/);
  });

  test('descriptions are printed escaped by list, and escaped as JSON by list --json', async () => {
    const d = join(tmp, 'desc');
    file('name: d\ndescription: "PASS x (99 checks)\\e[2K\\r\\x9b\\u202e end"\nsteps: []\n', d, 'd.yaml');
    const l = await pinlab(['list'], { PINLAB_SCENARIOS: d });
    assert.equal(l.status, 0, l.err);
    assert.equal(l.out, 'd  [current]  PASS x (99 checks)\\x1b[2K\\r\\x9b\\u{202E} end\n');
    const j = await pinlab(['list', '--json'], { PINLAB_SCENARIOS: d });
    assert.equal((JSON.parse(j.out) as { description: string }[])[0].description, 'PASS x (99 checks)\x1b[2K\r\x9b\u202e end');
    assert.doesNotMatch(j.out, /[\x1b\r\x9b\u202e]/);
  });

  test('WARN ids and messages from the run are printed escaped', async () => {
    // The fake backend's warn_once raises a WARN whose id is the file's text.
    const f = file('name: w\nsteps:\n  - warn_once: {id: "a\\e]0;owned\\a"}\n');
    const r = await pinlab(['run', f]);
    assert.doesNotMatch(r.out + r.err, /\x1b|\x07/);
    assert.match(r.out, /WARN a\\x1b\]0;owned\\x07/);
  });

  test('whatever still reaches the output raw is escaped at the last moment: a backend\'s texts in pinlab ops', async () => {
    const mod = join(tmp, 'loud-backend.mjs');
    writeFileSync(mod, `import { fakeBackend } from ${JSON.stringify(join(ROOT, FAKE))};
export function modelBackend() {
  const b = fakeBackend();
  const ops = new Map(b.ops);
  ops.set('loud', { name: 'loud', summary: 'clears\\x1b[2J\\rthe screen\\u202e', args: [], needsTask: false });
  return { ...b, ops };
}
`);
    for (const tty of [false, true]) {
      const r = await pinlab(['ops'], { PINLAB_BACKEND: mod }, tty);
      assert.equal(r.status, 0, r.err);
      assert.match(r.out, /^ {6}clears\\x1b\[2J\\rthe screen\\u\{202E\}$/m);
      assert.doesNotMatch(r.out, /[\r\u202e]|\x1b\[2J/);
    }
  });

  test('no output line is longer than 2,000 characters, even text no one bounded (a backend\'s op summary)', async () => {
    const mod = join(tmp, 'long-backend.mjs');
    writeFileSync(mod, `import { fakeBackend } from ${JSON.stringify(join(ROOT, FAKE))};
export function modelBackend() {
  const b = fakeBackend();
  const ops = new Map(b.ops);
  ops.set('long', { name: 'long', summary: 'x'.repeat(100000), args: [], needsTask: false });
  return { ...b, ops };
}
`);
    const r = await pinlab(['ops'], { PINLAB_BACKEND: mod });
    assert.equal(r.status, 0, r.err);
    assert.ok(r.out.split('\n').every((l) => l.length <= 2000 + 40));
    assert.match(r.out, /^ {6}x+…\(98006 more characters\)$/m);
  });
});

describe('one bad file does not take the others down', () => {
  test('an internal error while loading one file is reported for that file (exit 3); the next file runs', async () => {
    // A backend whose operation table breaks on one name: loading a file that uses it hits a bug.
    const mod = join(tmp, 'broken-backend.mjs');
    writeFileSync(mod, `import { fakeBackend } from ${JSON.stringify(join(ROOT, FAKE))};
export function modelBackend() {
  const b = fakeBackend();
  const ops = new Map(b.ops);
  const has = ops.has.bind(ops);
  ops.has = (k) => { if (k === 'boom') throw new TypeError('the table broke'); return has(k); };
  return { ...b, ops };
}
`);
    const bad = file('name: bad\nsteps:\n  - boom: {}\n');
    const r = await pinlab(['run', bad, file(PASSING)], { PINLAB_BACKEND: mod });
    assert.equal(r.status, 3);
    assert.match(r.err, /^pinlab: internal error: the table broke \(in loading .*\.yaml\)$/m);
    assert.match(r.out, /^PASS passing \[current\] \(1 check\)\n1 passed, 1 failed\n$/);
  });
});

describe('replay', () => {
  const ACTORS = `name: race
profiles: [current]
setup:
  - create_file: {name: data, size: PAGE_SIZE, fs: ext4}
actors:
  flusher:
    - writeback: {file: data}
    - writeback_complete: {file: data}
  reclaim:
    - reclaim: {file: data}
`;

  test('a schedule that runs an actor with nothing left to run is exit 2 with ERROR, not a PASS', async () => {
    const f = file(ACTORS);
    const ok = await pinlab(['replay', f, '--schedule', 'flusher,reclaim,flusher'], { PINLAB_BACKEND: undefined });
    assert.equal(ok.status, 0, ok.err);
    const r = await pinlab(['replay', f, '--schedule', '0.0.0.0'], { PINLAB_BACKEND: undefined });
    assert.equal(r.status, 2);
    assert.equal(r.out, 'ERROR race [current] schedule not feasible\n');
    assert.equal(r.err, "pinlab: entry 3 of --schedule ('flusher') cannot run: it has finished: it has no step left; "
      + 'the schedule ran as far as: flusher,flusher\n');
    const j = await pinlab(['replay', f, '--schedule', '0.0.0', '--json'], { PINLAB_BACKEND: undefined });
    assert.equal(j.status, 2);
    assert.equal((JSON.parse(j.out) as { runs: Array<{ verdict: string }> }).runs[0].verdict, 'invalid');
  });

  test('schedules in messages are escaped and cut', async () => {
    const f = file(ACTORS);
    const r = await pinlab(['replay', f, '--schedule', `ghost\x1b[2J,${'flusher,'.repeat(5000)}`], { PINLAB_BACKEND: undefined });
    assert.equal(r.status, 2);
    assert.match(r.err, /^pinlab: --schedule: schedule "ghost\\x1b\[2J,flusher.*…\(\d+ more characters\)": step 1 names unknown actor "ghost\\x1b\[2J"/);
    assert.ok(r.err.length < 600);
  });
});
