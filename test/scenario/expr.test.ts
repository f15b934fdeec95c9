import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExprError, evalString, namesIn, parseExpr, scopeOf } from '../../src/scenario/expr.js';
import type { Value } from '../../src/scenario/backend.js';
import { damerauLevenshtein, nearest } from '../../src/scenario/suggest.js';
import { FAKE_CONSTANTS } from './fake-backend.js';

const bindings = new Map<string, Value>([['buf', 0x7f0000000000], ['P', [10, 11, 12, 13]], ['flag', true]]);
const scope = scopeOf(FAKE_CONSTANTS, bindings);
const ev = (s: string) => evalString(s, scope);

/** The error an expression raises, as [message, column]. */
function failure(s: string): [string, number] {
  try {
    ev(s);
  } catch (e) {
    assert.ok(e instanceof ExprError, `expected ExprError, got ${String(e)}`);
    return [e.message, e.col];
  }
  assert.fail(`'${s}' evaluated without error`);
}

describe('expression values', () => {
  test('numbers: decimal, hex, separators, binary suffixes', () => {
    assert.equal(ev('42'), 42);
    assert.equal(ev('0x10'), 16);
    assert.equal(ev('0XfF'), 255);
    assert.equal(ev('1_000_000'), 1000000);
    assert.equal(ev('0x7f_ff'), 0x7fff);
    assert.equal(ev('16K'), 16384);
    assert.equal(ev('4M'), 4 << 20);
    assert.equal(ev('2G'), 2 * 2 ** 30);
    assert.equal(ev('0x1K'), 1024);
    assert.equal(ev('0'), 0);
  });

  test('constants, names, indexing, len', () => {
    assert.equal(ev('4*PAGE_SIZE'), 16384);
    assert.equal(ev('buf + 2*PAGE_SIZE'), 0x7f0000000000 + 8192);
    assert.equal(ev('P[2]'), 12);
    assert.equal(ev('P[len(P) - 1]'), 13);
    assert.equal(ev('len(P)'), 4);
    assert.deepEqual(ev('P'), [10, 11, 12, 13]);
    assert.equal(ev('-EFAULT'), -14);
    assert.equal(ev('flag'), true);
  });

  test('C precedence and associativity', () => {
    assert.equal(ev('FOLL_WRITE|FOLL_LONGTERM'), 257);
    assert.equal(ev('1 + 2 * 3'), 7);
    assert.equal(ev('(1 + 2) * 3'), 9);
    assert.equal(ev('1 | 2 ^ 3 & 4 << 1'), 1 | (2 ^ (3 & (4 << 1))));
    assert.equal(ev('10 - 3 - 2'), 5);
    assert.equal(ev('100 / 10 / 5'), 2);
    assert.equal(ev('1 << 2 + 1'), 8);
    assert.equal(ev('6 & 3 | 8'), 10);
    assert.equal(ev('-2 * 3'), -6);
    assert.equal(ev('~0 & 0xff'), 255);
  });

  test('C integer semantics, exact beyond 32 bits', () => {
    assert.equal(ev('-7 / 2'), -3);
    assert.equal(ev('-7 % 2'), -1);
    assert.equal(ev('7 % -2'), 1);
    assert.equal(ev('1 << 40'), 2 ** 40);
    assert.equal(ev('(1 << 47) - PAGE_SIZE'), 2 ** 47 - 4096);
    assert.equal(ev('buf | 0xfff'), 0x7f0000000fff);
    assert.equal(ev('buf & ~(PAGE_SIZE - 1)'), 0x7f0000000000);
    assert.equal(ev('-1 >> 1'), -1);
    assert.equal(ev('!0'), 1);
    assert.equal(ev('!5'), 0);
    assert.equal(ev('!flag'), false);
  });

  test('literals', () => {
    assert.equal(ev('true'), true);
    assert.equal(ev('false'), false);
    assert.equal(ev('null'), null);
  });

  test('namesIn lists names, not literals', () => {
    assert.deepEqual(namesIn(parseExpr('buf + len(P) * PAGE_SIZE + true')).map((n) => n.name), ['buf', 'P', 'PAGE_SIZE']);
  });
});

describe('expression errors carry the column of the offending token', () => {
  test('unknown name with suggestion', () => {
    const [msg, col] = failure('PROT_READ|PROT_WRIT');
    assert.equal(msg, "unknown name 'PROT_WRIT'; did you mean 'PROT_WRITE'?");
    assert.equal(col, 10);
  });

  test('bad numbers', () => {
    assert.deepEqual(failure('4 * 16k'), ["bad number '16k': the size suffixes are K, M and G (upper case)", 4]);
    assert.equal(failure('1.5')[1], 0);
    assert.match(failure('1.5')[0], /integers/);
    assert.match(failure('012')[0], /octal/);
    assert.match(failure('1__0')[0], /'_' may only separate digits/);
    assert.match(failure('12abc')[0], /bad number '12abc'/);
  });

  test('syntax', () => {
    assert.deepEqual(failure('1 +'), ["expected a number, a name or '(', found the end of the expression", 3]);
    assert.deepEqual(failure(''), ["expected a number, a name or '(', found nothing", 0]);
    assert.deepEqual(failure('(1 + 2'), ["expected ')', found the end of the expression", 6]);
    assert.deepEqual(failure('P[1'), ["expected ']' to close the index, found the end of the expression", 3]);
    assert.equal(failure('buf buf')[1], 4);
    assert.match(failure('buf buf')[0], /operator is missing/);
    assert.deepEqual(failure('1 == 1')[1], 2);
    assert.match(failure('a @ b')[0], /unexpected character '@'/);
  });

  test('evaluation', () => {
    assert.deepEqual(failure('1 / (2 - 2)'), ['division by zero', 2]);
    assert.deepEqual(failure('P[4]'), ['index 4 is out of range: the array has 4 elements', 2]);
    assert.deepEqual(failure('P[-1]'), ['index -1 is out of range: the array has 4 elements', 2]);
    assert.equal(failure('buf[0]')[1], 3);
    assert.match(failure('P + 1')[0], /needs an integer, found an array of 4/);
    assert.match(failure('len(buf)')[0], /len\(\) needs an array/);
    assert.match(failure('1 << 64')[0], /shift count/);
    assert.match(failure('0x20000000000000')[0], /safe integer/);
    assert.equal(failure('1 + 0x1fffffffffffff')[1], 2);
    assert.match(failure('flag + 1')[0], /needs an integer, found true/);
  });
});

describe('suggestions', () => {
  test('Damerau-Levenshtein counts a transposition as one edit', () => {
    assert.equal(damerauLevenshtein('stpes', 'steps'), 1);
    assert.equal(damerauLevenshtein('kitten', 'sitting'), 3);
    assert.equal(damerauLevenshtein('', 'abc'), 3);
    assert.equal(damerauLevenshtein('abc', 'abc'), 0);
  });

  test('nearest', () => {
    const ops = ['pin_user_pages', 'pin_user_pages_fast', 'get_user_pages', 'mmap', 'expect'];
    assert.equal(nearest('pin_user_page_fast', ops), 'pin_user_pages_fast');
    assert.equal(nearest('expcet', ops), 'expect');
    assert.equal(nearest('MMAP', ops), 'mmap');
    assert.equal(nearest('get_user', ops), 'get_user_pages');
    assert.equal(nearest('frobnicate', ops), undefined);
  });
});
