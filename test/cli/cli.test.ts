import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { main, type Io } from '../../src/cli/main.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FAKE = 'dist/test/scenario/fake-backend.js';
const REAL = join(ROOT, 'dist/src/scenario/model-backend.js');
const tmp = mkdtempSync(join(tmpdir(), 'pinlab-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Run { status: number | null; stdout: string; stderr: string }

function pinlab(args: string[], env: Record<string, string | undefined> = {}): Run {
  const e: Record<string, string | undefined> = { ...process.env, PINLAB_BACKEND: FAKE, ...env };
  for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
  const r = spawnSync(process.execPath, ['bin/pinlab.js', ...args], { cwd: ROOT, env: e as NodeJS.ProcessEnv, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let n = 0;
function file(text: string, name = `s${++n}.yaml`, dir = tmp): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const PASSING = `name: passing
profiles: [5.1, current]
tasks: [parent]
steps:
  - mmap: { length: 2*PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - pin_user_pages_fast: { start: buf, nr_pages: 2 }
    as: P
    expect: { ret: 2 }
  - expect: { pinned: { pages: P }, pincount: 1 }
  - unpin_user_pages: { pages: P }
`;

const FAILING = `name: failing
tasks: [parent]
steps:
  - mmap: { length: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - pin_user_pages_fast: { start: buf, nr_pages: 1 }
    expect: { ret: 2 }
`;

const BAD = `name: bad
tasks: [parent]
# comment

steps:
  # the mapping
  - mmap: { length: 2*PAGE_SIZE, prot: PROT_RAED, flags: MAP_PRIVATE|MAP_ANONYMOUS }
`;

describe('pinlab run: exit status and output', () => {
  test('0 when every verdict passes; one line per scenario and profile; the summary', () => {
    const f = file(PASSING);
    const r = pinlab(['run', f]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'PASS passing [5.1] (3 checks)\nPASS passing [current] (3 checks)\n2 passed, 0 failed\n');
    assert.equal(r.stderr, '');
  });

  test('1 when a verdict fails; the failing verdicts are printed under the scenario', () => {
    const f = file(FAILING);
    const r = pinlab(['run', f]);
    assert.equal(r.status, 1);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'FAIL failing [current] (2 checks, 2 failed)');
    assert.equal(lines[1], `  ${f}:7:15: step 2 pin_user_pages_fast: ret == 2: expected 2, got 1`);
    assert.match(lines[2], /^ {2}.*:1:1: end: no leaks: 1 leak:$/);
    assert.equal(lines[3], '      pfn 0: pinned by pin_user_pages_fast at step 2');
    assert.equal(lines.at(-2), '0 passed, 1 failed');
  });

  test('2 for an error in a file: file:line:col on stderr, no stack', () => {
    const f = file(BAD);
    const r = pinlab(['run', f]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `${f}:7:40: unknown name 'PROT_RAED'; did you mean 'PROT_READ'?\n`);
    assert.equal(r.stdout, '0 passed, 1 failed\n');
  });

  test('2 beats 1; the other files still run', () => {
    const r = pinlab(['run', file(PASSING), file(BAD), file(FAILING)]);
    assert.equal(r.status, 2);
    assert.match(r.stdout, /PASS passing \[5\.1\]/);
    assert.match(r.stdout, /FAIL failing \[current\]/);
    assert.match(r.stdout, /2 passed, 2 failed\n$/);
  });

  test('2 for a ScenarioError at run time, reported at the argument', () => {
    const f = file('name: rt\nsteps:\n  - reject: { n: 0 }\n');
    const r = pinlab(['run', f]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `${f}:3:15: n must be positive\n`);
    assert.match(r.stdout, /^ERROR rt \[current\]\n0 passed, 1 failed\n$/);
  });

  test('2 for a missing file, before anything runs', () => {
    const r = pinlab(['run', file(PASSING), 'no/such.yaml']);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'pinlab: no/such.yaml: no such file\n');
    assert.equal(r.stdout, '');
  });

  test('a directory runs every .yaml file under it, in name order', () => {
    const dir = join(tmp, 'dir');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    file(PASSING.replace('passing', 'b-second'), 'b.yaml', dir);
    file(PASSING.replace('passing', 'a-first').replace('profiles: [5.1, current]', 'profile: 5.19'), 'a.yaml', join(dir, 'sub'));
    writeFileSync(join(dir, 'notes.txt'), 'not a scenario');
    const r = pinlab(['run', dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n').filter(Boolean).map((l) => l.split(' (')[0]),
      ['PASS b-second [5.1]', 'PASS b-second [current]', 'PASS a-first [5.19]', '3 passed, 0 failed']);
  });

  test('--profile overrides the file; an unknown profile is a usage error', () => {
    const r = pinlab(['run', '--profile', '5.19', file(PASSING)]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'PASS passing [5.19] (3 checks)\n1 passed, 0 failed\n');
    const bad = pinlab(['run', '--profile', '5.10', file(PASSING)]);
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, "pinlab: unknown profile '5.10'; did you mean '5.1'? (profiles: 5.1, 5.19, current)\n");
  });

  test('--verbose prints every verdict', () => {
    const r = pinlab(['run', '-v', '--profile', 'current', file(PASSING)]);
    assert.equal(r.status, 0);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'PASS passing [current] (3 checks)');
    assert.match(lines[1], /^ {2}ok {3}.*:9:15: step 2 pin_user_pages_fast: ret == 2$/);
    assert.match(lines[2], /^ {2}ok {3}.*:10:37: step 3 expect: pinned\{pages: P\}\.pincount == 1$/);
    assert.match(lines[3], /^ {2}ok {3}.*: end: no leaks$/);
  });

  test('unexpected WARNs are printed but do not fail', () => {
    const r = pinlab(['run', file('name: w\nsteps:\n  - warn_once: { id: gup-odd }\n')]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, 'PASS w [current] (1 check)\n  WARN gup-odd: WARN_ON_ONCE: gup-odd (step 1)\n1 passed, 0 failed\n');
  });

  test('--json prints one document', () => {
    const r = pinlab(['run', '--json', file(PASSING), file(FAILING), file(BAD)]);
    assert.equal(r.status, 2);
    const doc = JSON.parse(r.stdout) as {
      format: string; command: string;
      runs: { name: string; profile: string; ok: boolean; verdict: string; schedule: null; checks: number; verdicts: { ok: boolean; description: string }[] }[];
      errors: { line: number; col: number; message: string }[]; passed: number; failed: number;
    };
    assert.deepEqual([doc.format, doc.command], ['pinlab-trace/1', 'run']);
    assert.deepEqual(doc.runs.map((x) => [x.name, x.profile, x.ok, x.verdict, x.schedule, x.checks]),
      [['passing', '5.1', true, 'pass', null, 3], ['passing', 'current', true, 'pass', null, 3], ['failing', 'current', false, 'fail', null, 2]]);
    assert.equal(doc.runs[2].verdicts[0].description, 'step 2 pin_user_pages_fast: ret == 2');
    assert.deepEqual(doc.errors.map((e) => [e.line, e.col]), [[7, 40]]);
    assert.deepEqual([doc.passed, doc.failed], [2, 2]);
  });

  test('--trace writes one pinlab-trace/1 object with a list of runs, however many runs there are', () => {
    const f = file(PASSING);
    const one = join(tmp, 'one.json');
    assert.equal(pinlab(['run', '--profile', 'current', '--trace', one, f]).status, 0);
    type Doc = { format: string; command: string; runs: Array<{ file: string; profile: string; verdict: string; events: unknown[] }> };
    const t1 = JSON.parse(readFileSync(one, 'utf8')) as Doc;
    assert.deepEqual([t1.format, t1.command, t1.runs.length, t1.runs[0].profile, t1.runs[0].verdict], ['pinlab-trace/1', 'run', 1, 'current', 'pass']);
    // the fake backend's trace has no events: the run is there, with none
    assert.deepEqual(t1.runs[0].events, []);
    const many = join(tmp, 'many.json');
    assert.equal(pinlab(['run', '--trace', many, f]).status, 0);
    const t2 = JSON.parse(readFileSync(many, 'utf8')) as Doc;
    assert.deepEqual(t2.runs.map((r) => [r.file, r.profile]), [[f, '5.1'], [f, 'current']]);
    // after an error in the file: still the same shape, with no runs
    const none = join(tmp, 'none.json');
    assert.equal(pinlab(['run', '--trace', none, file(BAD)]).status, 2);
    const t3 = JSON.parse(readFileSync(none, 'utf8')) as Doc & { errors: unknown[] };
    assert.deepEqual([t3.format, t3.runs.length, t3.errors.length], ['pinlab-trace/1', 0, 1]);
  });
});

describe('pinlab: other commands and errors', () => {
  test('help, --help', () => {
    for (const args of [['help'], ['--help'], ['run', '-h']]) {
      const r = pinlab(args);
      assert.equal(r.status, 0);
      assert.match(r.stdout, /^Usage: pinlab \[command\] \[options\]/);
    }
  });

  test('usage errors exit 2 with the usage', () => {
    const unknown = pinlab(['frob']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /^pinlab: unknown command 'frob'\n\nUsage: pinlab/);
    assert.match(pinlab(['rnu']).stderr, /unknown command 'rnu'; did you mean 'run'\?/);
    assert.match(pinlab(['x.yaml']).stderr, /did you mean 'pinlab run x\.yaml'\?/);
    const opt = pinlab(['run', '--colour', 'x.yaml']);
    assert.equal(opt.status, 2);
    assert.match(opt.stderr, /^pinlab: Unknown option '--colour'/);
    assert.equal(pinlab(['run']).status, 2);
    assert.equal(pinlab(['list', '--trace', 'x']).status, 2);
    assert.equal(pinlab(['ops', 'extra']).status, 2);
  });

  test('an internal error exits 3 without a stack, unless PINLAB_DEBUG=1', () => {
    const f = file('name: boom\nsteps:\n  - explode: {}\n');
    const r = pinlab(['run', f]);
    assert.equal(r.status, 3);
    assert.equal(r.stderr, `pinlab: internal error: the fake model exploded (in ${f} [current])\n`);
    const d = pinlab(['run', f], { PINLAB_DEBUG: '1' });
    assert.equal(d.status, 3);
    assert.match(d.stderr, /TypeError: the fake model exploded\n\s+at /);
  });

  test('a backend that cannot be loaded is reported clearly, as a usage error (the user set PINLAB_BACKEND)', () => {
    const r = pinlab(['run', file(PASSING)], { PINLAB_BACKEND: 'dist/no/such/backend.js' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^pinlab: cannot load PINLAB_BACKEND=dist\/no\/such\/backend\.js: /);
    const notOne = pinlab(['ops'], { PINLAB_BACKEND: 'dist/src/scenario/errors.js' });
    assert.equal(notOne.status, 2);
    assert.match(notOne.stderr, /does not export modelBackend\(\)/);
  });

  test('no arguments: the catalogue; list', () => {
    const cat = join(tmp, 'catalogue');
    mkdirSync(join(cat, 'cow'), { recursive: true });
    file(PASSING.replace('name: passing', 'name: pin-two\ndescription: |\n  Pin two pages.\n  More text.'), 'pin.yaml', join(cat, 'cow'));
    file(FAILING, 'fail.yaml', cat);
    const r = pinlab([], { PINLAB_SCENARIOS: cat });
    assert.equal(r.status, 1);
    assert.deepEqual(r.stdout.split('\n').filter((l) => /^(PASS|FAIL|\d)/.test(l)),
      ['PASS pin-two [5.1] (3 checks)', 'PASS pin-two [current] (3 checks)', 'FAIL failing [current] (2 checks, 2 failed)',
        '2 passed, 1 failed']);
    const l = pinlab(['list'], { PINLAB_SCENARIOS: cat });
    assert.equal(l.status, 0);
    assert.equal(l.stdout, 'pin-two  [5.1,current]  Pin two pages.\nfailing  [current]\n');
  });

  test('ops lists operations, queries, machine settings, profiles', () => {
    const r = pinlab(['ops']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^ {2}pin_user_pages_fast\(start: int, nr_pages: int, gup_flags\?: flags\) {2}\[task\]$/m);
    assert.match(r.stdout, /^ {2}vmstat\(\)$/m);
    assert.match(r.stdout, /fields:\n {8}nr_foll_pin_acquired, nr_foll_pin_released\n/);
    assert.match(r.stdout, /^Profiles: 5\.1, 5\.19, current \(default current\)$/m);
    const j = JSON.parse(pinlab(['ops', '--json']).stdout) as { operations: { name: string }[] };
    assert.ok(j.operations.some((o) => o.name === 'fork'));
  });
});

describe('colour', () => {
  async function capture(isTTY: boolean, env: Record<string, string>): Promise<string> {
    let out = '';
    const io: Io = {
      out: (t) => { out += t; }, err: () => {}, isTTY, cwd: ROOT,
      env: { PINLAB_BACKEND: FAKE, ...env },
    };
    const status = await main(['run', '--profile', 'current', file(PASSING)], io);
    assert.equal(status, 0);
    return out;
  }

  test('only on a terminal, and not with NO_COLOR', async () => {
    assert.ok((await capture(true, {})).startsWith('\x1b[32mPASS\x1b[0m passing'));
    assert.equal(await capture(true, { NO_COLOR: '1' }), 'PASS passing [current] (3 checks)\n1 passed, 0 failed\n');
    assert.equal(await capture(false, {}), 'PASS passing [current] (3 checks)\n1 passed, 0 failed\n');
  });
});

describe('with the real model', () => {
  const real = existsSync(REAL);

  test('pinlab ops', (t) => {
    if (!real) { t.skip('dist/src/scenario/model-backend.js is not built'); return; }
    const r = pinlab(['ops'], { PINLAB_BACKEND: undefined });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /pin_user_pages_fast\(/);
  });

  test('an allocation failure is printed under the result, with the step, and is in --trace', (t) => {
    if (!real) { t.skip('dist/src/scenario/model-backend.js is not built'); return; }
    const text = `name: oom
machine: { normal: 2M }
steps:
  - mmap: { length: 1100*PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - write: { addr: buf, length: 1100*PAGE_SIZE, value: 1 }
    expect: { ret: 0 }
`;
    const out = join(tmp, 'oom-trace.json');
    const r = pinlab(['run', file(text), '--trace', out], { PINLAB_BACKEND: undefined });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[1], /step 2 write: ret == 0: expected 0, got -ENOMEM$/);
    assert.equal(lines[2], '  ALLOC page allocation failure: order:0, mode:GFP_HIGHUSER_MOVABLE in do_anonymous_page '
      + '(free pages: MOVABLE 0, CMA 0, NORMAL 0) (step 2 write)');
    const trace = JSON.parse(readFileSync(out, 'utf8')) as { format: string; runs: Array<{ events: Array<{ op: string; allocFailures?: string[] }> }> };
    assert.equal(trace.format, 'pinlab-trace/1');
    assert.match(trace.runs[0].events.find((e) => e.op === 'write')!.allocFailures![0], /^page allocation failure: order:0/);
  });

  test('a small scenario passes and a wrong expectation fails', (t) => {
    if (!real) { t.skip('dist/src/scenario/model-backend.js is not built'); return; }
    const text = `name: real-pin
tasks: [parent]
steps:
  - mmap: { length: 4*PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - write: { addr: buf, length: 4*PAGE_SIZE, value: 7 }
  - pin_user_pages_fast: { start: buf, nr_pages: 4, gup_flags: FOLL_WRITE }
    as: P
    expect: { ret: 4 }
  - expect:
      - data: { addr: buf + PAGE_SIZE }
        value: 7
      - page: { addr: buf }
        maybe_dma_pinned: true
  - unpin_user_pages: { pages: P }
`;
    const ok = pinlab(['run', file(text)], { PINLAB_BACKEND: undefined });
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    const bad = pinlab(['run', file(text.replace('value: 7\n      - page', 'value: 8\n      - page'))], { PINLAB_BACKEND: undefined });
    assert.equal(bad.status, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /data\{addr: buf \+ PAGE_SIZE\}\.value == 8: expected 8, got 7/);
  });

  test('the complete example of docs/scenarios.md passes', (t) => {
    if (!real) { t.skip('dist/src/scenario/model-backend.js is not built'); return; }
    const doc = readFileSync(join(ROOT, 'docs/scenarios.md'), 'utf8');
    const m = /## A complete example\n\n```yaml\n([\s\S]*?)```/.exec(doc);
    assert.ok(m, 'the example is in the document');
    const r = pinlab(['run', file(m[1])], { PINLAB_BACKEND: undefined });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^PASS ro-pin-then-fork \[5\.9\] \(11 checks\)\nPASS ro-pin-then-fork \[current\] \(11 checks\)\n/);
  });

  test('the catalogue loads and runs without file or internal errors', (t) => {
    if (!real) { t.skip('dist/src/scenario/model-backend.js is not built'); return; }
    if (!existsSync(join(ROOT, 'scenarios'))) { t.skip('no scenarios/ directory yet'); return; }
    const r = pinlab([], { PINLAB_BACKEND: undefined });
    assert.ok(r.status === 0 || r.status === 1, `status ${r.status}: ${r.stderr}`);
    assert.match(r.stdout, /^\d+ passed, \d+ failed$/m);
  });
});
