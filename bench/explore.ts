// The explorer's benchmark: on every race scenario of the catalogue (scenarios/explore/) and each
// of its profiles, the schedules exhaustive search and DPOR run to cover the whole space (failing
// schedules included: `all`), the number of Mazurkiewicz traces (distinct dependence orders among
// the exhaustive schedules), DPOR's ratio to it, and schedules per second.

import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { exploreDpor } from '../src/explore/dpor.js';
import { exploreExhaustive } from '../src/explore/exhaustive.js';
import { exploreParallel } from '../src/explore/parallel.js';
import { explorePct } from '../src/explore/pct.js';
import { scenarioProgram } from '../src/explore/scenario.js';
import { traceKey } from '../src/explore/trace.js';
import type { Program } from '../src/explore/program.js';
import { loadScenarioFile } from '../src/scenario/load.js';
import { modelBackend } from '../src/scenario/model-backend.js';

const DIR = fileURLToPath(new URL('../../scenarios/explore/', import.meta.url));
const CAP = 50_000;

export interface ExploreRow {
  file: string;
  profile: string;
  actors: number;
  exhaustive: number;
  traces: number;
  dpor: number;
  /** dpor / traces: 1.00 is optimal */
  dporPerTrace: number;
  /** dpor / exhaustive */
  reduction: number;
  /** exhaustive search, whole runs, best of the rounds */
  exhaustivePerSec: number;
  dporPerSec: number;
}

/** Schedules per second of `search` on `p`: repeated for about `ms` per round, best of `rounds`. */
function rate(search: () => number, ms: number, rounds: number): number {
  search(); // warm-up (JIT)
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < ms) {
      n += search();
      t = performance.now();
    }
    best = Math.max(best, (n * 1000) / (t - t0));
  }
  return best;
}

export function exploreBench(opts: { ms?: number; rounds?: number } = {}): ExploreRow[] {
  // Many short rounds, best kept: this shared 2-vCPU machine is noisy (±40% between runs).
  const ms = opts.ms ?? 120;
  const rounds = opts.rounds ?? 15;
  const backend = modelBackend();
  const rows: ExploreRow[] = [];
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort()) {
    const scn = loadScenarioFile(`${DIR}${file}`, backend, file);
    for (const profile of scn.profiles) {
      const p: Program = scenarioProgram(scn, backend, profile);
      const traces = new Set<string>();
      const ex = exploreExhaustive(p, { all: true, maxSchedules: CAP, onSchedule: (s, f) => traces.add(traceKey(s, f)) });
      const dp = exploreDpor(p, { all: true, maxSchedules: CAP });
      const complete = ex.verdict !== 'incomplete';
      rows.push({
        file, profile, actors: p.actors.length, exhaustive: ex.schedulesRun, traces: complete ? traces.size : NaN, dpor: dp.schedulesRun,
        dporPerTrace: complete ? dp.schedulesRun / traces.size : NaN, reduction: dp.schedulesRun / ex.schedulesRun,
        exhaustivePerSec: rate(() => exploreExhaustive(p, { all: true, maxSchedules: CAP }).schedulesRun, ms, rounds),
        dporPerSec: rate(() => exploreDpor(p, { all: true, maxSchedules: CAP }).schedulesRun, ms, rounds),
      });
    }
  }
  return rows;
}

export interface ParallelRow { file: string; profile: string; runs: number; oneThreadMs: number; jobs: number; workersMs: number }

/**
 * --jobs: the same PCT search (identical schedules whatever the number of workers) in this thread
 * and over worker threads, worker start-up included.
 */
export async function parallelBench(jobs = 2, runs = 100_000): Promise<ParallelRow> {
  const file = 'ext4-writeback-race.yaml';
  const backend = modelBackend();
  const scn = loadScenarioFile(`${DIR}${file}`, backend, file);
  const p = scenarioProgram(scn, backend, 'current');
  explorePct(p, { seed: 1, runs: 200 }); // warm-up (JIT)
  let t = performance.now();
  const one = explorePct(p, { seed: 1, runs });
  const oneThreadMs = performance.now() - t;
  t = performance.now();
  const par = await exploreParallel({ file: `${DIR}${file}`, profile: 'current' }, p, { jobs, mode: 'pct', opts: {}, pct: { seed: 1, runs } });
  const workersMs = performance.now() - t;
  if (par.schedulesRun !== one.schedulesRun || par.distinctEndStates !== one.distinctEndStates) throw new Error('parallel PCT differs from one thread');
  return { file, profile: 'current', runs, oneThreadMs, jobs, workersMs };
}

export function printParallelRow(r: ParallelRow): void {
  console.log(`--jobs ${r.jobs}: PCT, ${r.runs} runs of ${r.file} [${r.profile}]: one thread ${r.oneThreadMs.toFixed(0)} ms, `
    + `${r.jobs} workers ${r.workersMs.toFixed(0)} ms (start-up included): ${(r.oneThreadMs / r.workersMs).toFixed(2)}x`);
  console.log('  (each worker starts a fresh V8 isolate with a cold JIT: for searches of a few thousand schedules one thread is faster)');
}

export function printExploreRows(rows: readonly ExploreRow[]): void {
  const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  console.log('\nexplorer: every schedule of each race scenario (failing ones too), schedules/s best of 15 rounds, one thread');
  console.log('scenario [profile]                                  actors  exhaustive  traces   dpor  dpor/traces  dpor/exh  exh sched/s  dpor sched/s');
  for (const r of rows) {
    console.log(`${`${r.file.replace(/\.yaml$/, '')} [${r.profile}]`.padEnd(50)} ${String(r.actors).padStart(6)} ${f(r.exhaustive).padStart(11)} `
      + `${f(r.traces).padStart(7)} ${f(r.dpor).padStart(6)} ${f(r.dporPerTrace, 2).padStart(12)} ${f(r.reduction, 2).padStart(9)} `
      + `${f(r.exhaustivePerSec).padStart(12)} ${f(r.dporPerSec).padStart(13)}`);
  }
  const two = rows.filter((r) => r.actors === 2);
  if (two.length) {
    const min = Math.min(...two.map((r) => r.exhaustivePerSec));
    console.log(`two-actor scenarios: at least ${f(min)} schedules/s (exhaustive, one thread); the issue's aim is 20000.`);
  }
  const counted = rows.filter((r) => Number.isFinite(r.dporPerTrace));
  if (counted.length) console.log(`DPOR schedules per Mazurkiewicz trace: at most ${f(Math.max(...counted.map((r) => r.dporPerTrace)), 2)} (aim: 1.2).`);
}
