// The one shape of pinlab's machine-readable output, "pinlab-trace/1" (docs/trace.md): `run --json`,
// `explore --json`, `replay --json` and every `--trace OUT` file are an object with a list of runs;
// a trace file's runs also carry their events. The Chrome trace (chrome.ts), the HTML viewer
// (src/view/) and KTAP (src/report/ktap.ts) are all made from it.

import type { Backend } from '../scenario/backend.js';
import type { Scenario, Step } from '../scenario/ast.js';
import { formatPos } from '../scenario/errors.js';
import type { TraceEvent } from './trace.js';
import type { CheckRecord, Command, EventRecord, RunRecord, TraceDoc } from './schema.js';

export const TRACE_FORMAT = 'pinlab-trace/1';
export type { CheckRecord, Command, EventRecord, RunRecord, RunVerdict, TraceDoc } from './schema.js';

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
