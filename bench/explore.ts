// The explorer's benchmark: on every race scenario of the catalogue (scenarios/explore/) and each
// of its profiles, the schedules exhaustive search and DPOR run to cover the whole space (failing
// schedules included: `all`), the number of Mazurkiewicz traces (distinct dependence orders among
// the exhaustive schedules), DPOR's ratio to it, and schedules per second.

import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { exploreDpor } from '../src/explore/dpor.js';
import { exploreExhaustive } from '../src/explore/exhaustive.js';
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
  const ms = opts.ms ?? 250;
  const rounds = opts.rounds ?? 5;
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

export function printExploreRows(rows: readonly ExploreRow[]): void {
  const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  console.log('\nexplorer: every schedule of each race scenario (failing ones too), schedules/s best of 5 rounds, one thread');
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
