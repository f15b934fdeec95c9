// The contract between the scenario language (parser, runner, CLI) and the model.
// The scenario side knows nothing of folios or page tables: it evaluates arguments,
// calls operations and queries by name, and compares what they return.

/** A value a scenario can name or compare. Arrays are pinned-pages handles (PFNs) and similar. */
export type Value = number | string | boolean | null | readonly number[] | { readonly [k: string]: Value };

export type ArgType =
  | 'int'     // an integer expression: "buf + 2*PAGE_SIZE", "16K", "-EFAULT"
  | 'flags'   // an integer expression, usually an OR of constants: "FOLL_WRITE|FOLL_LONGTERM", or 0
  | 'name'    // a bare identifier that the op defines or refers to (a task name, a file name)
  | 'string'  // any YAML scalar string
  | 'bool'
  | 'value';  // any expression, including handles: "P", "P[2]"

export interface ArgSpec {
  readonly name: string;
  readonly type: ArgType;
  readonly required?: boolean;
  readonly doc?: string;
  /** The prefix of the constants the argument is written with (FOLL_, PROT_): editors offer them. */
  readonly constants?: string;
  /** The argument names a task the operation creates (fork's child): the step's checks and later steps may name it. */
  readonly createsTask?: boolean;
  /** The words a string argument may be (a filesystem, a DMA direction): editors offer them. */
  readonly oneOf?: readonly string[];
}

export interface OpDef {
  readonly name: string;      // kernel name where there is one: "pin_user_pages_fast"
  readonly summary: string;
  readonly source?: string;   // kernel file/function it models
  readonly args: readonly ArgSpec[];
  /** Whether the op runs in a task's context (then the step must name a task, or the default task is used). */
  readonly needsTask: boolean;
  /** Named points inside the operation where the kernel can be interrupted (a step's `preempt:`). */
  readonly yieldPoints?: readonly string[];
  /** The operation takes no mmap_lock (GUP-fast): it may start while a paused fork holds it. */
  readonly lockless?: boolean;
}

export interface QueryDef {
  readonly name: string;      // "page", "vmstat", "data", ...
  readonly summary: string;
  readonly args: readonly ArgSpec[];
  readonly needsTask: boolean;
  /** The fields the query returns, for validating expectation keys. */
  readonly fields: readonly string[];
}

export interface StepOutcome {
  /** The kernel return value (count, address, 0, or -errno). */
  readonly ret: Value;
  /** What "as: NAME" binds when the op produces something other than its return value (a pages array). */
  readonly out?: Value;
  /** The operation stopped at this yield point (explore mode, `preempt:`); resume() continues it. */
  readonly paused?: string;
}

export interface Warning { readonly id: string; readonly message: string; readonly step: number }
/**
 * A failed allocation the kernel would log (warn_alloc(): "page allocation failure: order:N,
 * mode:..."): not a WARN, the machine ran out of memory. `step` is the model's step counter.
 */
export interface AllocFailureReport {
  readonly message: string;
  readonly step: number;
  /** The operation that was running. */
  readonly op: string;
  /** The allocating kernel function. */
  readonly site: string;
  readonly order: number;
  readonly gfp: string;
}
export interface BugReport { readonly message: string; readonly step: number; readonly details: string[] }

export interface LeakReport {
  /** One line per page still pinned or referenced at teardown, naming the holder where known. */
  readonly leaks: readonly string[];
}

/** One model run of one scenario. */
export interface Session {
  /**
   * The scenario's step `index` (1-based, as every message numbers steps) runs next: what the
   * session names by step (the holder of a leaked page) uses this number.
   */
  beginStep?(index: number): void;
  /** Run one operation as one atomic, traced, invariant-checked step. Throws ScenarioError for misuse. */
  step(task: string | null, op: string, args: Readonly<Record<string, Value>>): StepOutcome;
  query(task: string | null, q: string, args: Readonly<Record<string, Value>>): Readonly<Record<string, Value>>;
  /** WARN_ON_ONCE()s raised so far. */
  warnings(): readonly Warning[];
  /** Allocation failures so far (the first ones; `suppressed` counts those past the kernel's ratelimit). */
  allocFailures?(): { readonly reports: readonly AllocFailureReport[]; readonly suppressed: number };
  /** The BUG() that stopped the run, if any. After a BUG, step() throws. */
  bug(): BugReport | null;
  /** Exit every task, release what the model itself holds, and report leaks. */
  teardown(): LeakReport;
  /** The trace so far, JSON-serialisable. */
  trace(): unknown;
  /**
   * In explore mode: the objects read and written since the last call, as runs of ids per kind
   * ("folio", "vma", ...), and start afresh. The explorer's dependence relation is built on it.
   */
  /**
   * Run one operation in `thread` (an actor: several may share a task, like threads of a process),
   * stopping at the yield points in `preempt` (and at a wait that does not hold): then the outcome
   * has `paused` and resume(thread) continues it. Without preempt, like step().
   */
  stepPreemptible?(task: string | null, op: string, args: Readonly<Record<string, Value>>, preempt: readonly string[], thread: string): StepOutcome;
  /** Continue the operation paused in this thread, as one more atomic step. */
  resume?(thread: string): StepOutcome;
  /**
   * Why this thread cannot run now, or null: its paused operation waits (for a lock), or `op` (in
   * `task`) would start while a paused operation holds that task's mmap_lock.
   */
  blockedOn?(thread: string, task: string | null, op: string | null): string | null;
  /** The caller will not use this session again (the explorer, after a schedule): free what can be reused. */
  dispose?(): void;
  takeFootprint?(): { reads: Record<string, Array<[number, number]>>; writes: Record<string, Array<[number, number]>> };
  /** takeFootprint() run by run into `sink` (the explorer's per-step path: no object built). */
  takeFootprintRuns?(sink: { run(write: boolean, kind: string, lo: number, hi: number): void }): void;
}

export interface Backend {
  /** The named profiles (listed by `pinlab ops`). */
  readonly profiles: readonly string[];
  /**
   * Whether a name the list does not hold is a profile too (the model: any kernel version it can
   * resolve, "6.12", "6.1.176"). Absent: only the listed names are.
   */
  acceptsProfile?(name: string): boolean;
  /** Why a name that looks like a kernel version is not a profile (null: it is, or it is no version). */
  profileProblem?(name: string): string | null;
  readonly defaultProfile: string;
  readonly machineArgs: readonly ArgSpec[];
  readonly ops: ReadonlyMap<string, OpDef>;
  readonly queries: ReadonlyMap<string, QueryDef>;
  /** Named constants for expressions (FOLL_*, PROT_*, errno names, PAGE_SIZE...). */
  readonly constants: Readonly<Record<string, number>>;
  start(opts: {
    profile: string;
    machine: Readonly<Record<string, Value>>;
    tasks: readonly string[];
    /**
     * The explorer's mode: no trace events, footprints kept for takeFootprint(), invariants
     * checked on the objects each step touched. Verdicts are the same as with a trace.
     */
    explore?: boolean;
  }): Session;
}

/** Whether `name` is a profile of this backend: listed, or accepted by acceptsProfile(). */
export function knownProfile(backend: Backend, name: string): boolean {
  return backend.profiles.includes(name) || (backend.acceptsProfile?.(name) ?? false);
}

/** Misuse of an operation (bad argument value, unknown task): the runner reports it at the step's location. */
export class ScenarioError extends Error {
  constructor(message: string, readonly arg?: string) {
    super(message);
    this.name = 'ScenarioError';
  }
}
