// Running a batch of programs on a real kernel: this host (build/pinfuzz, one process for the
// batch) or a User-Mode Linux guest (one boot per batch: the probe, then /pinfuzz over the
// programs file, through src/host/uml.ts bootGuest()). Either way the probe describes the machine
// the model runs on, and the kernel's exact release picks its profile.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Value } from '../scenario/backend.js';
import { probeHost } from '../host/check.js';
import { cachedKernel, kernelMissing, profileForRelease } from '../host/kernels.js';
import { ensureHostBinary } from '../host/native.js';
import { planFromProbe, type HostProbe } from '../host/probe.js';
import { GUEST_BLKDEV, bootGuest, parseGuestOutput, planForGuest, type GuestJob } from '../host/uml.js';
import { parseResultLine, encodeProgram, type RunResult } from './encode.js';
import type { Caps } from './generate.js';
import type { Program } from './program.js';

export const KERNEL_NAMES = ['host', 'uml-5.10', 'uml-6.1', 'uml-6.12'] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

/** Every guest has io_uring and a raw block device (ubd1, src/host/uml.ts): known before the boot, as the generator needs. */
export const UML_CAPS: Caps = { blkdev: true, ioUring: true };

/** The model's memory: the programs map at most a few MiB; a PMD THP needs its 2 MiB blocks. */
const MODEL_PAGES = 1024;

/** What the model needs to know about a kernel before running programs: its machine and profile. */
export interface Target {
  readonly kernel: KernelName;
  readonly release: string;
  readonly profile: string;
  readonly machine: Readonly<Record<string, Value>>;
  readonly caps: Caps;
  readonly probe: HostProbe;
}

export interface BatchOutcome {
  readonly results: Map<number, RunResult>;
  /** Seconds the kernel side took (the interpreter's run, or the whole boot). */
  readonly seconds: number;
  /** pinfuzz's header line (zero page PFN, kpageflags, stat_refresh). */
  readonly header: string;
}

/** Why a kernel cannot be fuzzed here (null: it can). */
export function kernelUnavailable(name: KernelName, env: Readonly<Record<string, string | undefined>> = process.env): string | null {
  if (process.platform !== 'linux') return `pinlab fuzz runs kernels on Linux only (this is ${process.platform})`;
  if (name === 'host') return process.getuid?.() === 0 ? null : 'not running as root (needed for stat_refresh and pagemap PFNs)';
  return kernelMissing(name, env);
}

function parseBatch(text: string): { results: Map<number, RunResult>; header: string } {
  const results = new Map<number, RunResult>();
  let header = '';
  for (const line of text.split('\n')) {
    if (!line) continue;
    if (line.startsWith('#')) {
      header ||= line.slice(1);
      continue;
    }
    const r = parseResultLine(line);
    results.set(r.id, r);
  }
  return { results, header };
}

// ---- the host ----------------------------------------------------------------------------------

export function hostTarget(): Target {
  const dir = tmpdir();
  const o = probeHost(dir);
  if (o.status !== 'ok') throw new Error(`cannot probe the host: ${o.reason}`);
  const plan = planFromProbe(o.probe, MODEL_PAGES);
  const { profile } = profileForRelease(o.probe.kernel);
  return {
    kernel: 'host', release: o.probe.kernel, profile, machine: plan.machine, probe: o.probe,
    caps: { blkdev: false, ioUring: o.probe.ioUring },
  };
}

export function runOnHost(programs: readonly Program[]): BatchOutcome {
  const bin = ensureHostBinary('pinfuzz');
  const t0 = Date.now();
  const r = spawnSync(bin, ['--dir', tmpdir()], {
    input: programs.map(encodeProgram).join('\n') + '\n', encoding: 'utf8', maxBuffer: 1 << 30, timeout: 30 * 60_000,
  });
  if (r.error) throw new Error(`pinfuzz: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`pinfuzz exited ${r.status ?? r.signal}: ${r.stderr.trim().slice(0, 500)}`);
  return { ...parseBatch(r.stdout), seconds: (Date.now() - t0) / 1000 };
}

// ---- User-Mode Linux ------------------------------------------------------------------------------

/** Seconds a batch may run in the guest: generous per program (a UML fork costs milliseconds). */
function batchTimeout(n: number): number {
  return Math.min(3600, 60 + Math.ceil(n * 0.25));
}

/**
 * Boot the kernel once with the programs: returns the guest's target (its probe, machine,
 * profile) and every program's result. `programs` empty: only the probe.
 */
export async function runOnUml(name: KernelName, programs: readonly Program[]): Promise<{ target: Target; batch: BatchOutcome }> {
  const kernel = cachedKernel(name);
  if (!kernel) throw new Error(kernelMissing(name) ?? `${name}: not cached`);
  const fuzz = ensureHostBinary('pinfuzz', { static: true });
  const work = mkdtempSync(join(tmpdir(), 'pinlab-fuzz-'));
  try {
    const progs = join(work, 'progs');
    writeFileSync(progs, programs.map(encodeProgram).join('\n') + '\n');
    const dir = '/mnt/work';
    const jobs: GuestJob[] = [
      { out: 'probe.json', args: ['--probe', '--dir', dir, '--blkdev', GUEST_BLKDEV], timeoutS: 60 },
      { out: 'fuzz.txt', args: ['/pinfuzz', '--dir', dir, '--blkdev', GUEST_BLKDEV, '--in', '/progs'], timeoutS: batchTimeout(programs.length) },
    ];
    const boot = await bootGuest(kernel, jobs, { files: { pinfuzz: fuzz, progs } });
    if (!boot.output) throw new Error(`${name} could not be booted: ${boot.error}\n${boot.console}`);
    const guest = parseGuestOutput(boot.output, [], { pages: 1, reps: 1 });
    if (guest.probe.status !== 'ok') throw new Error(`${name}: ${guest.probe.reason}\n${boot.console}`);
    const probe = guest.probe.probe;
    const config = existsSync(join(kernel.dir, 'config')) ? readFileSync(join(kernel.dir, 'config'), 'utf8') : null;
    const plan = planForGuest(probe, MODEL_PAGES, config);
    const { profile } = profileForRelease(probe.kernel);
    const text = boot.output.files['fuzz.txt'] ?? '';
    const batch = { ...parseBatch(text), seconds: boot.seconds };
    if (programs.length && batch.results.size < programs.length) {
      const why = boot.error ?? 'the interpreter stopped early';
      throw new Error(`${name}: ${batch.results.size} of ${programs.length} programs ran (${why})\n${text.split('\n').slice(-3).join('\n')}\n${boot.console}`);
    }
    return {
      target: { kernel: name, release: probe.kernel, profile, machine: plan.machine, probe, caps: UML_CAPS },
      batch,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
