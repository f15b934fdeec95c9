// The workloads of `pinlab host-check`: each one is an operation user space can do on the real
// kernel (host/pinhost.c runs it there) and the same operation as scenario steps on the model
// (modelBackend(), profile current). Both sides report the return value and the deltas of
// nr_foll_pin_acquired / nr_foll_pin_released (ΔA/ΔR) per measured phase; spec section 14
// (R121–R134) says what the kernel should show.
//
// The model side is written against the scenario operations by name. Operations that do not
// exist yet make the case PENDING: a dry run first walks the workload against the Backend's op
// table (names and argument names) without running anything, and lists what is missing.

import { ScenarioError, type ArgSpec, type Backend, type OpDef, type Session, type StepOutcome, type Value } from '../scenario/backend.js';
import type { HostTraits } from './probe.js';

export const PAGE_SIZE = 4096;
const PMD_SIZE = 2 << 20;
const PMD_PAGES = PMD_SIZE / PAGE_SIZE;

/** One measured phase: the return value (bytes, 0 or -errno) and the pin counter deltas. */
export interface Phase {
  readonly name: string;
  readonly ret: number;
  readonly dA: number;
  readonly dR: number;
}

/** A fact both sides can observe besides the counters (zero-page PTEs, private copies, dirty pages). */
export interface FactDef {
  readonly name: string;
  readonly doc: string;
  /** From pinhost's observations (null: not observed on this run). */
  host(obs: Readonly<Record<string, number>>, n: number): number | null;
}

/**
 * The premises a case depends on (src/host/probe.ts measures them): without one the case is
 * SKIP with the reason, never a DIFF.
 */
export interface HostNeeds {
  /** The temp directory must be on ext4 (the model's filesystem; iomap direct I/O) and take O_DIRECT. */
  readonly ext4?: boolean;
  readonly ioUring?: boolean;
  /** THP must be on for the PMD size, with modes the model can express. */
  readonly thp?: boolean;
  /** The outcome depends on what a read fault on private anonymous memory maps. */
  readonly zeroPage?: boolean;
  /** The outcome depends on what a read fault on an aligned MADV_HUGEPAGE region maps. */
  readonly hugeRead?: boolean;
  /** A raw block device to read with O_DIRECT (the UML guests' /dev/ubdb; on the host PINLAB_BLKDEV). */
  readonly blkdev?: boolean;
}

export interface Workload {
  /** The pinhost subcommand and the --case name. */
  readonly name: string;
  /** The brief's case number (1–11), or "extra". */
  readonly no: string;
  readonly title: string;
  /** The spec rules the case tests. */
  readonly rules: string;
  /** What the case measures and why the expected numbers are what they are. */
  readonly doc: string;
  readonly needs: HostNeeds;
  /**
   * What the spec (or its measured header) says a kernel with these traits shows, for N pages;
   * null where it does not commit to a number. Used by the tests as the host facts.
   */
  expected(n: number, t: HostTraits): Phase[] | null;
  /** The facts (FactDef names) such a kernel shows, where the spec commits to them. */
  expectedFacts?(n: number, t: HostTraits): Record<string, number> | null;
  /** Whether the host result is the same on every run of a quiet machine (the tests assert these). */
  readonly deterministic: boolean;
  readonly facts: readonly FactDef[];
  /**
   * Whether the host run set up what the case is about (a THP that was really allocated, ...);
   * a reason string makes the case SKIP instead of comparing a different situation.
   */
  hostInvalid?(obs: Readonly<Record<string, number>>): string | null;
  /** The same workload on the model. */
  model(m: ModelDriver, n: number): void;
}

// ---- the model driver ---------------------------------------------------------------------------

/**
 * An argument map. A key may list aliases, "buf|addr": the first one the operation declares is
 * used (other engineers name the arguments as they write the operations). A trailing "?" makes
 * the argument optional: passed only if the operation declares it.
 */
export type ArgMap = Readonly<Record<string, Value | Named>>;

/**
 * A value with a name and a number: a task (name, pid) or flags ("O_RDWR|O_DIRECT", 0o40002). Passed
 * as the number to 'int'/'flags' arguments and as the name to 'name'/'string' ones.
 */
export class Named {
  constructor(readonly name: string, readonly value: number) {}
}

export interface OpOptions {
  readonly task?: string;
  /** Accept any return value (default: a negative one fails the workload's setup). */
  readonly anyRet?: boolean;
}

export interface ModelDriver {
  /** The dry run: operations return placeholders, so workloads skip their own sanity checks. */
  readonly dry: boolean;
  /** Whether an operation exists (optional steps). */
  has(op: string): boolean;
  /** A named constant of the model, or the x86-64 uapi value. */
  k(name: string): number;
  /** Run one operation; `op` may list alternative names. Returns the step's ret. */
  op(op: string | readonly string[], args: ArgMap, o?: OpOptions): number;
  /** The same, returning what `as:` would bind (the op's output, e.g. pipe's [read fd, write fd]). */
  opOut(op: string | readonly string[], args: ArgMap, o?: OpOptions): Value;
  /** Run fn between two vmstat readings; fn returns the phase's ret. */
  measure(phase: string, fn: () => number): void;
  /** The page query at addr in a task (no fault). */
  page(addr: number, task?: string): Readonly<Record<string, Value>>;
  /** Record a fact (FactDef.name) for comparison with the host. */
  fact(name: string, value: number): void;
}

class WorkloadFailure extends Error {}

/** x86-64 values for constants the model may not define (yet). */
const UAPI_FALLBACK: Readonly<Record<string, number>> = {
  O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_CREAT: 0o100, O_TRUNC: 0o1000, O_DIRECT: 0o40000,
  PROT_NONE: 0, PROT_READ: 1, PROT_WRITE: 2, MAP_SHARED: 1, MAP_PRIVATE: 2, MAP_FIXED: 0x10, MAP_ANONYMOUS: 0x20,
  MADV_HUGEPAGE: 14, MADV_NOHUGEPAGE: 15,
  IORING_REGISTER_BUFFERS: 0, IORING_UNREGISTER_BUFFERS: 1,
  EPERM: 1, ENOENT: 2, EINTR: 4, EIO: 5, ENXIO: 6, EBADF: 9, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14,
  EBUSY: 16, EEXIST: 17, EINVAL: 22, ENOSPC: 28, EPIPE: 32, ENOTSUP: 95, EOPNOTSUPP: 95, EOVERFLOW: 75,
};

export function constant(backend: Backend | null, name: string): number {
  const v = backend?.constants[name] ?? UAPI_FALLBACK[name];
  if (v === undefined) throw new Error(`no constant ${name}`);
  return v;
}

/** Resolve an argument map against an operation's declared arguments. */
function resolveArgs(def: OpDef, args: ArgMap, missing: string[]): Record<string, Value> {
  const out: Record<string, Value> = {};
  const declared = new Map<string, ArgSpec>(def.args.map((a) => [a.name, a]));
  for (const [key, v] of Object.entries(args)) {
    const optional = key.endsWith('?');
    const aliases = (optional ? key.slice(0, -1) : key).split('|');
    const hit = aliases.find((a) => declared.has(a));
    if (hit === undefined) {
      if (!optional) missing.push(`${def.name}(${aliases[0]}) (it takes ${def.args.map((a) => a.name).join(', ') || 'no arguments'})`);
      continue;
    }
    const spec = declared.get(hit)!;
    out[hit] = v instanceof Named ? (spec.type === 'int' || spec.type === 'flags' ? v.value : v.name) : v;
  }
  const given = new Set(Object.keys(out));
  for (const a of def.args) {
    if (a.required !== false && !given.has(a.name)) missing.push(`${def.name}(${a.name}) (the workload does not pass it)`);
  }
  return out;
}

function opDef(b: Backend, op: string | readonly string[]): OpDef | null {
  const names = typeof op === 'string' ? [op] : op;
  for (const n of names) {
    const d = b.ops.get(n);
    if (d) return d;
  }
  return null;
}

const opLabel = (op: string | readonly string[]) => (typeof op === 'string' ? op : op[0]);

