// `pinlab fuzz --kernel host|uml-5.10|uml-6.1|uml-6.12|all --programs N --seed S [--out DIR] [--json]`
// (src/fuzz/, docs/fuzz.md). Exit status: 0 no divergence, 1 a divergence, 2 usage error or a
// kernel that cannot be run here (named alone; with `all` such a kernel is skipped and said so).

import type { Backend } from '../scenario/backend.js';
import { KERNEL_NAMES, kernelUnavailable, type KernelName } from '../fuzz/kernel.js';
import { fuzzKernel, type FuzzReport } from '../fuzz/run.js';

export interface FuzzIo {
  out(text: string): void;
  err(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly isTTY: boolean;
}

export class FuzzUsageError extends Error {}

export const FUZZ_USAGE = 'usage: pinlab fuzz --kernel host|uml-5.10|uml-6.1|uml-6.12|all --programs N --seed S [--out DIR] [--json]';

function count(name: string, s: string | undefined, dflt: number, max: number): number {
  if (s === undefined) return dflt;
  if (!/^\d+$/.test(s) || Number(s) > max) throw new FuzzUsageError(`pinlab fuzz: --${name} must be a whole number up to ${max}, found '${s.slice(0, 40)}'\n${FUZZ_USAGE}`);
  return Number(s);
}

export async function fuzzCommand(
  io: FuzzIo, backend: Backend,
  o: { kernels?: readonly string[]; programs?: string; seed?: string; out?: string; json: boolean },
): Promise<number> {
  const ks = o.kernels ?? [];
  if (ks.length !== 1) throw new FuzzUsageError(`pinlab fuzz: give --kernel once (host, uml-5.10, uml-6.1, uml-6.12 or all)\n${FUZZ_USAGE}`);
  const k = ks[0]!;
  if (k !== 'all' && !(KERNEL_NAMES as readonly string[]).includes(k)) {
    throw new FuzzUsageError(`pinlab fuzz: no kernel named '${k.slice(0, 40)}' (host, uml-5.10, uml-6.1, uml-6.12 or all)\n${FUZZ_USAGE}`);
  }
  const programs = count('programs', o.programs, 1000, 10_000_000);
  const seed = count('seed', o.seed, 1, 0xffffffff);
  const names: KernelName[] = k === 'all' ? [...KERNEL_NAMES] : [k as KernelName];
  const reports: FuzzReport[] = [];
  const skipped: Array<{ kernel: string; reason: string }> = [];
  for (const name of names) {
    const why = kernelUnavailable(name, io.env);
    if (why !== null) {
      if (k !== 'all') {
        io.err(`pinlab fuzz: ${why}\n`);
        return 2;
      }
      skipped.push({ kernel: name, reason: why });
      if (!o.json) io.out(`${name}: SKIP (${why})\n`);
      continue;
    }
    let shown = false;
    const rep = await fuzzKernel(backend, name, {
      programs, seed, ...(o.out !== undefined && { out: o.out }),
      onProgress: (p) => {
        if (!io.isTTY) return;
        io.err(`\r\x1b[K${name}: ${p.done}/${p.total} programs, ${p.divergences} divergences, ${p.perSecond.toFixed(1)} programs/s`);
        shown = true;
      },
    });
    if (shown) io.err('\r\x1b[K');
    reports.push(rep);
    if (!o.json) io.out(formatReport(rep));
  }
  if (o.json) {
    const objs = reports.map((r) => ({
      kernel: r.kernel, seed: r.seed, programs: r.programs,
      divergences: r.divergences.map((d) => ({ program: d.program, scenario: d.scenario, first_difference: d.first_difference, signature: d.signature, encoded: d.encoded, ...(d.shrunk && { shrunk: d.shrunk }) })),
      programs_per_second: r.programs_per_second,
      release: r.release, profile: r.profile, kernel_seconds: r.kernel_seconds, model_seconds: r.model_seconds, model_speedup: r.model_speedup,
      noise: r.noise, explained: r.explained, machine: r.machine,
    }));
    const withSkips = k === 'all' ? [...objs, ...skipped.map((s) => ({ kernel: s.kernel, skipped: s.reason }))] : objs;
    io.out(`${JSON.stringify(k === 'all' ? withSkips : objs[0], null, 2)}\n`);
  }
  return reports.some((r) => r.divergences.length) ? 1 : 0;
}

export function formatReport(r: FuzzReport): string {
  const lines = [
    `${r.kernel} (Linux ${r.release}, profile ${r.profile}), seed ${r.seed}: ${r.programs} programs, ${r.divergences.length} divergences; ` +
      `${r.programs_per_second} programs/s; kernel ${r.kernel_seconds} s, model ${r.model_seconds} s (model ${r.model_speedup}x faster)` +
      `${r.noise ? `; ${r.noise} host counter noise (re-run agreed)` : ''}${r.explained['fault-around'] ? `; fault-around (not modelled) in ${r.explained['fault-around']} programs` : ''}${r.explained['uml-stale-mapping'] ? `; UML's stale host mappings in ${r.explained['uml-stale-mapping']} programs` : ''}`,
  ];
  for (const d of r.divergences) {
    lines.push(`  DIFF program ${d.program} [${d.signature}]: ${d.first_difference.what}: kernel ${JSON.stringify(d.first_difference.kernel)}, model ${JSON.stringify(d.first_difference.model)}`);
    if (d.scenario) lines.push(`    shrunk to ${d.shrunk?.calls} calls: ${d.scenario}`);
  }
  return `${lines.join('\n')}\n`;
}
