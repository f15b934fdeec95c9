import { performance } from 'node:perf_hooks';
// The program abstraction the interleaving explorer works on. The engine knows
// nothing about the kernel model: a program is a set of actors whose atomic
// steps report which objects they read and wrote.

/** Object ids a step touched, e.g. "folio:1025", "vma:3". */
export interface Footprint { reads: ReadonlySet<string>; writes: ReadonlySet<string> }

export interface StepResult {
  footprint: Footprint;
  /** an invariant/BUG/expectation violation, if any */
  failure?: string;
}

/** One run of the program on a fresh state. The explorer re-runs from scratch for every schedule (stateless). */
export interface Execution {
  /** Actors that still have steps, and are enabled now (an actor may be blocked, e.g. waiting for I/O). */
  enabled(): readonly number[];
  /**
   * Optional: actors that still have steps but are blocked now. Lets DPOR
   * treat a blocked actor's pending step as racing with the writes that could
   * have enabled it earlier; without it, DPOR may miss interleavings in which a
   * blocking step runs during a window that some later write closes.
   */
  blocked?(): readonly number[];
  /** Run the next atomic step of actor a. */
  step(a: number): StepResult;
  /** A canonical string of the final state (for counting distinct end states). */
  finalState(): string;
  /** Checks at the end (leaks, data-integrity); a failure string or null. */
  finish(): string | null;
}

export interface Program { readonly actors: readonly string[]; start(): Execution }

function intersects(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  const [small, big] = a.size <= b.size ? [a, b] : [b, a];
  for (const x of small) if (big.has(x)) return true;
  return false;
}

/**
 * Two footprints conflict iff one's writes intersect the other's reads or
 * writes. (Steps of the same actor are always dependent; callers check that.)
 */
export function conflicts(f: Footprint, g: Footprint): boolean {
  return intersects(f.writes, g.reads) || intersects(f.writes, g.writes) || intersects(g.writes, f.reads);
}

/** The dependence relation used by every explorer. */
export function dependent(a: number, f: Footprint, b: number, g: Footprint): boolean {
  return a === b || conflicts(f, g);
}

export const EMPTY_FOOTPRINT: Footprint = { reads: new Set(), writes: new Set() };

/** The result shape shared by all explorers. */
export interface ExploreResult {
  verdict: 'pass' | 'fail' | 'incomplete';
  /** executions run to their end (or to a failure) */
  schedulesRun: number;
  /** branches cut by the preemption bound, plus (DPOR) sleep-set-blocked executions abandoned early */
  schedulesPruned: number;
  distinctEndStates: number;
  /** the distinct canonical end states themselves (of executions that ran to the end) */
  endStates: ReadonlySet<string>;
  /** the first failure found */
  failure?: { schedule: readonly number[]; message: string };
  /** number of failing executions (more than one only with `all`) */
  failures: number;
  elapsedMs: number;
  /**
   * PCT (a sample): the Mazurkiewicz traces (traceKey) of the schedules it ran, so a report can say
   * how many distinct interleavings the runs covered.
   */
  traces?: ReadonlySet<string>;
}

/** Called once per explored execution, with the actors chosen and the footprint of every step. */
export type ScheduleObserver = (schedule: readonly number[], footprints: readonly Footprint[], failure: string | undefined) => void;

export interface ExploreOptions {
  /** bound on preemptions: context switches away from an actor that could have continued */
  preemptionBound?: number;
  /** stop (verdict 'incomplete') after this many executions */
  maxSchedules?: number;
  /** keep going after a failure */
  all?: boolean;
  onSchedule?: ScheduleObserver;
  /**
   * Exploring a subtree (parallel search, split.ts): the actor that ran last before the root and
   * the preemptions already spent, so the preemption bound counts the whole schedule.
   */
  rootPrev?: number;
  rootPreemptions?: number;
  /** DPOR in a subtree: the root's sleep set (actors whose step at the root is covered by another subtree). */
  rootSleep?: ReadonlyMap<number, Footprint>;
}

/** True if choosing actor `next` after `prev` is a preemption (prev could have continued). */
export function isPreemption(prev: number | undefined, next: number, enabled: readonly number[]): boolean {
  return prev !== undefined && next !== prev && enabled.includes(prev);
}

/** The bookkeeping every search shares: end states, counts, the first failure, the result. */
export class Tally {
  private readonly t0 = performance.now();
  readonly endStates = new Set<string>();
  schedulesRun = 0;
  schedulesPruned = 0;
  failures = 0;
  failure: ExploreResult['failure'];

  constructor(private readonly opts: ExploreOptions) {}

  /**
   * A schedule has ended (all actors done, or a step failed): run the end checks if it did not
   * fail, count it, and report it. Returns true when the search should stop at this failure.
   */
  complete(exec: Execution, sched: number[], fps: Footprint[], fail: string | undefined): boolean {
    if (fail === undefined) {
      const fin = exec.finish();
      this.endStates.add(exec.finalState());
      if (fin !== null) fail = fin;
    }
    this.schedulesRun++;
    this.opts.onSchedule?.(sched, fps, fail);
    if (fail === undefined) return false;
    this.failures++;
    this.failure ??= { schedule: sched, message: fail };
    return !this.opts.all;
  }

  result(verdict: ExploreResult['verdict']): ExploreResult {
    return {
      verdict, schedulesRun: this.schedulesRun, schedulesPruned: this.schedulesPruned,
      distinctEndStates: this.endStates.size, endStates: this.endStates, failure: this.failure, failures: this.failures,
      elapsedMs: performance.now() - this.t0,
    };
  }

  /** The verdict when the search ends: 'fail' if anything failed, else the given one. */
  end(otherwise: 'pass' | 'incomplete'): ExploreResult {
    return this.result(this.failures > 0 ? 'fail' : otherwise);
  }
}
