// The YAML-with-positions cursor the loader's section parsers share (src/scenario/load/cursor.ts):
// positions, the readers of mappings, lists, scalars and names, aliases, and the diagnostic limit.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isMap, isScalar, type Scalar } from 'yaml';
import { Cursor, TooManyProblems, keyHint, listed, sortDiags, type N } from '../../src/scenario/load/cursor.js';
import { MAX_DIAGNOSTICS } from '../../src/scenario/limits.js';
import { parseScenarioYaml } from '../../src/scenario/source.js';

/** A cursor over `text` and the root node of its document. */
function open(text: string): { cur: Cursor; root: N } {
  const parsed = parseScenarioYaml(text, 'c.yaml');
  assert.equal(parsed.fatal, false, 'the test text parses');
  const cur = new Cursor(text, 'c.yaml');
  cur.setDocument(parsed.lc, parsed.aliases);
  return { cur, root: cur.deref(parsed.doc!.contents) };
}

const shown = (cur: Cursor) => cur.diags.map((d) => `${d.pos.file}:${d.pos.line}:${d.pos.col}: ${d.message}`);

/** The value of `key` in a mapping node. */
function valueOf(cur: Cursor, map: N, key: string): N {
  const e = cur.entries(map, 'the test')!.find((x) => x.key === key);
  assert.ok(e, `key ${key}`);
  return e.value;
}

describe('cursor: positions', () => {
  test('a node is at the line and column where it starts (1-based); no node is at 1:1', () => {
    const { cur, root } = open('a: 1\nb:\n  - x\n  -   y\n');
    const items = cur.items(valueOf(cur, root, 'b'), 'b')!;
    assert.deepEqual(items.map((n) => cur.pos(n)), [{ file: 'c.yaml', line: 3, col: 5 }, { file: 'c.yaml', line: 4, col: 7 }]);
    assert.deepEqual(cur.pos(null), { file: 'c.yaml', line: 1, col: 1 });
    assert.deepEqual(cur.diags, []);
  });

  test('entries give each key with its own position, in file order', () => {
    const { cur, root } = open('first: 1\n  # a comment\nsecond: [2]\n');
    const es = cur.entries(root, 'the root')!;
    assert.deepEqual(es.map((e) => [e.key, e.keyPos.line, e.keyPos.col]), [['first', 1, 1], ['second', 3, 1]]);
  });
});

describe('cursor: readers and their messages', () => {
  test('entries of something that is not a mapping: one message naming what was found', () => {
    const { cur, root } = open('a: [1, 2]\nb: "text"\nc:\n');
    assert.equal(cur.entries(valueOf(cur, root, 'a'), 'the setting a'), null);
    assert.equal(cur.entries(valueOf(cur, root, 'b'), 'the setting b'), null);
    assert.equal(cur.entries(valueOf(cur, root, 'c'), 'the setting c'), null);
    assert.deepEqual(shown(cur), [
      'c.yaml:1:4: the setting a must be a mapping, found a list',
      'c.yaml:2:4: the setting b must be a mapping, found the string "text"',
      'c.yaml:3:3: the setting c must be a mapping, found an empty value',
    ]);
  });

  test('a key that is not a scalar is reported and skipped; the other keys are read', () => {
    const { cur, root } = open('? [x]\n: 1\nok: 2\n');
    const es = cur.entries(root, 'the root')!;
    assert.deepEqual(es.map((e) => e.key), ['ok']);
    assert.deepEqual(shown(cur), ['c.yaml:1:3: keys in the root must be plain names, found a list']);
  });

  test('items of a mapping is an error; items of a list are its nodes', () => {
    const { cur, root } = open('l: [a, b]\nm: {k: v}\n');
    assert.equal(cur.items(valueOf(cur, root, 'l'), 'l')!.length, 2);
    assert.equal(cur.items(valueOf(cur, root, 'm'), 'the steps'), null);
    assert.deepEqual(shown(cur), ['c.yaml:2:4: the steps must be a list, found a mapping']);
  });

  test('plain scalars keep their text as written; quoted ones their value', () => {
    const { cur, root } = open('v: 5.10\nq: "5.10"\nz: 0x10\n');
    const text = (k: string) => cur.text(valueOf(cur, root, k) as Scalar);
    assert.deepEqual([text('v'), text('q'), text('z')], ['5.10', '5.10', '0x10']);
  });

  test('isEmpty: nothing, ~ and (when asked) null; a quoted empty string is not empty', () => {
    const { cur, root } = open('a:\nb: ~\nc: null\nd: ""\n');
    const v = (k: string) => valueOf(cur, root, k);
    assert.deepEqual([cur.isEmpty(v('a')), cur.isEmpty(v('b')), cur.isEmpty(v('c')), cur.isEmpty(v('c'), true), cur.isEmpty(v('d'))],
      [true, true, false, true, false]);
  });

  test('scalarString and nameValue: what they refuse, and why', () => {
    const { cur, root } = open(`s: [1]\nn1: "has space"\nn2: ${'x'.repeat(65)}\nn3: good.name-1\nn4:\n`);
    const v = (k: string) => valueOf(cur, root, k);
    assert.equal(cur.scalarString(v('s'), 'note'), null);
    assert.equal(cur.nameValue(v('n1'), 'a task name'), null);
    assert.equal(cur.nameValue(v('n2'), 'a task name'), null);
    assert.equal(cur.nameValue(v('n3'), 'a task name'), 'good.name-1');
    assert.equal(cur.nameValue(v('n4'), 'a task name'), null);
    assert.equal(cur.scalarString(v('n4'), 'note', true), '');
    assert.deepEqual(shown(cur), [
      'c.yaml:1:4: note must be a string, found a list',
      'c.yaml:2:5: a task name must be a name (letters, digits, \'_\', \'.\', \'-\'), found \'has space\'',
      'c.yaml:3:5: a task name is 65 characters long; names have at most 64',
      'c.yaml:5:4: a task name must be a name, found an empty value',
    ]);
  });

  test('unknownKey suggests the nearest allowed key and lists them all', () => {
    const { cur, root } = open('nmae: x\n');
    const [e] = cur.entries(root, 'the scenario')!;
    cur.unknownKey(e, ['name', 'steps'], 'the scenario');
    assert.deepEqual(shown(cur), ["c.yaml:1:1: unknown key 'nmae' in the scenario; did you mean 'name'? (expected one of: name, steps)"]);
  });
});

