// `pinlab host-check`: the differential check of the model against the running kernel.
//
// For each workload (src/host/workloads.ts), host/pinhost.c measures the real kernel — return
// value and the nr_foll_pin_acquired/released deltas (ΔA/ΔR), the mode of several reps — and
// the same workload runs as scenario steps on the model. Verdicts:
//   MATCH   both sides agree on every phase (ret, ΔA, ΔR) and every shared fact
//   DIFF    they disagree, or the model failed to run the workload (a model bug to report)
//   PENDING the model lacks an operation the workload needs (never a pass)
//   SKIP    the host cannot measure it (not Linux, not root, no cc, no io_uring, not ext4, THP off)
//
// The helper is compiled lazily with `cc -O2` into <package root>/build/pinhost, like
// host/iouring_pin.c (src/host/native.ts).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../scenario/backend.js';
import { ensureHostBinary, hostBinaryPaths } from './native.js';
import { describeProbe, formatMachine, parseProbe, planFromProbe, type HostModelPlan, type HostProbe, type MappingRow } from './probe.js';
import { MODEL_PROFILE, STOCK_MACHINE, WORKLOADS, runModel, type ModelOutcome, type Phase, type Workload } from './workloads.js';
import { profileForRelease } from './kernels.js';
import { release } from 'node:os';

export const DEFAULT_PAGES = 256;
export const DEFAULT_REPS = 5;

// ---- the host helper ------------------------------------------------------------------------------

export function pinhostPaths(): { source: string; binary: string } {
  return hostBinaryPaths('pinhost');
}

/** Compile host/pinhost.c into build/pinhost if missing or stale. */
export function ensurePinhost(): string {
  return ensureHostBinary('pinhost');
}

export interface HostEnv {
  kernel: string;
  machine: string;
  thp_enabled: string;
  thp_use_zero_page: string;
  ksm_run: string;
  fs: string;
  fs_magic?: string;
  ncpus: number;
}

export type HostOutcome =
  | {
    readonly status: 'ok';
    readonly phases: Phase[];
    /** Every rep's phases; `phases` is the most common. */
    readonly samples: Phase[][];
    readonly votes: number;
    readonly reps: number;
    readonly pages: number;
    readonly obs: Record<string, number>;
    readonly env: HostEnv;
    readonly notes: string[];
  }
  | { readonly status: 'skip'; readonly reason: string }
  | { readonly status: 'error'; readonly message: string };

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * One pinhost run's output as an object; throws with the helper's error, or with what was wrong
 * with the output. `label` names the run in messages; `status` is the exit status (null: unknown).
 */
export function pinhostJson(stdout: string, label: string, status: number | string | null, stderr = ''): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new Error(`pinhost ${label}: exit ${status ?? '?'}, unparsable output ${JSON.stringify(stdout.slice(0, 300))} ${stderr.trim()}`);
  }
  if (!isObject(parsed)) throw new Error(`pinhost ${label}: output is not a JSON object`);
  if (typeof parsed.error === 'string') {
    const errno = typeof parsed.errno === 'number' && parsed.errno ? ` [errno ${parsed.errno} ${String(parsed.strerror ?? '')}]` : '';
    throw new Error(`pinhost ${label} failed at ${String(parsed.stage ?? '?')}: ${parsed.error}${errno}`);
  }
  if (status !== 0 && status !== null) throw new Error(`pinhost ${label}: exit ${status}`);
  return parsed;
}

function runPinhost(args: string[]): Record<string, unknown> {
  const bin = ensurePinhost();
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 16 << 20, timeout: 10 * 60_000 });
  if (r.error) throw new Error(`pinhost ${args.join(' ')}: ${r.error.message}`);
  return pinhostJson(r.stdout, args.join(' '), r.status ?? r.signal, r.stderr);
}

/** A case's pinhost output as a measured outcome. */
export function outcomeOf(o: Record<string, unknown>, opts: { pages: number; reps: number }): HostOutcome {
  const samples = Array.isArray(o.samples) ? o.samples.map(phasesOf) : [];
  const obs: Record<string, number> = {};
  if (isObject(o.obs)) for (const [k, v] of Object.entries(o.obs)) if (typeof v === 'number') obs[k] = v;
  return {
    status: 'ok', phases: phasesOf(o.phases), samples,
    votes: typeof o.votes === 'number' ? o.votes : 0, reps: typeof o.reps === 'number' ? o.reps : opts.reps,
    pages: typeof o.pages === 'number' ? o.pages : opts.pages, obs, env: envOf(o.env),
    notes: Array.isArray(o.notes) ? o.notes.filter((x): x is string => typeof x === 'string') : [],
  };
}

