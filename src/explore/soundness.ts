// Checks that DPOR's reduction is sound on a program: it must reach every end state, failure and
// Mazurkiewicz trace that unreduced exhaustive search reaches (with no more schedules), and the
// assumption it rests on — steps whose footprints do not conflict commute — must hold for every
// adjacent pair of steps in the schedules exhaustive search runs. A footprint that forgets a read
// or a write breaks one of the two; these checks are how it shows (test/explore/, npm run soundness).

import { exploreDpor } from './dpor.js';
import { exploreExhaustive } from './exhaustive.js';
import { dependent, type ExploreResult, type Footprint, type Program } from './program.js';
import { formatSchedule } from './schedule.js';
import { traceKey } from './trace.js';

export interface Comparison {
  /** exhaustive search hit maxSchedules: nothing was compared */
  incomplete: boolean;
  exhaustive: ExploreResult;
  dpor: ExploreResult;
  /**
   * Mazurkiewicz traces of the complete executions exhaustive search ran. (A failing execution
   * ends at its failure; its prefix is no trace of the program, so failures are compared by message.)
   */
  traces: number;
  /** problems found, each a sentence naming a schedule that shows it; empty if DPOR was sound here */
  problems: string[];
}

export interface CompareOptions {
  /** cap on exhaustive schedules (default 20000): beyond it the comparison is skipped (incomplete) */
  maxSchedules?: number;
  /** cap on the steps exhaustive search runs in all (default 300000): beyond it, incomplete */
  maxSteps?: number;
}

class Budget extends Error {}

/**
 * Run exhaustive search and DPOR with `all` and compare: the same end states, the same failure
 * messages, every trace of a complete execution exhaustive search ran also run by DPOR, and no
 * more schedules.
 */
export function compareDporExhaustive(p: Program, opts: CompareOptions = {}): Comparison {
  const exTraces = new Map<string, readonly number[]>();
  const exFailures = new Map<string, readonly number[]>();
  let steps = 0;
  const maxSteps = opts.maxSteps ?? 300_000;
  let exhaustive: ExploreResult;
  try {
    exhaustive = exploreExhaustive(p, {
    all: true, maxSchedules: opts.maxSchedules ?? 20_000,
    onSchedule: (s, fps, fail) => {
      if ((steps += s.length) > maxSteps) throw new Budget();
      if (fail === undefined) {
        const k = traceKey(s, fps);
        if (!exTraces.has(k)) exTraces.set(k, [...s]);
      } else if (!exFailures.has(fail)) exFailures.set(fail, [...s]);
    },
    });
  } catch (e) {
    if (!(e instanceof Budget)) throw e;
    const none = { verdict: 'incomplete', schedulesRun: 0, schedulesPruned: 0, distinctEndStates: 0, endStates: new Set<string>(), failures: 0, elapsedMs: 0 } as const;
    return { incomplete: true, exhaustive: none, dpor: none, traces: 0, problems: [] };
  }
  const dpTraces = new Set<string>();
  const dpFailures = new Set<string>();
  const dpor = exploreDpor(p, {
    all: true,
    onSchedule: (s, fps, fail) => {
      if (fail === undefined) dpTraces.add(traceKey(s, fps));
      else dpFailures.add(fail);
    },
  });
  const problems: string[] = [];
  if (exhaustive.verdict === 'incomplete') return { incomplete: true, exhaustive, dpor, traces: exTraces.size, problems };
  const show = (s: readonly number[]) => formatSchedule(s, p.actors);
  for (const [k, s] of exTraces) if (!dpTraces.has(k)) problems.push(`DPOR never ran the trace of ${show(s)}`);
  for (const [m, s] of exFailures) if (!dpFailures.has(m)) problems.push(`DPOR never found the failure of ${show(s)}: ${m}`);
  for (const m of dpFailures) if (!exFailures.has(m)) problems.push(`DPOR found a failure exhaustive search did not: ${m}`);
  const missing = [...exhaustive.endStates].filter((e) => !dpor.endStates.has(e)).length;
  const extra = [...dpor.endStates].filter((e) => !exhaustive.endStates.has(e)).length;
  if (missing > 0 || extra > 0) problems.push(`end states: DPOR misses ${missing} and adds ${extra} of exhaustive search's ${exhaustive.endStates.size}`);
  if (dpor.schedulesRun > exhaustive.schedulesRun) problems.push(`DPOR ran ${dpor.schedulesRun} schedules, exhaustive search ${exhaustive.schedulesRun}`);
  return { incomplete: false, exhaustive, dpor, traces: exTraces.size, problems };
}

function sameIds(x: Footprint, y: Footprint): boolean {
  if (x.reads.size !== y.reads.size || x.writes.size !== y.writes.size) return false;
  for (const r of x.reads) if (!y.reads.has(r)) return false;
  for (const w of x.writes) if (!y.writes.has(w)) return false;
  return true;
}

/**
 * The adjacent-swap commutation check: in each schedule exhaustive search runs (up to
 * `maxSchedules`), every two adjacent steps of different actors whose footprints do not conflict
 * are swapped; the swapped schedule must end in the same state (or fail the same way) and the two
 * steps must report the same footprints. Returns the first few violations found.
 */
export function commutationCheck(p: Program, opts: { maxSchedules?: number; maxProblems?: number } = {}): string[] {
  const run = (s: readonly number[]) => {
    const x = p.start();
    const fps: Footprint[] = [];
    for (const a of s) {
      if (!x.enabled().includes(a)) return null;
      const r = x.step(a);
      fps.push(r.footprint);
      if (r.failure !== undefined) return { fps, end: `fail ${r.failure}` };
    }
    const fin = x.finish();
    return { fps, end: `${x.finalState()}|${fin}` };
  };
  const schedules: Array<{ s: number[]; fps: Footprint[] }> = [];
  exploreExhaustive(p, { all: true, maxSchedules: opts.maxSchedules ?? 500, onSchedule: (s, fps) => schedules.push({ s: [...s], fps: [...fps] }) });
  const problems: string[] = [];
  const max = opts.maxProblems ?? 3;
  const tried = new Set<string>();
  for (const { s, fps } of schedules) {
    const base = run(s);
    if (!base) { problems.push(`${formatSchedule(s, p.actors)} does not replay (nondeterminism)`); return problems; }
    for (let i = 0; i + 1 < s.length; i++) {
      if (s[i] === s[i + 1] || dependent(s[i], fps[i], s[i + 1], fps[i + 1])) continue;
      const t = [...s];
      [t[i], t[i + 1]] = [t[i + 1], t[i]];
      const key = t.join('.');
      if (tried.has(key)) continue;
      tried.add(key);
      const swapped = run(t);
      if (!swapped) continue; // the second step was not enabled first (an enabling edge)
      const where = `swapping steps ${i + 1} and ${i + 2} of ${formatSchedule(s, p.actors)}`;
      if (swapped.end !== base.end) problems.push(`${where}: the end state differs (a footprint misses something)`);
      // (if the moved-up step fails, the run ends there: compare what ran)
      else if (!sameIds(swapped.fps[i], fps[i + 1]) || (swapped.fps.length > i + 1 && !sameIds(swapped.fps[i + 1], fps[i]))) {
        problems.push(`${where}: a step's footprint differs`);
      }
      if (problems.length >= max) return problems;
    }
  }
  return problems;
}
