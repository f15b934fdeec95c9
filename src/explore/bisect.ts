// `pinlab bisect FILE` (docs/bisect.md): the first version on the switch timeline where a scenario
// that fails on an old profile passes, and the change of the switch history (src/profile.ts
// HISTORY, the data of docs/profiles.md) that makes the difference, found by re-running the
// exploration (DPOR, as `pinlab explore`) on the last failing version with one change applied.
//
// A file's step filters (`profiles:`), `by_profile:` cases and `explore: fails:` name the file's
// own profiles. A version the file does not list runs the file as written for its *variant*: the
// nearest of the file's mainline profiles at or after it (else the newest); a derived profile
// (block-pinning-dev, the RFCs) is the variant of itself only. The backend sees the kernel profile
// ("6.3", "6.3+reclaimKeepsPinnedPrivate=true"), the runner the variant name.

import type { Backend } from '../scenario/backend.js';
import type { Scenario } from '../scenario/ast.js';
import { ScenarioFileError } from '../scenario/errors.js';
import { runScenario } from '../scenario/run.js';
import { quoted } from '../scenario/printable.js';
import { didYouMean } from '../scenario/suggest.js';
import { HISTORY, PROFILES, parseVersion, resolveProfile, versionProblem, type Profile, type SwitchChange } from '../profile.js';
import { exploreDpor, exploreExhaustive, formatSchedule } from './index.js';
import { scenarioProgram } from './scenario.js';

export type Outcome = 'pass' | 'fail' | 'skip';

export interface Run {
  /** The kernel profile run: a version, a named profile, or one with switches set ("6.3+x=true"). */
  readonly profile: string;
  /** The file's profile whose steps and expectations were used. */
  readonly variant: string;
  readonly outcome: Outcome;
  /** fail: the failure found; skip: why the file cannot run there (an operation the profile lacks). */
  readonly message?: string;
  readonly schedule?: string;
  readonly schedulesRun: number;
  readonly elapsedMs: number;
}

export interface TimelinePoint extends Run {
  readonly version: string;
  /** What the file's `explore: fails:` says of this profile, when the file lists it. */
  readonly expected?: { readonly outcome: 'pass' | 'fail'; readonly text?: string; readonly asExpected: boolean };
}

export interface Candidate {
  /** The history records applied (empty: a switch of a derived profile that no record sets). */
  readonly changes: readonly SwitchChange[];
  /** The records are undone, not applied: the passing version is the older one (a regression), or a derived profile's own setting. */
  readonly revert: boolean;
  /** The switch values applied to the failing version. */
  readonly set: Readonly<Record<string, unknown>>;
  readonly run: Run;
}

export type BisectStatus = 'found' | 'passes-at-bad' | 'fails-at-good' | 'not-monotonic' | 'unexplained';

export interface BisectResult {
  readonly file: string;
  readonly name: string;
  readonly bad: string;
  readonly good: string;
  readonly mode: 'dpor' | 'exhaustive' | 'run';
  readonly timeline: readonly TimelinePoint[];
  readonly status: BisectStatus;
  /** Versions where the outcome changes (fail → pass or pass → fail), skips ignored. */
  readonly transitions: ReadonlyArray<{ readonly from: string; readonly to: string; readonly outcome: 'pass' | 'fail' }>;
  readonly lastFailing?: string;
  readonly firstPassing?: string;
  /** Each change between lastFailing and firstPassing, alone on lastFailing. */
  readonly singles: readonly Candidate[];
  /** When no single change suffices: the smallest set found (pairs, then greedy removal from all). */
  readonly minimalSet?: Candidate;
  /** The changes that made the difference: every single that passes, or the minimal set's. */
  readonly culprits: readonly Candidate[];
  readonly elapsedMs: number;
}

/** A usage problem (unknown profile, bad option): the CLI's exit 2. */
export class BisectUsageError extends Error {}

