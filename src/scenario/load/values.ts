// Values written in a scenario file: expressions (positions inside them), values by argument type,
// the names they use (constants, bindings, tasks), and the arguments of an operation or query
// checked against the backend's declaration of them (ArgSpec, derived from the op's own `args`).

import { isScalar, isSeq, type Scalar } from 'yaml';
import type { ArgSpec } from '../backend.js';
import type { ArgNode, ValueNode } from '../ast.js';
import type { SourcePos } from '../errors.js';
import { ExprError, IDENTIFIER, RESERVED_WORDS, namesIn, parseExpr } from '../expr.js';
import { MAX_NAME_LENGTH } from '../limits.js';
import { notModelled } from '../not-modelled.js';
import { quoted } from '../printable.js';
import { didYouMean } from '../suggest.js';
import { typeWord } from '../values.js';
import { keyHint, listed, type Cursor, type N } from './cursor.js';
import type { LoadState } from './state.js';

/** A scalar read as an expression; errors point at the offending token inside it. */
function readExpr(ld: Cursor, s: Scalar): ValueNode | null {
  const quoted = s.type === 'QUOTE_DOUBLE' || s.type === 'QUOTE_SINGLE';
  const base = (s.range?.[0] ?? 0) + (quoted ? 1 : 0);
  // A plain scalar is read from the file as written (line breaks and indentation are spaces
  // to the expression), so that columns map back to the file even across lines.
  const src = s.type === 'PLAIN' && s.range ? ld.source.slice(s.range[0], s.range[1]) : ld.text(s);
  const at = (col: number) => ld.at(base + col);
  try {
    return { kind: 'expr', src, expr: parseExpr(src), pos: at(0), at };
  } catch (e) {
    if (e instanceof ExprError) return ld.err(at(e.col), e.message);
    throw e;
  }
}

/**
 * A value written in the file, by the type it must have. Plain scalars are expressions; quoted
 * ones are strings where a string is possible ('value', 'string', 'name'), else expressions.
 */
export function readValue(ld: Cursor, n: N, type: ArgSpec['type'], what: string): ValueNode | null {
  n = ld.deref(n);
  const pos = ld.pos(n);
  if (type === 'value' && isSeq(n)) {
    const items: ValueNode[] = [];
    for (const i of n.items) {
      const v = readValue(ld, ld.deref(i), 'int', `an item of ${what}`);
      if (v) items.push(v);
    }
    return { kind: 'list', items, pos };
  }
  if (!isScalar(n)) return ld.err(pos, `${what} must be ${typeWord(type)}, found ${ld.kind(n)}`);
  if (type === 'name') {
    const t = ld.nameValue(n, what);
    return t === null ? null : { kind: 'string', value: t, pos };
  }
  if (type === 'string') return { kind: 'string', value: ld.text(n), pos };
  if (ld.isEmpty(n)) return ld.err(pos, `${what} must be ${typeWord(type)}, found an empty value`);
  if (type === 'value' && n.type !== 'PLAIN') return { kind: 'string', value: ld.text(n), pos };
  return readExpr(ld, n);
}

/** Check the names an expression uses; returns whether it uses any name bound with `as:`. */
export function checkNames(ld: LoadState, v: ValueNode | null): boolean {
  if (!v) return false;
  if (v.kind === 'list') return v.items.map((i) => checkNames(ld, i)).some(Boolean);
  if (v.kind !== 'expr') return false;
  let usesBound = false;
  for (const { name, col } of namesIn(v.expr)) {
    if (ld.bound.has(name)) { usesBound = true; continue; }
    if (ld.constants.has(name)) continue;
    const later = ld.bindsAt.get(name);
    const hint = later !== undefined ? `; it is bound by '${ld.bindsVia.get(name) ?? 'as'}:' at step ${later}, which comes later` : '';
    const nm = later === undefined ? notModelled(name, 'name') : null;
    const suggestion = didYouMean(name, [...ld.bound, ...ld.constants]);
    ld.err(v.at(col), nm ?? `unknown name ${quoted(name)}${later !== undefined ? hint : suggestion}`);
  }
  return usesBound;
}

