// The shape of pinlab-trace/1 (docs/trace.md): types only, and no imports, so that the browser
// viewer (src/view/browser/, a project of its own with the DOM library) type-checks against the same
// declarations. It belongs to that project: the Node code imports it with `import type` only (it
// has no JavaScript), and format.ts holds the one value, TRACE_FORMAT.

/** The state of a folio after a step (a trace event's `changes`). */
export interface FolioChange {
  pfn: number;
  refcount: number;
  mapcount: number;
  pincount: number;
  flags: string[];
  free: boolean;
  /** The page's content token (what a CPU load or a device read of it sees; 0: never written). */
  content: number;
}

/** Objects a step read and wrote, as [lo, hi] runs of ids per kind (src/trace/footprint.ts). */
export interface FootprintJSON {
  reads: Record<string, Array<[number, number]>>;
  writes: Record<string, Array<[number, number]>>;
}

export type Command = 'run' | 'explore' | 'replay';

/**
 * pass / fail: the run's verdicts (explore: some schedule failed); error: the run stopped on an error
 * in the file found while running; invalid: a replay schedule that cannot run; incomplete: an
 * explore search cut short by --runs.
 */
export type RunVerdict = 'pass' | 'fail' | 'error' | 'invalid' | 'incomplete';

export interface CheckRecord {
  /** The scenario step (null: the end of the run). */
  readonly step: number | null;
  /** file:line:col of the expectation. */
  readonly pos: string;
  readonly description: string;
  readonly message?: string;
}

export interface EventRecord {
  /** The model's step counter: events are in this order. */
  readonly seq: number;
  /** The scenario step (1-based) the event belongs to; null outside the steps (teardown). */
  readonly step: number | null;
  /** file:line:col of that step's operation in the scenario. */
  readonly pos: string | null;
  /** Who ran it: the actor (a multi-actor file) or the task; "kernel" for steps in no task. */
  readonly thread: string;
  /** The task whose context it ran in, if any. */
  readonly task: string | null;
  /** The operation (an operation resumed after a yield point keeps its name; see `resumed`). */
  readonly op: string;
  /** The operation was stopped at this yield point (explorer `preempt:`); a later event of the same thread continues it. */
  readonly pausedAt?: string;
  /** The event continues an operation stopped at this yield point. */
  readonly resumedFrom?: string;
  /** The arguments as the model received them (numbers evaluated). */
  readonly args: Readonly<Record<string, unknown>>;
  /** Flag and enum arguments decoded by name: `gup_flags: 257` → `FOLL_WRITE|FOLL_LONGTERM`. */
  readonly flags: Readonly<Record<string, string>>;
  /** The return value (null: none, or the step stopped). */
  readonly ret: unknown;
  /** The return value by name when it is -errno ("-EFAULT"). */
  readonly errno?: string;
  /** What `as:` binds when it is not the return value (a GUP call's pages: PFNs). */
  readonly out?: unknown;
  /** vmstat items changed by the step, with their deltas. */
  readonly vmstat: Readonly<Record<string, number>>;
  /** The folios the step wrote (the first 16), after the step: counts, flags and the page's content token. */
  readonly changes: readonly FolioChange[];
  readonly foliosWritten: number;
  readonly footprint: FootprintJSON;
  readonly warnings: readonly string[];
  readonly allocFailures?: readonly string[];
  readonly bug?: string;
  /** Sub-operations: faults, COW, migration, writeback, ... */
  readonly notes: readonly string[];
}

export interface RunRecord {
  readonly command: Command;
  readonly file: string;
  readonly name: string;
  readonly profile: string;
  /** The actors in the order the explorer ran them (explore: the minimised failing schedule); null for a sequential run. */
  readonly schedule: readonly string[] | null;
  readonly verdict: RunVerdict;
  /** What failed, in one line (null for a pass). */
  readonly failure: string | null;
  /** The failing expectations, where they are written. */
  readonly failedChecks: readonly CheckRecord[];
  /** Trace files only: the machine the run had and every event. */
  readonly machine?: unknown;
  readonly events?: readonly EventRecord[];
  /** Command-specific fields (run: verdicts, warnings, leaks...; explore: mode, schedulesRun...). */
  readonly [k: string]: unknown;
}

export interface TraceDoc {
  readonly format: 'pinlab-trace/1';
  readonly command: Command;
  readonly runs: readonly RunRecord[];
  /** Problems in the files (located): file:line:col and message. */
  readonly errors: ReadonlyArray<{ readonly file: string; readonly line: number; readonly col: number; readonly message: string }>;
  /** Runs that went as the files say (run: every verdict passed; explore: as explore: fails: says). */
  readonly passed: number;
  readonly failed: number;
}

