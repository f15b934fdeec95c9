// The program generator: seeded and deterministic. Program i of seed S depends on (S, i) only, so
// `--seed S --programs N` is a prefix of `--programs M > N`, and one program can be regenerated
// alone. Arguments are valid mostly and invalid sometimes (a bad address, a misaligned buffer or
// length, an unknown advice, a range past the end of a mapping), so error paths are compared too.
// The weights and choices are tables (GEN_TABLES) that docs/fuzz.md's coverage is generated from.

import { FILE_PAGES, MAX_SLOTS, MEM_KINDS, PAGE, type Call, type MemKind, type Program, type Task } from './program.js';

/** What the kernel under test offers: calls it cannot make are not generated. */
export interface Caps {
  /** A raw block device opened O_DIRECT (UML's /dev/ubdb). */
  readonly blkdev: boolean;
  readonly ioUring: boolean;
}

/** SplitMix32-style mixing of (seed, index): a well-spread per-program seed. */
function mix(a: number, b: number): number {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** mulberry32: small, fast, deterministic. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(table: ReadonlyArray<readonly [T, number]>): T {
    const total = table.reduce((s, [, w]) => s + w, 0);
    let r = this.next() * total;
    for (const [v, w] of table) {
      r -= w;
      if (r < 0) return v;
    }
    return table[table.length - 1]![0];
  }
}

/** Weighted choices: [value, weight]. */
type Table<T> = ReadonlyArray<readonly [T, number]>;

export const GEN_TABLES = {
  /** Calls after the first mmap (fork, exit, process_vm_rw only where a child can make sense). */
  calls: [['M', 10], ['T', 14], ['U', 4], ['P', 4], ['A', 6], ['R', 10], ['W', 8], ['V', 5], ['I', 6], ['J', 3], ['K', 6], ['Q', 7], ['S', 4],
    ['Z', 2], ['Y', 2], ['C', 1], ['F', 5], ['X', 2]] as Table<string>,
  kinds: [['anon-private', 40], ['anon-shared', 10], ['ext4-private', 15], ['ext4-shared', 15], ['memfd-shared', 12], ['memfd-private', 8]] as Table<MemKind>,
  /** mmap length in pages: small, past the file's end, one PMD (THP where the kernel has it), zero (EINVAL). */
  mmapPages: [['small', 84], ['past-eof', 5], ['pmd', 4], ['zero', 2], ['one', 5]] as Table<string>,
  prot: [[3, 75], [1, 18], [0, 7]] as Table<number>,
  /** mmap's advice: none, MADV_HUGEPAGE (1), MADV_NOHUGEPAGE (2). */
  mmapAdvice: [[0, 50], [1, 15], [2, 35]] as Table<number>,
  /** madvise advice: DONTNEED, DONTFORK, DOFORK, WIPEONFORK, KEEPONFORK, HUGEPAGE, NOHUGEPAGE, an unknown one. */
  advice: [[4, 30], [10, 15], [11, 8], [18, 12], [19, 4], [14, 10], [15, 10], [99, 5]] as Table<number>,
  mprotect: [[3, 40], [1, 35], [0, 20], [0x1000, 5]] as Table<number>,
  /** Buffer offset into a page: aligned, sector-aligned, misaligned. */
  bufOffset: [[0, 80], [512, 10], [1, 10]] as Table<number>,
  /** I/O length: whole pages, one sector, not a sector multiple, zero. */
  ioLength: [['pages', 80], [512, 8], [1000, 7], [0, 5]] as Table<number | 'pages'>,
  /** Buffer address: a slot of the task, or an address nothing maps. */
  badAddress: 0.06,
};

interface GenState {
  slots: [Map<number, { kind: MemKind; pages: number }>, Map<number, { kind: MemKind; pages: number }>];
  childAlive: boolean;
  forked: boolean;
  /** The parent's last IORING_REGISTER_BUFFERS arguments (it may have failed): where fixed I/O aims. */
  reg: { slot: number; off: number; len: number; nr: number } | null;
}

/** The calls a generator may produce for a kernel (for coverage and tests). */
export function generatedOps(caps: Caps): string[] {
  return GEN_TABLES.calls.map(([op]) => op).filter((op) => caps.ioUring || !RING_OPS.includes(op));
}

/** The calls that need io_uring. */
const RING_OPS = ['I', 'J', 'K', 'C'];

