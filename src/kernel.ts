// One modelled kernel: the subsystems wired for one profile and one machine.

import { KernelBug, Warnings } from './check/bug.js';
import { GFP_HIGHUSER_MOVABLE, PhysMem, RecordingPhysMem, type AllocFailure, type Gfp } from './mm/memory.js';
import { pageFlagNames } from './mm/page-flags.js';
import { Vmstat, VMSTAT_ITEMS } from './mm/vmstat.js';
import { getProfile, type Profile } from './profile.js';
import { Footprint, type FootprintJSON, type FootprintSink } from './trace/footprint.js';
import { IdSpace } from './trace/ids.js';
import { Trace, type FolioChange } from './trace/trace.js';

export type ThpMode = 'always' | 'madvise' | 'never';

export interface MachineConfig {
  /** Zone sizes in bytes. */
  normal: number;
  movable: number;
  cma: number;
  zeroPageColors: number;
  /** /sys/kernel/mm/transparent_hugepage/enabled */
  thp: ThpMode;
  /** Enabled mTHP orders for anonymous memory (hugepages-NkB/enabled), besides the PMD order. */
  mthpOrders: number[];
  /** /sys/kernel/mm/transparent_hugepage/use_zero_page */
  useHugeZeroPage: boolean;
  /** mm_forbids_zeropage(): true only on some s390 KVM guests. */
  forbidsZeropage: boolean;
  /** /proc/sys/vm/nr_hugepages: 2 MiB hugetlb pages reserved at boot. */
  hugetlbPages: number;
  /**
   * The architecture has GUP-fast (CONFIG_HAVE_FAST_GUP, CONFIG_HAVE_GUP_FAST from v6.10). Without
   * it (User-Mode Linux), the lockless walk returns nothing and pin_user_pages_fast() and
   * get_user_pages_fast() take the slow path for the whole range: mm/gup.c
   * lockless_pages_from_mm() in 5.10 and 6.1, gup_fast() in 6.12 (`!IS_ENABLED(...)` → 0).
   */
  gupFast: boolean;
  /**
   * The kernel is built with CONFIG_TRANSPARENT_HUGEPAGE (default true). Without it (User-Mode
   * Linux) madvise(MADV_HUGEPAGE / MADV_NOHUGEPAGE) is -EINVAL: mm/madvise.c
   * madvise_behavior_valid() (is_valid_madvise() from v6.15) lists them only under that option.
   */
  thpConfigured: boolean;
  /**
   * copy_from_user() as User-Mode Linux does it: a software walk of the task's page table
   * (arch/um/kernel/skas/uaccess.c maybe_map()) that reads through any present PTE, whatever the
   * VMA allows (PROT_NONE included), and faults only where no PTE is present. x86 (default false)
   * faults, and access_error() refuses a VMA without VM_READ. Measured: a buffered write from a
   * read-faulted page made PROT_NONE returns the bytes on uml-5.10/6.1/6.12, -EFAULT on the host.
   */
  umUaccess: boolean;
}

export const DEFAULT_MACHINE: MachineConfig = {
  normal: 32 << 20,
  movable: 0,
  cma: 0,
  zeroPageColors: 1,
  thp: 'never',
  mthpOrders: [],
  useHugeZeroPage: true,
  forbidsZeropage: false,
  hugetlbPages: 0,
  gupFast: true,
  thpConfigured: true,
  umUaccess: false,
};

/** A failed allocation as the kernel's log would show it (warn_alloc()), with where and when. */
export interface AllocFailureRecord extends AllocFailure {
  /** The kernel step (trace seq) and its operation. */
  readonly step: number;
  readonly op: string;
  /** "page allocation failure: order:0, mode:GFP_HIGHUSER_MOVABLE in do_anonymous_page (free: MOVABLE 0, NORMAL 0)" */
  readonly message: string;
}

/**
 * warn_alloc() is ratelimited (mm/page_alloc.c nopage_rs: DEFAULT_RATELIMIT_BURST = 10 per
 * interval); the model keeps the first ten reports of a run and counts the rest.
 */
export const ALLOC_FAILURE_REPORTS = 10;

