// Splitting a search into independent subtrees, for parallel exploration (--jobs).
//
// The tree is enumerated to a small depth with sleep sets (Godefroid): at a node with sleep set S,
// each enabled actor a not in S is explored with the sleep set {b ∈ S ∪ (siblings explored before
// a) : b's step is independent of a's}. Sleep sets alone are sound (every Mazurkiewicz trace keeps
// a representative), and DPOR is sound from any state, so running DPOR in each subtree — from the
// state after its prefix, with its sleep set at the root — explores every trace of the program.
// Exhaustive search uses the same split without sleep sets. The subtrees are listed in a fixed
// order, so merging results in that order is deterministic whatever the number of workers.

import { exploreDpor } from './dpor.js';
import { exploreExhaustive } from './exhaustive.js';
import {
  dependent, isPreemption, type Execution, type ExploreOptions, type ExploreResult, type Footprint, type Program, type StepResult,
} from './program.js';

export interface Subtree {
  /** actors chosen from the initial state to the subtree's root */
  prefix: number[];
  /** DPOR: the root's sleep set */
  sleep: Array<[number, Footprint]>;
  /** preemptions spent in the prefix */
  preemptions: number;
}

export interface SplitOptions {
  /** stop splitting at this depth, or earlier once there are `target` subtrees */
  maxDepth: number;
  target: number;
  sleepSets: boolean;
  preemptionBound?: number;
}

export interface Split {
  subtrees: Subtree[];
  /** prefixes cut by the preemption bound or blocked by their sleep set */
  pruned: number;
}

/** Run `prefix` on a fresh execution; returns it, the last step's result, and the enabled set after. */
function runPrefix(p: Program, prefix: readonly number[]): { exec: Execution; last: StepResult | null; failed: boolean } {
  const exec = p.start();
  let last: StepResult | null = null;
  for (const a of prefix) {
    last = exec.step(a);
    if (last.failure !== undefined) return { exec, last, failed: true };
  }
  return { exec, last, failed: false };
}

/** Breadth-first, so the subtrees are about equally deep; deterministic. */
export function splitTree(p: Program, opts: SplitOptions): Split {
  const bound = opts.preemptionBound ?? Infinity;
  let level: Subtree[] = [{ prefix: [], sleep: [], preemptions: 0 }];
  let pruned = 0;
  for (let depth = 0; depth < opts.maxDepth && level.length < opts.target; depth++) {
    const next: Subtree[] = [];
    let grew = false;
    for (const t of level) {
      const { exec, failed } = runPrefix(p, t.prefix);
      const en = failed ? [] : exec.enabled();
      if (en.length === 0) { next.push(t); continue; }
      grew = true;
      const prev = t.prefix[t.prefix.length - 1];
      const sleep = new Map(t.sleep);
      const done: Array<[number, Footprint]> = [];
      let any = false;
      for (const a of en) {
        if (sleep.has(a)) continue;
        const preemptions = t.preemptions + (isPreemption(prev, a, en) ? 1 : 0);
        if (preemptions > bound) { pruned++; continue; }
        const r = runPrefix(p, [...t.prefix, a]);
        const fp = r.last!.footprint;
        const childSleep: Array<[number, Footprint]> = [];
        if (opts.sleepSets) {
          for (const [b, f] of [...sleep, ...done]) if (b !== a && !dependent(b, f, a, fp)) childSleep.push([b, f]);
          done.push([a, fp]);
        }
        next.push({ prefix: [...t.prefix, a], sleep: childSleep, preemptions });
        any = true;
      }
      if (!any) pruned++;
    }
    level = next;
    if (!grew) break;
  }
  return { subtrees: level, pruned };
}

/** The program as seen from a subtree's root: every execution first runs the prefix (which must not fail). */
export function withPrefix(p: Program, prefix: readonly number[]): Program {
  return { actors: p.actors, start: () => runPrefix(p, prefix).exec };
}

export type SplitMode = 'dpor' | 'exhaustive';

/** Explore one subtree; schedules in the result (the failure) include the prefix. */
export function exploreSubtree(p: Program, t: Subtree, mode: SplitMode, opts: ExploreOptions = {}): ExploreResult {
  const first = runPrefix(p, t.prefix);
  if (first.failed) {
    return { verdict: 'fail', schedulesRun: 1, schedulesPruned: 0, distinctEndStates: 0, endStates: new Set(),
      failure: { schedule: t.prefix, message: first.last!.failure! }, failures: 1, elapsedMs: 0 };
  }
  const o: ExploreOptions = {
    ...opts, rootPreemptions: t.preemptions, rootSleep: new Map(t.sleep),
    ...(t.prefix.length > 0 && { rootPrev: t.prefix[t.prefix.length - 1] }),
  };
  const q = withPrefix(p, t.prefix);
  const r = mode === 'dpor' ? exploreDpor(q, o) : exploreExhaustive(q, o);
  return r.failure ? { ...r, failure: { schedule: [...t.prefix, ...r.failure.schedule], message: r.failure.message } } : r;
}

/**
 * Merge subtree results in subtree order. Without `all`, the search ends at the first subtree (in
 * that order) that failed: later subtrees are not counted, so the result does not depend on which
 * worker finished first.
 */
export function mergeResults(results: readonly ExploreResult[], splitPruned: number, all: boolean, elapsedMs: number): ExploreResult {
  const endStates = new Set<string>();
  let traces: Set<string> | undefined;
  let schedulesRun = 0;
  let schedulesPruned = splitPruned;
  let failures = 0;
  let failure: ExploreResult['failure'];
  let incomplete = false;
  for (const r of results) {
    for (const e of r.endStates) endStates.add(e);
    if (r.traces) { traces ??= new Set(); for (const t of r.traces) traces.add(t); }
    schedulesRun += r.schedulesRun;
    schedulesPruned += r.schedulesPruned;
    failures += r.failures;
    failure ??= r.failure;
    if (r.verdict === 'incomplete') incomplete = true;
    if (r.failure && !all) break;
  }
  return {
    verdict: failures > 0 ? 'fail' : incomplete ? 'incomplete' : 'pass', schedulesRun, schedulesPruned,
    distinctEndStates: endStates.size, endStates, ...(failure && { failure }), failures, elapsedMs, ...(traces && { traces }),
  };
}

/** The whole search, subtree by subtree, in this thread (what the workers do, without workers). */
export function exploreSplit(p: Program, mode: SplitMode, opts: ExploreOptions, split: Split): ExploreResult {
  const t0 = performance.now();
  const results: ExploreResult[] = [];
  for (const t of split.subtrees) {
    const r = exploreSubtree(p, t, mode, opts);
    results.push(r);
    if (r.failure && !opts.all) break;
  }
  return mergeResults(results, split.pruned, opts.all ?? false, performance.now() - t0);
}