const SWITCHES = Object.keys(PROFILES.get('5.1')!).filter((k) => k !== 'name' && k !== 'description');

function values(p: Profile): Record<string, unknown> {
  return p as unknown as Record<string, unknown>;
}

function cmpMainline(a: string, b: string): number {
  const [a1, a2] = parseVersion(a)!;
  const [b1, b2] = parseVersion(b)!;
  return a1 - b1 || a2 - b2;
}

/** The mainline releases of the switch history that the model can resolve, oldest first (5.1 included). */
export function mainlineTimeline(): string[] {
  const vs = new Set(['5.1']);
  for (const c of HISTORY) if (c.mainline !== null) vs.add(c.mainline);
  return [...vs].filter((v) => versionProblem(v) === null).sort(cmpMainline);
}

/** The mainline version a profile is (named mainline profiles, versions) or is nearest to (derived ones), and whether it is exactly that. */
export function positionOf(name: string): { version: string; exact: boolean } {
  const p = resolveProfile(name);
  if (!p) throw new BisectUsageError(`unknown profile ${name}`);
  const v = parseVersion(name);
  if (v && v.length === 2) return { version: name, exact: true };
  if (v && v.length === 3) return { version: `${v[0]}.${v[1]}`, exact: false };
  let best = '5.1';
  let bestDiff = Infinity;
  for (const t of mainlineTimeline()) {
    const q = values(resolveProfile(t)!);
    const d = SWITCHES.filter((k) => q[k] !== values(p)[k]).length;
    if (d <= bestDiff) [best, bestDiff] = [t, d];
  }
  return { version: best, exact: bestDiff === 0 };
}

/** The file profile whose steps and expectations a version runs with (see the head comment). */
export function variantFor(scn: Scenario, version: string): string {
  if (scn.profiles.includes(version)) return version;
  const mainline = scn.profiles.filter((n) => positionOf(n).exact || parseVersion(n) !== null)
    .map((n) => ({ n, at: positionOf(n).version })).sort((a, b) => cmpMainline(a.at, b.at));
  if (mainline.length === 0) return scn.profiles[0];
  const at = positionOf(version).version;
  return (mainline.find((m) => cmpMainline(m.at, at) >= 0) ?? mainline[mainline.length - 1]).n;
}

/** The backend with every session started on `kernel` whatever profile name the runner uses. */
function onKernel(backend: Backend, kernel: string): Backend {
  return { ...backend, start: (o) => backend.start({ ...o, profile: kernel }) };
}

/** Run the file on one kernel profile as written for `variant`: DPOR over the actors (as `pinlab explore`), or the steps in order. */
export function runOn(scn: Scenario, backend: Backend, variant: string, kernel: string): Run {
  const t0 = performance.now();
  const b = onKernel(backend, kernel);
  const base = { profile: kernel, variant };
  try {
    if (scn.actors) {
      const p = scenarioProgram(scn, b, variant);
      const bound = scn.explore?.preemptionBound;
      const r = bound !== undefined ? exploreExhaustive(p, { preemptionBound: bound }) : exploreDpor(p, {});
      const ms = performance.now() - t0;
      if (r.failure) {
        return { ...base, outcome: 'fail', message: r.failure.message, schedule: formatSchedule(r.failure.schedule, p.actors), schedulesRun: r.schedulesRun, elapsedMs: ms };
      }
      return { ...base, outcome: 'pass', schedulesRun: r.schedulesRun, elapsedMs: ms };
    }
    const [res] = runScenario(scn, b, { profile: variant });
    const bad = res.verdicts.find((v) => !v.ok);
    return {
      ...base, outcome: res.ok ? 'pass' : 'fail', schedulesRun: 1, elapsedMs: performance.now() - t0,
      ...(!res.ok && { message: bad ? `${bad.description}${bad.message ? `: ${bad.message}` : ''}` : 'failed' }),
    };
  } catch (e) {
    // An operation, flag or expectation the profile cannot take: the file does not run there.
    if (e instanceof ScenarioFileError) {
      return { ...base, outcome: 'skip', message: e.message, schedulesRun: 0, elapsedMs: performance.now() - t0 };
    }
    throw e;
  }
}

