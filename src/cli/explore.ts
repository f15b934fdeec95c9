// `pinlab explore FILE` and `pinlab replay FILE --schedule S` (docs/explorer.md).
//
// explore: for each profile, search the interleavings of the scenario's actors; on a failure,
// minimise the schedule to the fewest context switches and print it (replayable) with its message.
// A file's `explore: fails:` says which profiles must fail (the old kernel) and which must pass: the
// exit status is 0 when every profile went as the file expects, 1 otherwise.

import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { knownProfile, type Backend } from '../scenario/backend.js';
import type { Scenario } from '../scenario/ast.js';
import { ScenarioFileError, formatPos } from '../scenario/errors.js';
import { MAX_SCENARIO_NAME } from '../scenario/limits.js';
import { FileInputError, loadScenarioFile } from '../scenario/load.js';
import { boundStrings, jsonText, printable, quoted } from '../scenario/printable.js';
import { didYouMean } from '../scenario/suggest.js';
import { UsageError, checkWritable, writeJsonFile } from './files.js';
import {
  ScheduleError, exploreDpor, exploreExhaustive, explorePct, formatSchedule, minimizeSchedule, parseSchedule, replay,
  type ExploreResult,
} from '../explore/index.js';
import { exploreParallel } from '../explore/parallel.js';
import { scenarioProgram } from '../explore/scenario.js';
import { ktapReport } from '../report/ktap.js';
import { scheduleRecord } from '../report/records.js';
import { traceOutput, type TraceFormat } from '../trace/chrome.js';
import { eventRecords, failedChecks, traceDoc, withoutEvents, type RunRecord } from '../trace/format.js';
import { counterexampleOf, formatCounterexample, type Counterexample } from '../report/counterexample.js';

export interface ExploreIo {
  out(text: string): void;
  err(text: string): void;
  readonly isTTY: boolean;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface ExploreCliOptions {
  readonly json: boolean;
  readonly profile?: string;
  readonly trace?: string;
  readonly mode?: string;
  readonly preemptionBound?: string;
  readonly seed?: string;
  readonly runs?: string;
  readonly depth?: string;
  readonly jobs?: string;
  readonly schedule?: string;
  readonly traceFormat?: TraceFormat;
  readonly ktap?: boolean;
}

/** A usage or file error: exit status 2 with this message. */
export class ExploreUsageError extends Error {}

function intOption(name: string, text: string | undefined, min = 0): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw new ExploreUsageError(`pinlab: --${name} must be ${min > 0 ? `an integer >= ${min}` : 'a non-negative integer'}, found ${quoted(text)}`);
  }
  return Number(text);
}

/** A one-line progress display on a terminal's stderr, redrawn at most every 100 ms. */
class Progress {
  private last = 0;
  private shown = false;
  constructor(private readonly io: ExploreIo, private readonly label: string) {}
  update(schedules: number, extra = ''): void {
    if (!this.io.isTTY) return;
    const now = performance.now();
    if (now - this.last < 100) return;
    this.last = now;
    this.shown = true;
    this.io.err(`\r\x1b[2K${this.label}: ${schedules} schedules${extra}`);
  }
  clear(): void {
    if (this.shown) this.io.err('\r\x1b[2K');
    this.shown = false;
  }
}

