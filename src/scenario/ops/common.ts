// What every scenario operation module shares: the context an op runs in and argument helpers.

import type { Holder } from '../../check/leaks.js';
import type { Kernel } from '../../kernel.js';
import type { Task } from '../../vm/mm.js';
import type { KernelGen } from '../../preempt.js';
import { ScenarioError, type ArgSpec, type OpDef, type QueryDef, type StepOutcome, type Value } from '../backend.js';
import { tasks } from '../../vm/mm.js';

export type Args = Readonly<Record<string, Value>>;

export interface Ctx {
  k: Kernel;
  task: Task | null;
  stepNo: number;
  holders: Holder[];
}

export interface OpImpl extends OpDef {
  run(c: Ctx, a: Args): StepOutcome;
  /** The same operation with its yield points (ops that list yieldPoints, or that may wait for mmap_lock). */
  steps?(c: Ctx, a: Args): KernelGen<StepOutcome>;
}

export interface QueryImpl extends QueryDef {
  eval(c: Ctx, a: Args): Record<string, Value>;
}

// ---- argument helpers ---------------------------------------------------------------------------

export function int(a: Args, name: string, dflt?: number): number {
  const v = a[name];
  if (v === undefined || v === null) {
    if (dflt !== undefined) return dflt;
    throw new ScenarioError(`missing argument '${name}'`, name);
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ScenarioError(`'${name}' must be an integer`, name);
  return v;
}

export function bool(a: Args, name: string, dflt: boolean): boolean {
  const v = a[name];
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  throw new ScenarioError(`'${name}' must be true or false`, name);
}

export function str(a: Args, name: string, dflt?: string): string {
  const v = a[name];
  if (v === undefined || v === null) {
    if (dflt !== undefined) return dflt;
    throw new ScenarioError(`missing argument '${name}'`, name);
  }
  return String(v);
}

export function handle(a: Args, name: string): number[] {
  const v = a[name];
  if (!Array.isArray(v)) throw new ScenarioError(`'${name}' must be a pages handle (bound with 'as:' from a GUP call)`, name);
  return v as number[];
}

export function task(c: Ctx): Task {
  if (!c.task) throw new ScenarioError('this operation needs a task');
  if (c.task.exited) throw new ScenarioError(`task '${c.task.name}' has exited`);
  return c.task;
}

export function namedTask(c: Ctx, a: Args, name: string): Task {
  const n = str(a, name);
  const t = tasks(c.k).get(n);
  if (!t) throw new ScenarioError(`no task named '${n}'`, name);
  return t;
}

export function pfnArg(c: Ctx, a: Args, name: string): number {
  const p = int(a, name);
  if (p < 0 || p >= c.k.mem.nrPages) throw new ScenarioError(`'${name}' = ${p} is not a page of this machine`, name);
  return p;
}

export const A = (name: string, type: ArgSpec['type'], required = true, doc?: string): ArgSpec => ({ name, type, required, doc });

export const ret = (r: number | null, out?: Value): StepOutcome => (out === undefined ? { ret: r } : { ret: r, out });

