// What every scenario operation module shares: the context an op runs in, the builders that turn an
// op's typed declaration into the backend's table entry (op(), query()), and the argument types
// that need the model (a page that exists, a task by name).

import type { Holder } from '../../check/leaks.js';
import type { Kernel } from '../../kernel.js';
import type { Task } from '../../vm/mm.js';
import type { KernelGen } from '../../preempt.js';
import { argsReader, int, name, specsOf, type Arg, type ArgShape, type ArgsOf } from '../args.js';
import { ScenarioError, type ArgSpec, type OpDef, type QueryDef, type StepOutcome, type Value } from '../backend.js';
import { peekTasks } from '../../vm/mm.js';

export type Args = Readonly<Record<string, Value>>;

export interface Ctx {
  k: Kernel;
  task: Task | null;
  stepNo: number;
  holders: Holder[];
}

/** An operation as the backend's table holds it: it takes the step's arguments by name. */
export interface OpImpl extends OpDef {
  run(c: Ctx, a: Args): StepOutcome;
  /** The same operation with its yield points (ops that list yieldPoints, or that may wait for mmap_lock). */
  steps?(c: Ctx, a: Args): KernelGen<StepOutcome>;
}

export interface QueryImpl extends QueryDef {
  eval(c: Ctx, a: Args): Record<string, Value>;
}

/** An operation as a module declares it: its arguments once, and run() typed by them. */
export interface OpDecl<S extends ArgShape<Ctx>> extends Omit<OpDef, 'args'> {
  readonly args: S;
  /** Whether the operation exists in the run's profile; asked before its arguments are read. */
  readonly exists?: (c: Ctx) => boolean;
  run(c: Ctx, a: ArgsOf<S>): StepOutcome;
  steps?(c: Ctx, a: ArgsOf<S>): KernelGen<StepOutcome>;
}

export interface QueryDecl<S extends ArgShape<Ctx>> extends Omit<QueryDef, 'args'> {
  readonly args: S;
  eval(c: Ctx, a: ArgsOf<S>): Record<string, Value>;
}

/** The table entry of an operation: its ArgSpecs derived from the shape, run() fed the arguments read by it. */
export function op<S extends ArgShape<Ctx>>(d: OpDecl<S>): OpImpl {
  const read = argsReader<S, Ctx>(d.args);
  const argsOf = (c: Ctx, raw: Args): ArgsOf<S> => {
    if (d.exists && !d.exists(c)) throw new ScenarioError(`${d.name}() does not exist in profile ${c.k.profile.name}`);
    return read(raw, c);
  };
  const steps = d.steps;
  return {
    ...d, args: specsOf(d.args), run: (c, raw) => d.run(c, argsOf(c, raw)),
    // A generator, so that the arguments are read when the step starts running (inside the kernel step).
    steps: steps && function* (c: Ctx, raw: Args) { return yield* steps.call(d, c, argsOf(c, raw)); },
  };
}

/** The table entry of a query, built as op() builds an operation's. */
export function query<S extends ArgShape<Ctx>>(d: QueryDecl<S>): QueryImpl {
  const read = argsReader<S, Ctx>(d.args);
  return { ...d, args: specsOf(d.args), eval: (c, raw) => d.eval(c, read(raw, c)) };
}

// ---- argument types that need the model -----------------------------------------------------------

/** A PFN that is a page of this machine. */
export const pfn = (doc?: string): Arg<number, Ctx> => int(doc).map((p, n, c: Ctx) => {
  if (p < 0 || p >= c.k.mem.nrPages) throw new ScenarioError(`'${n}' = ${p} is not a page of this machine`, n);
  return p;
});

/** A task by its name. */
export const taskNamed = (doc?: string): Arg<Task, Ctx> => name(doc).map((t, n, c: Ctx) => {
  const found = peekTasks(c.k).get(t);
  if (!found) throw new ScenarioError(`no task named '${t}'`, n);
  return found;
});

// ---- the context ---------------------------------------------------------------------------------

export function task(c: Ctx): Task {
  if (!c.task) throw new ScenarioError('this operation needs a task');
  if (c.task.peekExited()) throw new ScenarioError(`task '${c.task.name}' has exited`);
  return c.task;
}

/** An ArgSpec written out, for tables that are not an operation's arguments (machine: settings). */
export const A = (name: string, type: ArgSpec['type'], required = true, doc?: string): ArgSpec => ({ name, type, required, doc });

export const ret = (r: number | null, out?: Value): StepOutcome => (out === undefined ? { ret: r } : { ret: r, out });
