// The one shape of pinlab's machine-readable output, "pinlab-trace/1" (docs/trace.md): `run --json`,
// `explore --json`, `replay --json` and every `--trace OUT` file are an object with a list of runs;
// a trace file's runs also carry their events. The Chrome trace (chrome.ts), the HTML viewer
// (src/view/) and KTAP (src/report/ktap.ts) are all made from it.

import type { Backend } from '../scenario/backend.js';
import type { Scenario, Step } from '../scenario/ast.js';
import { formatPos } from '../scenario/errors.js';
import type { FolioChange, TraceEvent } from './trace.js';
import type { FootprintJSON } from './footprint.js';

export const TRACE_FORMAT = 'pinlab-trace/1';

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
  readonly format: typeof TRACE_FORMAT;
  readonly command: Command;
  readonly runs: readonly RunRecord[];
  /** Problems in the files (located): file:line:col and message. */
  readonly errors: ReadonlyArray<{ readonly file: string; readonly line: number; readonly col: number; readonly message: string }>;
  /** Runs that went as the files say (run: every verdict passed; explore: as explore: fails: says). */
  readonly passed: number;
  readonly failed: number;
}

/**
 * Which constants name the values of an argument: by the argument's name, the families the kernel
 * uses there. `mask`: OR of flags; `enum`: one value.
 */
const FLAG_FAMILIES: Readonly<Record<string, { prefix: string; kind: 'mask' | 'enum'; ops?: readonly string[] }>> = {
  gup_flags: { prefix: 'FOLL_', kind: 'mask' },
  prot: { prefix: 'PROT_', kind: 'mask' },
  flags: { prefix: 'MAP_', kind: 'mask', ops: ['mmap'] },
  advice: { prefix: 'MADV_', kind: 'enum' },
};

/**
 * A flags value by name: the constants of the family whose bits it holds, widest first (so that
 * MAP_SHARED_VALIDATE, 3, is not read as MAP_SHARED|MAP_PRIVATE), then any bits no name covers
 * in hex. 0 is the family's zero constant if it has one (PROT_NONE), else "0".
 */
export function decodeFlags(value: number, prefix: string, constants: Readonly<Record<string, number>>, kind: 'mask' | 'enum' = 'mask'): string {
  const family = Object.entries(constants).filter(([k]) => k.startsWith(prefix));
  if (kind === 'enum' || value === 0) {
    const hit = family.find(([, v]) => v === value);
    return hit ? hit[0] : String(value);
  }
  if (!Number.isSafeInteger(value) || value < 0) return String(value);
  const bits = (v: number) => { let n = 0; for (let x = BigInt(v); x; x &= x - 1n) n++; return n; };
  const names: string[] = [];
  let rest = BigInt(value);
  for (const [k, v] of family.filter(([, v]) => v > 0).sort((a, b) => bits(b[1]) - bits(a[1]) || a[1] - b[1])) {
    const m = BigInt(v);
    if ((rest & m) === m) { names.push(k); rest &= ~m; }
  }
  if (rest !== 0n) names.push(`0x${rest.toString(16)}`);
  return names.join('|');
}

/** The flag and enum arguments of one operation, decoded. */
export function decodedFlags(op: string, args: Readonly<Record<string, unknown>>, constants: Readonly<Record<string, number>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, fam] of Object.entries(FLAG_FAMILIES)) {
    const v = args[name];
    if (typeof v !== 'number' || (fam.ops && !fam.ops.includes(op))) continue;
    out[name] = decodeFlags(v, fam.prefix, constants, fam.kind);
  }
  return out;
}

/** -errno by name ("-EFAULT"), or undefined. */
export function errnoName(v: unknown, constants: Readonly<Record<string, number>>): string | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v) || v >= 0 || v < -4095) return undefined;
  const name = Object.keys(constants).find((k) => /^E[A-Z0-9]+$/.test(k) && constants[k] === -v);
  return name ? `-${name}` : undefined;
}

/** The thread (actor) and task of a model actor label: "driver@parent" is thread driver in task parent. */
function threadOf(actor: string): { thread: string; task: string | null } {
  const at = actor.indexOf('@');
  if (at > 0) return { thread: actor.slice(0, at), task: actor.slice(at + 1) };
  return { thread: actor, task: actor === 'kernel' ? null : actor };
}

/**
 * The events of a session's trace (Session.trace(): `{profile, machine, events}` from the model) in
 * the documented shape. A backend whose trace has no events gives none.
 */
export function eventRecords(raw: unknown, scn: Scenario, backend: Pick<Backend, 'constants'>): EventRecord[] {
  const events = (raw as { events?: unknown } | null)?.events;
  if (!Array.isArray(events)) return [];
  const steps = new Map<number, Step>();
  for (const s of scn.steps) steps.set(s.index, s);
  const constants = backend.constants;
  return (events as TraceEvent[]).map((e) => {
    const resumed = e.op.endsWith(':resume');
    const op = resumed ? e.op.slice(0, -':resume'.length) : e.op;
    const result = (e.result ?? null) as { ret?: unknown; out?: unknown; paused?: string } | null;
    const ret = result && typeof result === 'object' && 'ret' in result ? result.ret : result;
    const step = e.step ?? null;
    const s = step === null ? undefined : steps.get(step);
    const errno = errnoName(ret, constants);
    return {
      seq: e.seq, step, pos: s ? formatPos(s.pos) : null, ...threadOf(e.actor), op,
      ...(result?.paused !== undefined && { pausedAt: result.paused }),
      ...(resumed && { resumedFrom: String((e.args as { after?: unknown }).after ?? '') }),
      args: e.args, flags: resumed ? {} : decodedFlags(op, e.args, constants),
      ret: ret ?? null, ...(errno !== undefined && { errno }), ...(result?.out !== undefined && { out: result.out }),
      vmstat: e.vmstat, changes: e.changes, foliosWritten: e.foliosWritten, footprint: e.footprint, warnings: e.warnings,
      ...(e.allocFailures && { allocFailures: e.allocFailures }), ...(e.bug !== undefined && { bug: e.bug }), notes: e.notes,
    };
  });
}

/** The machine a session's trace records, if any. */
export function traceMachine(raw: unknown): unknown {
  return (raw as { machine?: unknown } | null)?.machine ?? null;
}

/** The failing verdicts of a run as check records. */
export function failedChecks(verdicts: ReadonlyArray<{ step: number | null; ok: boolean; location: { file: string; line: number; col: number }; description: string; message?: string }>): CheckRecord[] {
  return verdicts.filter((v) => !v.ok).map((v) => ({
    step: v.step, pos: formatPos(v.location), description: v.description, ...(v.message !== undefined && { message: v.message }),
  }));
}

/** The whole document. */
export function traceDoc(command: Command, runs: readonly RunRecord[], errors: TraceDoc['errors'] = [], counts?: { passed: number; failed: number }): TraceDoc {
  const passed = counts?.passed ?? runs.filter((r) => r.verdict === 'pass').length;
  const failed = counts?.failed ?? runs.length - passed;
  return { format: TRACE_FORMAT, command, runs, errors, passed, failed };
}

/** A run record without its events and machine (what --json prints). */
export function withoutEvents(r: RunRecord): RunRecord {
  const { events: _e, machine: _m, ...rest } = r;
  return rest as RunRecord;
}

/** Whether a value is a pinlab-trace/1 document (for readers: the viewer, chrome conversion). */
export function isTraceDoc(v: unknown): v is TraceDoc {
  return typeof v === 'object' && v !== null && (v as { format?: unknown }).format === TRACE_FORMAT
    && Array.isArray((v as { runs?: unknown }).runs);
}