describe('cursor: aliases', () => {
  test('an alias reads as the node its anchor names', () => {
    const { cur, root } = open('a: &A {k: 1}\nb: *A\n');
    const b = valueOf(cur, root, 'b');
    assert.ok(isMap(b));
    assert.deepEqual(cur.entries(b, 'b')!.map((e) => e.key), ['k']);
    assert.deepEqual(cur.diags, []);
  });

  test('an alias its table does not hold is reported where it is written and stands in as an empty scalar', () => {
    // parseScenarioYaml() refuses an alias with no anchor itself; this is the cursor's own guard.
    const text = 'a: &A 1\nb: *A\n';
    const parsed = parseScenarioYaml(text, 'c.yaml');
    const cur = new Cursor(text, 'c.yaml');
    cur.setDocument(parsed.lc, new Map());
    const b = valueOf(cur, cur.deref(parsed.doc!.contents), 'b');
    assert.ok(isScalar(b));
    assert.equal(cur.isEmpty(b), true);
    assert.deepEqual(cur.pos(b), { file: 'c.yaml', line: 2, col: 4 });
    assert.deepEqual(shown(cur), ["c.yaml:2:4: YAML: no anchor &A for the alias *A (to write an expression starting with '*', quote it)"]);
  });
});

describe('cursor: the diagnostic limit', () => {
  test(`the ${MAX_DIAGNOSTICS}th problem stops the reading with TooManyProblems, after recording it`, () => {
    const cur = new Cursor('', 'c.yaml');
    for (let i = 1; i < MAX_DIAGNOSTICS; i++) assert.equal(cur.err({ file: 'c.yaml', line: i, col: 1 }, `problem ${i}`), null);
    assert.throws(() => cur.err({ file: 'c.yaml', line: MAX_DIAGNOSTICS, col: 1 }, 'the last'), TooManyProblems);
    assert.equal(cur.diags.length, MAX_DIAGNOSTICS);
  });
});

describe('cursor: message helpers', () => {
  test('keyHint explains YAML merge keys, else suggests the nearest name', () => {
    assert.match(keyHint('<<', ['a']), /YAML merge keys \(<<: \*anchor\) are not supported/);
    assert.equal(keyHint('stpes', ['steps', 'name']), "; did you mean 'steps'?");
    assert.equal(keyHint('zzzzzz', ['steps']), '');
  });

  test('listed shows at most 8 words and says how many there are', () => {
    assert.equal(listed(['a', 'b']), "'a', 'b'");
    assert.equal(listed(['a', 'b'], false), 'a, b');
    const ten = Array.from({ length: 10 }, (_, i) => `w${i}`);
    assert.equal(listed(ten, false), 'w0, w1, w2, w3, w4, w5, w6, w7, ... (10 in all)');
  });

  test('sortDiags puts diagnostics in file order and drops repeats', () => {
    const at = (line: number, col: number) => ({ file: 'c.yaml', line, col });
    const sorted = sortDiags([
      { pos: at(3, 1), message: 'c' }, { pos: at(1, 5), message: 'b' }, { pos: at(1, 2), message: 'a' }, { pos: at(3, 1), message: 'c' },
    ]);
    assert.deepEqual(sorted.map((d) => d.message), ['a', 'b', 'c']);
  });
});