/** "6.1.135" → ["6.1", 135]; "6.1" → ["6.1", 0]. */
function seriesOf(version: string): [string, number] | null {
  const v = parseVersion(version);
  return v ? [`${v[0]}.${v[1]}`, v.length === 3 ? v[2] : 0] : null;
}

/** The point releases of a stable series at which the history's backports change a switch (X.Y.Z), oldest first. */
export function stableTimeline(series: string): string[] {
  const rs = new Set<number>();
  for (const c of HISTORY) {
    const b = c.backports?.[series];
    if (b && (c.mainline === null || cmpMainline(c.mainline, series) > 0)) rs.add(b.release);
  }
  return [...rs].sort((a, b) => a - b).map((r) => `${series}.${r}`);
}

/**
 * The versions bisected, from bad to good: the endpoints, and the releases between: the backport
 * points of one stable series when both are its point releases, else the mainline releases.
 */
export function versionsBetween(bad: string, good: string): string[] {
  const sb = seriesOf(bad);
  const sg = seriesOf(good);
  if (sb && sg && sb[0] === sg[0] && (parseVersion(bad)!.length === 3 || parseVersion(good)!.length === 3)) {
    const [lo, hi] = sb[1] <= sg[1] ? [sb[1], sg[1]] : [sg[1], sb[1]];
    const inner = stableTimeline(sb[0]).filter((v) => seriesOf(v)![1] > lo && seriesOf(v)![1] < hi);
    if (sb[1] > sg[1]) inner.reverse();
    return [bad, ...inner, good];
  }
  const b = positionOf(bad);
  const g = positionOf(good);
  const dir = cmpMainline(g.version, b.version) >= 0 ? 1 : -1;
  const inner = mainlineTimeline().filter((v) => {
    const fromB = cmpMainline(v, b.version) * dir;
    const toG = cmpMainline(g.version, v) * dir;
    // A derived profile's own mainline version comes right after it (it is that version with a switch not yet as released).
    return (fromB > 0 || (fromB === 0 && !b.exact)) && (toG > 0 || (toG === 0 && !g.exact && v !== good));
  });
  const out = [bad, ...inner.filter((v) => v !== bad && v !== good), good];
  return out.filter((v, i) => out.indexOf(v) === i);
}

/** The change of the history that last set `key` in the lineage of `version` (mainline X.Y, or X.Y.Z with its backports, as resolveProfile() applies them). */
function lastSetter(key: string, version: string): SwitchChange | undefined {
  const [series, patch] = seriesOf(version)!;
  let found: SwitchChange | undefined;
  for (const c of HISTORY) {
    if (!(key in c.set)) continue;
    const b = c.backports?.[series];
    if ((c.mainline !== null && cmpMainline(c.mainline, series) <= 0) || (b !== undefined && b.release <= patch)) found = c;
  }
  return found;
}

/** The version whose lineage names a profile's changes: itself if it is a version, else its nearest mainline release. */
function lineageOf(name: string): string {
  return parseVersion(name) ? name : positionOf(name).version;
}

function cmpFull(a: string, b: string): number {
  const [sa, pa] = seriesOf(a)!;
  const [sb, pb] = seriesOf(b)!;
  return cmpMainline(sa, sb) || pa - pb;
}

/**
 * The candidates between a failing profile F and a passing one P: the switches that differ, grouped
 * by the history record responsible (the last record setting the switch on the newer side); each
 * candidate sets its switches on F to P's values.
 */
