// `pinlab fuzz` for one kernel: generate, run the batch on the kernel, run each program on the
// model (its exact release's profile, the probed machine), compare call by call; on the host
// re-run what differs (global counters: another process's pins can land in a call); shrink each
// new divergence and write it as a scenario.

import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../scenario/backend.js';
import { UML_STALE_MAPPINGS, firstDifference, slotKinds, type Difference, type Explained } from './compare.js';
import { encodeProgram, type RunResult } from './encode.js';
import { generateProgram, type Caps } from './generate.js';
import { UML_CAPS, hostTarget, runOnHost, runOnUml, type KernelName, type Target } from './kernel.js';
import { runOnModel, type ModelRun } from './model.js';
import { MEM_KINDS, type Program } from './program.js';
import { scenarioYaml } from './scenario.js';
import { shrinkProgram } from './shrink.js';

export interface FuzzOptions {
  readonly programs: number;
  readonly seed: number;
  /** Where shrunk scenarios go (none: not shrunk, not written). */
  readonly out?: string;
  /** Programs per kernel batch (one process / one boot). */
  readonly batch?: number;
  /** UML guests booted at once (default 2, at most the CPUs). */
  readonly guests?: number;
  /** Shrink at most this many divergences (the first of each signature). */
  readonly maxShrink?: number;
  readonly onProgress?: (p: { done: number; total: number; divergences: number; perSecond: number }) => void;
}

export interface Divergence {
  readonly program: number;
  readonly encoded: string;
  readonly signature: string;
  readonly scenario: string | null;
  readonly first_difference: Difference;
  readonly shrunk?: { readonly calls: number; readonly rounds: number; readonly encoded: string };
}

export interface FuzzReport {
  readonly kernel: KernelName;
  readonly release: string;
  readonly profile: string;
  readonly seed: number;
  readonly programs: number;
  readonly divergences: Divergence[];
  readonly programs_per_second: number;
  readonly kernel_seconds: number;
  readonly model_seconds: number;
  /** Model programs per second over kernel programs per second. */
  readonly model_speedup: number;
  /** Host programs whose first run differed only in counters and whose re-run agreed with the model. */
  readonly noise: number;
  readonly explained: Readonly<Record<Explained, number>>;
  readonly machine: Target['machine'];
}

/** What kind of difference this is, for grouping and for shrinking to the same bug. */
export function signature(p: Program, d: Difference): string {
  if (d.kind === 'call') {
    const k = d.kernel as { ret: number; dA: number; dR: number };
    const m = d.model as { ret: number; dA: number; dR: number };
    const fields = [k.ret !== m.ret ? 'ret' : '', k.dA !== m.dA || k.dR !== m.dR ? 'pins' : ''].filter(Boolean).join('+');
    return `${p.calls[d.call!]!.op}:${fields}`;
  }
  if (d.kind === 'facts') return `facts:${/not present|zero page|token/.exec(d.what)?.[0] ?? ''}`;
  return d.kind;
}

async function kernelBatch(name: KernelName, progs: readonly Program[]): Promise<{ results: Map<number, RunResult>; seconds: number; target?: Target }> {
  if (name === 'host') return runOnHost(progs);
  const r = await runOnUml(name, progs);
  return { results: r.batch.results, seconds: r.batch.seconds, target: r.target };
}

