// A fuzz program on the model, through the scenario Backend/Session contract only (the one
// host-check uses): each call becomes the scenario steps it stands for (stepsOf()), the same ones
// the shrunk regression scenario is written with (scenario.ts), so what ran is what is written.

import { ScenarioError, type Backend, type Session, type Value } from '../scenario/backend.js';
import type { CallResult, RunResult } from './encode.js';
import { FILE_PAGES, FILE_TOKEN, MAX_SLOTS, MEM_KINDS, PAGE, SINK_ADDR, SINK_PAGES, TASK_NAMES, slotAddr, type Call, type Program } from './program.js';

/** One scenario step: the op, its task (null: the op runs in no task), its evaluated arguments. */
export interface Step {
  readonly task: string | null;
  readonly op: string;
  readonly args: Readonly<Record<string, Value>>;
}

/** The model side's descriptors and what the program needs set up (the same in both tasks after fork). */
export interface Fds {
  readonly f0: number;
  readonly memfd: number;
  readonly blkdev: number;
  readonly ring: number;
  readonly pipe: readonly [number, number];
}

export const BLKDEV_BYTES = 16 << 20;

/** A setup step and the descriptor its ret is (for the calls that name a file). */
export interface SetupStep extends Step {
  readonly binds?: 'f0' | 'memfd' | 'blkdev' | 'ring' | 'pipe';
}

/**
 * The setup steps before the first call (not measured), in order. Only what the program uses:
 * the kernel side sets up everything, which no call it does not make can observe.
 */
export function setupSteps(p: Program, opts: { blkdev: boolean }): SetupStep[] {
  const uses = (ops: string, file?: number) => p.calls.some((c) => ops.includes(c.op) && (file === undefined || c.a[0] === file));
  const usesRing = uses('IJKC');
  const usesMemfd = p.calls.some((c) => (c.op === 'M' && c.a[1]! >= 4) || ('ZY'.includes(c.op) && c.a[0] === 2));
  const usesBlk = opts.blkdev && (uses('RWV', 1) || p.calls.some((c) => c.op === 'K' && c.a[1] === 1));
  return [
    { task: null, op: 'create_file', args: { name: 'f0', size: FILE_PAGES * PAGE, content: FILE_TOKEN } },
    ...(usesMemfd ? [{ task: null, op: 'create_file', args: { name: 'm0', size: FILE_PAGES * PAGE, fs: 'tmpfs' } }] : []),
    ...(usesBlk ? [{ task: null, op: 'create_blkdev', args: { name: 'blk', size: BLKDEV_BYTES } }] : []),
    { task: 'parent', op: 'open', args: { path: 'f0', flags: 'O_RDWR|O_DIRECT' }, binds: 'f0' as const },
    ...(usesMemfd ? [{ task: 'parent', op: 'open', args: { path: 'm0', flags: 'O_RDWR' }, binds: 'memfd' as const }] : []),
    ...(usesBlk ? [{ task: 'parent', op: 'open', args: { path: 'blk', flags: 'O_RDWR|O_DIRECT' }, binds: 'blkdev' as const }] : []),
    ...(usesRing ? [{ task: 'parent', op: 'io_uring_setup', args: {}, binds: 'ring' as const }] : []),
    ...(uses('S') ? [
      { task: 'parent', op: 'pipe', args: {}, binds: 'pipe' as const },
      { task: 'parent', op: 'mmap', args: { addr: SINK_ADDR, length: SINK_PAGES * PAGE, prot: 3, flags: 0x22 } },
    ] : []),
  ];
}

const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_ANONYMOUS = 0x20;

function fdOf(fds: Fds, f: number): number {
  return [fds.f0, fds.blkdev, fds.memfd, fds.ring][f] ?? 9999;
}

/**
 * The steps of one call, and how their rets make the call's ret (what pinfuzz reports). `more`
 * asks for follow-up steps from a step's ret (a read loop, the pipe drain).
 */
