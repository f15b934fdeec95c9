// `npm run soundness -- [--runs N] [--seed S] [--commute] [--templates T]`: the long run of the DPOR
// soundness property on the real model. Case i is the random scenario of seed (S + i)
// (random-scenario.ts); each is explored by exhaustive search and by DPOR, which must agree
// (soundness.ts), and with --commute its adjacent independent steps must commute. A failing case
// is printed with its seed and its scenario file, which `pinlab explore FILE --mode dpor` and
// `--mode exhaustive` reproduce. Exit 1 if any case failed.

import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario } from '../scenario/load.js';
import { modelBackend } from '../scenario/model-backend.js';
import { ScenarioError } from '../scenario/backend.js';
import { ScenarioFileError } from '../scenario/errors.js';
import { randomScenario } from './random-scenario.js';
import { scenarioProgram } from './scenario.js';
import { commutationCheck, compareDporExhaustive } from './soundness.js';
import type { Program } from './program.js';

export interface SoundnessSummary {
  cases: number;
  /** cases skipped: too many schedules, or the scenario hit a usage error in some interleaving */
  skipped: number;
  schedulesExhaustive: number;
  schedulesDpor: number;
  traces: number;
  /** per failing case: its seed, the scenario text and the problems */
  failures: Array<{ seed: number; text: string; problems: string[] }>;
}

/** Longest first execution a case may have (steps); longer ones are skipped. */
const MAX_STEPS = 24;

function probeLength(p: Program): number {
  const x = p.start();
  let n = 0;
  for (let en = x.enabled(); en.length > 0 && n <= MAX_STEPS; en = x.enabled()) {
    n++;
    if (x.step(en[0]).failure !== undefined) break;
  }
  return n;
}

/** Run cases seed .. seed + runs - 1. */
export function soundnessRun(seed: number, runs: number,
  opts: { commute?: boolean; maxSchedules?: number; maxTemplates?: number; onCase?: (i: number) => void } = {}): SoundnessSummary {
  const backend = modelBackend();
  const sum: SoundnessSummary = { cases: 0, skipped: 0, schedulesExhaustive: 0, schedulesDpor: 0, traces: 0, failures: [] };
  for (let i = 0; i < runs; i++) {
    const s = (seed + i) >>> 0;
    const text = randomScenario(s, opts.maxTemplates === undefined ? {} : { maxTemplates: opts.maxTemplates });
    opts.onCase?.(i);
    sum.cases++;
    try {
      const scn = loadScenario(text, `random-${s}.yaml`, backend);
      const p = scenarioProgram(scn, backend, 'current');
      // A fork stopped at every PTE of a THP split into 512 has hundreds of steps: its space is
      // too large to search exhaustively here. Skip programs longer than MAX_STEPS.
      if (probeLength(p) > MAX_STEPS) { sum.skipped++; continue; }
      const c = compareDporExhaustive(p, { maxSchedules: opts.maxSchedules ?? 5000 });
      if (c.incomplete) { sum.skipped++; continue; }
      sum.schedulesExhaustive += c.exhaustive.schedulesRun;
      sum.schedulesDpor += c.dpor.schedulesRun;
      sum.traces += c.traces;
      const problems = [...c.problems];
      if (opts.commute && problems.length === 0) problems.push(...commutationCheck(p, { maxSchedules: 300 }));
      if (problems.length > 0) sum.failures.push({ seed: s, text, problems });
    } catch (e) {
      // A step that is a usage error in some interleaving (split_huge_page where nothing is mapped
      // any more): not a case the property speaks about.
      if (e instanceof ScenarioError || e instanceof ScenarioFileError) { sum.skipped++; continue; }
      throw new Error(`seed ${s}: ${(e as Error).message}\n${text}`, { cause: e });
    }
  }
  return sum;
}

function main(argv: string[]): number {
  let runs = 200;
  let seed = Date.now() % 1_000_000;
  let commute = false;
  let templates = 2;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') runs = Number(argv[++i]);
    else if (a === '--seed') seed = Number(argv[++i]);
    else if (a === '--commute') commute = true;
    else if (a === '--templates') templates = Number(argv[++i]);
    else {
      process.stderr.write('usage: npm run soundness -- [--runs N] [--seed S] [--commute] [--templates T (per actor, default 2)]\n');
      return 2;
    }
  }
  if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(seed) || seed < 0 || !Number.isSafeInteger(templates) || templates < 1) {
    process.stderr.write('soundness: --runs and --templates must be positive integers and --seed a non-negative integer\n');
    return 2;
  }
  process.stdout.write(`soundness: ${runs} random scenarios from seed ${seed}${commute ? ', with the commutation check' : ''}\n`);
  const t0 = performance.now();
  const sum = soundnessRun(seed, runs, { commute, maxTemplates: templates, onCase: (i) => { if (process.stderr.isTTY) process.stderr.write(`\r${i + 1}/${runs}`); } });
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
  for (const f of sum.failures) {
    const file = join(tmpdir(), `pinlab-soundness-${f.seed}.yaml`);
    writeFileSync(file, f.text);
    process.stdout.write(`FAIL seed ${f.seed} (written to ${file}):\n  ${f.problems.join('\n  ')}\n${f.text}\n`);
  }
  const compared = sum.cases - sum.skipped;
  process.stdout.write(`${sum.failures.length === 0 ? 'PASS' : 'FAIL'}: ${compared} compared, ${sum.skipped} skipped, ${sum.failures.length} failed; `
    + `exhaustive ${sum.schedulesExhaustive} schedules, ${sum.traces} traces, DPOR ${sum.schedulesDpor} schedules `
    + `(${(sum.schedulesDpor / Math.max(sum.traces, 1)).toFixed(3)} per trace), ${Math.round(performance.now() - t0)} ms; seed ${seed}\n`);
  return sum.failures.length === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) process.exitCode = main(process.argv.slice(2));
