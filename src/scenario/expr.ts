// The expression language of scenario files: "4*PAGE_SIZE", "FOLL_WRITE|FOLL_LONGTERM", "-EFAULT",
// "buf + 2*PAGE_SIZE", "P[2]", "len(P)", "16K".
//
//   expr    := or
//   or      := xor ('|' xor)*            C precedence, loosest first: | ^ & (<< >>) (+ -) (* / %)
//   xor     := and ('^' and)*
//   and     := shift ('&' shift)*
//   shift   := add (('<<' | '>>') add)*
//   add     := mul (('+' | '-') mul)*
//   mul     := unary (('*' | '/' | '%') unary)*
//   unary   := ('-' | '+' | '~' | '!') unary | postfix
//   postfix := primary ('[' expr ']')*
//   primary := NUMBER | NAME | 'true' | 'false' | 'null' | 'len' '(' expr ')' | '(' expr ')'
//   NUMBER  := decimal or 0x hex digits, '_' between digits, optional binary suffix K, M or G
//
// Arithmetic is exact (BigInt) with C semantics (/ truncates toward zero, % takes the sign of the
// dividend, >> is arithmetic); every result must be a safe integer (|n| < 2^53).
//
// Hostile input: nesting (parentheses, unary operators, indexes, len()) is limited to
// MAX_EXPR_DEPTH, so parsing recurses at most a few hundred frames; a long flat chain (a+b+c+...)
// is parsed in a loop and evaluated along its left spine in a loop, so its length costs no stack.

import type { Value } from './backend.js';
import { MAX_EXPR_DEPTH } from './limits.js';
import { printable, quoted } from './printable.js';
import { didYouMean } from './suggest.js';

/** An error in an expression; col is the 0-based offset of the offending token in the expression text. */
export class ExprError extends Error {
  constructor(message: string, readonly col: number) {
    super(message);
    this.name = 'ExprError';
  }
}

export type UnaryOp = '-' | '+' | '~' | '!';
export type BinaryOp = '|' | '^' | '&' | '<<' | '>>' | '+' | '-' | '*' | '/' | '%';

export type Expr =
  | { readonly kind: 'num'; readonly value: number; readonly col: number }
  | { readonly kind: 'lit'; readonly value: boolean | null; readonly col: number }
  | { readonly kind: 'name'; readonly name: string; readonly col: number }
  | { readonly kind: 'index'; readonly target: Expr; readonly index: Expr; readonly col: number }
  | { readonly kind: 'len'; readonly arg: Expr; readonly col: number }
  | { readonly kind: 'unary'; readonly op: UnaryOp; readonly arg: Expr; readonly col: number }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly left: Expr; readonly right: Expr; readonly col: number };

/** Words with a meaning of their own: they cannot be constants or names bound with `as:`. */
export const RESERVED_WORDS: ReadonlySet<string> = new Set(['true', 'false', 'null', 'len']);

export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

const PRECEDENCE: Readonly<Record<BinaryOp, number>> = {
  '|': 1, '^': 2, '&': 3, '<<': 4, '>>': 4, '+': 5, '-': 5, '*': 6, '/': 6, '%': 6,
};

interface Token {
  readonly type: 'num' | 'name' | 'punct' | 'end';
  readonly text: string;
  readonly col: number;
  readonly value?: number;
}

const MAX = BigInt(Number.MAX_SAFE_INTEGER);
const SUFFIX: Readonly<Record<string, bigint>> = { '': 1n, K: 1n << 10n, M: 1n << 20n, G: 1n << 30n };

function safe(v: bigint, col: number, what: string): number {
  if (v > MAX || v < -MAX) throw new ExprError(`${what} ${v} is too large: values must be safe integers (at most 2^53-1 in magnitude)`, col);
  return Number(v);
}

