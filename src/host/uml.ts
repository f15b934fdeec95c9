// host-check against a User-Mode Linux kernel: boot a cached UML kernel (src/host/kernels.ts)
// once, with a static pinhost and host/umlinit.c as its init, a host directory as its root
// (hostfs) and a fresh ext4 image as its disk; run the probe and every case inside it; compare
// with the model on the profile of the guest's exact release and on the machine the guest's probe
// and its kernel configuration describe (no GUP-fast, no THP, no hugetlb).
//
// One boot per kernel: umlinit runs the plan (probe, then each case with its own timeout) and
// writes each job's output to the root directory, which the host reads after the guest powered
// off. A guest that hangs is killed (its whole process group) after a deadline; one that panics
// or stops early is an error that carries the console's tail, never a hang of pinlab.

import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../scenario/backend.js';
import {
  DEFAULT_PAGES, judge, outcomeOf, pinhostJson, premiseMissing, type CaseResult, type CheckReport, type HostOutcome, type ProbeOutcome,
  type Verdict,
} from './check.js';
import { cachedKernel, kernelMissing, profileForRelease, type CachedKernel } from './kernels.js';
import { ensureHostBinary } from './native.js';
import { parseProbe, planFromProbe, type HostModelPlan, type HostProbe } from './probe.js';
import { STOCK_MACHINE, WORKLOADS, runModel, type Workload } from './workloads.js';

/** Seconds a job may run inside the guest before umlinit kills it. */
export const JOB_TIMEOUT_S = 60;
/** Reps per case in a guest: one CPU and no other process, so the reps only guard against a fluke. */
export const UML_REPS = 3;
const GUEST_MEM_MIB = 256;
const DISK_BYTES = 256 << 20;

// ---- the plan and what comes back ------------------------------------------------------------------

export interface GuestJob {
  readonly out: string;
  readonly args: readonly string[];
  readonly timeoutS: number;
}

/** The jobs of one boot: the probe, then each case. Files live under the guest's /mnt/work (ext4). */
export function guestPlan(cases: readonly string[], opts: { pages: number; reps: number }): GuestJob[] {
  const dir = '/mnt/work';
  const blk = ['--blkdev', GUEST_BLKDEV];
  return [
    { out: 'probe.json', args: ['--probe', '--dir', dir, ...blk], timeoutS: JOB_TIMEOUT_S },
    ...cases.map((c) => ({ out: `${c}.json`, args: [c, '--pages', String(opts.pages), '--reps', String(opts.reps), '--dir', dir, ...blk], timeoutS: JOB_TIMEOUT_S })),
  ];
}

/** The guest's second disk (ubd1, a raw image of zeros) that the blkdev cases read. */
export const GUEST_BLKDEV = '/dev/ubdb';
const BLKDEV_BYTES = 16 << 20;

/** /plan as umlinit reads it: "TIMEOUT OUTFILE ARG..." per line. */
export function planText(jobs: readonly GuestJob[]): string {
  for (const j of jobs) {
    if (![j.out, ...j.args].every((x) => /^[A-Za-z0-9_./-]+$/.test(x))) throw new Error(`guest job with an unsafe word: ${JSON.stringify(j)}`);
  }
  return jobs.map((j) => `${j.timeoutS} ${j.out} ${j.args.join(' ')}\n`).join('');
}

/** How each job ended (umlinit's /out/status.jsonl) and what it printed. */
export interface GuestOutput {
  /** status.jsonl, one JSON object a line. */
  readonly status: string;
  /** OUTFILE → what the job printed (absent: never written). */
  readonly files: Readonly<Record<string, string>>;
}

export interface GuestResult {
  readonly probe: ProbeOutcome;
  readonly outcomes: ReadonlyMap<string, HostOutcome>;
  /** Whether umlinit got to the end of its plan. */
  readonly finished: boolean;
  /** Problems of the guest itself (a mount that failed, no disk). */
  readonly events: readonly string[];
}

/**
 * What a guest run measured: the probe and every case's outcome. A job that was killed, crashed or
 * printed no result is an error outcome naming why; a job that never ran (the guest stopped
 * early) says so.
 */