/** Walk the workload without running it: the operations and arguments it needs that the model lacks. */
class DryDriver implements ModelDriver {
  readonly dry = true;
  readonly missing: string[] = [];
  private nextAddr = 0x4000_0000;
  constructor(private readonly b: Backend) {}
  has(op: string): boolean { return this.b.ops.has(op); }
  k(name: string): number { return constant(this.b, name); }
  op(op: string | readonly string[], args: ArgMap): number {
    const def = opDef(this.b, op);
    if (!def) {
      const label = opLabel(op);
      if (!this.missing.some((m) => m === `op ${label}`)) this.missing.push(`op ${label}`);
      return 3;
    }
    const miss: string[] = [];
    resolveArgs(def, args, miss);
    for (const m of miss) if (!this.missing.includes(m)) this.missing.push(m);
    const a = this.nextAddr;
    this.nextAddr += 0x1000_0000;
    return def.name === 'mmap' ? a : 3;
  }
  /** The placeholder output is a pair of descriptors (what pipe binds), whatever the op. */
  opOut(op: string | readonly string[], args: ArgMap): Value {
    this.op(op, args);
    return [3, 4];
  }
  measure(_phase: string, fn: () => number): void { fn(); }
  page(): Readonly<Record<string, Value>> {
    if (!this.b.queries.has('page') && !this.missing.includes('query page')) this.missing.push('query page');
    return {};
  }
  fact(): void {}
}

class RealDriver implements ModelDriver {
  readonly dry = false;
  readonly phases: Phase[] = [];
  readonly facts: Record<string, number> = {};
  constructor(private readonly b: Backend, private readonly s: Session) {}
  has(op: string): boolean { return this.b.ops.has(op); }
  k(name: string): number { return constant(this.b, name); }
  op(op: string | readonly string[], args: ArgMap, o: OpOptions = {}): number {
    return this.run(op, args, o).ret as number;
  }
  opOut(op: string | readonly string[], args: ArgMap, o: OpOptions = {}): Value {
    const r = this.run(op, args, o);
    return r.out === undefined ? r.ret : r.out;
  }
  private run(op: string | readonly string[], args: ArgMap, o: OpOptions): StepOutcome {
    const def = opDef(this.b, op);
    if (!def) throw new WorkloadFailure(`no op ${opLabel(op)}`);
    const miss: string[] = [];
    const a = resolveArgs(def, args, miss);
    if (miss.length) throw new WorkloadFailure(`cannot call ${miss.join('; ')}`);
    const r = this.s.step(def.needsTask ? (o.task ?? null) : null, def.name, a);
    const bug = this.s.bug();
    if (bug) throw new WorkloadFailure(`BUG at ${def.name}: ${bug.message}`);
    if (typeof r.ret !== 'number') throw new WorkloadFailure(`${def.name} returned ${JSON.stringify(r.ret)}`);
    if (r.ret < 0 && !o.anyRet) throw new WorkloadFailure(`setup step ${def.name}(${JSON.stringify(a)}) returned ${r.ret}`);
    return r;
  }
  private counters(): { a: number; r: number } {
    const v = this.s.query(null, 'vmstat', {});
    const a = v.nr_foll_pin_acquired;
    const r = v.nr_foll_pin_released;
    if (typeof a !== 'number' || typeof r !== 'number') throw new WorkloadFailure('the model has no nr_foll_pin_* counters');
    return { a, r };
  }
  measure(phase: string, fn: () => number): void {
    const c0 = this.counters();
    const ret = fn();
    const c1 = this.counters();
    this.phases.push({ name: phase, ret, dA: c1.a - c0.a, dR: c1.r - c0.r });
  }
  page(addr: number, task?: string): Readonly<Record<string, Value>> {
    return this.s.query(task ?? null, 'page', { addr });
  }
  fact(name: string, value: number): void { this.facts[name] = value; }
}

export type ModelOutcome =
  | { readonly status: 'ok'; readonly phases: Phase[]; readonly facts: Record<string, number>; readonly notes: string[] }
  | { readonly status: 'pending'; readonly needs: string[] }
  | { readonly status: 'error'; readonly message: string; readonly phases: Phase[] };

/**
 * The machine when no host was probed: a stock x86-64 configuration (THP madvise, zero page and
 * huge zero folio on). With a probe, src/host/probe.ts planFromProbe() builds the machine.
 */
export const STOCK_MACHINE: Readonly<Record<string, Value>> = { normal: 64 << 20, thp: 'madvise', use_zero_page: true };
export const MODEL_PROFILE = 'current';
export const MODEL_TASKS = ['parent'] as const;

export function runModel(
  w: Workload, n: number, b: Backend, opts: { profile?: string; machine?: Readonly<Record<string, Value>> } = {},
): ModelOutcome {
  const profile = opts.profile ?? MODEL_PROFILE;
  const machine = opts.machine ?? STOCK_MACHINE;
  const dry = new DryDriver(b);
  try {
    w.model(dry, n);
  } catch (e) {
    return { status: 'error', message: `workload ${w.name} (dry run): ${(e as Error).message}`, phases: [] };
  }
  if (dry.missing.length) return { status: 'pending', needs: dry.missing };
  if (!b.queries.has('vmstat')) return { status: 'pending', needs: ['query vmstat'] };
  let s: Session;
  try {
    s = b.start({ profile, machine, tasks: MODEL_TASKS });
  } catch (e) {
    return { status: 'error', message: `cannot start the model: ${(e as Error).message}`, phases: [] };
  }
  const d = new RealDriver(b, s);
  try {
    w.model(d, n);
  } catch (e) {
    if (e instanceof WorkloadFailure || e instanceof ScenarioError) {
      return { status: 'error', message: e.message, phases: d.phases };
    }
    // The model itself threw: a model bug like any other disagreement.
    return { status: 'error', message: `internal error in the model: ${e instanceof Error ? e.message : String(e)}`, phases: d.phases };
  }
  const notes = s.warnings().map((x) => `WARN ${x.id}: ${x.message}`);
  try {
    const leaks = s.teardown().leaks;
    if (leaks.length) notes.push(`leaks at teardown: ${leaks.slice(0, 3).join('; ')}${leaks.length > 3 ? ` (+${leaks.length - 3})` : ''}`);
  } catch (e) {
    notes.push(`teardown failed: ${(e as Error).message}`);
  }
  const bug = s.bug();
  if (bug) notes.push(`BUG at teardown: ${bug.message}`);
  return { status: 'ok', phases: d.phases, facts: d.facts, notes };
}

// ---- operation names as the model spells them (alternatives in order of preference) ----------------

const OPEN = ['open', 'openat'] as const;
const PREAD = ['pread', 'pread64'] as const;
const PWRITE = ['pwrite', 'pwrite64'] as const;
const IOU_REGISTER = ['io_uring_register', 'io_uring_register_buffers'] as const;
const IOU_UNREGISTER = ['io_uring_register', 'io_uring_unregister_buffers'] as const;
const PVM_READV = ['process_vm_readv'] as const;
const PVM_WRITEV = ['process_vm_writev'] as const;
const VMSPLICE = ['vmsplice'] as const;
const PIPE = ['pipe', 'pipe2'] as const;
const READ = ['sys_read'] as const;

// ---- shared workload pieces ---------------------------------------------------------------------

interface AnonOpts {
  /** Write a value into every page first. */
  touch?: number;
  prot?: number;
  /** MADV_NOHUGEPAGE (default, R133), MADV_HUGEPAGE, or none. */
  advice?: 'MADV_NOHUGEPAGE' | 'MADV_HUGEPAGE' | null;
  task?: string;
}

function anon(m: ModelDriver, pages: number, o: AnonOpts = {}): number {
  const len = pages * PAGE_SIZE;
  const task = o.task;
  const buf = m.op('mmap', {
    length: len, prot: o.prot ?? (m.k('PROT_READ') | m.k('PROT_WRITE')), flags: m.k('MAP_PRIVATE') | m.k('MAP_ANONYMOUS'),
  }, { task });
  const advice = o.advice === undefined ? 'MADV_NOHUGEPAGE' : o.advice;
  // Like host/pinhost.c, the advice's -EINVAL on a kernel without THP (machine thp_configured false) is no
  // failure of the setup (the THP cases are SKIP there).
  if (advice) m.op('madvise', { addr: buf, length: len, advice: m.k(advice) }, { task, anyRet: true });
  if (o.touch !== undefined) m.op('write', { addr: buf, length: len, value: o.touch }, { task });
  return buf;
}

