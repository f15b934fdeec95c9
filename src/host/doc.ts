// The tables of docs/host-check.md, generated from the workloads and the recorded probes so they
// cannot drift (scripts/host-doc.mjs writes them; test/catalogue/docs.test.ts compares).

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fmtDelta, fmtRet } from './check.js';
import { formatMachine, parseProbe, planFromProbe, type HostProbe, type HostTraits } from './probe.js';
import { WORKLOADS, type Phase } from './workloads.js';

const N = 256;
const cell = (s: string) => s.replace(/\|/g, '\\|');

function phases(ps: readonly Phase[] | null): string {
  if (ps === null) return 'no number';
  return ps.map((p) => `${ps.length > 1 ? `${p.name} ` : ''}${p.ret < 0 ? `${fmtRet(p.ret)} ` : ''}${fmtDelta(p)}`).join(', ');
}

function expectation(w: (typeof WORKLOADS)[number], t: HostTraits): string {
  const facts = w.expectedFacts?.(N, t);
  const f = facts ? Object.entries(facts).map(([k, v]) => `${k} ${v}`).join(', ') : '';
  return `${phases(w.expected(N, t))}${f ? `; ${f}` : ''}`;
}

/** The recorded probes under dir (test/host/probes), by file name. */
export function recordedProbes(dir: string): { file: string; probe: HostProbe; recorded: string }[] {
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((file) => {
    const raw = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
    return { file, probe: parseProbe(raw), recorded: typeof raw._recorded === 'string' ? raw._recorded : '' };
  });
}

/** Every case, with what a kernel shows for N = 256 with and without the zero page on read faults. */
export function casesTable(withZero: HostTraits, noZero: HostTraits): string {
  const rows = ['| # | case | what it does | spec | needs | zero page mapped on read faults | fresh pages on read faults |', '|---|---|---|---|---|---|---|'];
  for (const w of WORKLOADS) {
    const needs = Object.entries(w.needs).filter(([, v]) => v).map(([k]) => k).join(', ') || '-';
    rows.push(`| ${w.no} | \`${w.name}\` | ${cell(w.title)} | ${w.rules} | ${needs} | ${cell(expectation(w, withZero))} | ${cell(expectation(w, noZero))} |`);
  }
  return rows.join('\n');
}

/** Each recorded probe and the model machine planFromProbe() builds from it. */
export function probesTable(probes: ReturnType<typeof recordedProbes>): string {
  const rows = ['| recorded probe | read fault | huge read fault | THP | model machine | cannot model |', '|---|---|---|---|---|---|'];
  for (const { file, probe: p } of probes) {
    const plan = planFromProbe(p, N);
    const sizes = Object.entries(p.thpSizes).filter(([, m]) => m !== 'never').map(([kb, m]) => `${kb}kB ${m}`).join(', ');
    const limits = Object.entries(plan.limits).map(([k, v]) => `${k}: ${v}`).join('; ') || '-';
    rows.push(`| \`${file}\` | ${p.anonRead} | ${p.hugeRead} | ${p.thpEnabled}${sizes ? ` (${sizes})` : ''}, use_zero_page ${p.thpUseZeroPage} | ` +
      `${cell(formatMachine(plan.machine))} | ${cell(limits)} |`);
  }
  return rows.join('\n');
}

/** Both tables keyed by their marker names in docs/host-check.md. */
export function hostDocTables(probeDir: string): Record<'host-cases' | 'host-probes', string> {
  const probes = recordedProbes(probeDir);
  const stock = probes.find((x) => x.file === 'linux-6.18-stock.json');
  const nozero = probes.find((x) => x.file === 'linux-6.18-nozero.json');
  if (!stock || !nozero) throw new Error(`${probeDir}: the recorded stock and nozero probes are missing`);
  return {
    'host-cases': casesTable(planFromProbe(stock.probe, N).traits, planFromProbe(nozero.probe, N).traits),
    'host-probes': probesTable(probes),
  };
}

/** Replace the text between `<!-- NAME:begin -->` and `<!-- NAME:end -->` for each table. */
export function fillMarkers(doc: string, tables: Readonly<Record<string, string>>): string {
  let out = doc;
  for (const [name, table] of Object.entries(tables)) {
    const re = new RegExp(`(<!-- ${name}:begin[^\\n]*-->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`);
    if (!re.test(out)) throw new Error(`markers <!-- ${name}:begin --> / <!-- ${name}:end --> not found`);
    out = out.replace(re, (_m, a: string, b: string) => `${a}${table}\n${b}`);
  }
  return out;
}
