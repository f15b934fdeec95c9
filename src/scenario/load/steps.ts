// Steps: an operation step (one operation, its arguments, task:, as:, expect:, preempt:), an
// expect step (checks only), and the `let:` and `mark:` steps.

import { isMap, isScalar, isSeq } from 'yaml';
import type { OpDef } from '../backend.js';
import type { OpStep, Step, ValueNode } from '../ast.js';
import type { SourcePos } from '../errors.js';
import { notModelled } from '../not-modelled.js';
import { quoted } from '../printable.js';
import { didYouMean } from '../suggest.js';
import { keyHint, type Entry, type N } from './cursor.js';
import { readChecks, readStepExpect } from './expect.js';
import { STEP_KEYS } from './keys.js';
import type { LoadState } from './state.js';
import { checkNames, readArgs, readBindingName, readTaskRef, readValue } from './values.js';

export function readStep(ld: LoadState, n: N, index: number): Step | null {
  n = ld.deref(n);
  const es = ld.entries(n, `step ${index}`);
  if (!es) return null;
  const special = es.find((e) => e.key === 'let' || e.key === 'mark');
  if (special) return readLetOrMark(ld, special, es, index);
  const ops = ld.backend.ops;
  const stepKeys: readonly string[] = STEP_KEYS;
  const opEntries = es.filter((e) => !stepKeys.includes(e.key));
  const get = (k: string) => es.find((e) => e.key === k);
  const expectE = get('expect');
  const valid = opEntries.filter((e) => ops.has(e.key));
  const opNamesAndExpect = [...ops.keys(), 'expect', 'let', 'mark'];
  for (const e of opEntries) {
    if (ops.has(e.key)) continue;
    if (valid.length > 0 || expectE) {
      ld.err(e.keyPos, `unknown key ${quoted(e.key)} in step ${index}${keyHint(e.key, [...stepKeys, ...ops.keys()])} (a step has one operation and: ${stepKeys.join(', ')})`);
    } else {
      ld.err(e.keyPos, notModelled(e.key, 'operation') ?? `unknown operation ${quoted(e.key)}${keyHint(e.key, opNamesAndExpect)}`);
    }
  }
  if (valid.length > 1) {
    return ld.err(valid[1].keyPos, `step ${index} has a second operation '${valid[1].key}' after '${valid[0].key}': one step runs one operation`);
  }
  if (opEntries.length > valid.length) return null;
  const note = get('note');
  const noteText = note ? ld.scalarString(note.value, 'note', true) ?? undefined : undefined;
  const profE = get('profiles');
  const profiles = profE ? ld.profileList(profE.value, `the profiles of step ${index}`) ?? undefined : undefined;
  const common = { index, ...(noteText !== undefined && { note: noteText }), ...(profiles && { profiles }) };

  if (valid.length === 0) {
    if (!expectE) {
      return ld.err(ld.pos(n), `step ${index} has no operation: expected an operation (see \`pinlab ops\`) or expect`);
    }
    for (const k of ['task', 'as', 'preempt'] as const) {
      const e = get(k);
      if (e) ld.err(e.keyPos, `'${k}' has no meaning on an expect step${k === 'task' ? ' (give the task in the query: {task: NAME, ...})' : ''}`);
    }
    const checks = readChecks(ld, expectE.value, `step ${index} (expect)`);
    return { kind: 'expect', ...common, pos: expectE.keyPos, checks };
  }
  return readOpStep(ld, valid[0], get, index, common);
}

/** A step that runs an operation: its task, arguments, `as:`, `expect:` and `preempt:`. */
function readOpStep(
  ld: LoadState, opE: Entry, get: (k: string) => Entry | undefined, index: number, common: Pick<OpStep, 'index' | 'note' | 'profiles'>,
): OpStep {
  const op = ld.backend.ops.get(opE.key)!;
  let task: OpStep['task'] = null;
  const taskE = get('task');
  if (taskE) {
    if (!op.needsTask) ld.err(taskE.keyPos, `operation '${op.name}' does not run in a task; remove task:`);
    else task = readTaskRef(ld, taskE.value, 'task');
  } else if (op.needsTask && ld.startTasks.size === 0) {
    ld.err(opE.keyPos, `operation '${op.name}' runs in a task, but the scenario declares no tasks (tasks: [NAME])`);
  }
  const { args } = readArgs(ld, op.name, op.args, opE.value, opE.keyPos, 'operation', false);
  // The step's own expectations may use what it creates: the tasks it forks (an argument declared
  // createsTask: fork's child) and the name it binds with `as:` (bound before its checks run).
  for (const a of args) {
    if (a.spec.createsTask === true && a.value.kind === 'string') ld.tasks.add(a.value.value);
  }
  let bind: OpStep['bind'];
  const asE = get('as');
  if (asE) {
    const name = ld.scalarString(asE.value, 'as');
    const pos = ld.pos(asE.value);
    if (name !== null && readBindingName(ld, name, pos, 'as:') !== null) {
      bind = { name, pos };
      ld.bound.add(name);
    }
  }
  const expectE = get('expect');
  const expect = expectE ? readStepExpect(ld, expectE.value, index, op.name) ?? undefined : undefined;
  const preE = get('preempt');
  const preempt = preE ? readPreempt(ld, preE, op) : undefined;
  return {
    kind: 'op', ...common, pos: opE.keyPos, op: op.name, needsTask: op.needsTask, task, args,
    ...(bind && { bind }), ...(expect && { expect }), ...(preempt && { preempt }),
  };
}