/** A 2 MiB PMD-aligned private anonymous buffer (the model's get_unmapped_area aligns ≥ 2 MiB). */
function anonPmd(m: ModelDriver, advice: 'MADV_HUGEPAGE'): number {
  const buf = anon(m, PMD_PAGES, { advice });
  if (!m.dry && buf % PMD_SIZE) throw new WorkloadFailure(`mmap of 2 MiB returned ${buf}, not 2 MiB aligned`);
  return buf;
}

/** Constants named like 'O_RDWR|O_DIRECT', for 'string' and 'flags' arguments alike. */
function named(m: ModelDriver, names: string): Named {
  return new Named(names, names.split('|').reduce((v, f) => v | m.k(f.trim()), 0));
}

function open(m: ModelDriver, file: string, flags: string): number {
  return m.op(OPEN, { 'path|file|name': file, flags: named(m, flags) });
}

function pread(m: ModelDriver, fd: number, buf: number, len: number, pos: number, o: OpOptions = { anyRet: true }): number {
  return m.op(PREAD, { fd, 'buf|addr': buf, 'count|length|len': len, 'offset|pos': pos }, o);
}

function pwrite(m: ModelDriver, fd: number, buf: number, len: number, pos: number, o: OpOptions = { anyRet: true }): number {
  return m.op(PWRITE, { fd, 'buf|addr': buf, 'count|length|len': len, 'offset|pos': pos }, o);
}

/**
 * The host's data file: `pages` pages of written, allocated extents (pinhost writes and fsyncs it).
 * On the model: create_file, then an O_DIRECT write from a written buffer puts data on the disk
 * (a created file is all holes, and an O_DIRECT read of a hole pins nothing, R94). Returns an
 * O_RDWR|O_DIRECT fd.
 */
function dataFile(m: ModelDriver, pages: number): number {
  const len = pages * PAGE_SIZE;
  m.op('create_file', { name: 'data', size: len, 'fs?': 'ext4' });
  const fd = open(m, 'data', 'O_RDWR|O_DIRECT');
  const src = anon(m, pages, { touch: 0x41 });
  const w = pwrite(m, fd, src, len, 0, {});
  if (!m.dry && w !== len) throw new WorkloadFailure(`filling the data file wrote ${w} of ${len} bytes`);
  m.op('munmap', { addr: src, length: len });
  return fd;
}

function countPages(m: ModelDriver, addr: number, pages: number, pred: (p: Readonly<Record<string, Value>>) => boolean, task?: string): number {
  let c = 0;
  for (let i = 0; i < pages; i++) if (pred(m.page(addr + i * PAGE_SIZE, task))) c++;
  return c;
}

const zeroFact: FactDef = {
  name: 'zero-page PTEs', doc: 'buffer pages that map the (huge) zero page after the operation (/proc/kpageflags KPF_ZERO_PAGE)',
  host: (o) => o.buf_zero ?? null,
};

function modelZeroFact(m: ModelDriver, buf: number, pages: number, task?: string): void {
  m.fact('zero-page PTEs', countPages(m, buf, pages, (p) => p.present === true && (p.zero_page === true || p.huge_zero === true), task));
}

const dio = (w: Omit<Workload, 'needs'> & { needs?: HostNeeds }): Workload => ({ ...w, needs: { ext4: true, ...w.needs } });
const plusN = (name: string, ret: number, n: number): Phase[] => [{ name, ret, dA: n, dR: n }];

// ---- process_vm_readv / writev ----------------------------------------------------------------------

type RemoteState = 'written' | 'untouched' | 'cow' | 'half';

/**
 * R is mapped before fork; 'written': the child writes it after fork; 'untouched': nobody does;
 * 'cow': the parent writes it before fork and nobody after (every page COW-shared).
 * The parent then reads (or writes) the child's R with process_vm_readv/writev.
 */
function pvmModel(m: ModelDriver, n: number, st: RemoteState, write: boolean): void {
  const len = n * PAGE_SIZE;
  const r = anon(m, n, st === 'cow' ? { touch: 3 } : {});
  const l = anon(m, n, { touch: 9 });
  const pid = m.op('fork', { child: 'child' });
  const child = new Named('child', pid);
  if (st === 'written') m.op('write', { addr: r, length: len, value: 5 }, { task: 'child' });
  if (st === 'half') {
    const half = Math.floor(n / 2) * PAGE_SIZE;
    m.op('write', { addr: r, length: half, value: 5 }, { task: 'child' });
    m.op('munmap', { addr: r + half, length: len - half }, { task: 'child' });
  }
  m.measure(write ? 'process_vm_writev' : 'process_vm_readv', () =>
    m.op(write ? PVM_WRITEV : PVM_READV, {
      'pid|task|remote_task': child, 'local|local_addr|laddr|local_iov': l, 'remote|remote_addr|raddr|remote_iov': r,
      'length|len': len,
    }, { anyRet: true }));
  if (st === 'untouched') modelZeroFact(m, r, n, 'child');
  if (st === 'cow') {
    let same = 0;
    for (let i = 0; i < n; i++) {
      const a = m.page(r + i * PAGE_SIZE, 'parent');
      const b = m.page(r + i * PAGE_SIZE, 'child');
      if (a.present === true && b.present === true && a.pfn === b.pfn) same++;
    }
    m.fact('pages shared with the parent', same);
  }
}

const remoteZeroFact: FactDef = {
  name: 'zero-page PTEs', doc: "the child's pages that map the zero page after the call (R124: the remote gets zero-page PTEs)",
  host: (o) => o.remote_zero ?? null,
};
const sharedFact: FactDef = {
  name: 'pages shared with the parent',
  doc: "pages whose PFN is the same in parent and child after the call (/proc/PID/pagemap); 0 = the child got private copies",
  host: (o) => o.same_pfn_after ?? null,
};

// ---- io_uring -------------------------------------------------------------------------------------

/** Register buf as one fixed buffer; unregister if that worked. Phases "register", "unregister". */
function iouringModel(m: ModelDriver, buf: number, len: number): void {
  const ring = m.has('io_uring_setup') ? m.op('io_uring_setup', { 'entries?': 4 }) : -1;
  const ringArg: ArgMap = ring >= 0 ? { 'ring|fd?': ring } : {};
  let r = -1;
  m.measure('register', () => {
    r = m.op(IOU_REGISTER, {
      ...ringArg, 'opcode?': named(m, 'IORING_REGISTER_BUFFERS'), 'addr|buf|iov_base': buf, 'len|length|iov_len': len,
    }, { anyRet: true });
    return r;
  });
  if (r === 0) {
    m.measure('unregister', () => m.op(IOU_UNREGISTER, { ...ringArg, 'opcode?': named(m, 'IORING_UNREGISTER_BUFFERS') }, { anyRet: true }));
  }
}

// ---- the cases ------------------------------------------------------------------------------------

const childSharedFact: FactDef = {
  name: 'pages shared with the child',
  doc: "the parent's buffer pages whose PFN the child maps too, after the operation (/proc/PID/pagemap)",
  host: (o) => o.same_pfn_after ?? null,
};

/** Pages of [addr, addr + n pages) that map the same PFN in the parent and in 'child'. */
function samePfns(m: ModelDriver, addr: number, n: number): number {
  let same = 0;
  for (let i = 0; i < n; i++) {
    const a = m.page(addr + i * PAGE_SIZE, 'parent');
    const b = m.page(addr + i * PAGE_SIZE, 'child');
    if (a.present === true && b.present === true && a.pfn === b.pfn) same++;
  }
  return same;
}