export async function exploreCommand(cmd: 'explore' | 'replay', io: ExploreIo, backend: Backend, file: string, o: ExploreCliOptions): Promise<number> {
  const mode = o.mode ?? 'dpor';
  if (!['dpor', 'exhaustive', 'pct'].includes(mode)) throw new ExploreUsageError(`pinlab: --mode must be dpor, exhaustive or pct, found ${quoted(mode)}`);
  if (cmd === 'replay' && o.schedule === undefined) throw new ExploreUsageError('pinlab: replay needs --schedule S');
  if (cmd === 'explore' && o.schedule !== undefined) throw new ExploreUsageError('pinlab: --schedule applies to replay only');
  if (cmd === 'replay') {
    for (const [k, v] of [['jobs', o.jobs], ['depth', o.depth], ['runs', o.runs], ['seed', o.seed], ['preemption-bound', o.preemptionBound]] as const) {
      if (v !== undefined) throw new ExploreUsageError(`pinlab: --${k} applies to explore only`);
    }
  }
  if (o.profile !== undefined && !knownProfile(backend, o.profile)) {
    const why = backend.profileProblem?.(o.profile);
    if (why) throw new ExploreUsageError(`pinlab: no profile for ${quoted(o.profile)}: ${why}`);
    throw new ExploreUsageError(`pinlab: unknown profile ${quoted(o.profile)}${didYouMean(o.profile, backend.profiles)} (profiles: ${backend.profiles.join(', ')}`
      + `${backend.acceptsProfile ? ', or a kernel version such as 6.12 or 6.1.176' : ''})`);
  }
  const boundOpt = intOption('preemption-bound', o.preemptionBound);
  const seed = intOption('seed', o.seed) ?? 1;
  const runs = intOption('runs', o.runs);
  const depth = intOption('depth', o.depth, 1);
  const jobs = intOption('jobs', o.jobs, 1) ?? 1;
  // Each worker is a V8 isolate of about 20 MB: --jobs 1000 would exhaust memory, not go faster.
  const maxJobs = 2 * availableParallelism();
  if (jobs > maxJobs) throw new ExploreUsageError(`pinlab: --jobs must be at most ${maxJobs} (twice the ${maxJobs / 2} CPUs here), found ${jobs}`);
  if (depth !== undefined && mode !== 'pct') throw new ExploreUsageError('pinlab: --depth applies to --mode pct only');
  if (o.seed !== undefined && mode !== 'pct') throw new ExploreUsageError('pinlab: --seed applies to --mode pct only');
  if (jobs > 1 && runs !== undefined && mode !== 'pct') {
    throw new ExploreUsageError('pinlab: --runs with --jobs applies to --mode pct only (a schedule cap would depend on which worker ran first)');
  }
  if (jobs > 1 && io.env.PINLAB_BACKEND) throw new ExploreUsageError('pinlab: --jobs needs the model backend (PINLAB_BACKEND is set)');
  const path = resolve(io.cwd, file);
  let scn: Scenario;
  try {
    scn = loadScenarioFile(path, backend, file);
  } catch (e) {
    if (e instanceof ScenarioFileError) throw new ExploreUsageError(e.message);
    if (e instanceof FileInputError) throw new ExploreUsageError(`pinlab: ${e.message}`);
    throw e;
  }
  if (!scn.actors) throw new ExploreUsageError(`${formatPos(scn.pos)}: not a multi-actor scenario (${cmd} needs setup: and actors:; see docs/explorer.md)`);
  // Find out now, not after the search, that the trace cannot be written.
  const tracePath = o.trace !== undefined ? resolve(io.cwd, o.trace) : undefined;
  if (tracePath !== undefined) wrapUsage(() => checkWritable(tracePath, o.trace!, '--trace'));
  const name = printable(scn.name, MAX_SCENARIO_NAME);
  const preemptionBound = cmd === 'explore' ? boundOpt ?? scn.explore?.preemptionBound : undefined;

  let failed = false;
  /** A replay schedule that cannot run on some profile: a usage error (exit 2). */
  let invalid = false;
  const records: RunRecord[] = [];
  const quiet = o.json || o.ktap === true;
  const wantTrace = o.trace !== undefined;
  for (const profile of o.profile !== undefined ? [o.profile] : scn.profiles) {
    try {
      if (cmd === 'replay') {
        // Traced always: the counterexample is read from the run's events.
        const p = scenarioProgram(scn, backend, profile, { trace: true });
        let schedule: number[];
        try {
          schedule = parseSchedule(o.schedule!, p.actors);
        } catch (e) {
          if (e instanceof ScheduleError) throw new ExploreUsageError(`pinlab: --schedule: ${e.message}`);
          throw e;
        }
        const r = replay(p, schedule, { complete: true });
        if (r.invalidAt !== undefined) {
          // The schedule names an actor that cannot run at that point: the run stopped there, with
          // no finally: and no leak check, so it is neither a pass nor a failure of the scenario.
          invalid = true;
          const actor = p.actors[schedule[r.invalidAt]] ?? String(schedule[r.invalidAt]);
          const because = r.invalidWhy === 'blocked'
            ? 'it is blocked then (it waits for another actor, or for a lock a paused operation holds)'
            : 'it has finished: it has no step left';
          const why = `entry ${r.invalidAt + 1} of --schedule (${quoted(actor)}) cannot run: ${because}; `
            + `the schedule ran as far as: ${formatSchedule(r.schedule, p.actors) || '(nothing)'}`;
          records.push(scheduleRecord('replay', scn, backend, profile, {
            schedule: r.schedule.map((a) => p.actors[a]), verdict: 'invalid', failure: why, ...(wantTrace && { trace: p.lastTrace() }),
          }));
          if (!quiet) io.out(`ERROR ${name} [${profile}] schedule not feasible\n`);
          io.err(`pinlab: ${printable(why, 600)}\n`);
          continue;
        }
        const failure = r.failure ?? null;
        failed ||= failure !== null;
        const ran = formatSchedule(r.schedule, p.actors);
        const cex = failure === null ? null : counterexampleFor(scn, backend, p.lastTrace(), failure, p.lastVerdicts());
        records.push(scheduleRecord('replay', scn, backend, profile, {
          schedule: r.schedule.map((a) => p.actors[a]), verdict: failure === null ? 'pass' : 'fail', failure,
          verdicts: p.lastVerdicts(), ...(wantTrace && { trace: p.lastTrace() }), ...(cex && { extra: { counterexample: cex } }),
        }));
        if (!quiet) io.out(`${failure === null ? 'PASS' : 'FAIL'} ${name} [${profile}] schedule ${ran}\n${cex ? printableLines(formatCounterexample(cex, '  ')) : ''}`);
        if (r.unrun !== undefined) {
          const next = r.schedule.length;
          io.err(`pinlab: entry ${next + 1} of --schedule (${quoted(p.actors[schedule[next]] ?? String(schedule[next]))}) did not run: the run ended at the failure of entry ${next}`
            + `${r.unrun > 1 ? ` (${r.unrun} entries from there on did not run)` : ''}\n`);
        }
        continue;
      }
      const p = scenarioProgram(scn, backend, profile);
      const progress = new Progress(io, `explore ${name} [${profile}] ${mode}`);
      let seen = 0;
      const onSchedule = () => progress.update(++seen);
      const bound = preemptionBound !== undefined && mode !== 'pct' ? { preemptionBound } : {};
      let r: ExploreResult;
      let workers = 0;
      if (jobs > 1) {
        ({ workers, ...r } = await exploreParallel({ file: path, profile }, p, {
          jobs, mode: mode as 'dpor' | 'exhaustive' | 'pct', opts: bound,
          ...(mode === 'pct' && { pct: { seed, runs: runs ?? 100, ...(depth !== undefined && { depth }) } }),
          onProgress: (n, done, total) => progress.update(n, `, ${done}/${total} subtrees, ${jobs} workers`),
        }));
      } else {
        const opts = { ...bound, ...(runs !== undefined && mode !== 'pct' && { maxSchedules: runs }), onSchedule };
        r = mode === 'dpor' ? exploreDpor(p, opts) : mode === 'exhaustive' ? exploreExhaustive(p, opts)
          : explorePct(p, { seed, onSchedule, ...(runs !== undefined && { runs }), ...(depth !== undefined && { depth }) });
      }
      progress.clear();
      let minimal: { schedule: string; message: string } | null = null;
      let shown: { schedule: string[]; trace?: unknown; verdicts: ReturnType<typeof p.lastVerdicts> } | null = null;
      let cex: Counterexample | null = null;
      if (r.failure) {
        const m = minimizeSchedule(p, r.failure.schedule);
        // The minimised schedule is replayed with a trace: the counterexample is read from its events.
        const tp = scenarioProgram(scn, backend, profile, { trace: true });
        const rep = replay(tp, m.schedule);
        minimal = { schedule: formatSchedule(m.schedule, p.actors), message: rep.failure ?? r.failure.message };
        shown = { schedule: m.schedule.map((a) => p.actors[a]), verdicts: tp.lastVerdicts(), ...(wantTrace && { trace: tp.lastTrace() }) };
        cex = counterexampleFor(scn, backend, tp.lastTrace(), minimal.message, tp.lastVerdicts());
      }
      // How much of the space the verdict speaks for: every schedule, those within the bound, or a sample.
      const coverage = mode === 'pct' ? 'sampled' : preemptionBound !== undefined ? 'bounded' : 'complete';
      // What the file expects: a failure containing the text on the profiles explore: fails: lists, a pass elsewhere.
      const want = scn.explore?.fails.get(profile);
      const asExpected = want !== undefined
        ? r.verdict === 'fail' && minimal !== null && (minimal.message.includes(want.text) || r.failure!.message.includes(want.text))
        : r.verdict === 'pass';
      failed ||= !asExpected;
      records.push(scheduleRecord('explore', scn, backend, profile, {
        schedule: shown?.schedule ?? null, verdict: r.verdict === 'fail' ? 'fail' : r.verdict === 'pass' ? 'pass' : 'incomplete',
        failure: minimal?.message ?? null, verdicts: shown?.verdicts ?? [], ...(shown?.trace !== undefined && { trace: shown.trace }),
        extra: {
          mode, coverage, ...(coverage === 'bounded' && { preemptionBound }), expected: want !== undefined ? 'fail' : 'pass', asExpected,
          ...(r.traces !== undefined && { interleavings: r.traces.size }),
          schedulesRun: r.schedulesRun, schedulesPruned: r.schedulesPruned, distinctEndStates: r.distinctEndStates,
          elapsedMs: Math.round(r.elapsedMs), ...(jobs > 1 && { jobs }), ...(cex && { counterexample: cex }),
        },
      }));
      if (!quiet) {
        const verdict = r.verdict === 'pass' ? 'PASS' : r.verdict === 'fail' ? 'FAIL' : 'INCOMPLETE';
        const how = coverage === 'bounded' ? ` (bounded: schedules with at most ${preemptionBound} preemptions)`
          : coverage === 'sampled' ? ' (sampled)' : '';
        const traced = r.traces !== undefined ? `, ${r.traces.size} distinct interleavings` : '';
        const note = want !== undefined
          ? (asExpected ? ' (expected: the file says it fails here)' : ` (UNEXPECTED: the file expects a failure containing ${quoted(want.text)})`)
          : (asExpected ? '' : ' (UNEXPECTED: the file expects every schedule to pass here)');
        io.out(`${verdict} ${name} [${profile}] ${mode}${how}: ${r.schedulesRun} schedules run${traced}, ${r.schedulesPruned} pruned, `
          + `${r.distinctEndStates} distinct end states, ${Math.round(r.elapsedMs)} ms${jobs > 1 ? (workers > 0 ? ` (${workers} workers)` : ' (one thread: the search ended before workers were worth starting)') : ''}${note}\n`);
        if (minimal) io.out(`  schedule: ${minimal.schedule}\n${cex ? printableLines(formatCounterexample(cex, '    ')) : `  ${printable(minimal.message, 600)}\n`}`);
      }
    } catch (e) {
      if (e instanceof ScenarioFileError) throw new ExploreUsageError(e.message);
      throw e;
    }
  }
  // explore: a run goes well when it goes as the file's explore: says; replay: when it passes.
  const good = (x: RunRecord) => (cmd === 'explore' ? x.asExpected === true : x.verdict === 'pass');
  const counts = { passed: records.filter(good).length, failed: records.filter((x) => !good(x)).length };
  if (o.json) io.out(`${jsonText(boundStrings(traceDoc(cmd, records.map(withoutEvents), [], counts)))}\n`);
  else if (o.ktap) io.out(ktapReport([{ name: scn.name, runs: records, errors: [] }]));
  if (tracePath !== undefined) {
    // explore: the trace of each failing schedule found (a passing profile has no single schedule to show).
    const traced = records.filter((x) => x.events !== undefined);
    if (traced.length === 0) io.err('pinlab: no failing schedule, so no trace was written\n');
    else wrapUsage(() => writeJsonFile(tracePath, o.trace!, '--trace', traceOutput(traceDoc(cmd, traced, [], counts), o.traceFormat ?? 'pinlab')));
  }
  return invalid ? 2 : failed ? 1 : 0;
}

/** Text made printable line by line (printable() escapes a newline). */
function printableLines(text: string): string {
  return text.split('\n').map((l) => printable(l, 600)).join('\n');
}

/** The counterexample of a traced run that failed (src/report/counterexample.ts). */
function counterexampleFor(scn: Scenario, backend: Backend, trace: unknown, failure: string,
  verdicts: Parameters<typeof failedChecks>[0]): Counterexample {
  return counterexampleOf(scn, eventRecords(trace, scn, backend), failure, failedChecks(verdicts));
}

function wrapUsage(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof UsageError) throw new ExploreUsageError(e.message);
    throw e;
  }
}
