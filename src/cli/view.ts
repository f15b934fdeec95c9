// `pinlab view FILE [--profile P] [--schedule S] -o OUT.html` (docs/viewer.md): one self-contained
// HTML page of a run. FILE is a scenario — run on each profile (a multi-actor file: explored, and the
// minimised failing schedule shown; with --schedule, that schedule replayed) — or a pinlab-trace/1
// file written by --trace.

import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { knownProfile, type Backend } from '../scenario/backend.js';
import type { Scenario } from '../scenario/ast.js';
import { ScenarioFileError, formatPos } from '../scenario/errors.js';
import { FileInputError, loadScenarioFile } from '../scenario/load.js';
import { printable, quoted } from '../scenario/printable.js';
import { runScenario } from '../scenario/run.js';
import { ScheduleError, exploreDpor, minimizeSchedule, parseSchedule, replay } from '../explore/index.js';
import { scenarioProgram } from '../explore/scenario.js';
import { errorRecord, runRecordOf, scheduleRecord } from '../report/records.js';
import { isTraceDoc, traceDoc, type RunRecord, type TraceDoc } from '../trace/format.js';
import { viewHtml } from '../view/html.js';
import { UsageError, checkWritable, shownPath } from './files.js';

export interface ViewIo {
  out(text: string): void;
  err(text: string): void;
  readonly cwd: string;
}

export interface ViewOptions {
  readonly output?: string;
  readonly profile?: string;
  readonly schedule?: string;
}

/** The runs to show for a scenario file. */
function runsOf(scn: Scenario, backend: Backend, profiles: readonly string[], schedule: string | undefined): RunRecord[] {
  const out: RunRecord[] = [];
  for (const profile of profiles) {
    try {
      if (scn.actors && schedule !== undefined) {
        const p = scenarioProgram(scn, backend, profile, { trace: true });
        let s: number[];
        try {
          s = parseSchedule(schedule, p.actors);
        } catch (e) {
          if (e instanceof ScheduleError) throw new UsageError(`pinlab: --schedule: ${e.message}`);
          throw e;
        }
        const r = replay(p, s, { complete: true });
        out.push(scheduleRecord('replay', scn, backend, profile, {
          schedule: r.schedule.map((a) => p.actors[a]), verdict: r.invalidAt !== undefined ? 'invalid' : r.failure ? 'fail' : 'pass',
          failure: r.invalidAt !== undefined ? `step ${r.invalidAt + 1} of --schedule cannot run` : r.failure ?? null,
          verdicts: p.lastVerdicts(), trace: p.lastTrace(),
        }));
        continue;
      }
      if (scn.actors) {
        // Explore; a failure is shown as its minimised schedule, replayed with the trace on.
        const p = scenarioProgram(scn, backend, profile);
        const r = exploreDpor(p);
        if (r.failure) {
          const m = minimizeSchedule(p, r.failure.schedule);
          const tp = scenarioProgram(scn, backend, profile, { trace: true });
          const rep = replay(tp, m.schedule);
          out.push(scheduleRecord('explore', scn, backend, profile, {
            schedule: m.schedule.map((a) => tp.actors[a]), verdict: 'fail', failure: rep.failure ?? r.failure.message,
            verdicts: tp.lastVerdicts(), trace: tp.lastTrace(), extra: { mode: 'dpor', schedulesRun: r.schedulesRun },
          }));
          continue;
        }
      }
      // A plain scenario, or every schedule passed: the sequential run.
      out.push(runRecordOf(runScenario(scn, backend, { profile, trace: true })[0], scn, backend, true));
    } catch (e) {
      if (!(e instanceof ScenarioFileError)) throw e;
      out.push(errorRecord('run', scn, profile, e.diagnostics.map((d) => `${formatPos(d.pos)}: ${d.message}`).join('\n')));
    }
  }
  return out;
}

export async function viewCommand(io: ViewIo, backend: Backend, file: string, o: ViewOptions): Promise<number> {
  if (o.output === undefined) throw new UsageError('pinlab: view needs -o OUT.html (where to write the page)');
  const out = resolve(io.cwd, o.output);
  if (resolve(io.cwd, file) === out) throw new UsageError(`pinlab: -o ${shownPath(o.output)} is the file to view: the page would overwrite it`);
  checkWritable(out, o.output, '-o');
  if (o.profile !== undefined && !knownProfile(backend, o.profile)) {
    throw new UsageError(`pinlab: unknown profile ${quoted(o.profile)} (profiles: ${backend.profiles.join(', ')})`);
  }
  let doc: TraceDoc;
  const sources: Record<string, string> = {};
  if (/\.json$/i.test(file)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(resolve(io.cwd, file), 'utf8'));
    } catch (e) {
      throw new UsageError(`pinlab: ${shownPath(file)}: not a JSON file (${printable((e as Error).message, 200)})`);
    }
    if (!isTraceDoc(parsed)) throw new UsageError(`pinlab: ${shownPath(file)}: not a pinlab-trace/1 document (write one with --trace OUT.json)`);
    if (o.schedule !== undefined) throw new UsageError('pinlab: --schedule applies to a scenario file, not a trace');
    const runs = parsed.runs.filter((r) => o.profile === undefined || r.profile === o.profile);
    doc = { ...parsed, runs };
    for (const r of runs) {
      if (sources[r.file] !== undefined) continue;
      try { sources[r.file] = readFileSync(resolve(io.cwd, r.file), 'utf8'); } catch { /* the page says the source is missing */ }
    }
  } else {
    let scn: Scenario;
    try {
      scn = loadScenarioFile(resolve(io.cwd, file), backend, file);
    } catch (e) {
      if (e instanceof ScenarioFileError) { io.err(`${e.message}\n`); return 2; }
      if (e instanceof FileInputError) throw new UsageError(`pinlab: ${e.message}`);
      throw e;
    }
    if (o.schedule !== undefined && !scn.actors) throw new UsageError(`${formatPos(scn.pos)}: --schedule needs a multi-actor scenario (setup: and actors:)`);
    const runs = runsOf(scn, backend, o.profile !== undefined ? [o.profile] : scn.profiles, o.schedule);
    doc = traceDoc(runs.some((r) => r.command === 'explore') ? 'explore' : o.schedule !== undefined ? 'replay' : 'run', runs);
    sources[scn.file] = readFileSync(resolve(io.cwd, file), 'utf8');
  }
  writeFileSync(out, viewHtml(doc, sources));
  const failing = doc.runs.filter((r) => r.verdict !== 'pass').length;
  io.out(`wrote ${shownPath(o.output)}: ${doc.runs.length} run${doc.runs.length === 1 ? '' : 's'}${failing ? `, ${failing} not passing` : ''}\n`);
  return 0;
}