export interface CallPlan {
  readonly steps: Step[];
  /** From the rets of the steps run so far: the call's ret, or undefined to run the next step. */
  readonly combine: (rets: readonly number[]) => number | undefined;
  readonly more?: (rets: readonly number[]) => Step | null;
}

export function planCall(c: Call, fds: Fds): CallPlan {
  const t = TASK_NAMES[c.task];
  const a = c.a;
  const last = (rets: readonly number[]) => rets[rets.length - 1]!;
  const one = (op: string, args: Record<string, Value>, map: (r: number) => number = (r) => r): CallPlan => ({
    steps: [{ task: t, op, args }], combine: (rets) => map(last(rets)),
  });
  const range = (i: number) => ({ addr: slotAddr(a[i]!, a[i + 1]! * PAGE), length: a[i + 2]! * PAGE });
  switch (c.op) {
    case 'M': {
      const [slot, kindIx, pages, prot, adv] = a as [number, number, number, number, number];
      const kind = MEM_KINDS[kindIx]!;
      const hint = slotAddr(slot, 0);
      const flags = (kind.endsWith('shared') ? MAP_SHARED : MAP_PRIVATE) | (kind.startsWith('anon') ? MAP_ANONYMOUS : 0);
      const file = kind.startsWith('ext4') ? 'f0' : kind.startsWith('memfd') ? 'm0' : null;
      const steps: Step[] = [{ task: t, op: 'mmap', args: { addr: hint, length: pages * PAGE, prot, flags, ...(file && { file }) } }];
      if (adv) steps.push({ task: t, op: 'madvise', args: { addr: hint, length: pages * PAGE, advice: adv === 1 ? 14 : 15 } });
      return {
        steps,
        combine(rets) {
          const m = rets[0]!;
          const placed = m < 0 ? m : m === hint ? 0 : 1;
          if (placed !== 0 || !adv) return placed;
          if (rets.length < 2) return undefined;
          return rets[1]! < 0 ? -1000 + rets[1]! : 0;
        },
      };
    }
    case 'U': return one('munmap', range(0));
    case 'P': return one('mprotect', { ...range(0), prot: a[3]! });
    case 'A': return one('madvise', { ...range(0), advice: a[3]! });
    case 'T': {
      const { addr, length } = range(0);
      if (a[3]) return one('write', { addr, length, value: a[4]! }, (r) => (r < 0 ? r : 0));
      const n = a[2]!;
      const steps: Step[] = [];
      for (let i = 0; i < n; i++) steps.push({ task: t, op: 'read', args: { addr: addr + i * PAGE } });
      return { steps, combine: (rets) => (last(rets) < 0 ? last(rets) : rets.length === n ? 0 : undefined) };
    }
    case 'R': case 'W':
      return one(c.op === 'R' ? 'pread' : 'pwrite', { fd: fdOf(fds, a[0]!), buf: slotAddr(a[1]!, a[2]!), count: a[3]!, offset: a[4]! });
    case 'V': {
      const iov: number[] = [];
      for (let i = 0; i < a[2]!; i++) iov.push(slotAddr(a[3 + 3 * i]!, a[4 + 3 * i]!), a[5 + 3 * i]!);
      return one('preadv', { fd: fdOf(fds, a[0]!), iov, offset: a[1]! });
    }
    case 'I':
      return one('io_uring_register', { ring: fds.ring, opcode: 'IORING_REGISTER_BUFFERS', addr: slotAddr(a[0]!, a[1]!), len: a[2]!, nr: a[3]! });
    case 'J':
      return one('io_uring_register', { ring: fds.ring, opcode: 'IORING_UNREGISTER_BUFFERS' });
    case 'K':
      return one(a[0] ? 'io_uring_write_fixed' : 'io_uring_read_fixed', {
        ring: fds.ring, fd: fdOf(fds, a[1]!), buf_index: a[2]!, addr: slotAddr(a[3]!, a[4]!), len: a[5]!, offset: a[6]!,
      });
    case 'Q':
      return one(a[0] ? 'process_vm_writev' : 'process_vm_readv', {
        pid: TASK_NAMES[c.task === 0 ? 1 : 0], local: slotAddr(a[1]!, a[2]!), remote: slotAddr(a[4]!, a[5]!), len: a[3]!,
      });
    case 'S': {
      const [rfd, wfd] = fds.pipe;
      return {
        steps: [{ task: t, op: 'vmsplice', args: { fd: wfd, addr: slotAddr(a[0]!, a[1]!), len: a[2]! } }],
        combine: (rets) => {
          const v = rets[0]!;
          if (v <= 0) return v;
          const drained = rets.slice(1).reduce((s, r) => s + Math.max(r, 0), 0);
          return drained >= v || (rets.length > 1 && last(rets) <= 0) ? v : undefined;
        },
        more: (rets) => {
          const drained = rets.slice(1).reduce((s, r) => s + Math.max(r, 0), 0);
          return { task: t, op: 'sys_read', args: { fd: rfd, buf: SINK_ADDR, count: Math.min(rets[0]! - drained, SINK_PAGES * PAGE) } };
        },
      };
    }
    case 'Z': return one('ftruncate', { fd: fdOf(fds, a[0]!), length: a[1]! * PAGE });
    case 'Y': return one('fsync', { fd: fdOf(fds, a[0]!) });
    case 'C': return one('close', { fd: fdOf(fds, a[0]!) });
    case 'F': return one('fork', { child: 'child' }, (r) => (r > 0 ? 0 : r));
    case 'X': return one('exit', {}, () => 0);
  }
  throw new Error(`unknown fuzz op ${c.op}`);
}