export function readTaskRef(ld: LoadState, n: N, what: string): { name: string; pos: SourcePos } | null {
  const name = ld.nameValue(n, what);
  if (name === null) return null;
  if (!ld.tasks.has(name)) {
    const known = [...ld.tasks];
    return ld.err(ld.pos(n), `unknown task ${quoted(name)}${didYouMean(name, known)} (tasks so far: ${listed(known, false) || 'none'})`);
  }
  return { name, pos: ld.pos(n) };
}

/**
 * The arguments of an operation or query, checked against its declaration (`specs`: names, types,
 * which are required); a query that runs in a task also takes `task:` among them (`taskKey`).
 */
export function readArgs(
  ld: LoadState, owner: string, specs: readonly ArgSpec[], n: N, ownerPos: SourcePos, kind: 'operation' | 'query', taskKey: boolean,
): { args: ArgNode[]; task: { name: string; pos: SourcePos } | null; usesBound: boolean } {
  const out: ArgNode[] = [];
  let task: { name: string; pos: SourcePos } | null = null;
  let usesBound = false;
  const seen = new Set<string>();
  if (!ld.isEmpty(n, true)) {
    const es = ld.entries(n, `the arguments of ${kind} '${owner}'`);
    if (!es) return { args: out, task, usesBound };
    for (const e of es) {
      seen.add(e.key);
      const spec = specs.find((s) => s.name === e.key);
      if (!spec && e.key === 'task' && taskKey) {
        task = readTaskRef(ld, e.value, `the task of ${owner}`);
        if (task && !ld.startTasks.has(task.name)) usesBound = true;
        continue;
      }
      if (!spec) {
        const names = specs.map((s) => s.name);
        let hint = keyHint(e.key, names);
        if (!hint && e.key === 'task' && kind === 'operation') hint = '; give the task beside the operation: `task: NAME` on the step';
        if (!hint && e.key === 'task') hint = `; query '${owner}' does not run in a task`;
        ld.err(e.keyPos, `unknown argument ${quoted(e.key)} of ${kind} '${owner}'${hint} (it takes: ${argList(specs)})`);
        continue;
      }
      const v = readValue(ld, e.value, spec.type, `argument '${e.key}'`);
      usesBound = checkNames(ld, v) || usesBound;
      if (v) out.push({ name: e.key, spec, keyPos: e.keyPos, value: v });
    }
  }
  for (const s of specs) {
    if (s.required === true && !seen.has(s.name)) {
      ld.err(ownerPos, `missing argument '${s.name}' of ${kind} '${owner}' (it takes: ${argList(specs)})`);
    }
  }
  return { args: out, task, usesBound };
}

/** A binding name (`as:`, `let:`): an identifier that is no constant nor reserved word; null after reporting why not. */
export function readBindingName(ld: LoadState, name: string, pos: SourcePos, what: string): string | null {
  if (!IDENTIFIER.test(name)) return ld.err(pos, `${what} must be a name (letters, digits and '_'), found ${quoted(name)}`);
  if (name.length > MAX_NAME_LENGTH) return ld.err(pos, `${what} names a binding of ${name.length} characters; names have at most ${MAX_NAME_LENGTH}`);
  if (RESERVED_WORDS.has(name)) return ld.err(pos, `'${name}' is a reserved word; choose another name`);
  if (ld.constants.has(name)) return ld.err(pos, `'${name}' is a constant; choose another name`);
  return name;
}

/** "start, nr_pages, gup_flags?" for messages: the arguments in declaration order, optional ones marked. */
export function argList(specs: readonly ArgSpec[]): string {
  return specs.length ? specs.map((s) => (s.required === true ? s.name : `${s.name}?`)).join(', ') : 'no arguments';
}