export function changesBetween(fail: string, pass: string): Array<{ changes: SwitchChange[]; set: Record<string, unknown>; revert: boolean }> {
  const f = values(resolveProfile(fail)!);
  const p = values(resolveProfile(pass)!);
  const lf = lineageOf(fail);
  const lp = lineageOf(pass);
  const newer = cmpFull(lp, lf) >= 0 ? lp : lf;
  const groups = new Map<SwitchChange | string, Record<string, unknown>>();
  for (const k of SWITCHES) {
    if (f[k] === p[k]) continue;
    const c = lastSetter(k, newer);
    const key = c ?? k;
    const g = groups.get(key) ?? {};
    g[k] = p[k];
    groups.set(key, g);
  }
  return [...groups].map(([c, set]) => ({
    changes: typeof c === 'string' ? [] : [c], set,
    revert: typeof c !== 'string' && Object.entries(set).some(([k, v]) => (c.set as Record<string, unknown>)[k] !== v),
  }));
}

function kernelName(base: string, set: Record<string, unknown>): string {
  return [base, ...Object.entries(set).map(([k, v]) => `${k}=${String(v)}`)].join('+');
}

export interface BisectOptions {
  readonly bad?: string;
  readonly good?: string;
  readonly onProgress?: (what: string) => void;
}

function checkProfile(backend: Backend, name: string, option: string): void {
  if (resolveProfile(name)) return;
  const why = /^\d+\.\d+/.test(name) ? versionProblem(name) : null;
  if (why) throw new BisectUsageError(`pinlab: ${option}: no profile for ${quoted(name)}: ${why}`);
  throw new BisectUsageError(`pinlab: ${option}: unknown profile ${quoted(name)}${didYouMean(name, backend.profiles)} `
    + `(profiles: ${backend.profiles.join(', ')}, or a kernel version such as 6.12 or 6.1.176)`);
}