/** Why the model could not run a program (not a divergence of the kernel: a model error). */
export class ModelRunError extends Error {}

export interface ModelRun {
  readonly result: RunResult;
  /** Every step that ran, with its ret, after setup: for the scenario writer. */
  readonly steps: ReadonlyArray<{ readonly call: number; readonly step: Step; readonly ret: number }>;
  readonly setup: readonly SetupStep[];
  readonly fds: Fds;
}

function counters(s: Session): { a: number; r: number } {
  const v = s.query(null, 'vmstat', {});
  return { a: Number(v.nr_foll_pin_acquired), r: Number(v.nr_foll_pin_released) };
}

function runStep(s: Session, st: Step): { ret: number; out?: Value } {
  const o = s.step(st.task, st.op, st.args);
  const bug = s.bug();
  if (bug) throw new ModelRunError(`BUG at ${st.op}: ${bug.message}`);
  if (typeof o.ret !== 'number') throw new ModelRunError(`${st.op} returned ${JSON.stringify(o.ret)}`);
  return { ret: o.ret, ...(o.out !== undefined && { out: o.out }) };
}

/**
 * Every mapped page of every task in one query: the `digest` query's "task{start[state,...] ...}"
 * (state: the content token, or z for the zero page, then flags; - not present), as
 * "task@addr" → '.' | 'z' | hex token. Null when the digest has another shape (then the facts
 * are read page by page with the `page` query).
 */
function digestPages(s: Session): Map<string, string> | null {
  let d: Readonly<Record<string, Value>>;
  try {
    d = s.query(null, 'digest', {});
  } catch {
    return null;
  }
  if (typeof d.tasks !== 'string') return null;
  const out = new Map<string, string>();
  for (const t of d.tasks.matchAll(/(\w+)\{([^}]*)\}/g)) {
    for (const v of t[2]!.matchAll(/([0-9a-f]+)\[([^\]]*)\]/g)) {
      const start = parseInt(v[1]!, 16);
      v[2]!.split(',').forEach((st, i) => {
        const m = /^(z|\d+)/.exec(st);
        if (st === '-' || !m) return;
        out.set(`${t[1]}@${start + i * PAGE}`, m[1] === 'z' ? 'z' : (Number(m[1]) >>> 0).toString(16));
      });
    }
  }
  return out;
}