function number(word: string, col: number): number {
  const hex = /^0[xX]([0-9a-fA-F]+(?:_[0-9a-fA-F]+)*)([KMG]?)$/.exec(word);
  const dec = /^([0-9]+(?:_[0-9]+)*)([KMG]?)$/.exec(word);
  const m = hex ?? dec;
  const shown = quoted(word, 40);
  if (!m) {
    let hint = 'expected decimal or 0x hex digits, optionally followed by K, M or G';
    if (/^(0[xX][0-9a-fA-F_]+|[0-9_]+)[kmg]$/.test(word)) hint = 'the size suffixes are K, M and G (upper case)';
    else if (/^[0-9][0-9_]*\./.test(word) || /^[0-9]+[eE]/.test(word)) hint = 'numbers are integers';
    else if (/_$|__|^0[xX]_/.test(word)) hint = "'_' may only separate digits";
    throw new ExprError(`bad number ${shown}: ${hint}`, col);
  }
  const digits = m[1].replace(/_/g, '');
  if (!hex && digits.length > 1 && digits.startsWith('0')) {
    throw new ExprError(`bad number ${shown}: a leading 0 does not mean octal here; write 0x for hex or drop the 0`, col);
  }
  // More digits than any safe integer has: too large, without converting a megabyte of digits.
  if (digits.replace(/^0+/, '').length > (hex ? 14 : 16)) {
    throw new ExprError(`number ${shown} is too large: values must be safe integers (at most 2^53-1 in magnitude)`, col);
  }
  return safe(BigInt(hex ? `0x${digits}` : digits) * SUFFIX[m[2]], col, 'number');
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    if (c >= '0' && c <= '9') {
      let j = i;
      while (j < src.length && /[0-9A-Za-z_.]/.test(src[j])) j++;
      const word = src.slice(i, j);
      out.push({ type: 'num', text: word, col: i, value: number(word, i) });
      i = j;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < src.length && /[A-Za-z0-9_]/.test(src[j])) j++;
      out.push({ type: 'name', text: src.slice(i, j), col: i });
      i = j;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '<<' || two === '>>') { out.push({ type: 'punct', text: two, col: i }); i += 2; continue; }
    if ('|^&+-*/%~!()[]'.includes(c)) { out.push({ type: 'punct', text: c, col: i }); i++; continue; }
    let hint = '';
    const ch = String.fromCodePoint(src.codePointAt(i)!);
    if (c === '<' || c === '>' || c === '=') hint = ': comparisons are not part of expressions (use ge:, le:, ne: in expectations)';
    else if (c === '"' || c === "'") hint = ': quote the whole YAML value instead';
    else if (c === ',') hint = ': len() takes one argument';
    else if (c === '.') hint = ': numbers are integers (no .5, .inf or .nan)';
    throw new ExprError(`unexpected character ${quoted(ch)}${hint}`, i);
  }
  out.push({ type: 'end', text: '', col: src.length });
  return out;
}

function describeToken(t: Token): string {
  return t.type === 'end' ? 'the end of the expression' : quoted(t.text, 40);
}

/** Parse an expression; throws ExprError with the column of the offending token. */
export function parseExpr(src: string): Expr {
  const toks = tokenize(src);
  let p = 0;
  const peek = () => toks[p];
  const next = () => toks[p++];
  const expect = (text: string, what: string) => {
    const t = next();
    if (t.type !== 'punct' || t.text !== text) throw new ExprError(`expected ${what}, found ${describeToken(t)}`, t.col);
  };
  // Nesting so far: each level costs a few stack frames here and in evaluate().
  let depth = 0;
  const enter = (t: Token) => {
    if (++depth > MAX_EXPR_DEPTH) {
      throw new ExprError(`the expression nests more than ${MAX_EXPR_DEPTH} levels deep here (parentheses, unary operators, `
        + '[ ] and len() count); simplify it', t.col);
    }
  };

  const binary = (minPrec: number): Expr => {
    let left = unary();
    while (true) {
      const t = peek();
      if (t.type !== 'punct' || !(t.text in PRECEDENCE)) return left;
      const op = t.text as BinaryOp;
      const prec = PRECEDENCE[op];
      if (prec < minPrec) return left;
      next();
      const right = binary(prec + 1);
      left = { kind: 'binary', op, left, right, col: t.col };
    }
  };

  const unary = (): Expr => {
    const t = peek();
    if (t.type === 'punct' && (t.text === '-' || t.text === '+' || t.text === '~' || t.text === '!')) {
      next();
      enter(t);
      const arg = unary();
      depth--;
      return { kind: 'unary', op: t.text, arg, col: t.col };
    }
    let e = primary();
    // P[1][2]...: each index nests the target one level deeper.
    const outer = depth;
    while (peek().type === 'punct' && peek().text === '[') {
      const open = next();
      enter(open);
      const index = binary(1);
      expect(']', "']' to close the index");
      e = { kind: 'index', target: e, index, col: open.col };
    }
    depth = outer;
    return e;
  };

  const primary = (): Expr => {
    const t = next();
    if (t.type === 'num') return { kind: 'num', value: t.value as number, col: t.col };
    if (t.type === 'name') {
      if (t.text === 'true' || t.text === 'false') return { kind: 'lit', value: t.text === 'true', col: t.col };
      if (t.text === 'null') return { kind: 'lit', value: null, col: t.col };
      if (t.text === 'len') {
        expect('(', "'(' after len");
        enter(t);
        const arg = binary(1);
        depth--;
        expect(')', "')' to close len(");
        return { kind: 'len', arg, col: t.col };
      }
      return { kind: 'name', name: t.text, col: t.col };
    }
    if (t.type === 'punct' && t.text === '(') {
      enter(t);
      const e = binary(1);
      depth--;
      expect(')', "')'");
      return e;
    }
    const found = t.type === 'end' && t.col === 0 ? 'nothing' : describeToken(t);
    throw new ExprError(`expected a number, a name or '(', found ${found}`, t.col);
  };

  const e = binary(1);
  const t = peek();
  if (t.type !== 'end') {
    const what = t.type === 'punct' ? `'${t.text}'` : `${quoted(t.text, 40)} (an operator is missing before it)`;
    throw new ExprError(`unexpected ${what} after a complete expression`, t.col);
  }
  return e;
}

