// `pinlab host-check`: runs the check on the host and on cached UML kernels (src/host/uml.ts) and
// prints the tables. Apart from check.ts so that uml.ts, which uses check.ts, is not imported back.

import type { Backend } from '../scenario/backend.js';
import { KERNEL_NAMES } from './kernels.js';
import { WORKLOADS } from './workloads.js';
import { HostCheckUsage, runHostCheck, formatTable, reportJson, type Verdict, type CheckReport } from './check.js';

export interface HostCheckIo {
  out(text: string): void;
  err(text: string): void;
  readonly isTTY: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * `pinlab host-check [--json] [--case NAME] [--reps N] [--kernel NAME]`: exit 0 without DIFF, 1
 * with one, 2 on usage errors. --kernel: `host` (the default), a UML kernel (src/host/uml.ts), or
 * `all`; --json prints {"kernels": [one entry per kernel]}.
 */
export async function hostCheckCommand(io: HostCheckIo, backend: Backend, opts: {
  json: boolean; cases?: readonly string[]; reps?: string; pages?: string; kernels?: readonly string[];
}): Promise<number> {
  const int = (s: string | undefined, what: string, max: number): number | undefined => {
    if (s === undefined) return undefined;
    const v = Number(s);
    if (!Number.isSafeInteger(v) || v < 1 || v > max) throw new HostCheckUsage(`pinlab host-check: --${what} must be an integer in 1..${max}, not '${s}'`);
    return v;
  };
  let reps: number | undefined;
  let pages: number | undefined;
  const kernels: string[] = [];
  try {
    for (const k of opts.kernels ?? ['host']) {
      const names = k === 'all' ? KERNEL_NAMES : [k];
      if (!(KERNEL_NAMES as readonly string[]).includes(names[0])) {
        throw new HostCheckUsage(`pinlab host-check: no kernel named '${k}' (kernels: ${KERNEL_NAMES.join(', ')}, all)`);
      }
      for (const n of names) if (!kernels.includes(n)) kernels.push(n);
    }
    reps = int(opts.reps, 'reps', 50);
    pages = int(opts.pages, 'pages', 65536);
    for (const c of opts.cases ?? []) {
      if (!WORKLOADS.some((w) => w.name === c)) {
        throw new HostCheckUsage(`pinlab host-check: no case named '${c}' (cases: ${WORKLOADS.map((w) => w.name).join(', ')})`);
      }
    }
  } catch (e) {
    if (e instanceof HostCheckUsage) {
      io.err(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const colourOn = io.isTTY && (io.env.NO_COLOR ?? '') === ''; // no-color.org: an empty NO_COLOR does not count
  const paint = (v: Verdict, s: string) => {
    if (!colourOn) return s;
    const code = v === 'MATCH' ? 32 : v === 'DIFF' ? 31 : v === 'PENDING' ? 33 : 2;
    return `\x1b[${code}m${s}\x1b[0m`;
  };
  const reports: CheckReport[] = [];
  const common = { ...(opts.cases?.length && { cases: opts.cases }), ...(reps && { reps }), ...(pages && { pages }) };
  for (const k of kernels) {
    let rep: CheckReport;
    if (k === 'host') rep = runHostCheck(backend, common);
    else {
      const { runUmlCheck } = await import('./uml.js');
      rep = await runUmlCheck(backend, k, { ...common, env: io.env });
    }
    reports.push(rep);
    if (!opts.json) io.out(`${reports.length > 1 ? '\n' : ''}${formatTable(rep, paint)}`);
  }
  if (opts.json) io.out(`${JSON.stringify({ kernels: reports.map(reportJson) }, null, 2)}\n`);
  else if (reports.length > 1) {
    const total: Record<Verdict, number> = { MATCH: 0, DIFF: 0, PENDING: 0, SKIP: 0 };
    io.out('\nsummary:\n');
    for (const r of reports) {
      for (const v of Object.keys(total) as Verdict[]) total[v] += r.counts[v];
      const c = r.counts;
      const secs = 'seconds' in r && typeof r.seconds === 'number' ? `, ${r.seconds.toFixed(1)} s` : '';
      io.out(`  ${(r.kernel ?? 'host').padEnd(9)} ${(r.release ?? '-').padEnd(18)} profile ${r.profile.padEnd(9)} ${c.MATCH} MATCH, ${c.DIFF} DIFF, ${c.PENDING} PENDING, ${c.SKIP} SKIP${secs}\n`);
    }
    io.out(`${total.MATCH} MATCH, ${total.DIFF} DIFF, ${total.PENDING} PENDING, ${total.SKIP} SKIP\n`);
  }
  return reports.some((r) => r.counts.DIFF) ? 1 : 0;
}
