// Expectations: checks of queries (`{QUERY: {ARGS}, FIELD: EXPECTED}`), the comparisons an expected
// value may be written as (eq, delta, ge, le, ne, one_of; by_profile), WARN/BUG expectations, and
// the `expect:` of an operation step.

import { isMap, isScalar, isSeq } from 'yaml';
import { knownProfile } from '../backend.js';
import type { Check, Comparison, Expected, FieldCheck, PerProfile, RaiseExpect, StepExpect, ValueNode } from '../ast.js';
import type { SourcePos } from '../errors.js';
import { quoted } from '../printable.js';
import { didYouMean, nearest } from '../suggest.js';
import { nodeSource, nodeText } from '../values.js';
import { keyHint, listed, type N } from './cursor.js';
import { COMPARISON_KEYS, STEP_EXPECT_KEYS } from './keys.js';
import type { LoadState } from './state.js';
import { checkNames, readArgs, readValue } from './values.js';

function readByProfile<T>(ld: LoadState, n: N, keyPos: SourcePos, inner: (n: N) => T | null): PerProfile<T> | null {
  const map = ld.deref(n);
  const es = ld.entries(map, 'by_profile');
  if (!es) return null;
  if (es.length === 0) return ld.err(ld.pos(map), 'by_profile must list at least one profile');
  const cases = new Map<string, T>();
  let fallback: T | undefined;
  let ok = true;
  for (const e of es) {
    if (e.key !== 'default' && !knownProfile(ld.backend, e.key)) {
      ld.err(e.keyPos, ld.unknownProfile(e.key, ', or default'));
      ok = false;
      continue;
    }
    const v = inner(e.value);
    if (v === null) { ok = false; continue; }
    if (e.key === 'default') fallback = v;
    else cases.set(e.key, v);
  }
  if (!ok) return null;
  return fallback === undefined ? { kind: 'by_profile', cases, pos: keyPos } : { kind: 'by_profile', cases, fallback, pos: keyPos };
}

/** A mapping `{by_profile: {...}}` → per-profile; anything else → the same for every profile. */
export function readPerProfile<T>(ld: LoadState, n: N, inner: (n: N) => T | null): PerProfile<T> | null {
  n = ld.deref(n);
  if (isMap(n) && n.items.length === 1) {
    const k = ld.deref(n.items[0].key);
    if (isScalar(k) && ld.text(k) === 'by_profile') return readByProfile(ld, ld.deref(n.items[0].value), ld.pos(k), inner);
  }
  const v = inner(n);
  return v === null ? null : { kind: 'all', value: v };
}

function readComparison(ld: LoadState, n: N, what: string): Comparison | null {
  n = ld.deref(n);
  const pos = ld.pos(n);
  if (isMap(n)) {
    const es = ld.entries(n, what) ?? [];
    const sinceE = es.length === 2 ? es.find((x) => x.key === 'since') : undefined;
    if (sinceE) {
      const d = es.find((x) => x !== sinceE)!;
      if (d.key !== 'delta') return ld.err(sinceE.keyPos, `since: goes with delta ({delta: N, since: MARK}), not with ${quoted(d.key)}`);
      const mark = ld.scalarString(sinceE.value, 'since');
      if (mark === null) return null;
      if (!ld.marks.has(mark)) {
        return ld.err(ld.pos(sinceE.value), `unknown mark ${quoted(mark)}${didYouMean(mark, ld.marks)}: a mark is taken by an earlier step `
          + `\`- mark: NAME\`${ld.marks.size ? ` (marks so far: ${listed([...ld.marks], false)})` : ''}`);
      }
      const v = readValue(ld, d.value, 'int', 'delta');
      checkNames(ld, v);
      return v ? { kind: 'delta', value: v, pos: d.keyPos, since: { name: mark, pos: ld.pos(sinceE.value) } } : null;
    }
    if (es.length !== 1) {
      return ld.err(pos, `an expected value written as a mapping must have exactly one key (${COMPARISON_KEYS.join(', ')} or by_profile), found ${es.length}`);
    }
    const e = es[0];
    if (e.key === 'by_profile') return ld.err(e.keyPos, 'by_profile cannot be nested inside another by_profile');
    if (e.key === 'one_of') {
      const items = ld.items(e.value, 'one_of');
      if (!items) return null;
      if (items.length === 0) return ld.err(ld.pos(e.value), 'one_of needs at least one value');
      const values: ValueNode[] = [];
      for (const i of items) {
        const v = readValue(ld, i, 'value', 'a one_of value');
        checkNames(ld, v);
        if (v) values.push(v);
      }
      return values.length === items.length ? { kind: 'one_of', values, pos: e.keyPos } : null;
    }
    if (e.key === 'since') return ld.err(e.keyPos, 'since: goes with delta: {delta: N, since: MARK}');
    if (e.key === 'delta' || e.key === 'ge' || e.key === 'le' || e.key === 'ne') {
      const v = readValue(ld, e.value, e.key === 'ne' ? 'value' : 'int', e.key);
      checkNames(ld, v);
      return v ? { kind: e.key, value: v, pos: e.keyPos } : null;
    }
    return ld.err(e.keyPos, `unknown comparison ${quoted(e.key)}${didYouMean(e.key, [...COMPARISON_KEYS, 'by_profile'])} (expected one of: ${COMPARISON_KEYS.join(', ')}, by_profile)`);
  }
  if (ld.isEmpty(n)) return ld.err(pos, `${what} has no expected value`);
  const v = readValue(ld, n, 'value', what);
  checkNames(ld, v);
  return v ? { kind: 'eq', value: v, pos } : null;
}

