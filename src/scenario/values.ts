// Evaluating the values written in a scenario file (arguments, expected values) to model Values.

import type { ArgType, Value } from './backend.js';
import type { ValueNode } from './ast.js';
import { ScenarioFileError } from './errors.js';
import { ExprError, describeValue, evaluate, type Scope } from './expr.js';
import { printable } from './printable.js';

/** Evaluate a value as written; errors point at the offending token. */
export function evalNode(node: ValueNode, scope: Scope): Value {
  switch (node.kind) {
    case 'string':
      return node.value;
    case 'list': {
      const items = node.items.map((n) => evalNode(n, scope));
      items.forEach((v, i) => {
        if (typeof v !== 'number') {
          throw ScenarioFileError.at(node.items[i].pos, `list items must be integers, found ${describeValue(v)}`);
        }
      });
      return items as number[];
    }
    case 'expr':
      try {
        return evaluate(node.expr, scope);
      } catch (e) {
        if (e instanceof ExprError) throw ScenarioFileError.at(node.at(e.col), e.message);
        throw e;
      }
  }
}

const TYPE_WORDS: Readonly<Record<ArgType, string>> = {
  int: 'an integer', flags: 'an integer (flags)', name: 'a name', string: 'a string', bool: 'true or false', value: 'a value',
};

export function typeWord(t: ArgType): string {
  return TYPE_WORDS[t];
}

/** Evaluate a value that must have an argument type (int, flags, bool...). `what` names it in errors. */
export function evalTyped(node: ValueNode, type: ArgType, scope: Scope, what: string): Value {
  const v = evalNode(node, scope);
  const bad = () => ScenarioFileError.at(node.pos, `${what} must be ${TYPE_WORDS[type]}, found ${describeValue(v)}`);
  switch (type) {
    case 'int':
    case 'flags':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad();
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw bad();
      return v;
    case 'name':
    case 'string':
      if (typeof v !== 'string') throw bad();
      return v;
    case 'value':
      return v;
  }
}

/** The value as written in the file, in full, to compare (not to print): "4*PAGE_SIZE", "\"anon\"", "[1, 2]". */
export function nodeSource(node: ValueNode): string {
  switch (node.kind) {
    case 'expr': return node.src.trim().replace(/\s+/g, ' ');
    case 'string': return JSON.stringify(node.value);
    case 'list': return `[${node.items.map(nodeSource).join(', ')}]`;
  }
}

/** The value as written, for descriptions: nodeSource() escaped and cut (a list, to its first items). */
export function nodeText(node: ValueNode): string {
  switch (node.kind) {
    case 'expr': return printable(nodeSource(node));
    case 'string': return `"${printable(node.value)}"`;
    case 'list': return shownList(node.items.map(nodeText));
  }
}

/** "[a, b, c]", or its first 8 items and how many there are. */
export function shownList(items: readonly string[]): string {
  return items.length > 8 ? `[${items.slice(0, 8).join(', ')}, ... (${items.length} items)]` : `[${items.join(', ')}]`;
}

/** Structural equality of two Values. */
export function valueEquals(a: Value | undefined, b: Value | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const x = a as readonly Value[];
    const y = b as readonly Value[];
    return x.length === y.length && x.every((v, i) => valueEquals(v, y[i]));
  }
  const x = a as { readonly [k: string]: Value };
  const y = b as { readonly [k: string]: Value };
  const kx = Object.keys(x);
  return kx.length === Object.keys(y).length && kx.every((k) => Object.hasOwn(y, k) && valueEquals(x[k], y[k]));
}

/** A canonical JSON string for a record of Values (sorted keys), to key snapshots of queries. */
export function canonical(v: Value | undefined): string {
  if (v === undefined) return 'undefined';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${(v as readonly Value[]).map(canonical).join(',')}]`;
  const o = v as { readonly [k: string]: Value };
  return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}