/**
 * A typed slot of per-kernel state that a subsystem owns (tasks, files, block queues, rings...):
 * the key carries the slot's type, so `k.state(KEY)` needs no cast at the call site (cf. zod's
 * typed registries). Slots are numbered, so a lookup is an array index.
 */
export interface StateKey<T> {
  readonly name: string;
  readonly slot: number;
  readonly init: (k: Kernel) => T;
}

let nextStateSlot = 0;

export function stateKey<T>(name: string, init: (k: Kernel) => T): StateKey<T> {
  return { name, slot: nextStateSlot++, init };
}

/**
 * The invariant check run after every step, installed by whoever builds the Kernel (the scenario
 * backend, the tests): the Kernel knows no subsystem. `written` limits it to the folios a step
 * wrote (the explorer's 'incremental' mode). Returns what is broken.
 */
export type InvariantCheck = (k: Kernel, written?: ReadonlyArray<readonly [number, number]>) => string[];

/** GFP_HIGHUSER_MOVABLE inside memalloc_pin_save(): __GFP_MOVABLE cleared, which is GFP_HIGHUSER. */
const GFP_HIGHUSER: Gfp = { movable: false, name: 'GFP_HIGHUSER' };

export interface KernelOptions {
  profile?: string | Profile;
  machine?: Partial<MachineConfig>;
  /** Record trace events and footprints (default true). Benchmarks turn it off. */
  trace?: boolean;
  /**
   * Check invariants after every step (default true). 'incremental' checks only the folios a
   * step wrote or that are mapped (the explorer's mode; needs footprints).
   */
  invariants?: boolean | 'incremental';
  /** Record footprints even when trace is false (the explorer's mode). */
  footprints?: boolean;
  /** What "check invariants" runs (check/invariants.ts checkInvariants, as the composition roots pass it); none: no check. */
  check?: InvariantCheck;
}

export class Kernel {
  readonly profile: Profile;
  readonly machine: MachineConfig;
  readonly mem: PhysMem;
  readonly vmstat = new Vmstat();
  readonly warnings = new Warnings();
  readonly fp = new Footprint();
  readonly trace = new Trace();
  /** Ids of VMAs, files, bios and pipes, per kernel (deterministic re-runs). */
  readonly ids = new IdSpace();
  checkInvariantsEachStep: boolean | 'incremental';
  /** The invariant check (KernelOptions.check). */
  invariantCheck: InvariantCheck | null;
  /**
   * When set (trace off, footprints on), footprints accumulate across steps until the caller
   * takes them with takeFootprint(): the explorer reads one per scenario step.
   */
  private readonly accumulateFootprints: boolean;
  /** memalloc_pin_save() depth: allocations avoid ZONE_MOVABLE and CMA while > 0. */
  memallocPin = 0;
  private notes: string[] = [];
  /** Allocation failures reported (warn_alloc(): those without __GFP_NOWARN), the first ALLOC_FAILURE_REPORTS of them. */
  readonly allocFailures: AllocFailureRecord[] = [];
  /** Reports past the ratelimit ("warn_alloc: N callbacks suppressed"). */
  allocFailuresSuppressed = 0;
  private stepAllocFailures: string[] = [];
  private currentOp = 'boot';
  /** The scenario step that the next kernel steps belong to (null: none), recorded in their trace events. */
  scenarioStep: number | null = null;
  /**
   * The yield points the running preemptible step may stop at (the explorer's `preempt:`), null
   * outside one: an operation whose yield point sits in a per-page loop tests this once, so that
   * nothing is yielded per page unless a step asked to stop there (src/preempt.ts armed()).
   */
  preemptArmed: ReadonlySet<string> | null = null;
  bugReport: KernelBug | null = null;
  private seq = 0;

