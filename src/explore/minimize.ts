// Schedule minimisation: from a failing schedule, find one with fewer context
// switches that still fails, then (as a tie-break) fewer steps before the
// failure. Greedy: view the schedule as runs of one actor;
// repeatedly try moving a later run of an actor back to join an earlier run of
// the same actor, or an earlier run forward to join a later one, and keep any
// candidate that still fails with fewer switches. Every candidate is re-run
// (replay with non-preemptive completion), so the result is a real failing
// schedule.

import type { Program } from './program.js';
import { contextSwitches, replay, type Schedule } from './schedule.js';

export interface MinimizeOptions {
  /** require the same failure message (default: any failure) */
  sameFailure?: boolean;
  /** cap on re-executions (default 10 000) */
  maxAttempts?: number;
}

export interface MinimizeResult {
  schedule: number[];
  failure: string;
  contextSwitches: number;
  originalContextSwitches: number;
  attempts: number;
}

interface Run { actor: number; len: number }

function toRuns(s: Schedule): Run[] {
  const runs: Run[] = [];
  for (const a of s) {
    const last = runs[runs.length - 1];
    if (last && last.actor === a) last.len++;
    else runs.push({ actor: a, len: 1 });
  }
  return runs;
}

function fromRuns(runs: readonly Run[]): number[] {
  const out: number[] = [];
  for (const r of runs) for (let i = 0; i < r.len; i++) out.push(r.actor);
  return out;
}

function* candidates(s: Schedule): Generator<number[]> {
  const runs = toRuns(s);
  for (let i = 0; i < runs.length; i++) {
    for (let j = i + 2; j < runs.length; j++) {
      if (runs[i].actor !== runs[j].actor) continue;
      // move run j back to follow run i
      const back = runs.slice();
      const [rj] = back.splice(j, 1);
      back.splice(i + 1, 0, rj);
      yield fromRuns(back);
      // move run i forward to precede run j
      const fwd = runs.slice();
      const [ri] = fwd.splice(i, 1);
      fwd.splice(j - 1, 0, ri);
      yield fromRuns(fwd);
    }
  }
  // drop a run entirely (the completion may run its steps later, without a switch)
  for (let i = 0; i < runs.length; i++) yield fromRuns([...runs.slice(0, i), ...runs.slice(i + 1)]);
}

export function minimizeSchedule(p: Program, failing: Schedule, opts: MinimizeOptions = {}): MinimizeResult {
  const maxAttempts = opts.maxAttempts ?? 10_000;
  let attempts = 1;
  const first = replay(p, failing, { complete: true });
  if (first.invalidAt !== undefined) throw new Error(`schedule is infeasible at step ${first.invalidAt + 1}`);
  if (first.failure === undefined) throw new Error('schedule does not fail');
  const message = first.failure;
  let best = first.schedule;
  let bestMsg = first.failure;
  const original = contextSwitches(failing);
  let improved = true;
  // (context switches, steps): smaller is better, switches first
  const better = (s: Schedule, cs: number, len: number) => {
    const c = contextSwitches(s);
    return c < cs || (c === cs && s.length < len);
  };
  while (improved && attempts < maxAttempts) {
    improved = false;
    const cur = contextSwitches(best);
    const len = best.length;
    for (const cand of candidates(best)) {
      if (attempts >= maxAttempts) break;
      if (contextSwitches(cand) > cur) continue;
      attempts++;
      const r = replay(p, cand, { complete: true });
      if (r.invalidAt !== undefined || r.failure === undefined) continue;
      if (opts.sameFailure && r.failure !== message) continue;
      if (!better(r.schedule, cur, len)) continue;
      best = r.schedule;
      bestMsg = r.failure;
      improved = true;
      break;
    }
  }
  return { schedule: best, failure: bestMsg, contextSwitches: contextSwitches(best), originalContextSwitches: original, attempts };
}
