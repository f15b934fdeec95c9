// A pinlab-trace/1 document as Chrome trace-event JSON (the "JSON Object Format" that Perfetto UI,
// chrome://tracing and Trace Compass open): docs/trace.md#chrome.
//
// - Each run is a process (pid 1, 2, ...); each actor (thread of the run) a thread, named with `M`
//   metadata events. Time is the model's step counter: step `seq` occupies [seq ms, seq+1 ms).
// - Each event is an `X` slice on its actor's thread, with the step, its scenario position, the
//   arguments (flags decoded), the result, the notes, the folio changes and the footprint.
// - An operation stopped at a yield point is a `B`…`E` pair around its parts, on its thread; the other
//   actors' steps run in between.
// - Per folio, refcount/pincount/mapcount are a `C` counter track ("folio <pfn>"), and the vmstat pin
//   counters one more ("vmstat pins"), counting from the start of the run.
// - WARNs, BUGs and failed checks are global instants (`i`, `s: "g"`).
// - Flow arrows (`s`/`f`) join a GUP call and the release of its pages (a pin and its unpin, a
//   FOLL_GET reference and its put_page), and the two conflicting steps of a counterexample.

import type { EventRecord, RunRecord, TraceDoc } from './format.js';

export interface ChromeEvent {
  name: string;
  ph: 'X' | 'B' | 'E' | 'C' | 'i' | 'M' | 's' | 'f';
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  cat?: string;
  s?: 'g' | 'p' | 't';
  id?: number;
  bp?: 'e';
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: ChromeEvent[];
  displayTimeUnit: 'ms';
  otherData: Record<string, unknown>;
}

/** One model step, in trace microseconds. */
const STEP_US = 1000;
/** An X slice's inset within its step, so that a B/E pair around it nests strictly. */
const INSET = 50;

/** GUP calls: their `out` is the pages they took (pins or FOLL_GET references). */
const ACQUIRE = /^(pin|get)_user_pages(_fast|_fast_only|_unlocked|_remote)?$/;
/** Calls that release pages taken by GUP, by the `page`/`pages` argument. */
const RELEASE = /^(unpin_user_pages?|unpin_user_pages_dirty_lock|unpin_folios?|put_page|put_user_pages?|put_user_pages_dirty(_lock)?|release_pages|folio_put|bio_release_pages)$/;

/** The last index where `f` holds, or -1 (Array.prototype.findLastIndex is ES2023). */
function lastIndex<T>(a: readonly T[], f: (x: T) => boolean): number {
  for (let i = a.length - 1; i >= 0; i--) if (f(a[i])) return i;
  return -1;
}