export function programSeed(seed: number, index: number): number {
  return mix(seed >>> 0, index >>> 0);
}

/** Program `index` of `seed` for a kernel with `caps`. */
export function generateProgram(seed: number, index: number, caps: Caps): Program {
  const r = new Rng(programSeed(seed, index));
  const st: GenState = { slots: [new Map(), new Map()], childAlive: false, forked: false, reg: null };
  const calls: Call[] = [];
  const length = r.int(3, 22);
  calls.push(genMmap(r, st, 0));
  const ops = GEN_TABLES.calls.filter(([op]) => caps.ioUring || !RING_OPS.includes(op));
  while (calls.length < length) {
    const op = r.pick(ops);
    if (op === 'F' && st.forked) continue;
    if ((op === 'X' || op === 'Q') && !st.childAlive) continue;
    const task: Task = op === 'F' ? 0 : op === 'X' ? 1 : st.childAlive && r.chance(0.35) ? 1 : 0;
    const c = genCall(r, st, op, task, caps);
    if (c) calls.push(c);
  }
  return { id: index, calls };
}

function genMmap(r: Rng, st: GenState, task: Task): Call {
  const used = st.slots[task];
  const free = [...Array(MAX_SLOTS).keys()].filter((s) => !used.has(s) && !(task === 1 && st.slots[0].has(s)));
  // Never a slot already used: an occupied hint would place the mapping elsewhere.
  const slot = free.length ? free[r.int(0, free.length - 1)]! : -1;
  const kind = r.pick(GEN_TABLES.kinds);
  const size = r.pick(GEN_TABLES.mmapPages);
  const fileBacked = kind !== 'anon-private' && kind !== 'anon-shared';
  const pages = size === 'small' ? r.int(1, fileBacked ? FILE_PAGES : 16) : size === 'one' ? 1
    : size === 'past-eof' ? (fileBacked ? FILE_PAGES + r.int(1, 4) : r.int(17, 40)) : size === 'pmd' ? 512 : 0;
  const prot = r.pick(GEN_TABLES.prot);
  const adv = size === 'pmd' ? 1 : r.pick(GEN_TABLES.mmapAdvice);
  if (slot < 0) return { op: 'T', task, a: [-1, 0, 1, 0, 0] };
  if (pages > 0) used.set(slot, { kind, pages });
  return { op: 'M', task, a: [slot, MEM_KINDS.indexOf(kind), pages, prot, adv] };
}

/** A slot of the task and a page in it (sometimes one past the end), or -1 (bad) when it has none. */
function pickRange(r: Rng, st: GenState, task: Task, maxPages = 16): { slot: number; page: number; pages: number } {
  const slots = [...st.slots[task].entries()];
  if (!slots.length || r.chance(GEN_TABLES.badAddress)) return { slot: -1, page: 0, pages: r.int(1, 4) };
  const [slot, s] = slots[r.int(0, slots.length - 1)]!;
  const page = r.chance(0.7) ? 0 : r.int(0, s.pages);
  const left = Math.max(1, s.pages - page);
  const pages = r.chance(0.9) ? r.int(1, Math.min(left, maxPages)) : r.int(1, Math.min(left + 2, maxPages));
  return { slot, page, pages };
}

function ioLen(r: Rng, pages: number): number {
  const l = r.pick(GEN_TABLES.ioLength);
  return l === 'pages' ? pages * PAGE : l;
}

function fileOffset(r: Rng, file: number): number {
  const base = file === 1 ? r.int(0, 255) * PAGE : (r.chance(0.92) ? r.int(0, FILE_PAGES - 1) : r.int(FILE_PAGES, FILE_PAGES + 2)) * PAGE;
  return base + (r.chance(0.05) ? 512 : 0);
}