function phasesOf(x: unknown): Phase[] {
  if (!Array.isArray(x)) throw new Error('pinhost output: phases is not an array');
  return x.map((p) => {
    if (!isObject(p) || typeof p.name !== 'string' || typeof p.ret !== 'number' || typeof p.dA !== 'number' || typeof p.dR !== 'number') {
      throw new Error(`pinhost output: bad phase ${JSON.stringify(p)}`);
    }
    return { name: p.name, ret: p.ret, dA: p.dA, dR: p.dR };
  });
}

function envOf(x: unknown): HostEnv {
  if (!isObject(x)) throw new Error('pinhost output: env is not an object');
  const s = (k: string) => (typeof x[k] === 'string' ? (x[k] as string) : 'unknown');
  return {
    kernel: s('kernel'), machine: s('machine'), thp_enabled: s('thp_enabled'), thp_use_zero_page: s('thp_use_zero_page'),
    ksm_run: s('ksm_run'), fs: s('fs'), ...(typeof x.fs_magic === 'string' && { fs_magic: x.fs_magic }),
    ncpus: typeof x.ncpus === 'number' ? x.ncpus : 0,
  };
}

/** The probe of this host (src/host/probe.ts), or why the host cannot be measured at all. */
export type ProbeOutcome =
  | { readonly status: 'ok'; readonly probe: HostProbe }
  | { readonly status: 'skip'; readonly reason: string };

let probeCache: { dir: string; o: ProbeOutcome } | undefined;

/** PINLAB_BLKDEV: a block device on the host that the blkdev cases may read with O_DIRECT. */
function blkdevArgs(): string[] {
  const d = process.env.PINLAB_BLKDEV;
  return d ? ['--blkdev', d] : [];
}

/**
 * Linux, root, a working cc, then `pinhost --probe` in dir: what a read fault maps, THP modes,
 * hugetlb pools, io_uring, O_DIRECT in dir, page size. Cached per directory.
 */
export function probeHost(dir: string): ProbeOutcome {
  if (probeCache?.dir === dir) return probeCache.o;
  const o = ((): ProbeOutcome => {
    if (process.platform !== 'linux') return { status: 'skip', reason: `platform is ${process.platform}, not linux` };
    if (process.getuid?.() !== 0) return { status: 'skip', reason: 'not running as root (needed for stat_refresh, pagemap PFNs and /proc/kpageflags)' };
    try {
      ensurePinhost();
    } catch (e) {
      return { status: 'skip', reason: `C compiler unusable: ${(e as Error).message}` };
    }
    try {
      return { status: 'ok', probe: parseProbe(runPinhost(['--probe', '--dir', dir, ...blkdevArgs()])) };
    } catch (e) {
      return { status: 'skip', reason: (e as Error).message };
    }
  })();
  probeCache = { dir, o };
  return o;
}

/**
 * Why the model cannot be put on w's premise for this plan (null: it can): the traits w depends
 * on are unknown or inexpressible, or missing from the kernel (THP off).
 */
export function modelPremiseMissing(w: Workload, plan: HostModelPlan): string | null {
  if (plan.limits.all) return plan.limits.all;
  const n = w.needs;
  if (n.thp && plan.traits.thp !== true) {
    return plan.limits.thp ?? (plan.mapping.some((m) => m.setting === 'thp' && /absent/.test(m.observed))
      ? 'this kernel has no THP (built without CONFIG_TRANSPARENT_HUGEPAGE)' : `THP is 'never' for the PMD size (/sys/kernel/mm/transparent_hugepage)`);
  }
  if (n.zeroPage && plan.traits.readFaultMapsZeroPage === null) return plan.limits.zeroPage ?? 'what a read fault maps is unknown';
  if (n.hugeRead && plan.traits.hugeReadFault === null) return plan.limits.hugeRead ?? 'what a huge read fault maps is unknown';
  return null;
}

/** Why a host with this probe and plan cannot measure w on the model's terms (null: it can). */
export function premiseMissing(w: Workload, p: HostProbe, plan: HostModelPlan): string | null {
  if (plan.limits.all) return plan.limits.all;
  const n = w.needs;
  if (n.ext4 && p.fs !== 'ext4') return `the temp directory is on ${p.fs}, not ext4 (set TMPDIR to a directory on ext4)`;
  if (n.ext4 && !p.oDirect) return `O_DIRECT is refused in the temp directory (${p.oDirectError ?? '?'})`;
  if (n.ioUring && !p.ioUring) return `io_uring is unavailable (${p.ioUringError ?? '?'}; io_uring_disabled ${p.ioUringDisabled})`;
  if (n.blkdev && !p.blkdev) return 'no block device to read (the UML guests read /dev/ubdb; on the host set PINLAB_BLKDEV=/dev/...)';
  if (n.blkdev && p.blkdevError) return `cannot open ${p.blkdev} with O_DIRECT (${p.blkdevError})`;
  return modelPremiseMissing(w, plan);
}