function pfnsOf(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

/** Object ids a footprint side names, vmstat and zone counters left out (they only add up). */
function ids(side: Readonly<Record<string, ReadonlyArray<readonly [number, number]>>>): Set<string> {
  const out = new Set<string>();
  for (const kind in side) {
    if (kind === 'vmstat' || kind === 'zone') continue;
    for (const [lo, hi] of side[kind]) for (let i = lo; i <= hi && i < lo + 4096; i++) out.add(`${kind}:${i}`);
  }
  return out;
}

/** Whether two events' footprints conflict (one writes what the other reads or writes). */
export function conflicting(a: EventRecord, b: EventRecord): boolean {
  const aw = ids(a.footprint.writes);
  const bw = ids(b.footprint.writes);
  const hit = (w: Set<string>, other: Set<string>) => [...w].some((x) => other.has(x));
  return hit(aw, bw) || hit(aw, ids(b.footprint.reads)) || hit(bw, ids(a.footprint.reads));
}

/**
 * The two conflicting steps of a failing schedule, both of actors: the failing event (the BUG, or the
 * last event of the failing check's step) if an actor ran it, else the latest actor event that
 * conflicts with it (a failure in `finally:`), else the last actor event; and the latest earlier event
 * of another actor whose footprint conflicts with that one — the pair whose order the counterexample
 * needs.
 */
export function conflictPair(run: RunRecord): [EventRecord, EventRecord] | null {
  const ev = run.events ?? [];
  if (run.verdict !== 'fail' || run.schedule === null || ev.length === 0) return null;
  const actors = new Set(run.schedule);
  const isActor = (e: EventRecord) => actors.has(e.thread);
  const failStep = run.failedChecks[0]?.step ?? null;
  let j = lastIndex(ev, (e) => e.bug !== undefined);
  if (j < 0 && failStep !== null) j = lastIndex(ev, (e) => e.step === failStep);
  let b: number;
  if (j >= 0 && isActor(ev[j])) b = j;
  else if (j >= 0) b = lastIndex(ev.slice(0, j), (e) => isActor(e) && conflicting(e, ev[j]));
  else b = lastIndex(ev, isActor);
  if (b < 0) return null;
  for (let a = b - 1; a >= 0; a--) {
    if (isActor(ev[a]) && ev[a].thread !== ev[b].thread && conflicting(ev[a], ev[b])) return [ev[a], ev[b]];
  }
  return null;
}

/** Pairs of (acquiring event, releasing event) by the pages a GUP call returned and a release took. */
export function pinPairs(events: readonly EventRecord[]): Array<[EventRecord, EventRecord]> {
  const held = new Map<number, EventRecord[]>();
  const pairs: Array<[EventRecord, EventRecord]> = [];
  const seen = new Set<string>();
  for (const e of events) {
    if (ACQUIRE.test(e.op) && e.out !== undefined) {
      for (const p of pfnsOf(e.out)) {
        let q = held.get(p);
        if (!q) held.set(p, (q = []));
        q.push(e);
      }
    } else if (RELEASE.test(e.op)) {
      for (const p of [...pfnsOf(e.args.page), ...pfnsOf(e.args.pages)]) {
        const from = held.get(p)?.shift();
        if (!from) continue;
        const key = `${from.seq}>${e.seq}`;
        if (!seen.has(key)) { seen.add(key); pairs.push([from, e]); }
      }
    }
  }
  return pairs;
}

function sliceArgs(e: EventRecord): Record<string, unknown> {
  return {
    seq: e.seq, step: e.step, pos: e.pos, task: e.task, args: e.args,
    ...(Object.keys(e.flags).length > 0 && { flags: e.flags }),
    ret: e.errno ?? e.ret, ...(e.out !== undefined && { out: e.out }),
    ...(e.pausedAt !== undefined && { pausedAt: e.pausedAt }), ...(e.resumedFrom !== undefined && { resumedFrom: e.resumedFrom }),
    notes: e.notes, changes: e.changes, vmstat: e.vmstat, footprint: e.footprint,
    ...(e.warnings.length > 0 && { warnings: e.warnings }), ...(e.bug !== undefined && { bug: e.bug }),
  };
}

function runTitle(r: RunRecord): string {
  return `${r.name} [${r.profile}]${r.schedule ? ` ${r.schedule.join(',')}` : ''}: ${r.verdict.toUpperCase()}`;
}

/** The Chrome trace of a document. */
export function toChrome(doc: TraceDoc): ChromeTrace {
  const out: ChromeEvent[] = [];
  let flowId = 0;
  doc.runs.forEach((run, i) => {
    const pid = i + 1;
    const events = run.events ?? [];
    out.push({ name: 'process_name', ph: 'M', pid, tid: 0, ts: 0, args: { name: runTitle(run) } });
    out.push({ name: 'process_sort_index', ph: 'M', pid, tid: 0, ts: 0, args: { sort_index: pid } });
    // Threads: the schedule's actors first, in its order, then the others as they appear.
    const tids = new Map<string, number>();
    for (const t of [...(run.schedule ?? []), ...events.map((e) => e.thread)]) if (!tids.has(t)) tids.set(t, tids.size + 1);
    for (const [name, tid] of tids) {
      out.push({ name: 'thread_name', ph: 'M', pid, tid, ts: 0, args: { name } });
      out.push({ name: 'thread_sort_index', ph: 'M', pid, tid, ts: 0, args: { sort_index: tid } });
    }
    const at = (e: EventRecord) => e.seq * STEP_US;
    const end = events.length ? at(events[events.length - 1]) + STEP_US : STEP_US;
    // Slices, and B/E around operations stopped at yield points.
    const open = new Map<string, EventRecord>();
    for (const e of events) {
      const tid = tids.get(e.thread)!;
      if (e.pausedAt !== undefined && e.resumedFrom === undefined) {
        out.push({ name: e.op, ph: 'B', pid, tid, ts: at(e), cat: 'preempted', args: { step: e.step, pos: e.pos, pausedAt: e.pausedAt } });
        open.set(e.thread, e);
      }
      out.push({
        name: e.resumedFrom !== undefined ? `${e.op} (resumed after ${e.resumedFrom})` : e.pausedAt !== undefined ? `${e.op} (to ${e.pausedAt})` : e.op,
        ph: 'X', pid, tid, ts: at(e) + INSET, dur: STEP_US - 2 * INSET, cat: 'step', args: sliceArgs(e),
      });
      if (e.resumedFrom !== undefined && e.pausedAt === undefined && open.has(e.thread)) {
        out.push({ name: e.op, ph: 'E', pid, tid, ts: at(e) + STEP_US });
        open.delete(e.thread);
      }
    }
    // An operation still stopped when the run ended (a BUG elsewhere) ends with the run.
    for (const [thread, b] of open) out.push({ name: b.op, ph: 'E', pid, tid: tids.get(thread)!, ts: end, args: { unfinished: true } });
    // Counters: per folio, and the pin counters, after each step that changed them.
    const pins = { nr_foll_pin_acquired: 0, nr_foll_pin_released: 0 };
    out.push({ name: 'vmstat pins', ph: 'C', pid, tid: 0, ts: 0, args: { ...pins } });
    for (const e of events) {
      for (const c of e.changes) {
        out.push({ name: `folio ${c.pfn}`, ph: 'C', pid, tid: 0, ts: at(e) + STEP_US - INSET, args: { refcount: c.refcount, pincount: c.pincount, mapcount: c.mapcount } });
      }
      if (e.vmstat.nr_foll_pin_acquired !== undefined || e.vmstat.nr_foll_pin_released !== undefined) {
        pins.nr_foll_pin_acquired += e.vmstat.nr_foll_pin_acquired ?? 0;
        pins.nr_foll_pin_released += e.vmstat.nr_foll_pin_released ?? 0;
        out.push({ name: 'vmstat pins', ph: 'C', pid, tid: 0, ts: at(e) + STEP_US - INSET, args: { ...pins } });
      }
    }
    // Instants: WARN, BUG, failed checks.
    for (const e of events) {
      const tid = tids.get(e.thread)!;
      for (const w of e.warnings) out.push({ name: `WARN ${w.split(': ')[0]}`, ph: 'i', s: 'g', pid, tid, ts: at(e) + STEP_US / 2, cat: 'warn', args: { warning: w, step: e.step, pos: e.pos } });
      if (e.bug !== undefined) out.push({ name: `BUG: ${e.bug}`, ph: 'i', s: 'g', pid, tid, ts: at(e) + STEP_US / 2, cat: 'bug', args: { step: e.step, pos: e.pos } });
    }
    for (const c of run.failedChecks) {
      // At the end of the check's step, if it ran as an event; in a sequential run after the steps
      // before it; else (an explored schedule stops at its failure) at the end.
      const own = c.step === null ? undefined : events[lastIndex(events, (e) => e.step === c.step)];
      const before = c.step !== null && run.schedule === null ? events[lastIndex(events, (e) => e.step !== null && e.step < c.step!)] : undefined;
      const ts = own ? at(own) + STEP_US - INSET / 2 : before ? at(before) + STEP_US : end;
      out.push({ name: `check failed: ${c.description}`, ph: 'i', s: 'g', pid, tid: 0, ts, cat: 'check', args: { ...c } });
    }
    // Flows.
    const flow = (a: EventRecord, b: EventRecord, name: string, cat: string) => {
      const id = ++flowId;
      out.push({ name, cat, ph: 's', id, pid, tid: tids.get(a.thread)!, ts: at(a) + STEP_US / 2 });
      out.push({ name, cat, ph: 'f', bp: 'e', id, pid, tid: tids.get(b.thread)!, ts: at(b) + STEP_US / 2 });
    };
    for (const [a, b] of pinPairs(events)) flow(a, b, `${a.op} → ${b.op}`, 'pin');
    const pair = conflictPair(run);
    if (pair) flow(pair[0], pair[1], `conflict: ${pair[0].thread} ${pair[0].op} / ${pair[1].thread} ${pair[1].op}`, 'conflict');
  });
  return { traceEvents: out, displayTimeUnit: 'ms', otherData: { format: doc.format, command: doc.command, converter: 'pinlab chrome/1' } };
}

export type TraceFormat = 'pinlab' | 'chrome';

/** What a --trace file holds in the format asked for. */
export function traceOutput(doc: TraceDoc, format: TraceFormat): unknown {
  return format === 'chrome' ? toChrome(doc) : doc;
}
