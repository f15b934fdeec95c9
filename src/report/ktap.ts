// KTAP version 1 (the kernel's Documentation/dev-tools/ktap.rst), as kselftest prints it and
// tools/testing/kunit/kunit_parser.py reads it: docs/trace.md#ktap.
//
//   KTAP version 1
//   1..F                                one test per scenario file
//     KTAP version 1
//     # Subtest: NAME                   the file's runs, one per profile
//     1..P
//       KTAP version 1                  `run`: the run's verdicts
//       # Subtest: NAME [PROFILE]
//       1..V
//       ok 1 step 3 pin_user_pages_fast: ret == 4
//       # f.yaml:19:9: expected 1025, got 1026
//       not ok 2 step 5 expect: page{addr: buf}.refcount == 1025
//     not ok 1 NAME [PROFILE]
//   not ok 1 NAME
//   # Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0
//
// Explore runs are leaves: a profile where the file's `explore: fails:` expects a failure and one was
// found is `ok ... # XFAIL failure`; a search cut short is `ok ... # SKIP`; a file with errors is
// `not ok N NAME # ERROR message`. Totals count the runs (scenario x profile), as "N passed, M failed" does.

import { printable } from '../scenario/printable.js';
import type { RunRecord } from '../trace/format.js';

export interface KtapFile {
  /** The scenario's name, or the file's path when it could not be loaded. */
  readonly name: string;
  readonly runs: readonly RunRecord[];
  /** Errors that kept the file from running at all (the file fails with an ERROR directive). */
  readonly errors: readonly string[];
}

/** A test name: one line, no '#' (it would start the directive), not empty. */
function testName(s: string): string {
  const t = printable(s, 200).replace(/#/g, '\\x23').trim();
  return t === '' ? '(unnamed)' : t;
}

/** A diagnostic line per line of text. */
function diag(indent: string, text: string): string[] {
  return text.split('\n').map((l) => `${indent}# ${printable(l, 600)}`.trimEnd());
}

interface Counts { pass: number; fail: number; xfail: number; xpass: number; skip: number; error: number }

/** The KTAP text for these files (one line per element, ending with a newline). */
export function ktapReport(files: readonly KtapFile[]): string {
  const lines: string[] = ['KTAP version 1', `1..${files.length}`];
  const counts: Counts = { pass: 0, fail: 0, xfail: 0, xpass: 0, skip: 0, error: 0 };
  files.forEach((f, fi) => {
    const fname = testName(f.name);
    if (f.runs.length === 0) {
      counts.error++;
      for (const e of f.errors) lines.push(...diag('', e));
      lines.push(`not ok ${fi + 1} ${fname} # ERROR ${testName(f.errors[0] ?? 'no run')}`);
      return;
    }
    const ind = '  ';
    lines.push(`${ind}KTAP version 1`, `${ind}# Subtest: ${fname}`, `${ind}1..${f.runs.length}`);
    let fileOk = f.errors.length === 0;
    f.runs.forEach((r, ri) => {
      const rname = testName(`${r.name} [${r.profile}]`);
      const res = runLine(r);
      counts[res.count]++;
      if (!res.ok) fileOk = false;
      const verdicts = r.command === 'run' ? (r.verdicts as ReadonlyArray<{ ok: boolean; description: string; message?: string; location: { file: string; line: number; col: number } }> | undefined) : undefined;
      if (verdicts && verdicts.length > 0) {
        const ind2 = '    ';
        lines.push(`${ind2}KTAP version 1`, `${ind2}# Subtest: ${rname}`, `${ind2}1..${verdicts.length}`);
        verdicts.forEach((v, vi) => {
          if (!v.ok) lines.push(...diag(ind2, `${v.location.file}:${v.location.line}:${v.location.col}: ${v.message ?? 'failed'}`));
          lines.push(`${ind2}${v.ok ? 'ok' : 'not ok'} ${vi + 1} ${testName(v.description)}`);
        });
      }
      if (!res.ok && r.failure && !verdicts?.length) lines.push(...diag(ind, r.failure));
      if (r.schedule && r.verdict === 'fail') lines.push(`${ind}# schedule: ${printable(r.schedule.join(','), 600)}`);
      lines.push(`${ind}${res.ok ? 'ok' : 'not ok'} ${ri + 1} ${rname}${res.directive ? ` # ${res.directive}` : ''}`);
    });
    for (const e of f.errors) lines.push(...diag('', e));
    lines.push(`${fileOk ? 'ok' : 'not ok'} ${fi + 1} ${fname}`);
  });
  lines.push(`# Totals: pass:${counts.pass} fail:${counts.fail} xfail:${counts.xfail} xpass:${counts.xpass} skip:${counts.skip} error:${counts.error}`);
  return `${lines.join('\n')}\n`;
}

function runLine(r: RunRecord): { ok: boolean; directive?: string; count: keyof Counts } {
  if (r.command === 'explore') {
    const expected = r.expected as string | undefined;
    if (r.verdict === 'incomplete') return { ok: true, directive: `SKIP search incomplete after ${String(r.schedulesRun)} schedules`, count: 'skip' };
    if (expected === 'fail') {
      if (r.verdict === 'fail' && r.asExpected === true) return { ok: true, directive: `XFAIL ${testName(r.failure ?? '')}`, count: 'xfail' };
      return { ok: false, count: r.verdict === 'pass' ? 'xpass' : 'fail' };
    }
    return r.verdict === 'pass' ? { ok: true, count: 'pass' } : { ok: false, count: 'fail' };
  }
  if (r.verdict === 'error' || r.verdict === 'invalid') return { ok: false, directive: `ERROR ${testName(r.failure ?? '')}`, count: 'error' };
  return r.verdict === 'pass' ? { ok: true, count: 'pass' } : { ok: false, count: 'fail' };
}
