// `pinlab bisect FILE [--bad V] [--good V] [--json]` (docs/bisect.md): on which version of the switch
// timeline a failing scenario starts to pass, and which change of the switch history (commit,
// subject) makes the last failing version pass. The engine is src/explore/bisect.ts.
//
// Exit status: 0 the first passing version was found and one change (or a smallest set of them)
// makes the last failing version pass; 1 no such answer (the file passes on BAD or fails on GOOD,
// its outcome flips more than once along the timeline, or no change between the two versions
// makes the failing one pass); 2 a usage or file error.

import { resolve } from 'node:path';
import type { Backend } from '../scenario/backend.js';
import type { Scenario } from '../scenario/ast.js';
import { ScenarioFileError } from '../scenario/errors.js';
import { MAX_SCENARIO_NAME } from '../scenario/limits.js';
import { FileInputError, loadScenarioFile } from '../scenario/load.js';
import { boundStrings, jsonText, printable, quoted } from '../scenario/printable.js';
import type { SwitchChange } from '../profile.js';
import {
  BisectUsageError, bisect, changeLabel, setLabel, type BisectResult, type Candidate, type Run, type TimelinePoint,
} from '../explore/bisect.js';

export interface BisectIo {
  out(text: string): void;
  err(text: string): void;
  readonly isTTY: boolean;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface BisectCliOptions {
  readonly json: boolean;
  readonly bad?: string;
  readonly good?: string;
}

export { BisectUsageError };

const changeJson = (c: SwitchChange) => ({
  commit: c.commit, subject: c.subject, mainline: c.mainline, where: c.where, set: c.set,
});

const runJson = (r: Run) => ({
  profile: r.profile, variant: r.variant, outcome: r.outcome, ...(r.message !== undefined && { message: r.message }),
  ...(r.schedule !== undefined && { schedule: r.schedule }), schedulesRun: r.schedulesRun, elapsedMs: Math.round(r.elapsedMs),
});

const candidateJson = (c: Candidate) => ({ changes: c.changes.map(changeJson), revert: c.revert, set: c.set, ...runJson(c.run) });

/** The result as JSON (`pinlab-bisect/1`). */
export function bisectJson(r: BisectResult): unknown {
  return {
    format: 'pinlab-bisect/1', file: r.file, name: r.name, mode: r.mode, bad: r.bad, good: r.good, status: r.status,
    ...(r.firstPassing !== undefined && { firstPassing: r.firstPassing, lastFailing: r.lastFailing }),
    culprits: r.culprits.map(candidateJson),
    timeline: r.timeline.map((t) => ({ version: t.version, ...runJson(t), ...(t.expected && { expected: t.expected }) })),
    transitions: r.transitions,
    singles: r.singles.map(candidateJson),
    ...(r.minimalSet && { minimalSet: candidateJson(r.minimalSet) }),
    elapsedMs: Math.round(r.elapsedMs),
  };
}

function outcomeWord(o: Run['outcome']): string {
  return o === 'pass' ? 'PASS' : o === 'fail' ? 'FAIL' : 'SKIP';
}

function pointLine(t: TimelinePoint, width: number, mode: BisectResult['mode']): string {
  const as = t.variant !== t.version ? ` (as written for ${t.variant})` : '';
  const what = t.outcome === 'pass' ? (mode === 'run' ? 'every expectation holds' : `${t.schedulesRun} schedule${t.schedulesRun === 1 ? '' : 's'}`)
    : t.outcome === 'fail' ? `${printable(t.message ?? '', 300)}${t.schedule ? ` [schedule ${t.schedule}]` : ''}`
      : `does not run here: ${printable(t.message ?? '', 300)}`;
  const note = t.expected && !t.expected.asExpected
    ? ` (UNEXPECTED: the file's explore: says it ${t.expected.outcome === 'fail' ? `fails here with ${quoted(t.expected.text ?? '')}` : 'passes here'})` : '';
  return `  ${t.version.padEnd(width)}  ${outcomeWord(t.outcome)}  ${what}${as}${note}\n`;
}

function candidateLine(c: Candidate): string {
  const what = c.changes.length ? `${c.revert ? 'undoing ' : ''}${c.changes.map(changeLabel).join(' + ')}` : 'no history record (a setting of the profile itself)';
  return `  ${outcomeWord(c.run.outcome)}  ${printable(what, 600)}: ${setLabel(c.set)}\n`;
}

/** The text report. */
export function bisectText(r: BisectResult): string {
  const name = printable(r.name, MAX_SCENARIO_NAME);
  const out: string[] = [`bisect ${name}: bad ${r.bad}, good ${r.good} (${r.mode === 'run' ? 'the steps in order' : r.mode} on each version)\n`];
  const width = Math.max(0, ...r.timeline.map((t) => t.version.length));
  for (const t of r.timeline) out.push(pointLine(t, width, r.mode));
  const failures = [...new Set(r.timeline.filter((t) => t.outcome === 'fail').map((t) => t.message))];
  if (failures.length > 1) out.push(`note: the failure changes along the timeline (${failures.length} different failures)\n`);
  switch (r.status) {
    case 'passes-at-bad':
      out.push(r.bad === '-'
        ? `nothing to bisect: every profile the file lists passes (${r.timeline.map((t) => t.version).join(', ')}); give --bad V\n`
        : `nothing to bisect: the file passes on the bad version ${r.bad}\n`);
      return out.join('');
    case 'fails-at-good':
      out.push(`nothing to bisect: the file ${r.timeline[r.timeline.length - 1].outcome === 'skip' ? 'does not run' : 'fails'} on the good version ${r.good}\n`);
      return out.join('');
    default:
  }
  if (r.status === 'not-monotonic') {
    out.push(`not monotonic: the outcome changes ${r.transitions.length} times: `
      + `${r.transitions.map((t) => `${t.from} → ${t.to} ${t.outcome === 'pass' ? 'passes' : 'fails again'}`).join('; ')}; the first change is analysed\n`);
  }
  out.push(`first passing version: ${r.firstPassing} (last failing: ${r.lastFailing})\n`);
  out.push(`each change between ${r.lastFailing} and ${r.firstPassing}, alone on ${r.lastFailing}:\n`);
  for (const c of r.singles) out.push(candidateLine(c));
  if (r.minimalSet) out.push(`no single change suffices; together these do:\n${candidateLine(r.minimalSet)}`);
  if (r.culprits.length === 0) out.push(`unexplained: no change between ${r.lastFailing} and ${r.firstPassing}, alone, in pairs or together, makes ${r.lastFailing} pass\n`);
  else {
    out.push(`made the difference${r.culprits.length > 1 ? ' (each alone)' : ''}:\n`);
    for (const c of r.culprits) {
      for (const ch of c.changes) out.push(`  ${c.revert ? 'undoing ' : ''}${printable(changeLabel(ch), 600)}\n`);
      if (c.changes.length === 0) out.push(`  the profile's own setting ${setLabel(c.set)}\n`);
    }
  }
  const runs = r.timeline.length + r.singles.length;
  out.push(`${r.timeline.length} version${r.timeline.length === 1 ? '' : 's'} and ${r.singles.length} change${r.singles.length === 1 ? '' : 's'} `
    + `alone run (${runs} runs), ${Math.round(r.elapsedMs)} ms\n`);
  return out.join('');
}

export function bisectCommand(io: BisectIo, backend: Backend, file: string, o: BisectCliOptions): number {
  if (io.env.PINLAB_BACKEND) throw new BisectUsageError('pinlab: bisect needs the model backend (PINLAB_BACKEND is set): the switch history is the model\'s');
  let scn: Scenario;
  try {
    scn = loadScenarioFile(resolve(io.cwd, file), backend, file);
  } catch (e) {
    if (e instanceof ScenarioFileError) throw new BisectUsageError(e.message);
    if (e instanceof FileInputError) throw new BisectUsageError(`pinlab: ${e.message}`);
    throw e;
  }
  const progress = io.isTTY && !o.json;
  const r = bisect(scn, backend, {
    ...(o.bad !== undefined && { bad: o.bad }), ...(o.good !== undefined && { good: o.good }),
    ...(progress && { onProgress: (p: string) => io.err(`\r\x1b[2Kbisect ${printable(scn.name, 80)}: ${p}`) }),
  });
  if (progress) io.err('\r\x1b[2K');
  io.out(o.json ? `${jsonText(boundStrings(bisectJson(r)))}\n` : bisectText(r));
  return r.status === 'found' ? 0 : 1;
}