/** `preempt:` of an operation step: yield points the operation has (one, or a list). */
function readPreempt(ld: LoadState, preE: Entry, op: OpDef): string[] {
  const points = op.yieldPoints ?? [];
  const v = ld.deref(preE.value);
  const preempt: string[] = [];
  for (const i of isSeq(v) ? v.items.map((x) => ld.deref(x)) : [v]) {
    const name = ld.scalarString(i, 'a yield point');
    if (name === null) continue;
    if (points.length === 0) ld.err(ld.pos(i), `operation '${op.name}' has no yield points: it always runs as one atomic step`);
    else if (!points.includes(name)) {
      ld.err(ld.pos(i), `operation '${op.name}' has no yield point ${quoted(name)}${didYouMean(name, points)} (its yield points: ${points.join(', ')})`);
    } else preempt.push(name);
  }
  return preempt;
}

/** Remember which step first binds each name (`as:`, `let:`), for "bound later" messages. */
export function noteBindings(ld: LoadState, s: N, index: number): void {
  if (!isMap(s)) return;
  for (const p of s.items) {
    if (!isScalar(p.key)) continue;
    const k = ld.text(p.key);
    const v = ld.deref(p.value as N);
    const names = k === 'as' && isScalar(v) ? [ld.text(v)] : k === 'let' && isMap(v) ? v.items.flatMap((x) => (isScalar(x.key) ? [ld.text(x.key)] : [])) : [];
    for (const n of names) {
      if (ld.bindsAt.has(n)) continue;
      ld.bindsAt.set(n, index);
      ld.bindsVia.set(n, k === 'let' ? 'let' : 'as');
    }
  }
}

/** `- let: {NAME: EXPR, ...}` or `- mark: NAME`, with note: and profiles: only. */
function readLetOrMark(ld: LoadState, e: Entry, es: readonly Entry[], index: number): Step | null {
  const allowed = [e.key, 'note', 'profiles'];
  for (const x of es) {
    if (allowed.includes(x.key)) continue;
    ld.err(x.keyPos, x.key === 'let' || x.key === 'mark' || ld.backend.ops.has(x.key) || x.key === 'expect'
      ? `a ${e.key} step has no other operation or expect: put ${quoted(x.key)} in a step of its own`
      : `unknown key ${quoted(x.key)} in a ${e.key} step${keyHint(x.key, allowed)} (a ${e.key} step has: ${allowed.join(', ')})`);
  }
  const note = es.find((x) => x.key === 'note');
  const noteText = note ? ld.scalarString(note.value, 'note', true) ?? undefined : undefined;
  const profE = es.find((x) => x.key === 'profiles');
  const profiles = profE ? ld.profileList(profE.value, `the profiles of step ${index}`) ?? undefined : undefined;
  const common = { index, pos: e.keyPos, ...(noteText !== undefined && { note: noteText }), ...(profiles && { profiles }) };
  if (e.key === 'mark') {
    const name = ld.scalarString(e.value, 'mark');
    if (name === null || readBindingName(ld, name, ld.pos(e.value), 'mark:') === null) return null;
    ld.marks.add(name);
    return { kind: 'mark', ...common, name };
  }
  const v = ld.deref(e.value);
  if (!isMap(v)) return ld.err(ld.pos(v), `let: takes a mapping of names to values ({addr: buf + PAGE_SIZE, n: 4}), found ${ld.kind(v)}`);
  const entries = ld.entries(v, 'let') ?? [];
  if (entries.length === 0) return ld.err(ld.pos(v), 'let: binds no name');
  const bindings: Array<{ name: string; pos: SourcePos; value: ValueNode }> = [];
  for (const b of entries) {
    const value = readValue(ld, b.value, 'value', `let ${b.key}`);
    checkNames(ld, value);
    const name = readBindingName(ld, b.key, b.keyPos, 'let:');
    if (name === null || value === null) continue;
    ld.bound.add(name);
    bindings.push({ name, pos: b.keyPos, value });
  }
  return bindings.length === entries.length ? { kind: 'let', ...common, bindings } : null;
}

