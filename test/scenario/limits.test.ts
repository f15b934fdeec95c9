// Hostile input at the scenario layer: printable(), reading files (source.ts), the YAML limits,
// expression depth, the loader's bounds and the runner's (docs/scenarios.md#limits).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ScenarioFileError } from '../../src/scenario/errors.js';
import { ExprError, evalString, namesIn, parseExpr, scopeOf } from '../../src/scenario/expr.js';
import { MAX_DIAGNOSTICS, MAX_EXPR_DEPTH, MAX_FILE_BYTES, MAX_YAML_DEPTH, MAX_YAML_VALUES } from '../../src/scenario/limits.js';
import { FileInputError, loadScenario, loadScenarioFile } from '../../src/scenario/load.js';
import { modelBackend } from '../../src/scenario/model-backend.js';
import { escapeOutput, jsonText, printable, quoted } from '../../src/scenario/printable.js';
import { renderValue, runScenario } from '../../src/scenario/run.js';
import { checkScenarioText, decodeScenarioText, invalidUtf8At, parseScenarioYaml, readScenarioBytes } from '../../src/scenario/source.js';
import { FAKE_CONSTANTS, fakeBackend } from './fake-backend.js';

const backend = fakeBackend();
const tmp = mkdtempSync(join(tmpdir(), 'pinlab-limits-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The diagnostics of a scenario that must not load, as "line:col: message". */
function errors(text: string, b = backend): string[] {
  try {
    loadScenario(text, 'f.yaml', b);
  } catch (e) {
    assert.ok(e instanceof ScenarioFileError, `expected ScenarioFileError, got ${String(e)}`);
    return e.diagnostics.map((d) => `${d.pos.line}:${d.pos.col}: ${d.message}`);
  }
  assert.fail('the scenario loaded without errors');
}

const HEAD = `name: t
tasks: [parent]
steps:
  - mmap: { length: 4*PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
`;

describe('printable(): user text inside messages', () => {
  test('control, bidi, separator and zero-width characters are escaped; text is kept', () => {
    assert.equal(printable('plain text, ünïcödé, 漢字'), 'plain text, ünïcödé, 漢字');
    assert.equal(printable('a\x1b[2Kb\rc\nd\te\0f\x7fg'), 'a\\x1b[2Kb\\rc\\nd\\te\\x00f\\x7fg');
    assert.equal(printable('C1 \u009b and NEL \u0085'), 'C1 \\x9b and NEL \\x85');
    assert.equal(printable('abc\u202edcba \u2066x\u2069 \u200f \u2028 \ufeff'), 'abc\\u{202E}dcba \\u{2066}x\\u{2069} \\u{200F} \\u{2028} \\u{FEFF}');
    assert.equal(quoted('x\x1b'), "'x\\x1b'");
  });

  test('a lone surrogate is escaped; a pair is a character', () => {
    assert.equal(printable('a\ud800b'), 'a\\u{D800}b');
    assert.equal(printable('a\udc00'), 'a\\u{DC00}');
    assert.equal(printable('😀'), '😀');
  });

  test('long text is cut and says how much is left, without splitting a surrogate pair', () => {
    assert.equal(printable('x'.repeat(100), 10), `${'x'.repeat(10)}…(90 more characters)`);
    assert.equal(printable('x'.repeat(11), 10), `${'x'.repeat(10)}…(1 more character)`);
    const cut = printable(`${'x'.repeat(9)}😀😀`, 10);
    assert.equal(cut, `${'x'.repeat(9)}…(4 more characters)`);
    // Escapes count against the bound: ten ESCs do not print forty characters.
    assert.ok(printable('\x1b'.repeat(10), 10).startsWith('\\x1b\\x1b…'));
  });

  test('it costs O(bound), not O(length): 50 million characters are cut at once', () => {
    const t0 = performance.now();
    const s = printable('\x1b'.repeat(50_000_000));
    assert.ok(performance.now() - t0 < 200, 'printable() looked at the whole string');
    assert.ok(s.length < 100);
  });

  test('escapeOutput() keeps line breaks and the sequences it is told to keep, escapes the rest', () => {
    assert.equal(escapeOutput('a\nb\x1b[2Jc\r'), 'a\nb\\x1b[2Jc\\r');
    // eslint-disable-next-line no-control-regex -- the colour codes to keep
    assert.equal(escapeOutput('\x1b[32mPASS\x1b[0m \x1b]0;t\x07', /\x1b\[[0-9]{1,2}m/), '\x1b[32mPASS\x1b[0m \\x1b]0;t\\x07');
  });

  test('jsonText() is JSON, with C1 and bidi characters escaped too', () => {
    const v = { s: 'a\x1b\u0085\u202e\ud800z', n: [1, 2] };
    const text = jsonText(v);
    assert.deepEqual(JSON.parse(text), v);
    // eslint-disable-next-line no-control-regex -- none may be left raw
    assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    assert.match(text, /\\u0085/);
    assert.match(text, /\\u202e/);
  });
});

describe('reading a scenario file (source.ts)', () => {
  test('UTF-8 is checked byte by byte: overlong forms, surrogates, truncated sequences and code points past U+10FFFF are not UTF-8', () => {
    const at = (...b: number[]) => invalidUtf8At(Uint8Array.from(b));
    assert.equal(at(0x61, 0xc3, 0xa9, 0xe6, 0xbc, 0xa2, 0xf0, 0x9f, 0x98, 0x80), -1);
    assert.equal(at(0x61, 0xff), 1);
    assert.equal(at(0xc0, 0x80), 0); // overlong NUL
    assert.equal(at(0xe0, 0x80, 0x80), 0); // overlong
    assert.equal(at(0xed, 0xa0, 0x80), 0); // U+D800
    assert.equal(at(0x61, 0xe6, 0xbc), 1); // truncated at the end
    assert.equal(at(0xf4, 0x90, 0x80, 0x80), 0); // U+110000
    assert.equal(at(0xc3, 0x41), 0); // a lead byte without its continuation
  });

  test('invalid UTF-8 is a located diagnostic; a leading BOM is dropped', () => {
    const bad = decodeScenarioText(Buffer.from('name: ok\ndescription: caf\xff\n', 'latin1'), 'f.yaml');
    assert.ok('error' in bad);
    assert.deepEqual(bad.error.pos, { file: 'f.yaml', line: 2, col: 17 });
    assert.match(bad.error.message, /the byte \\xff/);
    const first = decodeScenarioText(Buffer.from([0xff]), 'f.yaml');
    assert.ok('error' in first && first.error.pos.line === 1 && first.error.pos.col === 1);
    const bom = decodeScenarioText(Buffer.from('\ufeffname: x\n'), 'f.yaml');
    assert.deepEqual(bom, { text: 'name: x\n' });
  });

  test('raw control, separator and bidi characters are refused at the first, with a count; tab, CR and escapes in strings are fine', () => {
    assert.equal(checkScenarioText('name: "a\\x1b"\n\tx: 1\r\n', 'f.yaml'), null);
    const d = checkScenarioText('name: x\n# \x00\x00\nz: \u202e\n', 'f.yaml');
    assert.ok(d);
    assert.deepEqual(d.pos, { file: 'f.yaml', line: 2, col: 3 });
    assert.match(d.message, /^control character \\x00 in the file: .* \(the file holds 3 such characters\)$/);
    assert.match(checkScenarioText('\u2028', 'f')!.message, /\\u\{2028\}/);
    assert.match(checkScenarioText('\x00'.repeat(100), 'f')!.message, /is it a text file\?/);
  });

  test('only regular files are read: a directory, /dev/zero, a FIFO and a missing file are refused at once', () => {
    const refuse = (p: string, why: RegExp) => assert.throws(() => readScenarioBytes(p, p), (e: unknown) => e instanceof FileInputError && why.test(e.message));
    refuse(tmp, /a directory, not a regular file/);
    refuse(join(tmp, 'missing.yaml'), /missing\.yaml: no such file$/);
    if (existsSync('/dev/zero')) refuse('/dev/zero', /a character device, not a regular file/);
    const fifo = join(tmp, 'fifo.yaml');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      return; // no mkfifo here
    }
    const t0 = performance.now();
    refuse(fifo, /a FIFO \(named pipe\)/);
    assert.ok(performance.now() - t0 < 1000, 'opening the FIFO waited for a writer');
  });

  test('a file over 1 MiB is a diagnostic at 1:1, and never read past the limit', () => {
    const p = join(tmp, 'big.yaml');
    writeFileSync(p, Buffer.alloc(MAX_FILE_BYTES + 1, 0x20));
    const r = readScenarioBytes(p, 'big.yaml');
    assert.ok('tooLarge' in r);
    assert.deepEqual(r.tooLarge.pos, { file: 'big.yaml', line: 1, col: 1 });
    assert.match(r.tooLarge.message, /^the file is 1\.0 MiB; a scenario file may be at most 1\.0 MiB/);
    writeFileSync(p, Buffer.alloc(MAX_FILE_BYTES, 0x20));
    const ok = readScenarioBytes(p, 'big.yaml');
    assert.ok('bytes' in ok && ok.bytes.length === MAX_FILE_BYTES);
    assert.throws(() => loadScenarioFile(p, backend, 'big.yaml'), ScenarioFileError); // all blanks: empty, not too large
  });

  test('a regular file whose read fails is a FileInputError, not an exception from node:fs', (t) => {
    if (!existsSync('/proc/self/mem')) { t.skip('no /proc'); return; }
    assert.throws(() => readScenarioBytes('/proc/self/mem', 'mem'), (e: unknown) => e instanceof FileInputError && /cannot read it: input\/output error/.test(e.message));
  });
});

describe('YAML under limits (source.ts)', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  test(`nesting: ${MAX_YAML_DEPTH} levels parse, one more is a located error (whatever the depth, no stack overflow)`, () => {
    const ok = parseScenarioYaml(`a: ${nested(MAX_YAML_DEPTH - 1)}\n`, 'f.yaml');
    assert.equal(ok.fatal, false, JSON.stringify(ok.diags));
    for (const depth of [MAX_YAML_DEPTH, 50_000]) {
      const bad = parseScenarioYaml(`a: ${nested(depth)}\n`, 'f.yaml');
      assert.equal(bad.fatal, true);
      assert.equal(bad.diags.length, 1);
      assert.deepEqual(bad.diags[0].pos, { file: 'f.yaml', line: 1, col: 4 + MAX_YAML_DEPTH - 1 });
      assert.match(bad.diags[0].message, /YAML nested more than 64 levels deep here/);
    }
    const block = parseScenarioYaml(`a:\n${'- '.repeat(100)}x\n`, 'f.yaml');
    assert.match(block.diags[0].message, /nested more than 64 levels/);
  });

  test(`values: ${MAX_YAML_VALUES} are fine, one more is refused by the lexer, before anything is built`, () => {
    const list = (n: number) => `a: [${Array(n).fill('x').join(',')}]\n`;
    // the key 'a' and the list itself are two values
    assert.equal(parseScenarioYaml(list(MAX_YAML_VALUES - 2), 'f.yaml').fatal, false);
    const bad = parseScenarioYaml(list(MAX_YAML_VALUES - 1), 'f.yaml');
    assert.equal(bad.fatal, true);
    assert.match(bad.diags[0].message, /^more than 100000 YAML values/);
    assert.equal(bad.diags[0].pos.line, 1);
    // quoted scalars, aliases and block sequence items count too
    assert.equal(parseScenarioYaml(`a:\n${'- "q"\n'.repeat(MAX_YAML_VALUES)}`, 'f.yaml').fatal, true);
  });

  test('tags are refused wherever they are: on scalars, collections, keys, block scalars, the document', () => {
    for (const t of ['a: !!str x', 'a: !x [1]', '!!str a: 1', 'a: !x |\n  text', '--- !x\na: 1', 'a: [!x 1]', 'a: {b: !x 1}']) {
      const r = parseScenarioYaml(`${t}\n`, 'f.yaml');
      assert.equal(r.fatal, true, t);
      assert.match(r.diags[0].message, /^YAML tags \(!.*\) are not part of the scenario language/, t);
    }
  });

  test('a second document is a located error in pinlab\'s words', () => {
    const r = parseScenarioYaml('a: 1\n---\nb: 2\n', 'f.yaml');
    assert.equal(r.fatal, true);
    assert.deepEqual(r.diags.map((d) => [d.pos.line, d.pos.col]), [[2, 1]]);
    assert.match(r.diags[0].message, /^a second YAML document starts here/);
    assert.doesNotMatch(r.diags[0].message, /parseAllDocuments/);
  });

  test('every duplicate key is reported, with its first line, and the document is still usable', () => {
    const r = parseScenarioYaml('a: 1\nb: {x: 1, x: 2, "x": 3}\na: 2\n', 'f.yaml');
    assert.equal(r.fatal, false);
    assert.deepEqual(r.diags.map((d) => `${d.pos.line}:${d.pos.col}: ${d.message}`), [
      "3:1: key 'a' is given twice in this mapping (first at line 1); each key may appear once",
      "2:11: key 'x' is given twice in this mapping (first at line 2); each key may appear once",
      "2:17: key 'x' is given twice in this mapping (first at line 2); each key may appear once",
    ]);
  });

  test('aliases resolve to the last anchor of the name before them', () => {
    const r = parseScenarioYaml('a: &x 1\nb: *x\nc: &x 2\nd: *x\n', 'f.yaml');
    assert.equal(r.fatal, false);
    const targets = [...r.aliases.values()].map((n) => (n as unknown as { source: string }).source);
    assert.deepEqual(targets, ['1', '2']);
  });

  test('an alias inside its own anchor, and aliases that expand past 1 MiB ("billion laughs"), are refused', () => {
    const cycle = parseScenarioYaml('a: &a [1, *a]\n', 'f.yaml');
    assert.equal(cycle.fatal, true);
    assert.match(cycle.diags[0].message, /is inside the node its anchor names/);
    const levels = ['a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i <= 9; i++) levels.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    const laughs = parseScenarioYaml(`${levels.join('\n')}\n`, 'f.yaml');
    assert.equal(laughs.fatal, true);
    assert.match(laughs.diags[0].message, /with its aliases expanded, the scenario is larger than 1\.0 MiB/);
    // A few levels expand to a few kilobytes: fine.
    assert.equal(parseScenarioYaml(`${levels.slice(0, 3).join('\n')}\n`, 'f.yaml').fatal, false);
  });
});

describe('expressions under limits', () => {
  const scope = scopeOf(FAKE_CONSTANTS, new Map([['P', [10, 11]]]));
  const fails = (src: string): ExprError => {
    try {
      evalString(src, scope);
    } catch (e) {
      assert.ok(e instanceof ExprError, String(e));
      return e;
    }
    assert.fail(`${src.slice(0, 40)} evaluated`);
  };

  test(`nesting: ${MAX_EXPR_DEPTH} levels evaluate, one more is an error at the token that goes too deep`, () => {
    assert.equal(evalString(`${'('.repeat(MAX_EXPR_DEPTH)}1${')'.repeat(MAX_EXPR_DEPTH)}`, scope), 1);
    const e = fails(`${'('.repeat(MAX_EXPR_DEPTH + 1)}1${')'.repeat(MAX_EXPR_DEPTH + 1)}`);
    assert.equal(e.col, MAX_EXPR_DEPTH);
    assert.match(e.message, /nests more than 64 levels deep here/);
    assert.equal(evalString(`${'-'.repeat(MAX_EXPR_DEPTH)}1`, scope), 1);
    assert.equal(fails(`${'-'.repeat(100_000)}1`).col, MAX_EXPR_DEPTH);
    assert.equal(fails(`${'('.repeat(3000)}1${')'.repeat(3000)}`).col, MAX_EXPR_DEPTH);
    assert.equal(fails(`P${'[0]'.repeat(MAX_EXPR_DEPTH + 1)}`).col, 1 + 3 * MAX_EXPR_DEPTH);
    assert.equal(fails(`${'len('.repeat(MAX_EXPR_DEPTH + 1)}P${')'.repeat(MAX_EXPR_DEPTH + 1)}`).col, 4 * MAX_EXPR_DEPTH);
  });

  test('a flat chain of 200,000 terms is no nesting: it parses and evaluates without recursing on its length', () => {
    assert.equal(evalString(Array(200_000).fill('1').join('+'), scope), 200_000);
    assert.equal(evalString(Array(100_000).fill('3').join(' * 1 - 2 + '), scope), 3 * 100_000 - 2 * 99_999);
    const names = namesIn(parseExpr(Array.from({ length: 50_000 }, (_, i) => `n${i}`).join('|')));
    assert.equal(names.length, 50_000);
    assert.deepEqual(names.slice(0, 2).map((n) => n.name), ['n0', 'n1']);
    assert.equal(names[49_999].name, 'n49999');
  });

  test('the left-to-right order of errors in a chain is kept: the first bad operand is reported', () => {
    assert.equal(fails('1 + P + nope').col, 2);
    assert.match(fails('1 + 2 + nope + 3').message, /unknown name 'nope'/);
  });

  test('numbers with more digits than any safe integer are refused before conversion', () => {
    const t0 = performance.now();
    assert.match(fails('9'.repeat(500_000)).message, /is too large: values must be safe integers/);
    assert.ok(performance.now() - t0 < 500);
    assert.equal(evalString('0x000000000000000000001', scope), 1);
    assert.equal(evalString('9007199254740991', scope), 9007199254740991);
    assert.match(fails('9007199254740992').message, /too large/);
  });

  test('C\'s undefined and wrapping cases are errors: division by zero, shift counts outside 0..63, results past 2^53', () => {
    assert.match(fails('1 / 0').message, /^division by zero$/);
    assert.match(fails('1 % (2 - 2)').message, /^remainder by zero$/);
    assert.match(fails('1 << 64').message, /shift count 64 is out of range 0..63/);
    assert.match(fails('1 >> -1').message, /shift count -1 is out of range/);
    assert.match(fails('1 << 53').message, /result 9007199254740992 is too large/);
    assert.equal(evalString('(1 << 52) + ((1 << 52) - 1)', scope), 2 ** 53 - 1);
    assert.match(fails('.5').message, /numbers are integers/);
  });

  test('tokens and names in messages are escaped and cut', () => {
    assert.match(fails('1 \x1b 2').message, /^unexpected character '\\x1b'$/);
    assert.match(fails('1 😀').message, /^unexpected character '😀'$/);
    const long = fails(`x${'y'.repeat(10_000)}`).message;
    assert.ok(long.length < 200, long);
    assert.match(long, /more characters\)'/);
  });
});

describe('the loader under limits', () => {
  test(`at most ${MAX_DIAGNOSTICS} problems, then one line says where it stopped; quickly, whatever the file holds`, () => {
    const t0 = performance.now();
    const e = errors(`name: x\nsteps:\n${'  - nope_nope_nope: {}\n'.repeat(5000)}`);
    assert.ok(performance.now() - t0 < 2000);
    assert.equal(e.length, MAX_DIAGNOSTICS + 1);
    assert.match(e[MAX_DIAGNOSTICS], /^\d+:\d+: too many problems \(50\); the rest of the file was not checked$/);
  });

  test('the name is one printable line of at most 100 characters', () => {
    assert.match(errors('name: "a\\e[2K\\rPASS"\nsteps: []\n')[0], /^1:7: the name holds the control character \\x1b \(at character 2\)/);
    assert.match(errors('name: "a\\u202eb"\nsteps: []\n')[0], /control character \\u\{202E\}/);
    assert.match(errors(`name: ${'n'.repeat(101)}\nsteps: []\n`)[0], /the name is 101 characters long; a name has at most 100/);
    assert.match(errors('name: "  "\nsteps: []\n')[0], /the name is blank/);
    assert.equal(loadScenario(`name: ${'n'.repeat(100)}\nsteps: []\n`, 'f.yaml', backend).name.length, 100);
  });

  test('task, actor and as: names have at most 64 characters', () => {
    const long = 't'.repeat(65);
    assert.match(errors(`name: x\ntasks: [${long}]\nsteps: []\n`)[0], /a task name is 65 characters long; names have at most 64/);
    assert.match(errors(`${HEAD}  - write: {addr: buf, value: 1}\n    as: ${long}\n`)[0], /as: names a binding of 65 characters/);
    assert.match(errors(`name: x\nactors:\n  ${long}:\n    - exit:\n`)[0], /an actor's name has 65 characters/);
  });

  test('every bad profile of a list is reported, not only the first', () => {
    assert.deepEqual(errors('name: x\nprofiles: [5.10, nope, current, current, [x]]\nsteps: []\n').map((l) => l.replace(/ \(profiles: .*\)$/, '')), [
      "2:12: unknown profile '5.10'; did you mean '5.1'?",
      "2:18: unknown profile 'nope'",
      "2:33: profile 'current' is listed twice",
      '2:42: a profile in profiles must be a string, found a list',
    ]);
  });

  test('keys from the file are quoted escaped and cut; a merge key says what to do instead', () => {
    assert.match(errors('name: x\nsteps: []\n"a\\e[31m": 1\n')[0], /^3:1: unknown key 'a\\x1b\[31m' in the scenario/);
    const long = errors(`name: x\nsteps: []\n? ${'k'.repeat(5000)}\n: 1\n`)[0];
    assert.ok(long.length < 400, long);
    assert.match(errors('d: &d {length: 1}\nname: x\nsteps:\n  - mmap: {<<: *d, prot: 0, flags: 0}\n').join('\n'), /unknown argument '<<' of operation 'mmap'; YAML merge keys \(<<: \*anchor\) are not supported/);
  });

  test('a duplicate key is reported with the rest of the file\'s problems', () => {
    assert.deepEqual(errors('name: x\nsteps: []\nname: y\nnope: 1\n').map((l) => l.replace(/ \(expected one of: .*\)$/, '')), [
      "3:1: key 'name' is given twice in this mapping (first at line 1); each key may appear once",
      "4:1: unknown key 'nope' in the scenario",
    ]);
  });

  test('many tasks in a message are listed by their first eight', () => {
    const tasks = Array.from({ length: 30 }, (_, i) => `t${i}`);
    const e = errors(`name: x\ntasks: [${tasks.join(', ')}]\nsteps:\n  - write: {addr: 0, value: 1}\n    task: nobody\n`)[0];
    assert.match(e, /\(tasks so far: t0, t1, t2, t3, t4, t5, t6, t7, \.\.\. \(30 in all\)\)$/);
  });

  test('a delta compares checks by their arguments in full, though labels are cut', () => {
    const a = `buf + 0${'+0'.repeat(60)}`;
    const b = `buf + 0${'+0'.repeat(59)}+1`;
    // Both labels print the same 60 characters; the second check is of another address, with no earlier check.
    const e = errors(`${HEAD}  - expect:\n      - page: {addr: "${a}"}\n        refcount: 1\n      - page: {addr: "${b}"}\n        refcount: {delta: 0}\n`);
    assert.equal(e.length, 1);
    assert.match(e[0], /\{delta: N\} compares with the previous check of page\{addr: buf \+ 0\+0.*…\(\d+ more characters\)\}\.refcount/);
  });
});

describe('the runner under limits', () => {
  const model = modelBackend();

  test('every machine setting the model refuses is reported, each at its key', () => {
    let diags: string[] = [];
    try {
      runScenario(loadScenario('name: m\nmachine: {normal: -1, movable: -5, zero_page_colors: 100, thp: sometimes}\nsteps: []\n', 'm.yaml', model), model);
      assert.fail('ran');
    } catch (err) {
      assert.ok(err instanceof ScenarioFileError, String(err));
      diags = err.diagnostics.map((d) => `${d.pos.line}:${d.pos.col}: ${d.message}`);
    }
    assert.deepEqual(diags, [
      '2:11: machine.normal must be a non-negative integer',
      '2:23: machine.movable must be a non-negative integer',
      '2:36: machine.zero_page_colors must be 1..64',
      "2:59: machine.thp must be always, madvise or never, not 'sometimes'",
    ]);
  });

  test('a leak names the scenario step that pinned, counting expect steps and steps skipped for the profile', () => {
    const scn = loadScenario(`name: leak
profiles: ['5.9', current]
steps:
  - mmap: {length: 4*PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS}
    as: buf
  - expect:
      - vmstat: {}
        nr_foll_pin_acquired: {ge: 0}
  - write: {addr: buf, value: 1}
    profiles: ['5.9']
  - write: {addr: buf, value: 2}
  - pin_user_pages_fast: {start: buf, nr_pages: 1, gup_flags: FOLL_WRITE}
`, 'leak.yaml', model);
    for (const r of runScenario(scn, model)) {
      assert.equal(r.leaks.length, 1, r.profile);
      assert.match(r.leaks[0], /held by main pin_user_pages_fast at step 5$/, r.profile);
    }
  });

  test('a leak verdict lists 20 leak lines and counts the rest (the result keeps them all)', () => {
    const head = HEAD.replace('length: 4*PAGE_SIZE', 'length: 30*PAGE_SIZE');
    const [r] = runScenario(loadScenario(`${head}  - pin_user_pages_fast: { start: buf, nr_pages: 30 }\n`, 's.yaml', backend), backend);
    const v = r.verdicts.find((x) => x.description === 'end: no leaks')!;
    assert.equal(r.leaks.length, 30);
    const lines = v.message!.split('\n');
    assert.equal(lines[0], '30 leaks:');
    assert.equal(lines.length, 1 + 20 + 1);
    assert.equal(lines[21], '... and 10 more');
  });

  test('expected texts and values in verdicts are escaped and cut', () => {
    assert.equal(renderValue('a\x1bb'), '"a\\x1bb"');
    assert.ok(renderValue('x'.repeat(10_000)).length < 100);
    const [r] = runScenario(loadScenario(`${HEAD}  - write: { addr: buf, value: 1 }\n    expect: { warn: "w\\e[2K${'w'.repeat(1000)}" }\n`, 's.yaml', backend), backend);
    const v = r.verdicts.find((x) => x.description.includes('raises WARN'))!;
    assert.match(v.description, /^step 2 write: raises WARN 'w\\x1b\[2Kw+…\(\d+ more characters\)'$/);
    const oneOf = runScenario(loadScenario(`${HEAD}  - expect:\n      - vmstat: {}\n        nr_foll_pin_acquired: {one_of: [${Array.from({ length: 1000 }, (_, i) => i + 10).join(', ')}]}\n`, 's.yaml', backend), backend)[0];
    const d = oneOf.verdicts.find((x) => x.description.includes('one of'))!.description;
    assert.match(d, /one of \[10, 11, 12, 13, 14, 15, 16, 17, \.\.\. \(1000 items\)\]$/);
  });
});