  constructor(opts: KernelOptions = {}) {
    const p = typeof opts.profile === 'string' || opts.profile === undefined ? getProfile(opts.profile ?? 'current') : opts.profile;
    if (!p) throw new RangeError(`unknown profile '${String(opts.profile)}'`);
    this.profile = p;
    this.machine = { ...DEFAULT_MACHINE, ...opts.machine };
    const pages = (b: number) => Math.ceil(b / 4096);
    const tracing = opts.trace ?? true;
    const footprints = tracing || (opts.footprints ?? false);
    // With footprints the folio table records reads too (RecordingPhysMem); without, its read
    // accessors are plain array loads (the benchmarks' pin path).
    this.mem = new (footprints ? RecordingPhysMem : PhysMem)({
      normal: pages(this.machine.normal),
      movable: pages(this.machine.movable),
      cma: pages(this.machine.cma),
      zeroPageColors: this.machine.zeroPageColors,
    });
    this.mem.onAllocFail = (f) => this.allocFailed(f);
    if (this.machine.hugetlbPages > 0) this.mem.reserveHugetlbPool(this.machine.hugetlbPages);
    this.trace.enabled = tracing;
    this.fp.enabled = footprints;
    this.mem.fp = footprints ? this.fp : null;
    this.accumulateFootprints = !tracing && footprints;
    this.checkInvariantsEachStep = opts.invariants ?? true;
    this.invariantCheck = opts.check ?? null;
    if (this.checkInvariantsEachStep === 'incremental' && !footprints) throw new RangeError("invariants: 'incremental' needs footprints");
  }

  /** GFP for user and page-cache memory: memalloc_pin scope drops __GFP_MOVABLE (include/linux/sched/mm.h current_gfp_context()). */
  gfpUser(): Gfp {
    return this.memallocPin > 0 ? GFP_HIGHUSER : GFP_HIGHUSER_MOVABLE;
  }

  /**
   * An allocation failed. Without __GFP_NOWARN the kernel logs it (warn_alloc()); the model keeps
   * it as a record the scenario runner reports under the result, and notes it in the step's trace
   * event, so a later symptom (a fault answering VM_FAULT_OOM, a read answering -EFAULT) has its
   * cause next to it. With __GFP_NOWARN the caller has a fallback: only a trace note. Not a WARN:
   * nothing is wrong with the kernel, the machine is out of memory (and the explorer does not
   * fail a schedule for it). The kernel would first try reclaim and, for small orders, the OOM
   * killer; the model has neither for anonymous memory, so its allocation fails where the
   * kernel's would once nothing could be reclaimed or killed.
   */
  private allocFailed(f: AllocFailure): void {
    const where = `in ${f.site} (free pages: ${f.zones})`;
    if (f.nowarn) {
      this.note(`allocation failed, order:${f.order}, mode:${f.gfp} ${where}: the caller falls back`);
      return;
    }
    const message = `page allocation failure: order:${f.order}, mode:${f.gfp} ${where}`;
    // Past the per-step cap of notes too: this is the note that explains the rest.
    if (this.trace.enabled) this.notes.push(message);
    if (this.trace.enabled) this.stepAllocFailures.push(message);
    if (this.allocFailures.length >= ALLOC_FAILURE_REPORTS) {
      this.allocFailuresSuppressed++;
      return;
    }
    this.allocFailures.push({ ...f, step: this.seq, op: this.currentOp, message });
  }

  // Preallocated: the keys are made at module load, and a holey array grown from index 20 is slower.
  private readonly slots: unknown[] = new Array<unknown>(Math.max(32, nextStateSlot)).fill(undefined);
  private readonly teardownHooks: Array<() => void> = [];

  /** The subsystem state behind `key`, created on first use: `k.state(BLKDEV)`. */
  state<T>(key: StateKey<T>): T {
    let v = this.slots[key.slot];
    if (v === undefined) {
      v = key.init(this);
      this.slots[key.slot] = v;
    }
    // The slot was filled by key.init, whose type is T.
    return v as T;
  }

  /** Run at teardown after every task has exited and before page caches are dropped (close files, unregister buffers). */
  onTeardown(fn: () => void): void {
    this.teardownHooks.push(fn);
  }

  runTeardownHooks(): void {
    for (const fn of this.teardownHooks.splice(0)) fn();
  }

  /** WARN_ON_ONCE(cond) at a named site: returns cond so callers can write `if (k.WARN_ON_ONCE(...)) return`. */
  WARN_ON_ONCE(cond: boolean, site: string, message: string): boolean {
    if (cond) this.warnings.warnOnce(site, message);
    return cond;
  }

  BUG(message: string, details: string[] = []): never {
    throw new KernelBug(message, details);
  }

  /** A sub-operation worth showing in the trace ("fault write 0x7f..", "migrate pfn 5 -> 9"). */
  note(s: string): void {
    if (this.trace.enabled && this.notes.length < 200) this.notes.push(s);
  }