export function parseGuestOutput(out: GuestOutput, cases: readonly string[], opts: { pages: number; reps: number }): GuestResult {
  const ends = new Map<string, Record<string, unknown>>();
  const events: string[] = [];
  let finished = false;
  for (const line of out.status.split('\n')) {
    if (!line.trim()) continue;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      events.push(`unreadable status line ${JSON.stringify(line.slice(0, 100))}`);
      continue;
    }
    if (typeof o !== 'object' || o === null) continue;
    const r = o as Record<string, unknown>;
    if (r.event === 'done') finished = true;
    else if (typeof r.event === 'string') events.push(`${r.event} ${String(r.detail ?? '')} (errno ${String(r.errno ?? '?')})`);
    else if (typeof r.out === 'string') ends.set(r.out, r);
  }
  const result = (file: string): Record<string, unknown> => {
    const end = ends.get(file);
    if (!end) throw new Error(finished ? 'the guest did not run it' : 'the guest stopped before it ran (see the console)');
    if (end.timeout === true) throw new Error(`killed after ${JOB_TIMEOUT_S} s in the guest`);
    if (typeof end.signal === 'number') throw new Error(`killed by signal ${end.signal} in the guest`);
    const text = out.files[file];
    if (text === undefined) throw new Error('no output file');
    return pinhostJson(text, `${file.replace(/\.json$/, '')} (in the guest)`, typeof end.exit === 'number' ? end.exit : null);
  };
  let probe: ProbeOutcome;
  try {
    probe = { status: 'ok', probe: parseProbe(result('probe.json')) };
  } catch (e) {
    probe = { status: 'skip', reason: `guest probe: ${(e as Error).message}` };
  }
  const outcomes = new Map<string, HostOutcome>();
  for (const c of cases) {
    try {
      outcomes.set(c, outcomeOf(result(`${c}.json`), opts));
    } catch (e) {
      outcomes.set(c, { status: 'error', message: (e as Error).message });
    }
  }
  return { probe, outcomes, finished, events };
}

// ---- the machine of a UML guest --------------------------------------------------------------------

/**
 * The model machine for a guest: what its probe says (planFromProbe()), plus what its kernel
 * configuration says and a probe cannot measure: whether the architecture has GUP-fast
 * (CONFIG_HAVE_FAST_GUP, named CONFIG_HAVE_GUP_FAST from v6.10; User-Mode Linux has neither).
 */
export function planForGuest(p: HostProbe, pages: number, config: string | null): HostModelPlan {
  const plan = planFromProbe(p, pages);
  if (config === null) return plan;
  const gupFast = /^CONFIG_HAVE_(FAST_GUP|GUP_FAST)=y$/m.test(config);
  const smp = /^CONFIG_SMP=y$/m.test(config);
  // arch/um: copy_from_user() walks the page table in software (arch/um/kernel/skas/uaccess.c).
  const um = /^CONFIG_UML=y$/m.test(config);
  return {
    ...plan,
    machine: { ...plan.machine, gup_fast: gupFast, ...(um && { uml_uaccess: true }) },
    mapping: [
      ...plan.mapping,
      { fact: 'CONFIG_HAVE_FAST_GUP / CONFIG_HAVE_GUP_FAST (kernel config)', observed: gupFast ? 'y' : 'not set', setting: 'gup_fast', value: String(gupFast) },
      ...(um ? [{ fact: 'CONFIG_UML (kernel config)', observed: 'y', setting: 'uml_uaccess', value: 'true' }] : []),
      { fact: 'CONFIG_SMP (kernel config)', observed: smp ? 'y' : 'not set (one CPU, exact vmstat counters)', setting: '-', value: 'the model has no CPUs' },
    ],
  };
}

// ---- booting -----------------------------------------------------------------------------------------

