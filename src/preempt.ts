// Yield points: where a long kernel operation can be interrupted by another CPU. An operation
// written as a generator yields at each such point; `pinlab run` and every synchronous caller run
// it straight through (runToEnd), the explorer stops it at the points a step names in `preempt:`
// and lets other actors run in between (docs/explorer.md).

import type { Kernel } from './kernel.js';

export interface YieldPoint {
  /** "fork:before_wrprotect", "gup_fast:after_grab", "mmap_lock" */
  readonly point: string;
  /** The operation cannot go on until this holds (a lock another paused operation holds). */
  readonly waitUntil?: () => boolean;
  /** What it waits for, for the trace and for error messages. */
  readonly waitsFor?: string;
}

export type KernelGen<T> = Generator<YieldPoint, T, void>;

/**
 * Run an operation to its end. Nothing else runs meanwhile, so a wait that does not hold can never
 * be satisfied: that is a deadlock in the scenario, reported as a BUG.
 */
export function runToEnd<T>(k: Kernel, g: KernelGen<T>): T {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
    const y = r.value;
    if (y.waitUntil && !y.waitUntil()) k.BUG(`${y.point}: waits for ${y.waitsFor ?? 'a condition'} that nothing can release (deadlock)`);
  }
}

/** Where a preemptible operation stopped: at a named point, or waiting. */
export type Segment<T> = { done: true; value: T } | { done: false; at: YieldPoint };

/**
 * Run an operation until it reaches one of `stopAt` (a point a step asked to be preempted at), or
 * a wait that does not hold yet, or its end.
 */
export function runSegment<T>(g: KernelGen<T>, stopAt: ReadonlySet<string>, pendingWait: YieldPoint | null = null): Segment<T> {
  if (pendingWait?.waitUntil && !pendingWait.waitUntil()) return { done: false, at: pendingWait };
  for (;;) {
    const r = g.next();
    if (r.done) return { done: true, value: r.value };
    const y = r.value;
    if (y.waitUntil && !y.waitUntil()) return { done: false, at: y };
    if (stopAt.has(y.point)) return { done: false, at: y };
  }
}

/**
 * Whether the running step may stop at `point` (a step's `preempt:` names it). A yield point inside
 * a per-page loop is only yielded when armed: every other caller runs the loop without a generator
 * step per page (GUP-fast's `before_grab`).
 */
export function armed(k: Kernel, point: string): boolean {
  const a = k.preemptArmed;
  return a !== null && a.has(point);
}
