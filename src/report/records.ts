// Run records (src/trace/format.ts) from what `run`, `explore` and `replay` produce.

import type { Backend } from '../scenario/backend.js';
import type { Scenario } from '../scenario/ast.js';
import type { ScenarioResult, Verdict } from '../scenario/run.js';
import { eventRecords, failedChecks, traceMachine, type Command, type RunRecord, type RunVerdict } from '../trace/format.js';

/** The record of a `pinlab run` of one scenario on one profile; with `events`, its trace. */
export function runRecordOf(r: ScenarioResult, scn: Scenario, backend: Backend, events: boolean): RunRecord {
  const { trace, file, name, profile, ...rest } = r;
  const bad = r.verdicts.find((v) => !v.ok);
  return {
    command: 'run', file, name, profile, schedule: null, verdict: r.ok ? 'pass' : 'fail',
    failure: bad ? `${bad.description}${bad.message ? `: ${bad.message}` : ''}` : null,
    failedChecks: failedChecks(r.verdicts),
    ...rest, checks: r.verdicts.length,
    ...(events && { machine: traceMachine(trace), events: eventRecords(trace, scn, backend) }),
  };
}

/** A run that stopped on an error in the file found while running (no verdict). */
export function errorRecord(command: Command, scn: Scenario, profile: string, message: string): RunRecord {
  return { command, file: scn.file, name: scn.name, profile, schedule: null, verdict: 'error', failure: message, failedChecks: [] };
}

/** The record of one explored or replayed schedule; with `trace`, its events. */
export function scheduleRecord(command: Command, scn: Scenario, backend: Backend, profile: string, o: {
  schedule: readonly string[] | null; verdict: RunVerdict; failure: string | null; verdicts?: readonly Verdict[]; trace?: unknown;
  extra?: Record<string, unknown>;
}): RunRecord {
  return {
    command, file: scn.file, name: scn.name, profile, schedule: o.schedule, verdict: o.verdict, failure: o.failure,
    failedChecks: failedChecks(o.verdicts ?? []), ...o.extra,
    ...(o.trace !== undefined && { machine: traceMachine(o.trace), events: eventRecords(o.trace, scn, backend) }),
  };
}
