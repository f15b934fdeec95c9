// The hostile-input corpus: every file of test/hostile/corpus/ and every generated input below is
// given to the real command line (bin/pinlab.js, as a subprocess), and each run must end within
// 10 s and 500 MB, with exit status 0, 1 or 2 as the entry says (never 3, never a signal), no stack
// trace, no raw control character and no line over 1,000 characters on stdout or stderr, and, for
// a file error, a located message (file:line:col:) or, for a path that cannot be read at all,
// "pinlab: PATH: why".
//
// A corpus file says what it attacks and what must happen in its leading comment:
//   # attacks: what the file tries to break
//   # expect: STATUS [/REGEX/]               (run FILE; STATUS a number or "any"; REGEX on stderr+stdout)
//   # also: COMMAND [=> STATUS [/REGEX/]]    (more runs: list, explore, replay --schedule S)
// Huge inputs are generated here at test time instead of being checked in.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, describe, test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CORPUS = join(ROOT, 'test/hostile/corpus');
const BIN = join(ROOT, 'bin/pinlab.js');
const tmp = mkdtempSync(join(tmpdir(), 'pinlab-hostile-'));
after(() => {
  try { chmodSync(join(tmp, 'unreadable.yaml'), 0o644); } catch { /* not created */ }
  rmSync(tmp, { recursive: true, force: true });
});

const TIMEOUT_MS = 10_000;
const MAX_RSS_KB = 500 * 1024;
const MAX_LINE = 1000;

/**
 * Runs bin/pinlab.js in this process after the wrapper notes, at exit, the peak resident set size
 * (process.resourceUsage().maxRSS, in KiB) into the file named by PINLAB_HOSTILE_RSS.
 */
const WRAPPER = `
import { writeFileSync } from 'node:fs';
process.on('exit', () => writeFileSync(process.env.PINLAB_HOSTILE_RSS, String(process.resourceUsage().maxRSS)));
process.argv = [process.argv[0], ${JSON.stringify(BIN)}, ...process.argv.slice(1)];
await import(${JSON.stringify(pathToFileURL(BIN).href)});
`;

interface Outcome { status: number | null; signal: string | null; stdout: string; stderr: string; maxRssKb: number; ms: number }

let runs = 0;
function pinlab(args: readonly string[], env: Record<string, string> = {}): Promise<Outcome> {
  const rssFile = join(tmp, `rss-${++runs}`);
  const start = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--max-old-space-size=600', '--input-type=module', '-e', WRAPPER, '--', ...args], {
      cwd: ROOT, env: { ...process.env, NO_COLOR: '', PINLAB_HOSTILE_RSS: rssFile, ...env }, timeout: TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (status, signal) => {
      const rss = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : -1;
      resolvePromise({ status, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), maxRssKb: rss, ms: Date.now() - start });
    });
  });
}

// eslint-disable-next-line no-control-regex -- raw control and bidi characters are what must never be printed
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028-\u202e\u2066-\u2069]/;

interface Expect {
  /** Allowed exit statuses. */
  readonly status: readonly number[];
  readonly pattern?: RegExp;
  /** A file error must be located (file:line:col:); false where "pinlab: PATH: why" is right too. */
  readonly located: boolean;
}

