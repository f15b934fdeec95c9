// Parallel exploration over worker threads (--jobs). The main thread splits the search into
// subtrees (split.ts); each worker rebuilds the program from its spec and explores the subtrees it
// is handed; results are merged in subtree order, so the verdict, counts and counterexample are
// the same on every run with the same --jobs (and the same as one thread for a search that passes).

import { Worker } from 'node:worker_threads';
import type { ExploreResult, Footprint, Program } from './program.js';
import { exploreDpor } from './dpor.js';
import { exploreExhaustive } from './exhaustive.js';
import { explorePct } from './pct.js';
import { mergeResults, splitTree, type SplitMode, type Subtree } from './split.js';

/** What a worker needs to rebuild the program: a multi-actor scenario file on one profile. */
export interface ProgramSpec { file: string; profile: string }

export type ParallelMode = SplitMode | 'pct';

export interface PctWire { seed: number; depth?: number }

export interface WorkerInit { spec: ProgramSpec; mode: ParallelMode; opts: { preemptionBound?: number; all?: boolean }; pct?: PctWire }

/** A unit of work: a subtree (dpor, exhaustive), or a range of PCT runs. */
export type WireTask = { index: number; subtree: WireSubtree } | { index: number; runs: { first: number; count: number } };

export interface WireSubtree { prefix: number[]; sleep: Array<[number, string[], string[]]>; preemptions: number }

export interface WireResult {
  verdict: ExploreResult['verdict']; schedulesRun: number; schedulesPruned: number; endStates: string[];
  failure?: { schedule: number[]; message: string }; failures: number;
  /** PCT: the trace keys of the runs */
  traces?: string[];
}

export type FromWorker = { kind: 'result'; index: number; result: WireResult } | { kind: 'progress'; schedules: number } | { kind: 'error'; message: string };

export function toWire(t: Subtree): WireSubtree {
  return { prefix: t.prefix, sleep: t.sleep.map(([a, f]) => [a, [...f.reads], [...f.writes]]), preemptions: t.preemptions };
}

export function fromWire(t: WireSubtree): Subtree {
  return { prefix: t.prefix, sleep: t.sleep.map(([a, r, w]): [number, Footprint] => [a, { reads: new Set(r), writes: new Set(w) }]), preemptions: t.preemptions };
}

export interface ParallelOptions {
  jobs: number;
  mode: ParallelMode;
  opts: { preemptionBound?: number; all?: boolean };
  /** PCT: the seed, depth and number of runs (split into ranges of runs) */
  pct?: PctWire & { runs: number };
  /** called now and then with the schedules run so far and the subtrees finished */
  onProgress?: (schedules: number, done: number, total: number) => void;
  /** the worker module (default: the scenario worker next to this file) */
  workerUrl?: URL;
  /**
   * Schedules this thread runs before any worker starts (default PROBE_SCHEDULES; 0: start the
   * workers at once). A search that ends within them is answered without workers.
   */
  probeSchedules?: number;
}

/**
 * A worker is a new V8 isolate: it loads the model and warms its JIT up before it runs as fast as
 * this thread (about 0.1-0.3 s here). A search shorter than that is faster on one thread, so the
 * first PROBE_SCHEDULES schedules (about 0.05-0.1 s at 20-50k schedules/s) run here, and workers
 * start only if the search is still going. A count, not a time, so that the answer (which search
 * ran, which counterexample) is the same on every run.
 */
export const PROBE_SCHEDULES = 3000;

/** An ExploreResult that says how many worker threads it took. */
export type ParallelResult = ExploreResult & { workers: number };