function genCall(r: Rng, st: GenState, op: string, task: Task, caps: Caps): Call | null {
  const other: Task = task === 0 ? 1 : 0;
  switch (op) {
    case 'M':
      return genMmap(r, st, task);
    case 'U': case 'P': case 'A': case 'T': {
      const { slot, page, pages } = pickRange(r, st, task);
      if (slot < 0 && op !== 'T') return null;
      if (op === 'U') return { op, task, a: [slot, page, pages] };
      if (op === 'P') return { op, task, a: [slot, page, pages, r.pick(GEN_TABLES.mprotect)] };
      if (op === 'A') return { op, task, a: [slot, page, pages, r.pick(GEN_TABLES.advice)] };
      return { op, task, a: [slot, page, pages, r.chance(0.55) ? 1 : 0, r.int(1, 0xfff) * 16 + 3] };
    }
    case 'R': case 'W': {
      const file = caps.blkdev && r.chance(0.2) ? 1 : 0;
      const { slot, page, pages } = pickRange(r, st, task, 16);
      const off = page * PAGE + r.pick(GEN_TABLES.bufOffset);
      return { op, task, a: [file, slot, off, ioLen(r, pages), fileOffset(r, file)] };
    }
    case 'V': {
      const file = caps.blkdev && r.chance(0.2) ? 1 : 0;
      const n = r.int(1, 3);
      const iov: number[] = [];
      for (let i = 0; i < n; i++) {
        const { slot, page, pages } = pickRange(r, st, task, 4);
        iov.push(slot, page * PAGE + (i === n - 1 ? r.pick(GEN_TABLES.bufOffset) : 0), i === n - 1 ? ioLen(r, pages) : pages * PAGE);
      }
      return { op, task, a: [file, fileOffset(r, file), n, ...iov] };
    }
    case 'I': {
      const { slot, page, pages } = pickRange(r, st, task, 16);
      const nr = r.chance(0.8) ? 1 : r.int(2, 3);
      const each = Math.max(1, Math.floor(pages / nr));
      const len = r.chance(0.9) ? each * PAGE : each * PAGE - 100;
      const off = page * PAGE + (r.chance(0.1) ? 1 : 0);
      if (task === 0 && slot >= 0) st.reg = { slot, off, len, nr };
      return { op, task, a: [slot, off, len, nr] };
    }
    case 'K': {
      // Fixed I/O from the parent (its ring's queues are mapped there): mostly inside a registered
      // buffer, sometimes past its end, at a bad index or with nothing registered.
      if (task !== 0) return null;
      const file = caps.blkdev && r.chance(0.2) ? 1 : 0;
      const write = r.chance(0.4) ? 1 : 0;
      const g = st.reg;
      if (g && r.chance(0.85)) {
        const idx = r.chance(0.92) ? r.int(0, g.nr - 1) : g.nr;
        const pages = Math.max(1, Math.floor(g.len / PAGE));
        const first = r.chance(0.7) ? 0 : r.int(0, pages - 1);
        const off = g.off + idx * g.len + first * PAGE + r.pick(GEN_TABLES.bufOffset);
        const len = r.chance(0.9) ? ioLen(r, r.int(1, pages - first)) : (pages - first + 1) * PAGE;
        return { op, task, a: [write, file, idx, g.slot, off, len, fileOffset(r, file)] };
      }
      const { slot, page, pages } = pickRange(r, st, task, 8);
      return { op, task, a: [write, file, 0, slot, page * PAGE, ioLen(r, pages), fileOffset(r, file)] };
    }
    case 'J':
      return { op, task, a: [] };
    case 'Q': {
      const { slot, page, pages } = pickRange(r, st, task, 16);
      const remote = pickRange(r, st, other, 16);
      const len = Math.min(pages, remote.pages) * PAGE - (r.chance(0.1) ? 100 : 0);
      return { op, task, a: [r.chance(0.5) ? 1 : 0, slot, page * PAGE, len, remote.slot, remote.page * PAGE + (r.chance(0.08) ? 8 : 0)] };
    }
    case 'S': {
      const { slot, page, pages } = pickRange(r, st, task, 16);
      return { op, task, a: [slot, page * PAGE + (r.chance(0.1) ? 100 : 0), r.chance(0.9) ? pages * PAGE : pages * PAGE + 200] };
    }
    case 'Z':
      return { op, task, a: [r.chance(0.6) ? 0 : 2, r.chance(0.5) ? r.int(0, FILE_PAGES - 1) : r.int(FILE_PAGES, FILE_PAGES + 8)] };
    case 'Y':
      return { op, task, a: [r.chance(0.7) ? 0 : 2] };
    case 'C':
      return task === 0 ? { op, task, a: [3] } : null;
    case 'F':
      st.forked = true;
      st.childAlive = true;
      for (const [s, v] of st.slots[0]) st.slots[1].set(s, { ...v });
      return { op, task: 0, a: [] };
    case 'X':
      st.childAlive = false;
      return { op, task: 1, a: [] };
  }
  return null;
}