/** The invariants of every run, and what the entry expects. */
function check(what: string, r: Outcome, e: Expect): void {
  // stderr first: patterns that span both read stderr, then stdout.
  const both = `${r.stderr}\n${r.stdout}`;
  const show = `${what}\n--- status ${r.status} signal ${r.signal} (${r.ms} ms, ${r.maxRssKb} KiB)\n--- stderr\n${r.stderr.slice(0, 2000)}\n--- stdout\n${r.stdout.slice(0, 2000)}`;
  assert.equal(r.signal, null, `killed by ${r.signal} (a hang past ${TIMEOUT_MS} ms?)\n${show}`);
  assert.notEqual(r.status, 3, `internal error\n${show}`);
  assert.ok(r.status !== null && e.status.includes(r.status), `exit status ${r.status}, expected ${e.status.join(' or ')}\n${show}`);
  assert.ok(r.maxRssKb > 0 && r.maxRssKb < MAX_RSS_KB, `peak RSS ${r.maxRssKb} KiB (limit ${MAX_RSS_KB})\n${show}`);
  assert.doesNotMatch(both, /^\s+at .+[:(]\d+:\d+\)?$/m, `a stack trace\n${show}`);
  assert.doesNotMatch(both, /pinlab: internal error|Maximum call stack|heap out of memory/i, show);
  const raw = RAW_CONTROL.exec(both);
  assert.equal(raw, null, `a raw control character U+${raw?.[0].charCodeAt(0).toString(16).padStart(4, '0')} in the output\n${show}`);
  const long = both.split('\n').find((l) => l.length > MAX_LINE);
  assert.equal(long, undefined, `an output line of ${long?.length} characters\n${show}`);
  if (r.status === 2) {
    const located = /^\S.*:\d+:\d+: /m.test(r.stderr);
    assert.ok(located || (!e.located && /^pinlab: /m.test(r.stderr)), `exit 2 without a located error\n${show}`);
  }
  if (e.pattern) assert.match(both, e.pattern, show);
}

/** "2 /regex/", "any", "0" → Expect. */
function parseExpect(text: string, located: boolean): Expect {
  const m = /^(any|\d)(?:\s+\/(.*)\/)?\s*$/.exec(text.trim());
  assert.ok(m, `bad expectation '${text}'`);
  const status = m[1] === 'any' ? [0, 1, 2] : [Number(m[1])];
  return { status, located, ...(m[2] !== undefined && { pattern: new RegExp(m[2]) }) };
}

interface CorpusFile { name: string; attacks: string; expect: Expect; also: { args: string[]; expect: Expect | null }[] }

function readCorpus(): CorpusFile[] {
  return readdirSync(CORPUS).filter((f) => f.endsWith('.yaml')).sort().map((name) => {
    const head = readFileSync(join(CORPUS, name), 'utf8').replace(/^\ufeff/, '').split('\n');
    const field = (k: string) => head.filter((l) => l.startsWith(`# ${k}: `)).map((l) => l.slice(k.length + 4));
    const [attacks] = field('attacks');
    const [expect] = field('expect');
    assert.ok(attacks && expect, `${name}: the leading comment must say '# attacks:' and '# expect:'`);
    const also = field('also').map((a) => {
      const [cmd, exp] = a.split(' => ');
      // Arguments are space-separated; \e stands for ESC (the file itself holds no control character).
      const args = cmd.trim().split(/\s+/).map((x) => x.replace(/\\e/g, '\x1b'));
      // A command's error may be about its arguments (--schedule), not a place in the file.
      return { args, expect: exp === undefined ? null : parseExpect(exp, false) };
    });
    return { name, attacks, expect: parseExpect(expect, true), also };
  });
}

const corpus = readCorpus();

describe('hostile corpus: test/hostile/corpus/*.yaml through the CLI', { concurrency: 2 }, () => {
  test('the corpus is there: at least 60 files, each saying what it attacks', () => {
    assert.ok(corpus.length >= 60, `${corpus.length} files`);
  });

  for (const c of corpus) {
    const file = relative(ROOT, join(CORPUS, c.name));
    test(`${c.name}: ${c.attacks}`, async () => {
      check(`run ${file}`, await pinlab(['run', file]), c.expect);
      for (const a of c.also) {
        if (a.args[0] === 'list') {
          // list reads the catalogue: a directory holding only this file.
          const dir = join(tmp, `list-${c.name}`);
          mkdirSync(dir, { recursive: true });
          copyFileSync(join(CORPUS, c.name), join(dir, c.name));
          const ok = c.expect.status.includes(2) ? [2] : [0];
          check(`list (${c.name})`, await pinlab(['list'], { PINLAB_SCENARIOS: dir }), a.expect ?? { status: ok, located: true });
          check(`list --json (${c.name})`, await pinlab(['list', '--json'], { PINLAB_SCENARIOS: dir }), a.expect ?? { status: ok, located: true });
        } else {
          const [cmd, ...rest] = a.args;
          check(`${cmd} ${file} ${rest.join(' ')}`, await pinlab([cmd, file, ...rest]), a.expect ?? { status: [0, 1], located: true });
        }
      }
    });
  }
});