/** Every name an expression refers to (not constants of the language like true or len), in order. */
export function namesIn(e: Expr): { name: string; col: number }[] {
  const out: { name: string; col: number }[] = [];
  // An explicit stack: a flat chain of 100,000 terms is a tree that deep.
  const stack: Expr[] = [e];
  while (stack.length) {
    const x = stack.pop()!;
    switch (x.kind) {
      case 'name': out.push({ name: x.name, col: x.col }); break;
      case 'index': stack.push(x.index, x.target); break;
      case 'len': stack.push(x.arg); break;
      case 'unary': stack.push(x.arg); break;
      case 'binary': stack.push(x.right, x.left); break;
      default: break;
    }
  }
  return out;
}

/** Where names get their values: bindings made with `as:`, then the backend's constants. */
export interface Scope {
  /** The value of a name, or undefined if the name is unknown (null is a value). */
  get(name: string): Value | undefined;
  /** Every known name, for suggestions. */
  names(): Iterable<string>;
}

export function describeValue(v: Value): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string "${printable(v)}"`;
  return String(v);
}

function int(v: Value, col: number, ctx: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  let hint = '';
  if (Array.isArray(v)) hint = ' (index it with [i] or take len())';
  throw new ExprError(`${ctx} needs an integer, found ${describeValue(v)}${hint}`, col);
}

/** Evaluate an expression; throws ExprError with the column of the offending token. */
export function evaluate(e: Expr, scope: Scope): Value {
  switch (e.kind) {
    case 'num':
    case 'lit':
      return e.value;
    case 'name': {
      const v = scope.get(e.name);
      if (v === undefined) throw new ExprError(`unknown name ${quoted(e.name)}${didYouMean(e.name, scope.names())}`, e.col);
      return v;
    }
    case 'index': {
      const t = evaluate(e.target, scope);
      const i = evaluate(e.index, scope);
      if (!Array.isArray(t)) throw new ExprError(`only arrays can be indexed, found ${describeValue(t)}`, e.col);
      const arr = t as readonly Value[];
      const n = Number(int(i, e.index.col, 'an index'));
      if (n < 0 || n >= arr.length) {
        throw new ExprError(`index ${n} is out of range: the array has ${arr.length} element${arr.length === 1 ? '' : 's'}`, e.index.col);
      }
      return arr[n];
    }
    case 'len': {
      const v = evaluate(e.arg, scope);
      if (Array.isArray(v) || typeof v === 'string') return v.length;
      throw new ExprError(`len() needs an array, found ${describeValue(v)}`, e.arg.col);
    }
    case 'unary': {
      const v = evaluate(e.arg, scope);
      if (e.op === '!') {
        if (typeof v === 'boolean') return !v;
        return int(v, e.col, "'!'") === 0n ? 1 : 0;
      }
      const n = int(v, e.col, `unary '${e.op}'`);
      return safe(e.op === '-' ? -n : e.op === '~' ? ~n : n, e.col, 'result');
    }
    case 'binary': {
      // a+b+c+... is left-deep: go down its left spine in a loop, then fold back up, so a chain of
      // any length costs one frame; right operands are bounded by the parser's nesting limit.
      const spine: BinaryExpr[] = [];
      let x: Expr = e;
      for (; x.kind === 'binary'; x = x.left) spine.push(x);
      let acc = evaluate(x, scope);
      for (let i = spine.length - 1; i >= 0; i--) acc = binaryOp(spine[i], acc, scope);
      return acc;
    }
  }
}

type BinaryExpr = Extract<Expr, { kind: 'binary' }>;

/** One binary operation, its left operand already evaluated. */
function binaryOp(e: BinaryExpr, left: Value, scope: Scope): Value {
  const a = int(left, e.col, `'${e.op}'`);
  const b = int(evaluate(e.right, scope), e.col, `'${e.op}'`);
  let r: bigint;
  switch (e.op) {
    case '|': r = a | b; break;
    case '^': r = a ^ b; break;
    case '&': r = a & b; break;
    case '<<':
    case '>>':
      if (b < 0n || b > 63n) throw new ExprError(`shift count ${b} is out of range 0..63`, e.col);
      r = e.op === '<<' ? a << b : a >> b;
      break;
    case '+': r = a + b; break;
    case '-': r = a - b; break;
    case '*': r = a * b; break;
    case '/':
    case '%':
      if (b === 0n) throw new ExprError(e.op === '/' ? 'division by zero' : 'remainder by zero', e.col);
      r = e.op === '/' ? a / b : a % b;
      break;
  }
  return safe(r, e.col, 'result');
}

/** A scope over a plain record of constants and a map of bindings (bindings first). */
export function scopeOf(constants: Readonly<Record<string, number>>, bindings?: ReadonlyMap<string, Value>): Scope {
  return {
    get: (name) => {
      if (bindings?.has(name)) return bindings.get(name);
      return Object.hasOwn(constants, name) ? constants[name] : undefined;
    },
    names: () => [...(bindings?.keys() ?? []), ...Object.keys(constants)],
  };
}

/** Parse and evaluate in one go (for tests and the command line). */
export function evalString(src: string, scope: Scope): Value {
  return evaluate(parseExpr(src), scope);
}