const FIRST: readonly Workload[] = [
  dio({
    name: 'dio-read-anon', no: '1', title: 'O_DIRECT read into touched private anonymous memory', rules: 'R121, R94',
    doc: 'pread() of N pages from an ext4 file (written, allocated extents) with O_DIRECT into a private anonymous ' +
      'buffer whose pages were written first. iomap direct I/O pins every page with FOLL_PIN|FOLL_WRITE ' +
      '(bio_iov_iter_get_pages → iov_iter_extract_pages) and unpins it at bio completion.',
    expected: (n) => plusN('pread', n * PAGE_SIZE, n), deterministic: true, facts: [],
    model(m, n) {
      const fd = dataFile(m, n);
      const buf = anon(m, n, { touch: 1 });
      m.measure('pread', () => pread(m, fd, buf, n * PAGE_SIZE, 0));
    },
  }),
  dio({
    name: 'dio-read-untouched', no: '2', title: 'O_DIRECT read into never-touched private anonymous memory', rules: 'R121, R39',
    doc: 'As case 1, but the buffer was never touched: FOLL_WRITE write-faults a real anonymous page for every ' +
      'PTE (never the zero page), so the pins are the same +N/+N.',
    expected: (n) => plusN('pread', n * PAGE_SIZE, n), deterministic: true,
    facts: [{ name: 'zero-page PTEs', doc: 'buffer pages that map the zero page afterwards (expected 0)', host: (o) => o.buf_zero ?? null }],
    expectedFacts: () => ({ 'zero-page PTEs': 0 }),
    model(m, n) {
      const fd = dataFile(m, n);
      const buf = anon(m, n);
      m.measure('pread', () => pread(m, fd, buf, n * PAGE_SIZE, 0));
      modelZeroFact(m, buf, n);
    },
  }),
  dio({
    name: 'dio-write-zero', no: '3', title: 'O_DIRECT write from never-touched memory (MADV_NOHUGEPAGE)', rules: 'R122, R4, R62',
    needs: { zeroPage: true },
    doc: 'pwrite() with O_DIRECT from a never-touched private anonymous buffer: GUP read-faults each PTE to the ' +
      'shared zero page, and pins of the zero page are neither taken nor counted: 0/0, and every PTE maps the zero page. ' +
      'A kernel that maps fresh pages on a read fault (mm_forbids_zeropage(), or the zero page disabled) pins ' +
      'those: +N/+N and no zero-page PTE.',
    expected: (n, t) => (t.readFaultMapsZeroPage === null ? null : plusN('pwrite', n * PAGE_SIZE, t.readFaultMapsZeroPage ? 0 : n)),
    expectedFacts: (n, t) => (t.readFaultMapsZeroPage === null ? null : { 'zero-page PTEs': t.readFaultMapsZeroPage ? n : 0 }),
    deterministic: true, facts: [zeroFact],
    model(m, n) {
      const fd = dataFile(m, n);
      const buf = anon(m, n);
      m.measure('pwrite', () => pwrite(m, fd, buf, n * PAGE_SIZE, 0));
      modelZeroFact(m, buf, n);
    },
  }),
  dio({
    name: 'dio-write-touched', no: '4', title: 'O_DIRECT write from the same buffer after touching each page', rules: 'R122',
    doc: 'The buffer of case 3 (zero-page PTEs after one O_DIRECT write) gets one byte written per page ' +
      '(COW from the zero page to real anonymous pages); the second O_DIRECT write pins those: +N/+N.',
    expected: (n) => plusN('pwrite', n * PAGE_SIZE, n), deterministic: true, facts: [zeroFact],
    expectedFacts: () => ({ 'zero-page PTEs': 0 }),
    model(m, n) {
      const fd = dataFile(m, n);
      const buf = anon(m, n);
      pwrite(m, fd, buf, n * PAGE_SIZE, 0, {});
      m.op('write', { addr: buf, length: n * PAGE_SIZE, value: 7 });
      m.measure('pwrite', () => pwrite(m, fd, buf, n * PAGE_SIZE, 0));
      modelZeroFact(m, buf, n);
    },
  }),
  dio({
    name: 'dio-write-huge-zero', no: '5', title: 'O_DIRECT write of 2 MiB from an untouched MADV_HUGEPAGE buffer (the huge zero folio where mapped)',
    rules: 'R66, R122, Q-3', needs: { thp: true, hugeRead: true },
    doc: 'A 2 MiB-aligned, never-touched MADV_HUGEPAGE private buffer: GUP read-faults it to one PMD mapping of ' +
      'the huge zero folio, which is not is_zero_folio(), so the O_DIRECT write pins and counts all 512 pages ' +
      '(spec header: measured +512/+512 on 6.18, settling Q-3). A kernel whose read fault allocates a THP ' +
      'instead (use_zero_page 0, or the zero page disabled) pins that THP: +512/+512 too, with no zero-page ' +
      'PTE. Needs THP on for the PMD size. N does not apply: always 512 pages.',
    expected: (_n, t) => (t.hugeReadFault === 'huge_zero' || t.hugeReadFault === 'thp' ? plusN('pwrite', PMD_SIZE, PMD_PAGES) : null),
    expectedFacts: (_n, t) => (t.hugeReadFault === 'huge_zero' || t.hugeReadFault === 'thp'
      ? { 'zero-page PTEs': t.hugeReadFault === 'huge_zero' ? PMD_PAGES : 0, 'THP PTEs': PMD_PAGES } : null),
    deterministic: true,
    facts: [zeroFact, { name: 'THP PTEs', doc: 'buffer pages that are part of a THP afterwards (KPF_THP; the huge zero folio counts)', host: (o) => o.buf_thp ?? null }],
    model(m) {
      const fd = dataFile(m, PMD_PAGES);
      const buf = anonPmd(m, 'MADV_HUGEPAGE');
      m.measure('pwrite', () => pwrite(m, fd, buf, PMD_SIZE, 0));
      modelZeroFact(m, buf, PMD_PAGES);
      m.fact('THP PTEs', countPages(m, buf, PMD_PAGES, (p) => p.present === true && typeof p.order === 'number' && p.order >= 9));
    },
  }),
  dio({
    name: 'dio-read-shared-file', no: '6', title: 'O_DIRECT read into a MAP_SHARED mapping of another ext4 file', rules: 'R131, R91, R94',
    doc: 'The target is a MAP_SHARED, read-faulted (clean, write-protected) mapping of a second ext4 file. A ' +
      'short-term FOLL_PIN on a shared file mapping is allowed; FOLL_WRITE takes the write fault (page_mkwrite), ' +
      'and the read dirties the pages: +N/+N and N dirty page-cache pages.',
    expected: (n) => plusN('pread', n * PAGE_SIZE, n), deterministic: true,
    facts: [{ name: 'dirty target pages', doc: 'target pages with PG_dirty afterwards (/proc/kpageflags KPF_DIRTY)', host: (o) => o.buf_dirty ?? null }],
    expectedFacts: (n) => ({ 'dirty target pages': n }),
    model(m, n) {
      const fd = dataFile(m, n);
      const len = n * PAGE_SIZE;
      m.op('create_file', { name: 'target', size: len, 'fs?': 'ext4' });
      const buf = m.op('mmap', { length: len, prot: m.k('PROT_READ') | m.k('PROT_WRITE'), flags: m.k('MAP_SHARED'), file: 'target' });
      for (let i = 0; i < n; i++) m.op('read', { addr: buf + i * PAGE_SIZE }, { anyRet: true });
      m.measure('pread', () => pread(m, fd, buf, len, 0));
      m.fact('dirty target pages', countPages(m, buf, n, (p) => p.dirty === true));
    },
  }),
  dio({
    name: 'dio-read-misaligned', no: '7', title: 'O_DIRECT read into a buffer misaligned by one byte', rules: 'R94, R86',
    doc: 'pread() of N−1 pages at buf+1, so the buffer spans exactly N pages: -EINVAL. On 6.18 the alignment is ' +
      'checked after the bio is built (bio_iov_iter_get_pages), so the pages are pinned and released before the ' +
      'error: +N/+N for N ≤ 256. Only the first bio is built: for larger N the count is the pages that fit in its ' +
      '256 bvecs — usually 256, a few more when physically contiguous pages merge into one bvec.',
    expected: (n) => (n <= 256 ? [{ name: 'pread', ret: -22, dA: n, dR: n }] : null), deterministic: true, facts: [],
    model(m, n) {
      const fd = dataFile(m, n);
      const buf = anon(m, n, { touch: 1 });
      m.measure('pread', () => pread(m, fd, buf + 1, (n - 1) * PAGE_SIZE, 0));
    },
  }),
  dio({
    name: 'dio-read-readonly', no: '8', title: 'O_DIRECT read into a PROT_READ mapping', rules: 'R131, R37',
    doc: 'The buffer was written, then mprotect(PROT_READ): FOLL_WRITE GUP fails on the first page ' +
      '(check_vma_flags), so nothing is pinned and the read returns -EFAULT.',
    expected: () => [{ name: 'pread', ret: -14, dA: 0, dR: 0 }], deterministic: true, facts: [],
    model(m, n) {
      const fd = dataFile(m, n);
      const buf = anon(m, n, { touch: 1 });
      m.op('mprotect', { addr: buf, length: n * PAGE_SIZE, prot: m.k('PROT_READ') });
      m.measure('pread', () => pread(m, fd, buf, n * PAGE_SIZE, 0));
    },
  }),
  dio({
    name: 'dio-read-offset512', no: 'extra', title: 'O_DIRECT read into a buffer at a 512-byte offset (spans N+1 pages)', rules: 'R121',
    doc: 'Sector-aligned but not page-aligned (buf+512, N pages long): legal for a 512-byte logical block device, ' +
      'and the buffer touches N+1 pages, each pinned once: +(N+1)/+(N+1).',
    expected: (n) => plusN('pread', n * PAGE_SIZE, n + 1), deterministic: true, facts: [],
    model(m, n) {
      const fd = dataFile(m, n);
      const buf = anon(m, n + 1, { touch: 1 });
      m.measure('pread', () => pread(m, fd, buf + 512, n * PAGE_SIZE, 0));
    },
  }),
  dio({
    name: 'dio-write-protnone', no: 'extra', title: 'O_DIRECT write from a PROT_NONE mapping', rules: 'R131',
    doc: 'GUP refuses a PROT_NONE VMA: -EFAULT, 0/0.',
    expected: () => [{ name: 'pwrite', ret: -14, dA: 0, dR: 0 }], deterministic: true, facts: [],
    model(m, n) {
      const fd = dataFile(m, n);
      const buf = anon(m, n, { prot: m.k('PROT_NONE') });
      m.measure('pwrite', () => pwrite(m, fd, buf, n * PAGE_SIZE, 0));
    },
  }),
  dio({
    name: 'dio-read-hole', no: 'extra', title: 'O_DIRECT read of a hole (sparse file)', rules: 'R94',
    doc: 'A file made by ftruncate() has no extents: iomap_dio_hole_iter() zeroes the user buffer with the CPU ' +
      '(iov_iter_zero), no bio and no pins: full length read, 0/0.',
    expected: (n) => plusN('pread', n * PAGE_SIZE, 0), deterministic: true, facts: [],
    model(m, n) {
      m.op('create_file', { name: 'sparse', size: n * PAGE_SIZE, 'fs?': 'ext4' });
      const fd = open(m, 'sparse', 'O_RDWR|O_DIRECT');
      const buf = anon(m, n, { touch: 1 });
      m.measure('pread', () => pread(m, fd, buf, n * PAGE_SIZE, 0));
    },
  }),
  dio({
    name: 'dio-read-thp', no: 'extra', title: 'O_DIRECT read of 2 MiB into one PMD-mapped THP', rules: 'R126',
    needs: { thp: true },
    doc: 'A written MADV_HUGEPAGE buffer backed by one PMD THP: every subpage is pinned once (+512/+512) and the ' +
      'THP is not split. N does not apply: always 512 pages.',
    expected: () => plusN('pread', PMD_SIZE, PMD_PAGES), deterministic: true,
    facts: [{ name: 'THP PTEs', doc: 'buffer pages that are part of a THP afterwards (not split)', host: (o) => o.buf_thp ?? null }],
    expectedFacts: () => ({ 'THP PTEs': PMD_PAGES }),
    hostInvalid: (o) => (o.thp_before_kb === 2048 ? null : `the host did not back the buffer with a THP (AnonHugePages ${o.thp_before_kb ?? '?'} kB)`),
    model(m) {
      const fd = dataFile(m, PMD_PAGES);
      const buf = anonPmd(m, 'MADV_HUGEPAGE');
      m.op('write', { addr: buf, length: PMD_SIZE, value: 1 });
      m.measure('pread', () => pread(m, fd, buf, PMD_SIZE, 0));
      m.fact('THP PTEs', countPages(m, buf, PMD_PAGES, (p) => p.present === true && typeof p.order === 'number' && p.order >= 9));
    },
  }),
  {
    name: 'iouring-anon', no: '9a', title: 'io_uring buffer registration of anonymous memory', rules: 'R123',
    needs: { ioUring: true },
    doc: 'IORING_REGISTER_BUFFERS of one N-page written private anonymous buffer pins it long-term ' +
      '(FOLL_WRITE|FOLL_LONGTERM): +N/0; IORING_UNREGISTER_BUFFERS releases it: 0/+N.',
    expected: (n) => [{ name: 'register', ret: 0, dA: n, dR: 0 }, { name: 'unregister', ret: 0, dA: 0, dR: n }],
    deterministic: true, facts: [],
    model(m, n) {
      const buf = anon(m, n, { touch: 1 });
      iouringModel(m, buf, n * PAGE_SIZE);
    },
  },
  {
    name: 'iouring-private-file', no: '9b', title: 'io_uring registration of a MAP_PRIVATE ext4 file mapping', rules: 'R123, R50',
    needs: { ioUring: true, ext4: true },
    doc: 'A read-faulted MAP_PRIVATE mapping of an ext4 file (page-cache pages mapped read-only). FOLL_WRITE ' +
      'breaks COW: the pins land on new anonymous copies, so the registration is accepted like anonymous memory.',
    expected: (n) => [{ name: 'register', ret: 0, dA: n, dR: 0 }, { name: 'unregister', ret: 0, dA: 0, dR: n }],
    deterministic: true,
    facts: [{ name: 'anonymous pages', doc: 'buffer pages that are anonymous afterwards (COW copies)', host: (o) => o.buf_anon ?? null }],
    expectedFacts: (n) => ({ 'anonymous pages': n }),
    model(m, n) {
      const fd = dataFile(m, n);
      void fd;
      const len = n * PAGE_SIZE;
      const buf = m.op('mmap', { length: len, prot: m.k('PROT_READ') | m.k('PROT_WRITE'), flags: m.k('MAP_PRIVATE'), file: 'data' });
      for (let i = 0; i < n; i++) m.op('read', { addr: buf + i * PAGE_SIZE }, { anyRet: true });
      iouringModel(m, buf, len);
      m.fact('anonymous pages', countPages(m, buf, n, (p) => p.anon === true));
    },
  },
  {
    name: 'iouring-shared-ext4', no: '9c', title: 'io_uring registration of a written MAP_SHARED ext4 mapping (refused)',
    rules: 'R123, R131, R48, R74', needs: { ioUring: true, ext4: true },
    doc: 'Long-term pins of a shared mapping of a file that writes back are refused (-EFAULT from GUP, R48). The ' +
      'pages were written first, so their PTEs are writable: GUP-fast grabs the first page, ' +
      'gup_fast_folio_allowed() refuses it and the pin is undone (+1/+1 noise, R74.3); the slow path then fails ' +
      'in check_vma_flags().',
    expected: () => [{ name: 'register', ret: -14, dA: 1, dR: 1 }], deterministic: true, facts: [],
    model(m, n) {
      const len = n * PAGE_SIZE;
      m.op('create_file', { name: 'shared', size: len, 'fs?': 'ext4' });
      const buf = m.op('mmap', { length: len, prot: m.k('PROT_READ') | m.k('PROT_WRITE'), flags: m.k('MAP_SHARED'), file: 'shared' });
      m.op('write', { addr: buf, length: len, value: 1 });
      iouringModel(m, buf, len);
    },
  },
  {
    name: 'iouring-shared-ext4-untouched', no: 'extra', title: 'io_uring registration of an untouched MAP_SHARED ext4 mapping',
    rules: 'R123, R48', needs: { ioUring: true, ext4: true },
    doc: 'As 9c, but nothing is mapped yet: GUP-fast finds no PTE, the slow path refuses the VMA before faulting: ' +
      '-EFAULT with no counter noise.',
    expected: () => [{ name: 'register', ret: -14, dA: 0, dR: 0 }], deterministic: true, facts: [],
    model(m, n) {
      const len = n * PAGE_SIZE;
      m.op('create_file', { name: 'shared', size: len, 'fs?': 'ext4' });
      const buf = m.op('mmap', { length: len, prot: m.k('PROT_READ') | m.k('PROT_WRITE'), flags: m.k('MAP_SHARED'), file: 'shared' });
      iouringModel(m, buf, len);
    },
  },
  {
    name: 'iouring-memfd', no: '9d', title: 'io_uring registration of a memfd (shmem) MAP_SHARED mapping', rules: 'R123',
    needs: { ioUring: true },
    doc: 'shmem does not write back, so a long-term pin of its shared mapping is allowed: +N/0, then 0/+N. ' +
      'The model uses a tmpfs file (create_file fs: tmpfs), which is what a memfd is.',
    expected: (n) => [{ name: 'register', ret: 0, dA: n, dR: 0 }, { name: 'unregister', ret: 0, dA: 0, dR: n }],
    deterministic: true, facts: [],
    model(m, n) {
      const len = n * PAGE_SIZE;
      m.op('create_file', { name: 'memfd', size: len, fs: 'tmpfs' });
      const buf = m.op('mmap', { length: len, prot: m.k('PROT_READ') | m.k('PROT_WRITE'), flags: m.k('MAP_SHARED'), file: 'memfd' });
      m.op('write', { addr: buf, length: len, value: 1 });
      iouringModel(m, buf, len);
    },
  },
  {
    name: 'pvm-readv-written', no: '10a', title: "process_vm_readv of N pages the child wrote", rules: 'R124',
    needs: {},
    doc: "pin_user_pages_remote() without FOLL_WRITE on the child's own (exclusive) anonymous pages, copy, unpin: +N/+N.",
    expected: (n) => plusN('process_vm_readv', n * PAGE_SIZE, n), deterministic: true, facts: [],
    model: (m, n) => pvmModel(m, n, 'written', false),
  },
  {
    name: 'pvm-readv-untouched', no: '10b', title: "process_vm_readv of N untouched remote pages", rules: 'R124, R67',
    needs: { zeroPage: true },
    doc: 'The remote range was never touched: the read-fault maps the zero page, which is not pinned: 0/0, and the ' +
      'child now has N zero-page PTEs (RSS unchanged). A kernel that maps fresh pages on a read fault pins those: +N/+N.',
    expected: (n, t) => (t.readFaultMapsZeroPage === null ? null : plusN('process_vm_readv', n * PAGE_SIZE, t.readFaultMapsZeroPage ? 0 : n)),
    expectedFacts: (n, t) => (t.readFaultMapsZeroPage === null ? null : { 'zero-page PTEs': t.readFaultMapsZeroPage ? n : 0 }),
    deterministic: true, facts: [remoteZeroFact],
    model: (m, n) => pvmModel(m, n, 'untouched', false),
  },
  {
    name: 'pvm-readv-cow', no: '10c', title: 'process_vm_readv of N pages COW-shared between parent and child', rules: 'R124, R41, R42',
    needs: {},
    doc: 'The parent wrote the range before fork and nobody wrote it since: each page is mapped by both and not ' +
      'AnonExclusive. A read-only FOLL_PIN must not pin a possibly-shared anonymous page, so GUP unshares: the ' +
      'child gets private copies (pagemap PFNs differ from the parent\'s afterwards), and those are pinned: +N/+N.',
    expected: (n) => plusN('process_vm_readv', n * PAGE_SIZE, n), deterministic: true, facts: [sharedFact],
    expectedFacts: () => ({ 'pages shared with the parent': 0 }),
    model: (m, n) => pvmModel(m, n, 'cow', false),
  },
  {
    name: 'pvm-writev-written', no: '10d', title: 'process_vm_writev into N pages the child wrote', rules: 'R124',
    needs: {},
    doc: 'FOLL_WRITE pins of exclusive anonymous pages, dirtied at unpin: +N/+N.',
    expected: (n) => plusN('process_vm_writev', n * PAGE_SIZE, n), deterministic: true, facts: [],
    model: (m, n) => pvmModel(m, n, 'written', true),
  },
  {
    name: 'pvm-writev-untouched', no: '10e', title: 'process_vm_writev into N untouched remote pages', rules: 'R124, R39',
    needs: {},
    doc: 'FOLL_WRITE write-faults real pages (never the zero page): +N/+N.',
    expected: (n) => plusN('process_vm_writev', n * PAGE_SIZE, n), deterministic: true, facts: [remoteZeroFact],
    expectedFacts: () => ({ 'zero-page PTEs': 0 }),
    model: (m, n) => pvmModel(m, n, 'untouched', true),
  },
  {
    name: 'pvm-writev-cow', no: '10f', title: 'process_vm_writev into N pages COW-shared with the parent', rules: 'R124',
    needs: {},
    doc: 'FOLL_WRITE breaks COW in the child (private copies), then pins them: +N/+N.',
    expected: (n) => plusN('process_vm_writev', n * PAGE_SIZE, n), deterministic: true, facts: [sharedFact],
    expectedFacts: () => ({ 'pages shared with the parent': 0 }),
    model: (m, n) => pvmModel(m, n, 'cow', true),
  },
  {
    name: 'vmsplice', no: '11', title: 'vmsplice of N user pages into a pipe', rules: 'R127, R75',
    needs: {},
    doc: 'vmsplice() without SPLICE_F_GIFT takes GETs (iov_iter_get_pages2), not pins. A default pipe holds 16 ' +
      'buffers, so the N pages go through it in rounds: vmsplice (non-blocking) what fits, read it out, repeat; ' +
      "then close the pipe. The phase covers the pages' whole stay in the pipe; ret is the total spliced: 0/0.",
    expected: (n) => plusN('vmsplice', n * PAGE_SIZE, 0), deterministic: true, facts: [],
    model(m, n) {
      const len = n * PAGE_SIZE;
      const buf = anon(m, n, { touch: 1 });
      const sink = anon(m, n, { touch: 2 });
      const fds = m.opOut(PIPE, {});
      if (!Array.isArray(fds) || fds.length !== 2) throw new WorkloadFailure(`pipe bound ${JSON.stringify(fds)}, not [read fd, write fd]`);
      const [rfd, wfd] = fds as readonly number[];
      m.measure('vmsplice', () => {
        let done = 0;
        let r = 0;
        while (done < len) {
          r = m.op(VMSPLICE, { fd: wfd, 'addr|buf|iov_base': buf + done, 'len|length|iov_len': len - done }, { anyRet: true });
          if (r <= 0) break;
          m.op(READ, { fd: rfd, buf: sink, count: r });
          done += r;
          if (m.dry) break;
        }
        m.op('close', { fd: rfd });
        m.op('close', { fd: wfd });
        return done || r;
      });
    },
  },
  {
    name: 'iouring-close', no: 'extra', title: 'close() of an io_uring ring that holds a registered buffer', rules: 'R123',
    needs: { ioUring: true },
    doc: 'IORING_REGISTER_BUFFERS of N written private anonymous pages (not measured: +N/0), then close() of the ring ' +
      'fd. The last fput() runs io_uring_release(); io_ring_ctx_free() unregisters the buffer from a kworker ' +
      '(io_ring_exit_work), so the host waits for the releases: close 0/+N. The model releases them within the close.',
    expected: (n) => [{ name: 'close', ret: 0, dA: 0, dR: n }],
    deterministic: true, facts: [],
    model(m, n) {
      const buf = anon(m, n, { touch: 1 });
      const ring = m.op('io_uring_setup', { 'entries?': 4 });
      m.op(IOU_REGISTER, {
        'ring|fd?': ring, 'opcode?': named(m, 'IORING_REGISTER_BUFFERS'), 'addr|buf|iov_base': buf, 'len|length|iov_len': n * PAGE_SIZE,
      });
      m.measure('close', () => m.op('close', { fd: ring }, { anyRet: true }));
    },
  },
];