export async function fuzzKernel(backend: Backend, name: KernelName, opts: FuzzOptions): Promise<FuzzReport> {
  const caps: Caps = name === 'host' ? hostTarget().caps : UML_CAPS;
  let target: Target | null = name === 'host' ? hostTarget() : null;
  const batchSize = opts.batch ?? (name === 'host' ? 250 : Math.max(1, Math.min(2500, Math.ceil(opts.programs / 2))));
  const divergences: Divergence[] = [];
  const explained: Record<Explained, number> = { 'fault-around': 0, 'uml-stale-mapping': 0 };
  const staleMappings = UML_STALE_MAPPINGS.includes(name);
  let kernelSeconds = 0;
  let modelSeconds = 0;
  let noise = 0;
  let done = 0;
  const t0 = Date.now();
  const model = (p: Program): ModelRun => {
    const m0 = performance.now();
    const r = runOnModel(backend, p, { profile: target!.profile, machine: target!.machine, blkdev: caps.blkdev });
    modelSeconds += (performance.now() - m0) / 1000;
    return r;
  };
  const compare = (p: Program, k: RunResult, m: ModelRun, ex?: Explained[]) => firstDifference(p, k, m.result, slotKinds(p, k, MEM_KINDS), ex, { staleMappings });
  const pending: Array<{ p: Program; d: Difference }> = [];
  // UML guests are separate kernels with counters of their own: batches run in several at once.
  // The host's counters are global, so its programs run one at a time.
  const guests = name === 'host' ? 1 : Math.max(1, Math.min(opts.guests ?? 2, availableParallelism()));
  for (let start = 0; start < opts.programs; start += batchSize * guests) {
    const shards: Program[][] = [];
    for (let s0 = start; s0 < Math.min(opts.programs, start + batchSize * guests); s0 += batchSize) {
      const shard: Program[] = [];
      for (let i = s0; i < Math.min(opts.programs, s0 + batchSize); i++) shard.push(generateProgram(opts.seed, i, caps));
      shards.push(shard);
    }
    const k0 = Date.now();
    const outs = await Promise.all(shards.map((ps) => kernelBatch(name, ps)));
    kernelSeconds += (Date.now() - k0) / 1000;
    const progs = shards.flat();
    const b = { results: new Map(outs.flatMap((o) => [...o.results])) };
    target ??= outs[0]!.target!;
    const suspects: Program[] = [];
    for (const p of progs) {
      const k = b.results.get(p.id);
      if (!k) throw new Error(`${name}: no result for program ${p.id}`);
      const ex: Explained[] = [];
      const d = compare(p, k, model(p), ex);
      for (const e of ex) explained[e]++;
      if (d) {
        // Only counters can be another process's doing: a ret that differs is re-run for nothing.
        const countersOnly = d.kind === 'end' || (d.kind === 'call' && (d.kernel as { ret: number }).ret === (d.model as { ret: number }).ret);
        if (name === 'host' && countersOnly) suspects.push(p);
        else pending.push({ p, d });
      }
    }
    // The host's counters are global: re-run what differed twice; one agreeing run is noise.
    if (suspects.length) {
      const again = [await kernelBatch(name, suspects), await kernelBatch(name, suspects)];
      for (const p of suspects) {
        const m = model(p);
        const ds = again.map((a) => compare(p, a.results.get(p.id)!, m));
        if (ds.some((x) => x === null)) noise++;
        else pending.push({ p, d: ds[0]! });
      }
    }
    done = progs[progs.length - 1]!.id + 1;
    opts.onProgress?.({ done, total: opts.programs, divergences: pending.length, perSecond: done / ((Date.now() - t0) / 1000) });
  }
  const wallSeconds = (Date.now() - t0) / 1000;
  // Shrink the first divergence of each signature; list the rest.
  const shrunkSigs = new Set<string>();
  const maxShrink = opts.maxShrink ?? 12;
  for (const { p, d } of pending) {
    const sig = signature(p, d);
    const enc = encodeProgram(p);
    if (!opts.out || shrunkSigs.has(sig) || shrunkSigs.size >= maxShrink) {
      divergences.push({ program: p.id, encoded: enc, signature: sig, scenario: null, first_difference: d });
      continue;
    }
    shrunkSigs.add(sig);
    const same = async (cands: readonly Program[]): Promise<boolean[]> => {
      const b = await kernelBatch(name, cands.map((c, i) => ({ id: i, calls: c.calls })));
      return cands.map((c, i) => {
        const k = b.results.get(i);
        if (!k || k.failure) return false;
        const dd = compare(c, k, model(c));
        return dd !== null && signature(c, dd) === sig;
      });
    };
    const s = await shrinkProgram(p, same, { rounds: name === 'host' ? 30 : 12 });
    const sp = s.program;
    const k = (await kernelBatch(name, [sp])).results.get(sp.id)!;
    const m = model(sp);
    const sd = compare(sp, k, m) ?? d;
    mkdirSync(opts.out, { recursive: true });
    const file = join(opts.out, `${name}-seed${opts.seed}-p${p.id}.yaml`);
    writeFileSync(file, scenarioYaml(sp, k, m, {
      name: `fuzz-${name}-seed${opts.seed}-p${p.id}`, kernel: name, release: target!.release, profile: target!.profile,
      seed: opts.seed, machine: target!.machine, difference: sd, original: p.id,
    }));
    divergences.push({
      program: p.id, encoded: enc, signature: sig, scenario: file, first_difference: sd,
      shrunk: { calls: sp.calls.length, rounds: s.rounds, encoded: encodeProgram(sp) },
    });
  }
  const perSecond = opts.programs / Math.max(kernelSeconds, 1e-9);
  return {
    kernel: name, release: target!.release, profile: target!.profile, seed: opts.seed, programs: opts.programs, divergences,
    programs_per_second: Math.round((opts.programs / Math.max(wallSeconds, 1e-9)) * 10) / 10,
    kernel_seconds: Math.round(kernelSeconds * 100) / 100, model_seconds: Math.round(modelSeconds * 100) / 100,
    model_speedup: Math.round(((opts.programs / Math.max(modelSeconds, 1e-9)) / perSecond) * 10) / 10,
    noise, explained, machine: target!.machine,
  };
}