function readExpected(ld: LoadState, n: N, what: string): Expected | null {
  return readPerProfile(ld, n, (x) => readComparison(ld, x, what));
}

function readRaise(ld: LoadState, n: N, what: string): RaiseExpect | null {
  n = ld.deref(n);
  if (!isScalar(n) || ld.isEmpty(n)) {
    return ld.err(ld.pos(n), `${what} must be a substring to look for, true (any) or false/none, found ${ld.kind(n)}`);
  }
  const t = ld.text(n);
  if (n.type === 'PLAIN' && (t === 'false' || t === 'none')) return false;
  if (n.type === 'PLAIN' && t === 'true') return true;
  return t;
}

function readCheck(ld: LoadState, n: N, where: string): Check | null {
  n = ld.deref(n);
  const es = ld.entries(n, `a check (${where})`);
  if (!es) return null;
  const queries = ld.backend.queries;
  const qEntry = es.find((e) => queries.has(e.key));
  if (!qEntry) {
    const qNames = [...queries.keys()];
    const stepOnly = es.find((e) => (['ret', 'warn', 'bug'] as string[]).includes(e.key));
    if (stepOnly) {
      return ld.err(stepOnly.keyPos, `'${stepOnly.key}' is not a query: ${stepOnly.key}: belongs in the expect: of an operation step `
        + '(an expect step holds checks of queries)');
    }
    for (const e of es) {
      const near = nearest(e.key, qNames);
      if (near !== undefined) return ld.err(e.keyPos, `unknown query ${quoted(e.key)}; did you mean '${near}'?`);
    }
    return ld.err(ld.pos(n), `a check must name one query (one of: ${qNames.join(', ')}), found keys: ${listed(es.map((e) => e.key)) || 'none'}`);
  }
  const q = queries.get(qEntry.key)!;
  const { args, task, usesBound } = readArgs(ld, q.name, q.args, qEntry.value, qEntry.keyPos, 'query', q.needsTask);
  const labelOf = (text: (v: ValueNode) => string) => `${q.name}${args.length || task ? `{${[
    ...(task ? [`task: ${task.name}`] : []), ...args.map((a) => `${a.name}: ${text(a.value)}`),
  ].join(', ')}}` : ''}`;
  const label = labelOf(nodeText);
  // The delta rule compares checks by their arguments in full (the label may be cut).
  const fullLabel = labelOf(nodeSource);
  const fields: FieldCheck[] = [];
  for (const e of es) {
    if (e === qEntry || e.key === 'note') continue;
    if (!q.fields.includes(e.key)) {
      if (queries.has(e.key)) ld.err(e.keyPos, `a check names one query; '${e.key}' is a second one (put it in a check of its own)`);
      else ld.err(e.keyPos, `unknown field ${quoted(e.key)} of query '${q.name}'${didYouMean(e.key, q.fields)} (fields: ${q.fields.join(', ')})`);
      continue;
    }
    const expected = readExpected(ld, e.value, `field '${e.key}'`);
    if (!expected) continue;
    const key = `${fullLabel}.${e.key}`;
    const cmps = expected.kind === 'all' ? [expected.value] : [...expected.cases.values(), ...(expected.fallback ? [expected.fallback] : [])];
    const since = cmps.find((c) => c.kind === 'delta' && c.since !== undefined);
    if (since && since.kind === 'delta' && q.name !== 'vmstat') {
      ld.err(since.since!.pos, `since: compares with a mark, and a mark records the vmstat counters: it applies to vmstat checks, not ${q.name}`);
    }
    const hasDelta = cmps.some((c) => c.kind === 'delta' && c.since === undefined);
    if (hasDelta && usesBound && !ld.checked.has(key)) {
      ld.err(e.keyPos, `{delta: N} compares with the previous check of ${label}.${e.key}, and there is none before this one; `
        + 'a first check may use delta only when its query arguments are constants (its baseline is taken at scenario start), '
        + 'so check the absolute value first');
    }
    ld.checked.add(key);
    fields.push({ field: e.key, pos: e.keyPos, expected });
  }
  if (fields.length === 0 && es.every((e) => e === qEntry || e.key === 'note')) {
    ld.err(qEntry.keyPos, `this check of '${q.name}' compares no field (fields: ${q.fields.join(', ')})`);
  }
  return {
    query: q.name, queryPos: qEntry.keyPos, task, needsTask: q.needsTask, args, fields, label, staticArgs: !usesBound,
  };
}

