// Probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi,
// Nagarakatte, "A Randomized Scheduler with Probabilistic Guarantees of
// Finding Bugs", ASPLOS 2010). Each run gives the actors random distinct
// priorities and picks depth-1 random priority change points; the highest
// priority enabled actor always runs. A bug of depth d among n actors and k
// steps is found by one run with probability at least 1/(n·k^(d-1)).
// Deterministic for a seed.

import type { ExploreResult, Footprint, Program, ScheduleObserver } from './program.js';
import { Rng } from './rng.js';
import { traceKey } from './trace.js';

export interface PctOptions {
  seed: number;
  /** bug depth d: d-1 priority change points per run (default 3) */
  depth?: number;
  /** number of runs (default 100) */
  runs?: number;
  /** estimate of steps per execution k; default: the length of a probe run (lowest actor first) */
  steps?: number;
  /** the index of the first run (runs are numbered; run i is seeded by (seed, i), so a range of runs can go to a worker) */
  firstRun?: number;
  all?: boolean;
  onSchedule?: ScheduleObserver;
}

export function explorePct(p: Program, opts: PctOptions): ExploreResult {
  const t0 = performance.now();
  const d = opts.depth ?? 3;
  const runs = opts.runs ?? 100;
  const n = p.actors.length;
  const endStates = new Set<string>();
  const traces = new Set<string>();
  // PCT repeats schedules: the trace of each distinct schedule is computed once.
  const seenSchedules = new Set<string>();
  let failures = 0;
  let failure: ExploreResult['failure'];
  let schedulesRun = 0;
  const k = opts.steps ?? probeLength(p);
  const first = opts.firstRun ?? 0;

  for (let run = first; run < first + runs; run++) {
    // Each run has its own generator, so run i is the same whichever worker runs it.
    const rng = new Rng(Rng.mix(opts.seed, run));
    const order = rng.shuffle([...Array(n).keys()]);
    const prio = new Array<number>(n);
    order.forEach((a, i) => { prio[a] = d + i; });
    // change points: step numbers (1-based) at which the running actor drops to priority d-1-i
    const change = new Map<number, number>();
    const slots = Math.max(k, 1);
    for (let i = 0; i < d - 1 && change.size < slots; i++) {
      let c = 1 + rng.int(slots);
      while (change.has(c)) c = 1 + rng.int(slots);
      change.set(c, d - 1 - i);
    }
    const exec = p.start();
    const sched: number[] = [];
    const fps: Footprint[] = [];
    let fail: string | undefined;
    for (let stepNo = 1; ; stepNo++) {
      const en = exec.enabled();
      if (en.length === 0) break;
      let a = top(en, prio);
      const c = change.get(stepNo);
      if (c !== undefined) { prio[a] = c; a = top(en, prio); }
      const r = exec.step(a);
      sched.push(a);
      fps.push(r.footprint);
      if (r.failure !== undefined) { fail = r.failure; break; }
    }
    if (fail === undefined) {
      const fin = exec.finish();
      endStates.add(exec.finalState());
      if (fin !== null) fail = fin;
    }
    schedulesRun++;
    const sk = sched.join('.');
    if (!seenSchedules.has(sk)) {
      seenSchedules.add(sk);
      traces.add(traceKey(sched, fps));
    }
    opts.onSchedule?.(sched, fps, fail);
    if (fail !== undefined) {
      failures++;
      failure ??= { schedule: sched, message: fail };
      if (!opts.all) break;
    }
  }
  return {
    verdict: failures > 0 ? 'fail' : 'pass', schedulesRun, schedulesPruned: 0, distinctEndStates: endStates.size, endStates,
    failure, failures, elapsedMs: performance.now() - t0, traces,
  };
}

function top(en: readonly number[], prio: readonly number[]): number {
  let best = en[0];
  for (const a of en) if (prio[a] > prio[best]) best = a;
  return best;
}

/** Length of one execution run with the lowest-numbered enabled actor always chosen. */
function probeLength(p: Program): number {
  const exec = p.start();
  let len = 0;
  for (;;) {
    const en = exec.enabled();
    if (en.length === 0) return len;
    len++;
    if (exec.step(Math.min(...en)).failure !== undefined) return len;
  }
}