/** Why this host cannot measure w (null: it can). */
export function hostSkipReason(w: Workload, dir: string): string | null {
  const o = probeHost(dir);
  if (o.status !== 'ok') return o.reason;
  return premiseMissing(w, o.probe, planFromProbe(o.probe, DEFAULT_PAGES));
}

export function runHost(w: Workload, opts: { pages: number; reps: number; dir: string }): HostOutcome {
  const o = probeHost(opts.dir);
  const why = o.status === 'ok' ? premiseMissing(w, o.probe, planFromProbe(o.probe, opts.pages)) : o.reason;
  if (why !== null) return { status: 'skip', reason: why };
  try {
    return outcomeOf(runPinhost([w.name, '--pages', String(opts.pages), '--reps', String(opts.reps), '--dir', opts.dir, ...blkdevArgs()]), opts);
  } catch (e) {
    return { status: 'error', message: (e as Error).message };
  }
}

// ---- verdicts -------------------------------------------------------------------------------------

export type Verdict = 'MATCH' | 'DIFF' | 'PENDING' | 'SKIP';

export interface FactRow {
  readonly name: string;
  readonly host: number | null;
  readonly model: number | null;
}

export interface CaseResult {
  readonly name: string;
  readonly no: string;
  readonly title: string;
  readonly rules: string;
  readonly host: HostOutcome;
  readonly model: ModelOutcome;
  readonly facts: FactRow[];
  readonly verdict: Verdict;
  /** Why the verdict (the differences, what is missing, why skipped). */
  readonly reason: string;
}

export function samePhases(a: readonly Phase[], b: readonly Phase[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i].name && p.ret === b[i].ret && p.dA === b[i].dA && p.dR === b[i].dR);
}

function phaseDiffs(host: readonly Phase[], model: readonly Phase[]): string[] {
  const out: string[] = [];
  const n = Math.max(host.length, model.length);
  for (let i = 0; i < n; i++) {
    const h = host[i];
    const m = model[i];
    if (!h || !m) {
      out.push(`${(h ?? m).name}: ${h ? `host ${fmtPhase(h)}, model has no such phase` : `model ${fmtPhase(m)}, host has no such phase`}`);
      continue;
    }
    if (h.name !== m.name) out.push(`phase ${i + 1}: host '${h.name}', model '${m.name}'`);
    else if (!samePhases([h], [m])) out.push(`${h.name}: host ${fmtPhase(h)}, model ${fmtPhase(m)}`);
  }
  return out;
}

export function judge(w: Workload, host: HostOutcome, model: ModelOutcome): { verdict: Verdict; reason: string; facts: FactRow[] } {
  const facts: FactRow[] = w.facts.map((f) => ({
    name: f.name,
    host: host.status === 'ok' ? f.host(host.obs, host.pages) : null,
    model: model.status === 'ok' ? (model.facts[f.name] ?? null) : null,
  }));
  if (model.status === 'pending') return { verdict: 'PENDING', reason: `not modelled yet (needs ${model.needs.join(', ')})`, facts };
  if (host.status === 'skip') return { verdict: 'SKIP', reason: host.reason, facts };
  if (host.status === 'error') return { verdict: 'SKIP', reason: `host measurement failed: ${host.message}`, facts };
  const invalid = w.hostInvalid?.(host.obs) ?? null;
  if (invalid !== null) return { verdict: 'SKIP', reason: invalid, facts };
  if (model.status === 'error') return { verdict: 'DIFF', reason: `the model failed to run the workload: ${model.message}`, facts };
  const diffs = phaseDiffs(host.phases, model.phases);
  for (const f of facts) {
    if (f.host !== null && f.model !== null && f.host !== f.model) diffs.push(`${f.name}: host ${f.host}, model ${f.model}`);
  }
  if (diffs.length) return { verdict: 'DIFF', reason: diffs.join('; '), facts };
  const noisy = host.votes < host.reps ? ` (host: ${host.votes}/${host.reps} reps agreed)` : '';
  return { verdict: 'MATCH', reason: `host and model agree${noisy}`, facts };
}

