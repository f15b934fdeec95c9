// `pinlab kernels fetch|list`: the UML kernels host-check can boot (src/host/kernels.ts).
//
// Exit status: 0 done; 2 usage error, or the kernels cannot be fetched here (no network, no apt),
// with the reason on stderr.

import { KernelsError, UML_KERNELS, cacheDir, fetchKernels, listKernels } from '../host/kernels.js';

export interface KernelsIo {
  out(text: string): void;
  err(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly isTTY: boolean;
}

export const KERNELS_USAGE = 'usage: pinlab kernels fetch [NAME...] | pinlab kernels list [--json]';

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

export function kernelsCommand(io: KernelsIo, args: readonly string[], opts: { json: boolean }): number {
  const [sub, ...names] = args;
  if (sub === 'list') {
    if (names.length) {
      io.err(`pinlab kernels list takes no arguments\n${KERNELS_USAGE}\n`);
      return 2;
    }
    const rows = listKernels(io.env);
    if (opts.json) {
      io.out(`${JSON.stringify({ cache: cacheDir(io.env), kernels: rows }, null, 2)}\n`);
      return 0;
    }
    const head = ['name', 'release', 'size', 'from'];
    const cells = rows.map((r) => [r.name, r.release ?? '-', r.size === null ? '-' : mib(r.size), r.from]);
    const w = head.map((_, i) => Math.max(head[i].length, ...cells.map((c) => c[i].length)));
    const line = (c: string[]) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(w[i]))).join('  ');
    io.out(`${[line(head), ...cells.map(line)].join('\n')}\ncache: ${cacheDir(io.env)}\n`);
    const missing = rows.filter((r) => !r.cached).length;
    if (missing) io.out(`${missing} not fetched: pinlab kernels fetch\n`);
    return 0;
  }
  if (sub === 'fetch') {
    const bad = names.filter((n) => !UML_KERNELS.some((k) => k.name === n));
    if (bad.length) {
      io.err(`pinlab kernels fetch: no kernel named '${bad[0]}' (kernels: ${UML_KERNELS.map((k) => k.name).join(', ')})\n`);
      return 2;
    }
    let shown = false;
    const clear = () => {
      if (shown) io.err('\r\x1b[K');
      shown = false;
    };
    try {
      const got = fetchKernels({
        progress: (l) => {
          if (!io.isTTY) return;
          io.err(`\r\x1b[K${l}`);
          shown = true;
        },
        log: (l) => {
          clear();
          io.out(`${l}\n`);
        },
      }, { env: io.env, ...(names.length && { names }) });
      clear();
      io.out(`${got.length} kernel${got.length === 1 ? '' : 's'} in ${cacheDir(io.env)}\n`);
      return 0;
    } catch (e) {
      clear();
      if (e instanceof KernelsError) {
        io.err(`pinlab kernels fetch: ${e.message}\n`);
        return 2;
      }
      throw e;
    }
  }
  io.err(`${sub === undefined ? 'pinlab kernels needs a subcommand' : `pinlab kernels: unknown subcommand '${sub}'`}\n${KERNELS_USAGE}\n`);
  return 2;
}