export function bisect(scn: Scenario, backend: Backend, opts: BisectOptions = {}): BisectResult {
  const t0 = performance.now();
  if (opts.bad !== undefined) checkProfile(backend, opts.bad, '--bad');
  if (opts.good !== undefined) checkProfile(backend, opts.good, '--good');
  const mode = !scn.actors ? 'run' : scn.explore?.preemptionBound !== undefined ? 'exhaustive' : 'dpor';
  const cache = new Map<string, Run>();
  const runAt = (variant: string, kernel: string): Run => {
    const key = `${variant}\n${kernel}`;
    let r = cache.get(key);
    if (!r) {
      opts.onProgress?.(kernel);
      r = runOn(scn, backend, variant, kernel);
      cache.set(key, r);
    }
    return r;
  };
  const point = (version: string): TimelinePoint => {
    const variant = variantFor(scn, version);
    const r = runAt(variant, version);
    const listed = scn.profiles.includes(version);
    const want = scn.explore?.fails.get(version);
    const expected = !listed || !scn.actors ? undefined : want
      ? { outcome: 'fail' as const, text: want.text, asExpected: r.outcome === 'fail' && (r.message ?? '').includes(want.text) }
      : { outcome: 'pass' as const, asExpected: r.outcome === 'pass' };
    return { ...r, version, ...(expected && { expected }) };
  };
  // Default bad: the oldest of the file's profiles that fails.
  let bad = opts.bad;
  const early: TimelinePoint[] = [];
  if (bad === undefined) {
    const ordered = [...scn.profiles].sort((a, b) => cmpMainline(positionOf(a).version, positionOf(b).version));
    for (const n of ordered) {
      const pt = point(n);
      early.push(pt);
      if (pt.outcome === 'fail') { bad = n; break; }
    }
  }
  const good = opts.good ?? 'current';
  const base = { file: scn.file, name: scn.name, good, mode } as const;
  if (bad === undefined) {
    return { ...base, bad: '-', timeline: early, status: 'passes-at-bad', transitions: [], singles: [], culprits: [], elapsedMs: performance.now() - t0 };
  }
  const timeline = versionsBetween(bad, good).map(point);
  const decided = timeline.filter((t) => t.outcome !== 'skip');
  const transitions: Array<{ from: string; to: string; outcome: 'pass' | 'fail' }> = [];
  for (let i = 1; i < decided.length; i++) {
    if (decided[i].outcome !== decided[i - 1].outcome) transitions.push({ from: decided[i - 1].version, to: decided[i].version, outcome: decided[i].outcome as 'pass' | 'fail' });
  }
  const done = (status: BisectStatus, extra: Partial<BisectResult> = {}): BisectResult => ({
    ...base, bad, timeline, status, transitions, singles: [], culprits: [], ...extra, elapsedMs: performance.now() - t0,
  });
  if (timeline[0].outcome !== 'fail') return done('passes-at-bad');
  if (timeline[timeline.length - 1].outcome !== 'pass') return done('fails-at-good');
  // The first fail → pass transition: the first passing version and the last failing one before it.
  const first = transitions[0];
  const lastFailing = first.from;
  const firstPassing = first.to;
  const failVariant = variantFor(scn, lastFailing);
  const passVariant = variantFor(scn, firstPassing);
  // A flipped profile runs as the file is written for the passing version, else for the failing one.
  const tryFlip = (set: Record<string, unknown>): Run => {
    const name = kernelName(lastFailing, set);
    const r = runAt(passVariant, name);
    return r.outcome === 'skip' && failVariant !== passVariant ? runAt(failVariant, name) : r;
  };
  const groups = changesBetween(lastFailing, firstPassing);
  const singles: Candidate[] = groups.map((g) => ({ ...g, run: tryFlip(g.set) }));
  let culprits = singles.filter((c) => c.run.outcome === 'pass');
  let minimalSet: Candidate | undefined;
  if (culprits.length === 0) {
    const merge = (gs: typeof groups) => ({
      changes: gs.flatMap((g) => g.changes), set: Object.assign({}, ...gs.map((g) => g.set)) as Record<string, unknown>, revert: gs.some((g) => g.revert),
    });
    for (let i = 0; i < groups.length && !minimalSet; i++) {
      for (let j = i + 1; j < groups.length && !minimalSet; j++) {
        const m = merge([groups[i], groups[j]]);
        const run = tryFlip(m.set);
        if (run.outcome === 'pass') minimalSet = { ...m, run };
      }
    }
    if (!minimalSet) {
      // Greedy: from all of them, drop each change the rest still passes without.
      let keep = [...groups];
      let all = merge(keep);
      let run = tryFlip(all.set);
      if (run.outcome === 'pass') {
        for (const g of groups) {
          const without = keep.filter((x) => x !== g);
          if (without.length === 0) continue;
          const m = merge(without);
          const r = tryFlip(m.set);
          if (r.outcome === 'pass') [keep, all, run] = [without, m, r];
        }
        minimalSet = { ...all, run };
      }
    }
    if (minimalSet) culprits = [minimalSet];
  }
  const status: BisectStatus = transitions.length > 1 ? 'not-monotonic' : culprits.length === 0 ? 'unexplained' : 'found';
  return done(status, { lastFailing, firstPassing, singles, ...(minimalSet && { minimalSet }), culprits });
}

/** "57efa1fe5957 \"mm/gup: ...\" (5.11)" — how a change is named in reports. */
export function changeLabel(c: SwitchChange): string {
  const stable = Object.entries(c.backports ?? {}).map(([series, b]) => `${series}.${b.release}${b.commit && b.commit !== c.commit ? ` ${b.commit}` : ''}`);
  const when = c.mainline !== null ? [c.mainline, ...(stable.length ? [`stable ${stable.join(', ')}`] : [])].join(', ')
    : `stable only: ${stable.join(', ')}`;
  return `${c.commit ?? '(commit not recorded)'} "${c.subject}" (${when}; ${c.where})`;
}

export function setLabel(set: Readonly<Record<string, unknown>>): string {
  return Object.entries(set).map(([k, v]) => `${k} = ${String(v)}`).join(', ');
}