export interface CheckOptions {
  /** The model profile (default: the host's exact release, src/host/kernels.ts profileForRelease()). */
  readonly profile?: string;
  /** Only these cases (names); default all. */
  readonly cases?: readonly string[];
  readonly pages?: number;
  readonly reps?: number;
  /** Where the helper makes its files (default: a fresh directory under os.tmpdir()). */
  readonly dir?: string;
  /** Called after each case (progress). */
  readonly onCase?: (r: CaseResult) => void;
}

export interface CheckReport {
  /** Which kernel: 'host', or a UML kernel ('uml-6.1'). Absent: the host. */
  readonly kernel?: string;
  /** Its uname -r (null: it could not be probed). */
  readonly release?: string | null;
  /** Why the profile is not the kernel's exact release, if it is not. */
  readonly profileNote?: string;
  readonly pages: number;
  readonly reps: number;
  readonly profile: string;
  readonly dir: string;
  readonly env: HostEnv | null;
  /** What the probe measured (null: the host could not be probed, see `unprobed`). */
  readonly probe: HostProbe | null;
  readonly unprobed?: string;
  /** The model's machine, and which probed fact set each setting. */
  readonly machine: Readonly<Record<string, unknown>>;
  readonly plan: HostModelPlan | null;
  readonly results: CaseResult[];
  readonly counts: Record<Verdict, number>;
}

export function runHostCheck(backend: Backend, opts: CheckOptions = {}): CheckReport {
  const pages = opts.pages ?? DEFAULT_PAGES;
  const reps = opts.reps ?? DEFAULT_REPS;
  const selected = opts.cases ? opts.cases.map((n) => {
    const w = WORKLOADS.find((x) => x.name === n);
    if (!w) throw new Error(`no case named '${n}'`);
    return w;
  }) : WORKLOADS;
  const fromRelease = opts.profile === undefined && process.platform === 'linux' ? profileForRelease(release()) : null;
  const profile = opts.profile ?? fromRelease?.profile ?? MODEL_PROFILE;
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'pinlab-host-'));
  const results: CaseResult[] = [];
  let probed: ProbeOutcome = { status: 'skip', reason: 'not probed' };
  let plan: HostModelPlan | null = null;
  try {
    // Probe first: the model runs on the machine the probe describes.
    probed = probeHost(dir);
    plan = probed.status === 'ok' ? planFromProbe(probed.probe, pages) : null;
    const machine = plan?.machine ?? STOCK_MACHINE;
    for (const w of selected) {
      const model = runModel(w, pages, backend, { machine, profile });
      const host = runHost(w, { pages, reps, dir });
      const r: CaseResult = { name: w.name, no: w.no, title: w.title, rules: w.rules, host, model, ...judge(w, host, model) };
      results.push(r);
      opts.onCase?.(r);
    }
  } finally {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  }
  const counts: Record<Verdict, number> = { MATCH: 0, DIFF: 0, PENDING: 0, SKIP: 0 };
  for (const r of results) counts[r.verdict]++;
  const firstEnv = results.find((r) => r.host.status === 'ok')?.host;
  return {
    kernel: 'host', release: probed.status === 'ok' ? probed.probe.kernel : null, ...(fromRelease?.note && { profileNote: fromRelease.note }),
    pages, reps, profile, dir, env: firstEnv?.status === 'ok' ? firstEnv.env : null,
    probe: probed.status === 'ok' ? probed.probe : null, ...(probed.status === 'skip' && { unprobed: probed.reason }),
    machine: plan?.machine ?? STOCK_MACHINE, plan, results, counts,
  };
}

// ---- formatting -----------------------------------------------------------------------------------

const ERRNO: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 4: 'EINTR', 5: 'EIO', 6: 'ENXIO', 9: 'EBADF', 11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES',
  14: 'EFAULT', 16: 'EBUSY', 17: 'EEXIST', 22: 'EINVAL', 28: 'ENOSPC', 32: 'EPIPE', 75: 'EOVERFLOW', 95: 'EOPNOTSUPP',
  133: 'EHWPOISON',
};

export function fmtRet(r: number): string {
  return r < 0 ? `-${ERRNO[-r] ?? String(-r)}` : String(r);
}

const signed = (x: number) => (x > 0 ? `+${x}` : String(x));

export function fmtDelta(p: Phase): string {
  return `${signed(p.dA)}/${signed(p.dR)}`;
}

function fmtPhase(p: Phase): string {
  return `ret ${fmtRet(p.ret)}, ΔA/ΔR ${fmtDelta(p)}`;
}