function mkfsExt4(): string | null {
  for (const p of ['/usr/sbin/mkfs.ext4', '/sbin/mkfs.ext4']) if (existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', 'command -v mkfs.ext4'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

export interface BootOutcome {
  readonly output: GuestOutput | null;
  /** Why the boot failed (null: the guest powered off by itself). */
  readonly error: string | null;
  readonly console: string;
  readonly seconds: number;
}

/** Keep the last `max` characters of a stream. */
class Tail {
  text = '';
  constructor(private readonly max: number) {}
  add(s: string): void {
    this.text = (this.text + s).slice(-this.max);
  }
}

/**
 * Boot `kernel` once with the jobs; resolves when the guest powered off or was killed. The run
 * directory (root, disk image) is removed afterwards.
 */
export async function bootGuest(
  kernel: CachedKernel, jobs: readonly GuestJob[],
  opts: { deadlineS?: number; /** More files for the guest's root: name there → host path (pinlab fuzz: its interpreter and programs). */ files?: Readonly<Record<string, string>> } = {},
): Promise<BootOutcome> {
  const t0 = Date.now();
  const seconds = () => (Date.now() - t0) / 1000;
  const fail = (error: string): BootOutcome => ({ output: null, error, console: '', seconds: seconds() });
  const mkfs = mkfsExt4();
  if (!mkfs) return fail('mkfs.ext4 is missing (package e2fsprogs)');
  let pinhost: string;
  let init: string;
  let shim: string;
  try {
    pinhost = ensureHostBinary('pinhost', { static: true });
    init = ensureHostBinary('umlinit', { static: true });
    shim = ensureHostBinary('umlshim', { shared: true });
  } catch (e) {
    return fail(`cannot build the guest's static helpers: ${(e as Error).message}`);
  }
  const run = mkdtempSync(join(tmpdir(), `pinlab-${kernel.spec.name}-`));
  try {
    const root = join(run, 'root');
    for (const d of ['proc', 'sys', 'dev', 'mnt', 'out', 'tmp']) mkdirSync(join(root, d), { recursive: true });
    copyFileSync(init, join(root, 'init'));
    copyFileSync(pinhost, join(root, 'pinhost'));
    writeFileSync(join(root, 'plan'), planText(jobs));
    for (const [name, from] of Object.entries(opts.files ?? {})) copyFileSync(from, join(root, name));
    const disk = join(run, 'disk.img');
    writeFileSync(disk, '');
    truncateSync(disk, DISK_BYTES);
    const mk = spawnSync(mkfs, ['-q', '-F', disk], { encoding: 'utf8' });
    if (mk.status !== 0) return fail(`mkfs.ext4 failed: ${(mk.stderr || mk.stdout).trim()}`);
    const blk = join(run, 'blk.img');
    writeFileSync(blk, '');
    truncateSync(blk, BLKDEV_BYTES);
    const args = [
      `mem=${GUEST_MEM_MIB}M`, 'root=/dev/root', 'rootfstype=hostfs', `rootflags=${root}`, 'rw', 'init=/init',
      `ubd0=${disk}`, `ubd1=${blk}`, 'con0=fd:0,fd:1', 'con=null', `uml_dir=${run}`, 'umid=pinlab', 'quiet',
    ];
    // Boot and power-off take seconds; each job has its own timeout inside the guest.
    const deadlineS = opts.deadlineS ?? 60 + jobs.reduce((s, j) => s + j.timeoutS, 0);
    const tail = new Tail(8192);
    const { code, killed, spawnError } = await new Promise<{ code: number | string | null; killed: boolean; spawnError: string | null }>((resolve) => {
      // host/umlshim.c: the guest's FPU state on hosts with a larger XSAVE area (AMX) than UML knows.
      const env = { ...process.env, LD_PRELOAD: [shim, process.env.LD_PRELOAD].filter(Boolean).join(':') };
      const child = spawn(kernel.binary, args, { cwd: run, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
      let killedByUs = false;
      const timer = setTimeout(() => {
        killedByUs = true;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, deadlineS * 1000);
      child.stdout.setEncoding('utf8').on('data', (s: string) => tail.add(s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => tail.add(s));
      child.on('error', (e) => {
        clearTimeout(timer);
        resolve({ code: null, killed: false, spawnError: e.message });
      });
      child.on('close', (c, sig) => {
        clearTimeout(timer);
        // The guest's own helper processes share its process group: make sure none is left.
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
        resolve({ code: c ?? sig, killed: killedByUs, spawnError: null });
      });
    });
    const consoleTail = tail.text.split('\n').slice(-25).join('\n');
    if (spawnError) return { output: null, error: `cannot start ${kernel.binary}: ${spawnError}`, console: consoleTail, seconds: seconds() };
    const out = join(root, 'out');
    const files: Record<string, string> = {};
    for (const j of jobs) {
      const f = join(out, j.out);
      if (existsSync(f)) files[j.out] = readFileSync(f, 'utf8');
    }
    const status = existsSync(join(out, 'status.jsonl')) ? readFileSync(join(out, 'status.jsonl'), 'utf8') : '';
    let error: string | null = null;
    if (killed) error = `the guest did not power off within ${deadlineS} s and was killed`;
    else if (!/"event": "done"/.test(status)) error = `the guest stopped before the end of its plan (exit ${String(code)})`;
    return { output: { status, files }, error, console: consoleTail, seconds: seconds() };
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
}

// ---- the check ------------------------------------------------------------------------------------------

export interface UmlCheckOptions {
  readonly cases?: readonly string[];
  readonly pages?: number;
  readonly reps?: number;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly onCase?: (r: CaseResult) => void;
}

export interface UmlReport extends CheckReport {
  /** Wall-clock seconds of the boot (all cases). */
  readonly seconds: number;
  /** The guest console's last lines when the boot went wrong. */
  readonly console?: string;
}

function counts(results: readonly CaseResult[]): Record<Verdict, number> {
  const c: Record<Verdict, number> = { MATCH: 0, DIFF: 0, PENDING: 0, SKIP: 0 };
  for (const r of results) c[r.verdict]++;
  return c;
}

/** Every case SKIP (or PENDING where the model lacks an op) with one reason: the kernel cannot be booted. */
function allSkipped(name: string, selected: readonly Workload[], backend: Backend, pages: number, reps: number, reason: string): UmlReport {
  const results = selected.map((w) => {
    const host: HostOutcome = { status: 'skip', reason };
    const model = runModel(w, pages, backend, { machine: STOCK_MACHINE });
    return { name: w.name, no: w.no, title: w.title, rules: w.rules, host, model, ...judge(w, host, model) };
  });
  return {
    kernel: name, release: null, pages, reps, profile: '-', dir: '-', env: null, probe: null, unprobed: reason,
    machine: STOCK_MACHINE, plan: null, results, counts: counts(results), seconds: 0,
  };
}

export async function runUmlCheck(backend: Backend, name: string, opts: UmlCheckOptions = {}): Promise<UmlReport> {
  const pages = opts.pages ?? DEFAULT_PAGES;
  const reps = opts.reps ?? UML_REPS;
  const selected = opts.cases ? opts.cases.map((n) => WORKLOADS.find((w) => w.name === n)!) : WORKLOADS;
  const env = opts.env ?? process.env;
  if (process.platform !== 'linux') return allSkipped(name, selected, backend, pages, reps, `User-Mode Linux runs on Linux only (this is ${process.platform})`);
  const missing = kernelMissing(name, env);
  const kernel = cachedKernel(name, env);
  if (missing !== null || !kernel) return allSkipped(name, selected, backend, pages, reps, missing ?? `${name}: not cached`);
  const boot = await bootGuest(kernel, guestPlan(selected.map((w) => w.name), { pages, reps }));
  if (!boot.output) {
    return { ...allSkipped(name, selected, backend, pages, reps, `${name} could not be booted: ${boot.error}`), seconds: boot.seconds, console: boot.console };
  }
  const guest = parseGuestOutput(boot.output, selected.map((w) => w.name), { pages, reps });
  const config = existsSync(join(kernel.dir, 'config')) ? readFileSync(join(kernel.dir, 'config'), 'utf8') : null;
  const probe = guest.probe.status === 'ok' ? guest.probe.probe : null;
  const plan = probe ? planForGuest(probe, pages, config) : null;
  const release = probe?.kernel ?? kernel.meta.release;
  const { profile } = profileForRelease(release);
  const bootProblem = boot.error ? `${boot.error}${guest.events.length ? `; ${guest.events.join('; ')}` : ''}` : null;
  const results: CaseResult[] = [];
  for (const w of selected) {
    let host: HostOutcome;
    if (!probe || !plan) host = { status: 'skip', reason: guest.probe.status === 'skip' ? guest.probe.reason : 'no probe' };
    else {
      const why = premiseMissing(w, probe, plan);
      host = why !== null ? { status: 'skip', reason: why } : guest.outcomes.get(w.name)!;
      if (host.status === 'error' && bootProblem) host = { status: 'error', message: `${host.message} (${bootProblem})` };
    }
    const model = runModel(w, pages, backend, { profile, machine: plan?.machine ?? STOCK_MACHINE });
    const r: CaseResult = { name: w.name, no: w.no, title: w.title, rules: w.rules, host, model, ...judge(w, host, model) };
    results.push(r);
    opts.onCase?.(r);
  }
  const envOk = [...guest.outcomes.values()].find((h) => h.status === 'ok');
  return {
    kernel: name, release, pages, reps, profile, dir: '(guest) /mnt/work', env: envOk?.status === 'ok' ? envOk.env : null,
    probe, ...(!probe && { unprobed: guest.probe.status === 'skip' ? guest.probe.reason : 'no probe' }),
    machine: plan?.machine ?? STOCK_MACHINE, plan, results, counts: counts(results), seconds: boot.seconds,
    ...((boot.error || !probe) && { console: boot.console }),
  };
}
