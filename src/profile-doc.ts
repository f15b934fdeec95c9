// The switch tables of docs/profiles.md, generated from the switch history (src/profile.ts) so
// they cannot drift: scripts/profiles-doc.mjs writes them, test/catalogue/docs.test.ts compares.

import { HISTORY, PROFILES, resolveProfile, type Profile, type SwitchChange } from './profile.js';

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** The releases of the UML kernels host-check boots (src/host/kernels.ts), shown beside the named profiles. */
export const UML_RELEASES = ['5.10.46', '6.1.176', '6.12.113'] as const;

function value(v: unknown): string {
  return v === true ? 'T' : v === false ? 'F' : String(v);
}

function setting(c: SwitchChange): string {
  return Object.entries(c.set).map(([k, v]) => `\`${k}\` = ${value(v)}`).join(', ');
}

/** One row per change: what it sets, where it arrived, its backports and the kernels that showed it. */
export function historyTable(): string {
  const rows = [
    '| sets | mainline | commit, subject | stable backports (first point release, commit) | evidence | shown by host-check on | without it on | where |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const c of HISTORY) {
    const backports = Object.entries(c.backports ?? {})
      .map(([branch, b]) => `${branch}.${b.release}${b.commit ? ` (${b.commit})` : ''}`).join(', ') || '-';
    const subject = `${c.commit ? `${c.commit} ` : ''}"${c.subject}"${c.note ? ` — ${c.note}` : ''}`;
    rows.push(`| ${setting(c)} | ${c.mainline ?? 'stable only'} | ${cell(subject)} | ${backports} | ${c.evidence} | ` +
      `${(c.confirmed ?? []).join(', ') || '-'} | ${(c.confirmedWithout ?? []).join(', ') || '-'} | ${cell(c.where)} |`);
  }
  return rows.join('\n');
}

/** Every switch's value in each named mainline profile and in the UML kernels' point releases. */
export function valuesTable(): string {
  const named = ['5.1', '5.2', '5.7', '5.9', '5.19', '6.2', '6.5', 'current'];
  const cols: Profile[] = [...named.map((n) => PROFILES.get(n)!), ...UML_RELEASES.map((r) => resolveProfile(r)!)];
  const keys = Object.keys(PROFILES.get('5.1')!).filter((k) => k !== 'name' && k !== 'description' && HISTORY.some((c) => k in c.set));
  const rows = [`| switch | ${cols.map((p) => p.name).join(' | ')} |`, `|---|${cols.map(() => '---|').join('')}`];
  for (const k of keys) rows.push(`| \`${k}\` | ${cols.map((p) => value((p as unknown as Record<string, unknown>)[k])).join(' | ')} |`);
  return rows.join('\n');
}

export function profileDocTables(): Record<'profile-history' | 'profile-values', string> {
  return { 'profile-history': historyTable(), 'profile-values': valuesTable() };
}
