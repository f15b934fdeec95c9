// Schedules: the sequence of actor indices chosen. Replayable string forms are
// "0.0.1.0" (indices) and "A,A,B,A" (actor names).

import { printable } from '../scenario/printable.js';
import type { Footprint, Program } from './program.js';

export type Schedule = readonly number[];

export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

/** "0.0.1.0", or with `actors` the name form "A,A,B,A". */
export function formatSchedule(s: Schedule, actors?: readonly string[]): string {
  if (!actors) return s.join('.');
  return s.map((a) => {
    const n = actors[a];
    if (n === undefined) throw new ScheduleError(`actor index ${a} out of range (${actors.length} actors)`);
    return n;
  }).join(',');
}

/**
 * Parse either form. Index form: non-negative integers separated by '.'.
 * Name form: actor names separated by ','. `actors` (if given) bounds the
 * indices and is required for the name form.
 */
export function parseSchedule(text: string, actors?: readonly string[]): number[] {
  const t = text.trim();
  if (t === '') return [];
  // The schedule comes from the command line: messages quote it escaped and cut.
  const shown = printable(text);
  if (/^[0-9.\s]+$/.test(t) && !t.includes(',')) {
    return t.split('.').map((tok, i) => {
      const x = tok.trim();
      if (!/^[0-9]+$/.test(x)) throw new ScheduleError(`schedule "${shown}": step ${i + 1} is empty or not an actor index: "${printable(tok)}"`);
      const a = Number(x);
      if (actors && a >= actors.length) {
        throw new ScheduleError(`schedule "${shown}": step ${i + 1} names actor ${printable(x)}, but there are only ${actors.length} actors`);
      }
      return a;
    });
  }
  if (!actors) throw new ScheduleError(`schedule "${shown}": not of the form "0.1.0", and no actor names to resolve names against`);
  return t.split(',').map((tok, i) => {
    const x = tok.trim();
    const a = actors.indexOf(x);
    if (a < 0) {
      throw new ScheduleError(`schedule "${shown}": step ${i + 1} names unknown actor "${printable(x)}" (actors: ${actors.join(', ')})`);
    }
    return a;
  });
}

/** Number of positions where the actor changes. */
export function contextSwitches(s: Schedule): number {
  let n = 0;
  for (let i = 1; i < s.length; i++) if (s[i] !== s[i - 1]) n++;
  return n;
}

export interface ReplayResult {
  /** the actors actually run (the given schedule, cut at a failure, plus any completion) */
  schedule: number[];
  footprints: Footprint[];
  failure?: string;
  /** set if the execution ran to its end */
  finalState?: string;
  /** index of the first step whose actor was not enabled (the schedule is infeasible) */
  invalidAt?: number;
  /** why that actor could not run: it had no step left, or it was blocked (Execution.blocked) */
  invalidWhy?: 'finished' | 'blocked';
  /** entries of the schedule after a failing step, which did not run (the run ended there) */
  unrun?: number;
}

/**
 * Run `schedule` on a fresh execution. A step that fails ends the run. With
 * `complete`, an execution still unfinished after the schedule is run to its
 * end without preemptions (the last actor continues while it can, otherwise
 * the lowest-numbered enabled actor runs).
 */
export function replay(p: Program, schedule: Schedule, opts: { complete?: boolean } = {}): ReplayResult {
  const exec = p.start();
  const out: number[] = [];
  const footprints: Footprint[] = [];
  const stepOnce = (a: number): string | undefined => {
    const r = exec.step(a);
    out.push(a);
    footprints.push(r.footprint);
    return r.failure;
  };
  for (let i = 0; i < schedule.length; i++) {
    const a = schedule[i];
    if (!exec.enabled().includes(a)) {
      const why = exec.blocked?.().includes(a) ? 'blocked' : 'finished';
      return { schedule: out, footprints, invalidAt: i, invalidWhy: why };
    }
    const f = stepOnce(a);
    if (f !== undefined) return { schedule: out, footprints, failure: f, ...(i + 1 < schedule.length && { unrun: schedule.length - i - 1 }) };
  }
  if (opts.complete) {
    for (;;) {
      const en = exec.enabled();
      if (en.length === 0) break;
      const last = out[out.length - 1];
      const a = last !== undefined && en.includes(last) ? last : Math.min(...en);
      const f = stepOnce(a);
      if (f !== undefined) return { schedule: out, footprints, failure: f };
    }
  } else if (exec.enabled().length > 0) {
    return { schedule: out, footprints };
  }
  const fin = exec.finish();
  const res: ReplayResult = { schedule: out, footprints, finalState: exec.finalState() };
  if (fin !== null) res.failure = fin;
  return res;
}