/** Which slots each task maps (for the facts): the calls' own bookkeeping, as pinfuzz keeps it. */
function trackSlots(slots: Map<string, Map<number, number>>, c: Call, ret: number): void {
  const t = TASK_NAMES[c.task];
  // ret <= -1000: mapped, the madvise after it failed (pinfuzz keeps the slot too).
  if (c.op === 'M' && (ret === 0 || ret <= -1000) && c.a[0]! >= 0 && c.a[0]! < MAX_SLOTS) slots.get(t)!.set(c.a[0]!, c.a[2]!);
  if (c.op === 'F' && ret === 0) slots.set('child', new Map(slots.get('parent')!));
  if (c.op === 'X') slots.delete('child');
}

/** Run a program on the model; a model error (BUG, misuse, internal error) is a result with `failure`. */
export function runOnModel(
  backend: Backend, p: Program, opts: { profile: string; machine: Readonly<Record<string, Value>>; blkdev: boolean },
): ModelRun {
  // The explorer's mode: no trace events (the same verdicts, several times faster); the scenario
  // a divergence is written as replays it with a trace.
  const s = backend.start({ profile: opts.profile, machine: opts.machine, tasks: ['parent'], explore: true });
  const setup = setupSteps(p, opts);
  const steps: Array<{ call: number; step: Step; ret: number }> = [];
  const calls: CallResult[] = [];
  const slots = new Map<string, Map<number, number>>([['parent', new Map()]]);
  let fds: Fds = { f0: -1, memfd: -1, blkdev: -1, ring: -1, pipe: [-1, -1] };
  const fail = (why: string): ModelRun => ({
    result: { id: p.id, calls, facts: {}, end: { dA: 0, dR: 0 }, failure: why }, steps, setup, fds,
  });
  let base = { a: 0, r: 0 };
  try {
    for (const st of setup) {
      const r = runStep(s, st);
      if (r.ret < 0) return fail(`setup ${st.op} returned ${r.ret}`);
      if (st.binds === 'pipe') fds = { ...fds, pipe: r.out as unknown as [number, number] };
      else if (st.binds) fds = { ...fds, [st.binds]: r.ret };
    }
    base = counters(s);
    let c1 = base;
    for (let i = 0; i < p.calls.length; i++) {
      const c = p.calls[i]!;
      const plan = planCall(c, fds);
      const c0 = c1;
      const rets: number[] = [];
      let ret: number | undefined;
      let k = 0;
      while (ret === undefined) {
        const st = k < plan.steps.length ? plan.steps[k]! : plan.more?.(rets) ?? null;
        if (!st) throw new ModelRunError(`call ${i + 1} (${c.op}) ran out of steps`);
        k++;
        const r = runStep(s, st);
        rets.push(r.ret);
        steps.push({ call: i, step: st, ret: r.ret });
        ret = plan.combine(rets);
      }
      c1 = counters(s);
      calls.push({ ret, dA: c1.a - c0.a, dR: c1.r - c0.r });
      trackSlots(slots, c, ret);
    }
    const facts: Record<string, string[]> = {};
    const seen = digestPages(s);
    for (const [task, m] of slots) {
      for (const [slot, pages] of [...m.entries()].sort((x, y) => x[0] - y[0])) {
        const row: string[] = [];
        for (let i = 0; i < pages; i++) {
          const addr = slotAddr(slot, i * PAGE);
          const d = seen?.get(`${task}@${addr}`);
          if (seen) {
            row.push(d === undefined ? '.' : d);
            continue;
          }
          const pg = s.query(task, 'page', { addr });
          if (pg.present !== true) row.push('.');
          else if (pg.zero_page === true || pg.huge_zero === true) row.push('z');
          else row.push((Number(pg.content) >>> 0).toString(16));
        }
        facts[`${task}.${slot}`] = row;
      }
    }
    s.teardown();
    const bug = s.bug();
    if (bug) return fail(`BUG at teardown: ${bug.message}`);
    const end = counters(s);
    return { result: { id: p.id, calls, facts, end: { dA: end.a - base.a, dR: end.r - base.r } }, steps, setup, fds };
  } catch (e) {
    if (e instanceof ModelRunError) return fail(e.message);
    if (e instanceof ScenarioError) return fail(`model: ${e.message}`);
    return fail(`internal error in the model: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    s.dispose?.();
  }
}