  /**
   * Run one atomic step: record it as a trace event with its footprint and effects, then check
   * invariants. A KernelBug (BUG() or broken invariant) is recorded and rethrown.
   */
  step<T>(actor: string, op: string, args: Record<string, unknown>, fn: () => T): T {
    if (this.bugReport) throw this.bugReport;
    const before = this.trace.enabled ? this.vmstat.snapshot() : null;
    const warnBefore = this.warnings.list.length;
    if (!this.accumulateFootprints) this.fp.clear();
    this.notes = [];
    this.stepAllocFailures = [];
    this.currentOp = op;
    this.warnings.step = this.seq;
    let result: T | undefined;
    let bug: KernelBug | null = null;
    try {
      result = fn();
      const check = this.invariantCheck;
      if (this.checkInvariantsEachStep && check) {
        // As peek(), without a closure per step: the check records nothing.
        const written = this.checkInvariantsEachStep === 'incremental' ? this.fp.writtenFolioRuns() : undefined;
        const fp = this.mem.fp;
        this.mem.fp = null;
        let broken: string[];
        try {
          broken = check(this, written);
        } finally {
          this.mem.fp = fp;
        }
        if (broken.length) bug = new KernelBug(`invariant violated after ${op}: ${broken[0]}`, broken);
      }
    } catch (e) {
      if (!(e instanceof KernelBug)) throw e;
      bug = e;
    }
    if (this.trace.enabled) {
      const after = this.vmstat.snapshot();
      const vm: Record<string, number> = {};
      for (const k of VMSTAT_ITEMS) if (after[k] !== before![k]) vm[k] = after[k] - before![k];
      const runs = this.fp.writtenFolios();
      const changes: FolioChange[] = [];
      let written = 0;
      for (const [lo, hi] of runs) {
        written += hi - lo + 1;
        for (let p = lo; p <= hi && changes.length < 16; p++) changes.push(this.peek(() => this.folioState(p)));
      }
      this.trace.push({
        seq: this.seq,
        ...(this.scenarioStep !== null && { step: this.scenarioStep }),
        actor,
        op,
        args,
        result: result === undefined ? null : (result as unknown),
        vmstat: vm,
        changes,
        foliosWritten: written,
        footprint: this.fp.toJSON(),
        warnings: this.warnings.list.slice(warnBefore).map((w) => `${w.id}: ${w.message}`),
        ...(this.stepAllocFailures.length ? { allocFailures: this.stepAllocFailures } : {}),
        ...(bug ? { bug: bug.message } : {}),
        notes: this.notes,
      });
    }
    this.seq++;
    if (bug) {
      this.bugReport = bug;
      throw bug;
    }
    return result as T;
  }

  /**
   * Look at the model without it counting as the step's doing: the folio table's accessors record
   * nothing inside fn. For observers that are not kernel code: invariant checks, trace events,
   * scenario queries.
   */
  peek<T>(fn: () => T): T {
    const fp = this.mem.fp;
    this.mem.fp = null;
    try {
      return fn();
    } finally {
      this.mem.fp = fp;
    }
  }

  /** The footprint accumulated since the last call (footprints without trace; runs unsorted), and start a new one. */
  takeFootprint(): FootprintJSON {
    const f = this.fp.toRawJSON();
    this.fp.clear();
    return f;
  }

  /** As takeFootprint(), the runs handed to `sink` one by one (the explorer: no JSON per step). */
  takeFootprintRuns(sink: FootprintSink): void {
    this.fp.visitRaw(sink);
    this.fp.clear();
  }

  /** The caller is done with this kernel (the explorer, after a schedule): recycle its memory. */
  dispose(): void {
    this.mem.release();
  }

  get stepCount(): number {
    return this.seq;
  }

  folioState(pfn: number): FolioChange {
    const m = this.mem;
    const h = m.head(pfn);
    return {
      pfn,
      refcount: m.refcountOf(h),
      mapcount: m.mapcountOf(pfn),
      pincount: m.pincount(h),
      flags: pageFlagNames(m.flagsOf(pfn)),
      free: m.isFree(pfn),
      content: m.contentOf(pfn),
    };
  }
}