/** Explore `p` (built from `spec`, which the workers rebuild) with `jobs` worker threads. */
export async function exploreParallel(spec: ProgramSpec, p: Program, o: ParallelOptions): Promise<ParallelResult> {
  const t0 = performance.now();
  let tasks: WireTask[];
  let pruned = 0;
  const probe = o.probeSchedules ?? PROBE_SCHEDULES;
  // PCT: the runs this thread made before the workers start (their results come first).
  let head: ExploreResult | null = null;
  if (probe > 0 && o.mode !== 'pct') {
    // The whole search, capped: if it ends within the cap, it is the one-thread answer.
    const capped = { ...o.opts, maxSchedules: probe };
    const r = o.mode === 'dpor' ? exploreDpor(p, capped) : exploreExhaustive(p, capped);
    if (r.verdict !== 'incomplete') return { ...r, elapsedMs: performance.now() - t0, workers: 0 };
  }
  if (o.mode === 'pct') {
    const runs = o.pct?.runs ?? 100;
    let start = 0;
    if (probe > 0) {
      // Runs are numbered and independent: this thread makes the first ones, the workers the rest.
      start = Math.min(runs, probe);
      const pc: PctWire = o.pct ?? { seed: 0 };
      head = explorePct(p, { seed: pc.seed, runs: start, ...(pc.depth !== undefined && { depth: pc.depth }), ...(o.opts.all !== undefined && { all: o.opts.all }) });
      if (start === runs || (head.failure && !o.opts.all)) return { ...head, elapsedMs: performance.now() - t0, workers: 0 };
    }
    const chunk = Math.max(1, Math.ceil((runs - start) / (o.jobs * 8)));
    tasks = [];
    for (let first = start; first < runs; first += chunk) tasks.push({ index: tasks.length, runs: { first, count: Math.min(chunk, runs - first) } });
  } else {
    const split = splitTree(p, {
      // (no sleep sets under a bound: bounded DPOR runs without them, dpor.ts)
      maxDepth: 8, target: o.jobs * 8, sleepSets: o.mode === 'dpor' && o.opts.preemptionBound === undefined,
      ...(o.opts.preemptionBound !== undefined && { preemptionBound: o.opts.preemptionBound }),
    });
    tasks = split.subtrees.map((t, index) => ({ index, subtree: toWire(t) }));
    pruned = split.pruned;
  }
  const results: Array<ExploreResult | undefined> = new Array(tasks.length);
  const all = o.opts.all ?? false;
  let nextTask = 0;
  let finished = 0;
  let schedules = 0;
  /** without `all`: the lowest-numbered subtree that failed; no task after it is handed out */
  let firstFail = Infinity;
  const init: WorkerInit = { spec, mode: o.mode, opts: o.opts, ...(o.pct && { pct: { seed: o.pct.seed, ...(o.pct.depth !== undefined && { depth: o.pct.depth }) } }) };
  const url = o.workerUrl ?? new URL('./scenario-worker.js', import.meta.url);
  const workers: Worker[] = [];

  const n = Math.max(1, Math.min(o.jobs, tasks.length));
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      for (const w of workers) void w.terminate();
      if (err) reject(err); else resolve();
    };
    const complete = () => {
      // done when every subtree up to the first failure (or every subtree) has its result
      const upTo = Math.min(firstFail, tasks.length - 1);
      for (let i = 0; i <= upTo; i++) if (results[i] === undefined) return false;
      return true;
    };
    const feed = (w: Worker) => {
      if (nextTask < tasks.length && nextTask <= firstFail) {
        w.postMessage(tasks[nextTask++]);
      }
    };
    if (tasks.length === 0) { settle(); return; }
    for (let i = 0; i < n; i++) {
      const w = new Worker(url, { workerData: init });
      workers.push(w);
      w.on('message', (m: FromWorker) => {
        if (m.kind === 'progress') {
          schedules += m.schedules;
          o.onProgress?.(schedules, finished, tasks.length);
          return;
        }
        if (m.kind === 'error') { settle(new Error(m.message)); return; }
        const r = m.result;
        results[m.index] = {
          verdict: r.verdict, schedulesRun: r.schedulesRun, schedulesPruned: r.schedulesPruned, distinctEndStates: r.endStates.length,
          endStates: new Set(r.endStates), failures: r.failures, elapsedMs: 0, ...(r.failure && { failure: r.failure }),
          ...(r.traces && { traces: new Set(r.traces) }),
        };
        finished++;
        if (r.failure && !all && m.index < firstFail) firstFail = m.index;
        o.onProgress?.(schedules, finished, tasks.length);
        if (complete()) settle();
        else feed(w);
      });
      w.on('error', (e) => settle(e));
      w.on('exit', (code) => { if (code !== 0 && !settled) settle(new Error(`explore worker exited with code ${code}`)); });
      feed(w);
    }
  });
  const upTo = all ? tasks.length : Math.min(firstFail + 1, tasks.length);
  const merged = results.slice(0, upTo) as ExploreResult[];
  if (head) merged.unshift(head);
  return { ...mergeResults(merged, pruned, all, performance.now() - t0), workers: tasks.length === 0 ? 0 : n };
}