/** "pread" phases print bare; several phases as "register: 0; unregister: 0". */
function cols(phases: readonly Phase[]): { ret: string; delta: string } {
  if (phases.length === 1) return { ret: fmtRet(phases[0].ret), delta: fmtDelta(phases[0]) };
  return {
    ret: phases.map((p) => `${p.name} ${fmtRet(p.ret)}`).join('; '),
    delta: phases.map((p) => `${p.name} ${fmtDelta(p)}`).join('; '),
  };
}

export function hostCols(h: HostOutcome): { ret: string; delta: string } {
  if (h.status === 'ok') return cols(h.phases);
  return { ret: h.status === 'skip' ? 'skipped' : 'error', delta: '-' };
}

export function modelCols(m: ModelOutcome): { ret: string; delta: string } {
  if (m.status === 'ok') return cols(m.phases);
  if (m.status === 'pending') return { ret: 'not modelled yet', delta: '-' };
  return { ret: 'error', delta: m.phases.length ? cols(m.phases).delta : '-' };
}

export function formatTable(rep: CheckReport, colour: (v: Verdict, s: string) => string = (_v, s) => s): string {
  const kernel = rep.kernel ?? 'host';
  const side = kernel === 'host' ? 'host' : 'kernel';
  const head = ['case', `${side} ret`, `${side} ΔA/ΔR`, 'model ret', 'model ΔA/ΔR', 'verdict'];
  const rows = rep.results.map((r) => {
    const h = hostCols(r.host);
    const m = modelCols(r.model);
    return [r.name, h.ret, h.delta, m.ret, m.delta, r.verdict];
  });
  const w = head.map((_, i) => Math.max(head[i].length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[], verdict?: Verdict) =>
    cells.map((c, i) => (i === cells.length - 1 ? (verdict ? colour(verdict, c) : c) : c.padEnd(w[i]))).join('  ').trimEnd();
  const out: string[] = [];
  out.push(`pinlab host-check [${kernel}${rep.release ? ` ${rep.release}` : ''}]: N = ${rep.pages} pages, ${rep.reps} reps (mode); model profile ${rep.profile}`);
  if (rep.probe && rep.plan) {
    out.push(...describeProbe(rep.probe, rep.plan, kernel));
    if (rep.profileNote) out.push(`  note: ${rep.profileNote}, so a DIFF may be a difference of version`);
  }
  else out.push(`${kernel} not probed: ${rep.unprobed ?? '?'}; model machine: stock (${formatMachine(rep.machine)})`);
  out.push('');
  out.push(line(head));
  for (let i = 0; i < rows.length; i++) out.push(line(rows[i], rep.results[i].verdict));
  const notMatching = rep.results.filter((r) => r.verdict !== 'MATCH');
  if (notMatching.length) out.push('');
  for (const r of notMatching) out.push(`${colour(r.verdict, r.verdict)} ${r.name}: ${r.reason}`);
  const facts = rep.results.filter((r) => r.facts.some((f) => f.host !== null || f.model !== null));
  if (facts.length) {
    out.push('');
    out.push(`facts (${side} / model):`);
    for (const r of facts) {
      out.push(`  ${r.name}: ${r.facts.map((f) => `${f.name} ${f.host ?? '-'} / ${f.model ?? '-'}`).join('; ')}`);
    }
  }
  const consoleTail = (rep as CheckReport & { console?: string }).console;
  if (consoleTail) out.push('', `${kernel} console (last lines):`, ...consoleTail.split('\n').map((l) => `  | ${l}`));
  const c = rep.counts;
  out.push('');
  out.push(`${kernel === 'host' ? '' : `${kernel}: `}${c.MATCH} MATCH, ${c.DIFF} DIFF, ${c.PENDING} PENDING, ${c.SKIP} SKIP`);
  return `${out.join('\n')}\n`;
}

export function reportJson(rep: CheckReport): Record<string, unknown> {
  const mapping: readonly MappingRow[] = rep.plan?.mapping ?? [];
  return {
    name: rep.kernel ?? 'host', release: rep.release ?? null, ...(rep.profileNote && { profileNote: rep.profileNote }),
    pages: rep.pages, reps: rep.reps, profile: rep.profile, env: rep.env, counts: rep.counts,
    probe: rep.probe, ...(rep.unprobed !== undefined && { unprobed: rep.unprobed }),
    machine: rep.machine, mapping, limits: rep.plan?.limits ?? {},
    cases: rep.results.map((r) => ({
      name: r.name, no: r.no, title: r.title, rules: r.rules, verdict: r.verdict, reason: r.reason,
      host: r.host, model: r.model, facts: r.facts,
    })),
  };
}

export class HostCheckUsage extends Error {}

/** For tests: forget the cached probe (e.g. after building the helper). */
export function resetHostSupportCache(): void {
  probeCache = undefined;
}