// ---- workloads that tell the versions apart (issue 9) ---------------------------------------------

const VERSIONS: readonly Workload[] = [
  dio({
    name: 'dio-write-cow', no: 'extra', title: 'O_DIRECT write from pages COW-shared with a live child', rules: 'R122, R41, R42',
    doc: 'The parent writes N pages, forks (the child stays alive and touches nothing), then O_DIRECT-writes them ' +
      'to a file. Before v6.5 direct I/O takes references (FOLL_GET): 0/0, the pages stay shared. From v6.5 it ' +
      'pins them read-only, and a R/O FOLL_PIN must not pin a possibly shared anonymous page (v5.19): GUP ' +
      'unshares, the parent gets private copies and pins those: +N/+N and no page shared with the child. Where ' +
      'GUP-fast exists, it grabs the first page before gup_must_unshare() sends it back (+1/+1 more).',
    expected: (n) => plusN('pwrite', n * PAGE_SIZE, n + 1), deterministic: true, facts: [childSharedFact],
    expectedFacts: () => ({ 'pages shared with the child': 0 }),
    model(m, n) {
      const fd = dataFile(m, n);
      const buf = anon(m, n, { touch: 3 });
      m.op('fork', { child: 'child' });
      m.measure('pwrite', () => pwrite(m, fd, buf, n * PAGE_SIZE, 0));
      m.fact('pages shared with the child', samePfns(m, buf, n));
    },
  }),
  dio({
    name: 'dio-write-shared-file', no: 'extra', title: 'O_DIRECT write from a read-only MAP_SHARED mapping of another ext4 file', rules: 'R122, R131',
    doc: 'The source is a PROT_READ MAP_SHARED, read-faulted mapping of a second ext4 file: its page-cache pages are ' +
      'referenced (before v6.5) or pinned read-only (v6.5+) for the write: 0/0 before, +N/+N after.',
    expected: (n) => plusN('pwrite', n * PAGE_SIZE, n), deterministic: true, facts: [],
    model(m, n) {
      const fd = dataFile(m, n);
      const len = n * PAGE_SIZE;
      m.op('create_file', { name: 'source', size: len, 'fs?': 'ext4' });
      const buf = m.op('mmap', { length: len, prot: m.k('PROT_READ'), flags: m.k('MAP_SHARED'), file: 'source' });
      for (let i = 0; i < n; i++) m.op('read', { addr: buf + i * PAGE_SIZE }, { anyRet: true });
      m.measure('pwrite', () => pwrite(m, fd, buf, len, 0));
    },
  }),
  {
    name: 'blkdev-read', no: 'extra', title: 'O_DIRECT read from a raw block device into touched anonymous memory', rules: 'R85, R93, R97',
    needs: { blkdev: true },
    doc: 'block/fops.c, not iomap: __blkdev_direct_IO_simple() (≤ 256 pages) or __blkdev_direct_IO(). The bio ' +
      'holds references before v6.5 (0/0) and pins from v6.5, "block: Use page pinning" (+N/+N; seed 003). Needs a ' +
      'block device: the UML guests read their second disk (/dev/ubdb); on the host set PINLAB_BLKDEV.',
    expected: (n) => plusN('pread', n * PAGE_SIZE, n), deterministic: true, facts: [],
    model(m, n) {
      m.op('create_blkdev', { name: 'blk', size: Math.max(n, 512) * PAGE_SIZE });
      const fd = open(m, 'blk', 'O_RDONLY|O_DIRECT');
      const buf = anon(m, n, { touch: 1 });
      m.measure('pread', () => pread(m, fd, buf, n * PAGE_SIZE, 0));
    },
  },
  {
    name: 'iouring-fork', no: 'extra', title: 'fork with a registered io_uring buffer: the child gets copies', rules: 'R123, R53, R55',
    needs: { ioUring: true },
    doc: 'N written anonymous pages are registered (+N/0), then the process forks: since v5.9 fork copies ' +
      'maybe-pinned anonymous pages for the child (copy_present_page()), so the child shares none of them, and ' +
      'fork pins nothing (0/0). The child exits, the buffer is unregistered (0/+N).',
    expected: (n) => [{ name: 'register', ret: 0, dA: n, dR: 0 }, { name: 'fork', ret: 0, dA: 0, dR: 0 }, { name: 'unregister', ret: 0, dA: 0, dR: n }],
    deterministic: true, facts: [childSharedFact], expectedFacts: () => ({ 'pages shared with the child': 0 }),
    model(m, n) {
      const buf = anon(m, n, { touch: 1 });
      const ring = m.op('io_uring_setup', { 'entries?': 4 });
      const reg = { 'ring|fd?': ring, 'addr|buf|iov_base': buf, 'len|length|iov_len': n * PAGE_SIZE };
      m.measure('register', () => m.op(IOU_REGISTER, { ...reg, 'opcode?': named(m, 'IORING_REGISTER_BUFFERS') }, { anyRet: true }));
      m.measure('fork', () => (m.op('fork', { child: 'child' }) > 0 ? 0 : -1));
      m.fact('pages shared with the child', samePfns(m, buf, n));
      m.op('exit', {}, { task: 'child' });
      m.measure('unregister', () => m.op(IOU_UNREGISTER, { 'ring|fd?': ring, 'opcode?': named(m, 'IORING_UNREGISTER_BUFFERS') }, { anyRet: true }));
    },
  },
  {
    name: 'iouring-memfd-truncate', no: 'extra', title: 'ftruncate() of a memfd whose pages are registered with io_uring', rules: 'R123, R107',
    needs: { ioUring: true },
    doc: 'A written memfd mapping is registered (+N/0); ftruncate(memfd, 0) takes the pages out of the page cache ' +
      'while they are pinned and drops no pin (0/0); unregistering releases them (0/+N). shmem buffers are refused ' +
      'before v5.14 (-EOPNOTSUPP after pinning and unpinning them).',
    expected: (n) => [{ name: 'register', ret: 0, dA: n, dR: 0 }, { name: 'ftruncate', ret: 0, dA: 0, dR: 0 }, { name: 'unregister', ret: 0, dA: 0, dR: n }],
    deterministic: true, facts: [],
    model(m, n) {
      const len = n * PAGE_SIZE;
      m.op('create_file', { name: 'memfd', size: len, fs: 'tmpfs' });
      const fd = open(m, 'memfd', 'O_RDWR');
      const buf = m.op('mmap', { length: len, prot: m.k('PROT_READ') | m.k('PROT_WRITE'), flags: m.k('MAP_SHARED'), file: 'memfd' });
      m.op('write', { addr: buf, length: len, value: 1 });
      const ring = m.op('io_uring_setup', { 'entries?': 4 });
      let r = -1;
      m.measure('register', () => {
        r = m.op(IOU_REGISTER, { 'ring|fd?': ring, 'opcode?': named(m, 'IORING_REGISTER_BUFFERS'), 'addr|buf|iov_base': buf, 'len|length|iov_len': len }, { anyRet: true });
        return r;
      });
      if (r !== 0 && !m.dry) return;
      m.measure('ftruncate', () => m.op('ftruncate', { fd, length: 0 }, { anyRet: true }));
      m.measure('unregister', () => m.op(IOU_UNREGISTER, { 'ring|fd?': ring, 'opcode?': named(m, 'IORING_UNREGISTER_BUFFERS') }, { anyRet: true }));
    },
  },
  {
    name: 'iouring-mixed-vmas', no: 'extra', title: 'io_uring registration of one buffer over an anonymous and a MAP_PRIVATE file VMA',
    rules: 'R123', needs: { ioUring: true, ext4: true },
    doc: 'The first half of the buffer is written private anonymous memory, the second a read-faulted MAP_PRIVATE ' +
      'mapping of an ext4 file right after it. FOLL_WRITE pins all N (COW copies for the file half); then, before ' +
      'v6.5, io_uring looks at the VMAs: file-backed memory is -EOPNOTSUPP, and from v6.3 (stable 6.1.16, 5.10.173) ' +
      'pages of two sources are -EINVAL first; either way the N pins are dropped (+N/+N). From v6.5 GUP does the ' +
      'checking and a private file mapping is fine: +N/0, then 0/+N.',
    expected: (n) => [{ name: 'register', ret: 0, dA: n, dR: 0 }, { name: 'unregister', ret: 0, dA: 0, dR: n }],
    deterministic: true, facts: [],
    model(m, n) {
      dataFile(m, n);
      const half = Math.floor(n / 2) * PAGE_SIZE;
      const len = n * PAGE_SIZE;
      const buf = anon(m, n, { touch: 1 });
      m.op('mmap', {
        'addr?': buf + half, length: len - half, prot: m.k('PROT_READ') | m.k('PROT_WRITE'), flags: m.k('MAP_PRIVATE') | m.k('MAP_FIXED'), file: 'data',
      });
      for (let a = buf + half; a < buf + len; a += PAGE_SIZE) m.op('read', { addr: a }, { anyRet: true });
      iouringModel(m, buf, len);
    },
  },
  dio({
    name: 'dio-read-partial', no: 'extra', title: 'O_DIRECT read into a buffer whose second half is PROT_NONE', rules: 'R94, R131',
    doc: 'GUP pins (or references) the first half and then fails on the PROT_NONE half. iomap submits the bio it ' +
      'could fill (the first half is read), but the next iteration fails with nothing submitted and ' +
      '__iomap_dio_rw() records -EFAULT for the whole dio (ext4 does not ask for IOMAP_DIO_PARTIAL): -EFAULT, ' +
      'with +N/2/+N/2 where direct I/O pins (v6.5+) and 0/0 where it takes references. Every kernel showed -EFAULT ' +
      'where the model returned the short count (fixed in src/fs/iomap-dio.ts).',
    expected: (n) => [{ name: 'pread', ret: -14, dA: Math.floor(n / 2), dR: Math.floor(n / 2) }], deterministic: true, facts: [],
    model(m, n) {
      const fd = dataFile(m, n);
      const half = Math.floor(n / 2) * PAGE_SIZE;
      const buf = anon(m, n, { touch: 1 });
      m.op('mprotect', { addr: buf + half, length: n * PAGE_SIZE - half, prot: m.k('PROT_NONE') });
      m.measure('pread', () => pread(m, fd, buf, n * PAGE_SIZE, 0));
    },
  }),
  {
    name: 'iouring-hole', no: 'extra', title: 'io_uring registration of a buffer with an unmapped page in its middle', rules: 'R123',
    needs: { ioUring: true },
    doc: 'GUP pins the N/2 pages before the hole and stops; io_pin_pages() drops them and the registration fails ' +
      'with -EFAULT: +N/2/+N/2.',
    expected: (n) => [{ name: 'register', ret: -14, dA: Math.floor(n / 2), dR: Math.floor(n / 2) }], deterministic: true, facts: [],
    model(m, n) {
      const half = Math.floor(n / 2) * PAGE_SIZE;
      const buf = anon(m, n, { touch: 1 });
      m.op('munmap', { addr: buf + half, length: PAGE_SIZE });
      iouringModel(m, buf, n * PAGE_SIZE);
    },
  },
  {
    name: 'pvm-readv-partial', no: 'extra', title: 'process_vm_readv of N remote pages whose second half the child unmapped', rules: 'R124',
    needs: {},
    doc: 'process_vm_rw_core() copies page batch by page batch; pin_user_pages_remote() fails at the hole, and the ' +
      'call returns what it copied before: N/2 pages, each pinned and released once (+N/2/+N/2).',
    expected: (n) => plusN('process_vm_readv', Math.floor(n / 2) * PAGE_SIZE, Math.floor(n / 2)), deterministic: true, facts: [],
    model: (m, n) => pvmModel(m, n, 'half', false),
  },
  {
    name: 'iouring-readonly', no: 'extra', title: 'io_uring registration of a written PROT_READ buffer', rules: 'R123, R131',
    needs: { ioUring: true },
    doc: 'FOLL_WRITE GUP refuses a read-only VMA before pinning anything: -EFAULT, 0/0.',
    expected: () => [{ name: 'register', ret: -14, dA: 0, dR: 0 }], deterministic: true, facts: [],
    model(m, n) {
      const buf = anon(m, n, { touch: 1 });
      m.op('mprotect', { addr: buf, length: n * PAGE_SIZE, prot: m.k('PROT_READ') });
      iouringModel(m, buf, n * PAGE_SIZE);
    },
  },
  {
    name: 'iouring-dontneed', no: 'extra', title: 'MADV_DONTNEED of a registered io_uring buffer, then unregister', rules: 'R123, R20',
    needs: { ioUring: true },
    doc: 'N written anonymous pages are registered (+N/0); MADV_DONTNEED zaps their PTEs but the pins keep the ' +
      'pages (0/0, nothing mapped afterwards); unregistering drops the last references (0/+N).',
    expected: (n) => [{ name: 'register', ret: 0, dA: n, dR: 0 }, { name: 'dontneed', ret: 0, dA: 0, dR: 0 }, { name: 'unregister', ret: 0, dA: 0, dR: n }],
    deterministic: true,
    facts: [{ name: 'pages mapped after DONTNEED', doc: 'buffer pages present in /proc/self/pagemap after MADV_DONTNEED', host: (o) => o.buf_present ?? null }],
    expectedFacts: () => ({ 'pages mapped after DONTNEED': 0 }),
    model(m, n) {
      const len = n * PAGE_SIZE;
      const buf = anon(m, n, { touch: 1 });
      const ring = m.op('io_uring_setup', { 'entries?': 4 });
      m.measure('register', () => m.op(IOU_REGISTER, { 'ring|fd?': ring, 'opcode?': named(m, 'IORING_REGISTER_BUFFERS'), 'addr|buf|iov_base': buf, 'len|length|iov_len': len }, { anyRet: true }));
      m.measure('dontneed', () => m.op('madvise', { addr: buf, length: len, advice: m.k('MADV_DONTNEED') }, { anyRet: true }));
      m.fact('pages mapped after DONTNEED', countPages(m, buf, n, (p) => p.present === true));
      m.measure('unregister', () => m.op(IOU_UNREGISTER, { 'ring|fd?': ring, 'opcode?': named(m, 'IORING_UNREGISTER_BUFFERS') }, { anyRet: true }));
    },
  },
  dio({
    name: 'dio-read-cow', no: 'extra', title: 'O_DIRECT read into pages COW-shared with a live child', rules: 'R121, R41',
    doc: 'The parent wrote N pages before fork; the child stays alive. FOLL_WRITE breaks COW in the parent before ' +
      'taking each page (references before v6.5: 0/0; pins from v6.5: +N/+N), so no page is shared afterwards.',
    expected: (n) => plusN('pread', n * PAGE_SIZE, n), deterministic: true, facts: [childSharedFact],
    expectedFacts: () => ({ 'pages shared with the child': 0 }),
    model(m, n) {
      const fd = dataFile(m, n);
      const buf = anon(m, n, { touch: 3 });
      m.op('fork', { child: 'child' });
      m.measure('pread', () => pread(m, fd, buf, n * PAGE_SIZE, 0));
      m.fact('pages shared with the child', samePfns(m, buf, n));
    },
  }),
];

/** Every case: the first 25 (the host's 6.18), then the ones added to tell the versions apart. */
export const WORKLOADS: readonly Workload[] = [...FIRST, ...VERSIONS];

export function workload(name: string): Workload | undefined {
  return WORKLOADS.find((w) => w.name === name);
}