// ---- generated inputs and paths that are not ordinary files -------------------------------------

interface Generated {
  readonly name: string;
  readonly attacks: string;
  /** Make the input (in tmp); returns the command line. */
  readonly make: () => string[];
  readonly expect: Expect;
  readonly env?: Record<string, string>;
  readonly skip?: () => string | false;
}

const MMAP = '  - mmap: {length: 4*PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS}\n    as: buf\n';
const VALID = `name: valid\nsteps:\n${MMAP}  - munmap: {addr: buf, length: 4*PAGE_SIZE}\n`;

function gen(name: string, text: string | Buffer): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

/** A deterministic byte stream (xorshift), for "binary" files that are the same on every run. */
function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

const E = (status: number | number[], pattern?: RegExp, located = true): Expect => ({
  status: Array.isArray(status) ? status : [status], located, ...(pattern && { pattern }),
});

const generated: Generated[] = [
  {
    name: 'size-50mib', attacks: 'a 50 MiB scenario (ran out of memory after 100 s)',
    make: () => ['run', gen('big.yaml', `name: big\nsteps:\n${'  - write: {addr: buf, length: PAGE_SIZE, value: 1}\n'.repeat((50 << 20) / 52)}`)],
    expect: E(2, /the file is 50\.0 MiB; a scenario file may be at most 1\.0 MiB/),
  },
  {
    name: 'size-limit-plus-one', attacks: 'one byte over 1 MiB, all comment',
    make: () => ['run', gen('limit1.yaml', `name: x\nsteps: []\n#${'x'.repeat((1 << 20) - 19)}\n`)],
    expect: E(2, /at most 1\.0 MiB/),
  },
  {
    name: 'size-limit-exactly', attacks: 'exactly 1 MiB, a valid scenario padded with a comment',
    make: () => ['run', gen('limit0.yaml', `name: exactly\nsteps: []\n#${'x'.repeat((1 << 20) - 26)}\n`)],
    expect: E(0),
  },
  {
    name: 'one-long-line', attacks: 'a 1,000,000-character description on one line',
    make: () => ['run', gen('longline.yaml', `name: long\ndescription: "${'d'.repeat(1_000_000)}"\nsteps: []\n`)],
    expect: E(0),
  },
  {
    name: 'flat-sum', attacks: 'a 100,000-term sum (recursion once overflowed at 5,000)',
    make: () => ['run', gen('sum.yaml', `name: sum\nsteps:\n  - expect:\n      - vmstat: {}\n        nr_foll_pin_acquired: {ne: ${Array(100_000).fill('1').join('+')}}\n`)],
    expect: E(0),
  },
  {
    name: 'unary-100k', attacks: '100,000 unary minus signs',
    make: () => ['run', gen('unary.yaml', `name: x\nsteps:\n  - mmap: {length: ${'-'.repeat(100_000)}1, prot: 0, flags: 0}\n`)],
    expect: E(2, /nests more than 64 levels/),
  },
  {
    name: 'parens-3000', attacks: '3,000 nested parentheses (took down list too)',
    make: () => ['run', gen('parens.yaml', `name: x\nsteps:\n  - mmap: {length: "${'('.repeat(3000)}1${')'.repeat(3000)}", prot: 0, flags: 0}\n`)],
    expect: E(2, /parens\.yaml:3:\d+: the expression nests more than 64 levels/),
  },
  {
    name: 'index-chain', attacks: 'P[0][0][0]... 20,000 indexes deep',
    make: () => ['run', gen('index.yaml', `name: x\nsteps:\n${MMAP}  - munmap: {addr: "buf${'[0]'.repeat(20_000)}", length: 1}\n`)],
    expect: E(2, /nests more than 64 levels/),
  },
  {
    name: 'yaml-deep-flow', attacks: '50,000 nested flow sequences',
    make: () => ['run', gen('deepflow.yaml', `name: x\nsteps: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`)],
    expect: E(2, /YAML nested more than 64 levels deep/),
  },
  {
    name: 'yaml-deep-block', attacks: '20,000 block sequence indicators on one line',
    make: () => ['run', gen('deepblock.yaml', `name: x\nsteps:\n${'- '.repeat(20_000)}x\n`)],
    expect: E(2, /YAML nested more than 64 levels deep/),
  },
  {
    name: 'yaml-deep-indent', attacks: 'mappings nested 500 levels by indentation',
    make: () => ['run', gen('deepindent.yaml', `name: x\nsteps: []\nend:\n${Array.from({ length: 500 }, (_, i) => `${' '.repeat(i + 1)}k${i}:\n`).join('')}`)],
    expect: E(2, /YAML nested more than 64 levels deep/),
  },
  {
    name: 'yaml-many-values', attacks: 'half a million one-letter values (600 MB of parser nodes)',
    make: () => ['run', gen('values.yaml', `name: x\nsteps: [${Array(500_000).fill('a').join(',')}]\n`)],
    expect: E(2, /more than 100000 YAML values/),
  },
  {
    name: 'yaml-wide-mapping', attacks: 'one mapping of 40,000 keys (the library checks duplicates in quadratic time)',
    make: () => ['run', gen('wide.yaml', `name: x\nsteps: []\nmachine: {${Array.from({ length: 40_000 }, (_, i) => `k${i}: 1`).join(', ')}}\n`)],
    expect: E(2, /too many problems \(50\); the rest of the file was not checked/),
  },
  {
    name: 'yaml-many-duplicates', attacks: '20,000 copies of one key',
    make: () => ['run', gen('dups.yaml', `name: x\nsteps: []\n${'description: d\n'.repeat(20_000)}`)],
    expect: E(2, /key 'description' is given twice in this mapping \(first at line 3\)/),
  },
  {
    name: 'alias-flood', attacks: '60,000 aliases of one step (each counts as its text)',
    make: () => ['run', gen('aliases.yaml', `name: x\ns: &s {expect: {vmstat: {}, nr_foll_pin_acquired: 0}}\nsteps: [${Array(60_000).fill('*s').join(',')}]\n`)],
    expect: E(2, /with its aliases expanded, the scenario is larger than 1\.0 MiB/),
  },
  {
    name: 'alias-laughs-deep', attacks: 'billion laughs with twenty levels of two aliases (2^20 copies)',
    make: () => ['run', gen('laughs.yaml', `name: x\na0: &a0 [lol]\n${Array.from({ length: 20 }, (_, i) => `a${i + 1}: &a${i + 1} [*a${i}, *a${i}]\n`).join('')}steps: *a20\n`)],
    expect: E(2, /aliases expanded/),
  },
  {
    name: 'binary-noise', attacks: '200 KiB of random bytes',
    make: () => ['run', gen('noise.yaml', noise(200 << 10, 42))],
    expect: E(2, /not UTF-8 text|control character/),
  },
  {
    name: 'nul-flood', attacks: '500,000 NUL bytes',
    make: () => ['run', gen('nul.yaml', Buffer.alloc(500_000))],
    expect: E(2, /control character \\x00 .*is it a text file/),
  },
  {
    name: 'esc-flood', attacks: '100,000 terminal escape sequences in a double-quoted description',
    make: () => ['run', '-v', gen('escflood.yaml', `name: esc\ndescription: "${'\\e[2J\\e[H'.repeat(100_000)}"\nsteps: []\n`)],
    expect: E(0),
  },
  {
    name: 'empty-file', attacks: 'a file of zero bytes',
    make: () => ['run', gen('empty.yaml', '')],
    expect: E(2, /:1:1: the file is empty/),
  },
  {
    name: 'too-many-errors', attacks: '5,000 unknown operations (each once cost a suggestion search)',
    make: () => ['run', gen('errors.yaml', `name: x\nsteps:\n${'  - nope: {}\n'.repeat(5000)}`)],
    expect: E(2, /too many problems \(50\)/),
  },
  {
    name: 'long-key', attacks: 'an explicit 200,000-character key, echoed by "unknown key"',
    make: () => ['run', gen('longkey.yaml', `name: x\nsteps: []\n? ${'k'.repeat(200_000)}\n: 1\n`)],
    expect: E(2, /unknown key 'k{20,}…\(\d+ more characters\)'/),
  },
  {
    name: 'long-name-in-expr', attacks: 'a 500,000-character unknown name in an expression',
    make: () => ['run', gen('longname.yaml', `name: x\nsteps:\n  - mmap: {length: ${'N'.repeat(500_000)}, prot: 0, flags: 0}\n`)],
    expect: E(2, /unknown name 'N+…\(\d+ more characters\)'/),
  },
  {
    name: 'long-number', attacks: 'a 400,000-digit number',
    make: () => ['run', gen('longnum.yaml', `name: x\nsteps:\n  - mmap: {length: ${'9'.repeat(400_000)}, prot: 0, flags: 0}\n`)],
    expect: E(2, /is too large/),
  },
  {
    name: 'long-one-of', attacks: 'a failing one_of with 10,000 values: the verdict line must stay short',
    make: () => ['run', gen('oneof.yaml', `name: oneof\nsteps:\n  - expect:\n      - vmstat: {}\n        nr_foll_pin_acquired: {one_of: [${Array.from({ length: 10_000 }, (_, i) => i + 1).join(', ')}]}\n`)],
    expect: E(1, /one of \[1, 2, 3, 4, 5, 6, 7, 8, \.\.\. \(10000 items\)\]/),
  },
  {
    name: 'many-leaks', attacks: '5,000 leaked pins: the leak verdict lists 20 and counts the rest',
    make: () => ['run', gen('leaks.yaml', 'name: leaks\nsteps:\n  - mmap: {length: 5000*PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS}\n    as: buf\n'
      + '  - write: {addr: buf, length: 5000*PAGE_SIZE, value: 1}\n  - pin_user_pages_fast: {start: buf, nr_pages: 5000, gup_flags: FOLL_WRITE}\n')],
    expect: E(1, /5000 leaks:[\s\S]*\.\.\. and 4980 more/),
  },
  {
    name: 'long-warn-text', attacks: 'a 500,000-character expected WARN text, in text and JSON output',
    make: () => ['run', '--json', gen('longwarn.yaml', `name: w\nsteps:\n${MMAP}  - write: {addr: buf, value: 1}\n    expect: {warn: "${'w'.repeat(500_000)}"}\n`)],
    expect: E(1, /more characters/),
  },
  {
    name: 'name-forge-json', attacks: 'ESC and CR in a description, listed as JSON',
    make: () => {
      const dir = join(tmp, 'forgejson');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'f.yaml'), 'name: f\ndescription: "a\\e[2K\\rPASS b\\x85c\\u202Ed"\nsteps: []\n');
      return ['list', '--json'];
    },
    env: { PINLAB_SCENARIOS: join(tmp, 'forgejson') },
    expect: E(0, /"description": "a\\u001b\[2K\\rPASS b\\u0085c\\u202ed"/),
  },
  // ---- paths
  { name: 'dev-zero', attacks: '/dev/zero (was read forever)', make: () => ['run', '/dev/zero'], expect: E(2, /^pinlab: \/dev\/zero: a character device, not a regular file/m, false) },
  { name: 'dev-null', attacks: '/dev/null (empty, but a device)', make: () => ['run', '/dev/null'], expect: E(2, /a character device/, false) },
  {
    name: 'fifo', attacks: 'a FIFO with no writer (opening it would block forever)',
    make: () => {
      const p = join(tmp, 'fifo.yaml');
      if (!existsSync(p)) execFileSync('mkfifo', [p]);
      return ['run', p];
    },
    skip: () => (existsSync('/usr/bin/mkfifo') || existsSync('/bin/mkfifo') ? false : 'no mkfifo'),
    expect: E(2, /a FIFO \(named pipe\), not a regular file/, false),
  },
  {
    name: 'fifo-in-directory', attacks: 'a FIFO named x.yaml inside a directory that is run',
    make: () => {
      const d = join(tmp, 'fifodir');
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'a.yaml'), VALID);
      if (!existsSync(join(d, 'x.yaml'))) execFileSync('mkfifo', [join(d, 'x.yaml')]);
      return ['run', d];
    },
    skip: () => (existsSync('/usr/bin/mkfifo') || existsSync('/bin/mkfifo') ? false : 'no mkfifo'),
    expect: E(2, /x\.yaml: a FIFO[\s\S]*PASS valid[\s\S]*1 passed, 1 failed/, false),
  },
  { name: 'nonexistent', attacks: 'a path that does not exist, with ESC in it', make: () => ['run', join(tmp, 'no\x1b[2Jsuch.yaml')], expect: E(2, /no\\x1b\[2Jsuch\.yaml: no such file/, false) },
  {
    name: 'empty-directory', attacks: 'run DIR with no scenario files (was "0 passed, 0 failed", exit 0)',
    make: () => { mkdirSync(join(tmp, 'emptydir'), { recursive: true }); return ['run', join(tmp, 'emptydir')]; },
    expect: E(2, /no scenario files \(\.yaml, \.yml\) under this directory/, false),
  },
  {
    name: 'skipped-directories', attacks: 'scenarios only in node_modules/ and .hidden/: none to run',
    make: () => {
      const d = join(tmp, 'skipdir');
      for (const s of ['node_modules/pkg', '.hidden']) mkdirSync(join(d, s), { recursive: true });
      writeFileSync(join(d, 'node_modules/pkg/a.yaml'), VALID);
      writeFileSync(join(d, '.hidden/b.yaml'), VALID);
      return ['run', d];
    },
    expect: E(2, /no scenario files/, false),
  },
  {
    name: 'symlink-loop', attacks: 'a directory with a link to itself and a link to its parent',
    make: () => {
      const d = join(tmp, 'loopdir');
      mkdirSync(join(d, 'sub'), { recursive: true });
      writeFileSync(join(d, 'sub/a.yaml'), VALID);
      if (!existsSync(join(d, 'sub/self'))) { symlinkSync('.', join(d, 'sub/self')); symlinkSync('..', join(d, 'sub/up')); }
      return ['run', d];
    },
    expect: E(0, /^1 passed, 0 failed$/m),
  },
  {
    name: 'dangling-link', attacks: 'a .yaml link to nowhere and a .yaml link to /dev/zero in a directory',
    make: () => {
      const d = join(tmp, 'linkdir');
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'a.yaml'), VALID);
      if (!existsSync(join(d, 'z.yaml'))) { symlinkSync(join(tmp, 'nowhere'), join(d, 'y.yaml')); symlinkSync('/dev/zero', join(d, 'z.yaml')); }
      return ['run', d];
    },
    expect: E(2, /y\.yaml: no such file[\s\S]*z\.yaml: a character device/, false),
  },
  {
    name: 'unreadable', attacks: 'a file without read permission (root reads it anyway)',
    make: () => { const p = gen('unreadable.yaml', VALID); chmodSync(p, 0); return ['run', p]; },
    expect: E([0, 2], undefined, false),
  },
  {
    name: 'read-error', attacks: 'a regular file whose read() fails with EIO (/proc/self/mem)',
    make: () => ['run', '/proc/self/mem'],
    skip: () => (existsSync('/proc/self/mem') ? false : 'no /proc'),
    expect: E(2, /\/proc\/self\/mem: cannot read it: input\/output error/, false),
  },
  { name: 'explore-directory', attacks: 'explore DIR (was an internal error, or silently the first file)', make: () => ['explore', join(ROOT, 'scenarios/explore')], expect: E(2, /explore takes one scenario FILE; .* is a directory/, false) },
  { name: 'explore-dev-zero', attacks: 'explore /dev/zero', make: () => ['explore', '/dev/zero'], expect: E(2, /a character device/, false) },
  {
    name: 'trace-is-directory', attacks: '--trace into a directory (was exit 3 after the whole run)',
    make: () => ['run', join(ROOT, 'scenarios/cow/ro-pin-unshares-after-fork.yaml'), '--trace', tmp],
    expect: E(2, /^pinlab: --trace .*: cannot write there: it is a directory$/m, false),
  },
  {
    name: 'trace-missing-directory', attacks: '--trace into a directory that does not exist',
    make: () => ['run', join(ROOT, 'scenarios/cow/ro-pin-unshares-after-fork.yaml'), '--trace', join(tmp, 'none/t.json')],
    expect: E(2, /cannot write there: its directory does not exist/, false),
  },
  {
    name: 'trace-disk-full', attacks: '--trace /dev/full: writable, but the write fails',
    make: () => ['run', join(ROOT, 'scenarios/cow/ro-pin-unshares-after-fork.yaml'), '--trace', '/dev/full'],
    skip: () => (existsSync('/dev/full') ? false : 'no /dev/full'),
    expect: E(2, /--trace \/dev\/full: cannot write it: no space left on device[\s\S]*PASS ro-pin-unshares-after-fork/, false),
  },
  {
    name: 'profile-twice', attacks: '--profile given twice (the first was silently dropped)',
    make: () => ['run', join(ROOT, 'scenarios/cow/ro-pin-unshares-after-fork.yaml'), '--profile', '5.9', '--profile', 'current'],
    expect: E(2, /--profile is given 2 times; give it once/, false),
  },
  { name: 'option-with-esc', attacks: 'an unknown option holding ESC', make: () => ['run', '--\x1b[2Jx'], expect: E(2, /Unknown option '--\\x1b\[2Jx'/, false) },
  { name: 'profile-with-esc', attacks: 'an unknown --profile holding ESC', make: () => ['run', join(ROOT, 'scenarios/cow/ro-pin-unshares-after-fork.yaml'), '--profile', '\x1b[31m5.9'], expect: E(2, /unknown profile '\\x1b\[31m5\.9'/, false) },
  { name: 'command-with-esc', attacks: 'an unknown command holding ESC and CR', make: () => ['\x1b[2K\rPASS'], expect: E(2, /unknown command '\\x1b\[2K\\rPASS'/, false) },
  { name: 'version', attacks: '--version (there was none)', make: () => ['--version'], expect: E(0, /^pinlab \d+\.\d+\.\d+$/m) },
  {
    name: 'catalogue-missing', attacks: 'PINLAB_SCENARIOS naming a directory that does not exist',
    make: () => ['list'], env: { PINLAB_SCENARIOS: join(tmp, 'no-catalogue') }, expect: E(2, /PINLAB_SCENARIOS=.*: no such directory/, false),
  },
  {
    name: 'catalogue-empty', attacks: 'pinlab with an empty catalogue (was "0 passed, 0 failed", exit 0)',
    make: () => { mkdirSync(join(tmp, 'emptycat'), { recursive: true }); return []; },
    env: { PINLAB_SCENARIOS: join(tmp, 'emptycat') }, expect: E(2, /no scenarios in the catalogue/, false),
  },
  {
    name: 'catalogue-hostile', attacks: 'list over a catalogue of deep, huge and forged files: each reported, the good one listed',
    make: () => {
      const d = join(tmp, 'hostilecat');
      mkdirSync(d, { recursive: true });
      for (const f of ['paren-nest.yaml', 'name-esc-forges-pass.yaml', 'billion-laughs.yaml', 'description-esc.yaml']) copyFileSync(join(CORPUS, f), join(d, f));
      return ['list'];
    },
    env: { PINLAB_SCENARIOS: join(tmp, 'hostilecat') },
    expect: E(2, /desc-esc {2}\[current\] {2}PASS forged \(99 checks\)\\x1b\[2K\\r/),
  },
];

describe('hostile corpus: generated inputs and paths', { concurrency: 2 }, () => {
  for (const g of generated) {
    const skip = g.skip?.() ?? false;
    test(`${g.name}: ${g.attacks}`, { skip }, async () => {
      const args = g.make();
      check(`${g.name}: pinlab ${args.join(' ').slice(0, 200)}`, await pinlab(args, g.env ?? {}), g.expect);
    });
  }
});