export function readChecks(ld: LoadState, n: N, where: string): Check[] {
  n = ld.deref(n);
  const list = isSeq(n) ? n.items.map((i) => ld.deref(i)) : [n];
  if (isSeq(n) && list.length === 0) ld.err(ld.pos(n), `${where} has no checks`);
  const out: Check[] = [];
  for (const c of list) {
    const chk = readCheck(ld, c, where);
    if (chk) out.push(chk);
  }
  return out;
}

export function readStepExpect(ld: LoadState, n: N, stepNo: number, op: string): StepExpect | null {
  n = ld.deref(n);
  if (isSeq(n)) {
    return ld.err(ld.pos(n), `the expect of step ${stepNo} must be a mapping (ret:, warn:, bug:, checks:), found a list; `
      + 'put the checks under checks:');
  }
  const es = ld.entries(n, `the expect of step ${stepNo}`);
  if (!es) return null;
  let ret: StepExpect['ret'];
  let warn: StepExpect['warn'];
  let bug: StepExpect['bug'];
  let checks: Check[] = [];
  for (const e of es) {
    switch (e.key) {
      case 'ret': {
        const expected = readExpected(ld, e.value, 'ret');
        const comparisons = !expected ? [] : expected.kind === 'all' ? [expected.value]
          : [...expected.cases.values(), ...(expected.fallback ? [expected.fallback] : [])];
        const delta = comparisons.find((c) => c.kind === 'delta');
        if (delta) ld.err(delta.pos, 'ret cannot be compared with delta: a return value has no earlier value');
        else if (expected) ret = { expected, pos: e.keyPos };
        break;
      }
      case 'warn':
      case 'bug': {
        const expected = readPerProfile(ld, e.value, (x) => readRaise(ld, x, e.key));
        if (expected && e.key === 'warn') warn = { expected, pos: e.keyPos };
        if (expected && e.key === 'bug') bug = { expected, pos: e.keyPos };
        break;
      }
      case 'checks':
        checks = readChecks(ld, e.value, `step ${stepNo} (${op})`);
        break;
      default: {
        let hint = '';
        if (ld.backend.queries.has(e.key)) hint = '; put query checks in a list under checks:';
        ld.err(e.keyPos, `unknown key ${quoted(e.key)} in the expect of a step${hint || keyHint(e.key, STEP_EXPECT_KEYS)} (expected one of: ${STEP_EXPECT_KEYS.join(', ')})`);
      }
    }
  }
  const out: StepExpect = { pos: ld.pos(n), checks };
  return { ...out, ...(ret && { ret }), ...(warn && { warn }), ...(bug && { bug }) };
}

