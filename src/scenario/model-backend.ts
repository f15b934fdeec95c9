// The model behind the scenario language: every operation and query a scenario can name.

import { ApiUnavailable, KernelBug } from '../check/bug.js';
import { findLeaks } from '../check/leaks.js';
import { dropFileCache } from '../fs/file.js';
import { HPAGE_PMD_SIZE, PAGE_SIZE } from '../include/uapi.js';
import { Kernel, type MachineConfig, type ThpMode } from '../kernel.js';
import type { FootprintJSON, FootprintSink } from '../trace/footprint.js';
import { runSegment, type KernelGen, type Segment, type YieldPoint } from '../preempt.js';
import type { Task } from '../vm/mm.js';
import { DEFAULT_PROFILE, PROFILES, resolveProfile, versionProblem } from '../profile.js';
import { do_exit } from '../vm/exit.js';
import { A, type Args, type Ctx, type OpImpl } from './ops/common.js';
import { ALL_OPS, ALL_QUERIES } from './ops/index.js';
import { ScenarioError, type AllocFailureReport, type ArgSpec, type Backend, type BugReport, type LeakReport, type Session, type StepOutcome, type Value, type Warning } from './backend.js';
import { CONSTANTS } from '../include/constants.js';
import { createTask, peekTasks, tasks } from '../vm/mm.js';
import { files } from '../mm/filemap.js';
import { checkInvariants } from '../check/invariants.js';

// ---- the backend --------------------------------------------------------------------------------------

const MACHINE_ARGS: ArgSpec[] = [
  A('normal', 'int', false, 'ZONE_NORMAL size in bytes, at least 2M (default 32M)'),
  A('movable', 'int', false, 'ZONE_MOVABLE size in bytes (default 0)'),
  A('cma', 'int', false, 'CMA area size in bytes (default 0)'),
  A('zero_page_colors', 'int', false, '1 on x86/arm64; 8 on MIPS-style colored zero pages'),
  A('thp', 'string', false, 'always | madvise | never (default never)'),
  A('mthp_orders', 'value', false, 'enabled mTHP orders, e.g. [2, 4]'),
  A('use_zero_page', 'bool', false, 'transparent_hugepage/use_zero_page (default true)'),
  A('forbids_zeropage', 'bool', false, 'mm_forbids_zeropage() (s390 KVM)'),
  A('hugetlb_pages', 'int', false, 'nr_hugepages: 2 MiB hugetlb pages reserved at boot'),
  A('gup_fast', 'bool', false, 'the architecture has GUP-fast (HAVE_FAST_GUP; default true); false for User-Mode Linux: *_fast() take the slow path'),
  A('uml_uaccess', 'bool', false, 'copy_from_user() as User-Mode Linux does it: reads through any present PTE, PROT_NONE included (default false: x86)'),
  A('thp_configured', 'bool', false, 'built with CONFIG_TRANSPARENT_HUGEPAGE (default true); false: MADV_[NO]HUGEPAGE is -EINVAL (User-Mode Linux)'),
];

function machineFrom(m: Args): Partial<MachineConfig> {
  const out: Partial<MachineConfig> = {};
  const num = (k: string) => {
    const v = m[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ScenarioError(`machine.${k} must be a non-negative integer`, k);
    return v;
  };
  // Zone sizes: whole pages. ZONE_NORMAL must hold at least one PMD-size block: it serves every
  // allocation that may not be moved (GFP_KERNEL: pipe, bounce and kernel pages, FOLL_LONGTERM
  // migration targets, the huge zero folio, which is one 2 MiB folio), and with nothing in it all
  // of those fail from the first step. (The zero pages are not in it: they sit in the reserved
  // block below the zones, as the kernel's are in its image.) The model rounds each zone up to
  // whole 4 MiB MAX_PAGE_ORDER blocks, its allocation unit, so 2M gives 4 MiB.
  const zone = (k: string) => {
    const v = num(k);
    if (v % PAGE_SIZE) throw new ScenarioError(`machine.${k} must be a whole number of pages (a multiple of PAGE_SIZE), not ${v}`, k);
    return v;
  };
  if (m.normal !== undefined) {
    out.normal = zone('normal');
    if (out.normal < HPAGE_PMD_SIZE) {
      throw new ScenarioError(`machine.normal must be at least 2M (one huge page), not ${out.normal}: ZONE_NORMAL serves every `
        + 'allocation that cannot move (kernel pages, FOLL_LONGTERM migration targets, the huge zero folio)', 'normal');
    }
  }
  if (m.movable !== undefined) out.movable = zone('movable');
  if (m.cma !== undefined) out.cma = zone('cma');
  if (m.zero_page_colors !== undefined) {
    const c = num('zero_page_colors');
    if (c < 1 || c > 64) throw new ScenarioError('machine.zero_page_colors must be 1..64', 'zero_page_colors');
    out.zeroPageColors = c;
  }
  if (m.thp !== undefined) {
    const t = String(m.thp);
    if (!['always', 'madvise', 'never'].includes(t)) throw new ScenarioError(`machine.thp must be always, madvise or never, not '${t}'`, 'thp');
    out.thp = t as ThpMode;
  }
  if (m.mthp_orders !== undefined) {
    const v = m.mthp_orders;
    const list = Array.isArray(v) ? v : typeof v === 'number' ? [v] : String(v).split(',').map((x) => Number(x.trim()));
    if (!list.every((o) => Number.isInteger(o) && o >= 1 && o <= 8)) throw new ScenarioError('machine.mthp_orders must be orders 1..8', 'mthp_orders');
    out.mthpOrders = list as number[];
  }
  if (m.use_zero_page !== undefined) out.useHugeZeroPage = Boolean(m.use_zero_page);
  if (m.forbids_zeropage !== undefined) out.forbidsZeropage = Boolean(m.forbids_zeropage);
  if (m.hugetlb_pages !== undefined) out.hugetlbPages = num('hugetlb_pages');
  if (m.gup_fast !== undefined) out.gupFast = Boolean(m.gup_fast);
  if (m.thp_configured !== undefined) out.thpConfigured = Boolean(m.thp_configured);
  if (m.uml_uaccess !== undefined) out.umUaccess = Boolean(m.uml_uaccess);
  const total = (out.normal ?? 32 << 20) + (out.movable ?? 0) + (out.cma ?? 0);
  if (total > 64 * 2 ** 30) throw new ScenarioError('the machine may have at most 64 GiB', 'normal');
  return out;
}

/**
 * Who a trace event is for: the task, or the thread (actor) and the task it runs in when they
 * differ ("driver@parent"); a thread with no task is itself ("device").
 */
function actorLabel(thread: string | undefined, task: Task | null): string {
  const t = task?.name;
  if (thread === undefined || thread === t) return t ?? 'kernel';
  return t === undefined ? thread : `${thread}@${t}`;
}

/** An operation the explorer stopped at a yield point (or at a wait), in one task. */
interface Paused {
  gen: KernelGen<StepOutcome>;
  op: string;
  task: Task | null;
  stepNo: number;
  stopAt: ReadonlySet<string>;
  /** the wait it stopped at, if it stopped because a wait did not hold */
  wait: YieldPoint | null;
  point: string;
  /** Not started yet: its first segment reads the mmap_lock word first (takesMmapLock()). */
  fresh: OpImpl | null;
}

/** The stop points of a step's `preempt:` list, one Set per list (the program's lists live as long as it). */
const STOP_SETS = new WeakMap<readonly string[], ReadonlySet<string>>();
function stopSet(preempt: readonly string[]): ReadonlySet<string> {
  let s = STOP_SETS.get(preempt);
  if (!s) STOP_SETS.set(preempt, (s = new Set(preempt)));
  return s;
}

class ModelSession implements Session {
  private readonly c: Ctx;
  private bugRep: BugReport | null = null;
  private readonly paused = new Map<string, Paused>();
  /** The scenario step running (beginStep()), which leak holders name; else the kernel's step count. */
  private scenarioStep: number | null = null;

  constructor(readonly k: Kernel, tasks: readonly string[]) {
    this.c = { k, task: null, stepNo: 0, holders: [] };
    for (const t of tasks) createTask(k, t);
  }

  private bind(taskName: string | null, needsTask: boolean): void {
    if (taskName === null) {
      this.c.task = needsTask ? ([...peekTasks(this.k).values()][0] ?? null) : null;
      return;
    }
    const t = peekTasks(this.k).get(taskName);
    if (!t) throw new ScenarioError(`no task named '${taskName}'`, 'task');
    this.c.task = t;
  }

  beginStep(index: number): void {
    this.scenarioStep = index;
    this.k.scenarioStep = index;
  }

  step(taskName: string | null, op: string, args: Args, thread?: string): StepOutcome {
    const impl = this.opFor(op);
    this.bind(taskName, impl.needsTask);
    this.c.stepNo = this.scenarioStep ?? this.k.stepCount;
    return this.guarded(actorLabel(thread, this.c.task), op, args as Record<string, unknown>, () => {
      this.takesMmapLock(impl);
      return impl.run(this.c, args);
    });
  }

  /**
   * An op that counts as taking its task's mmap_lock (blockedOn()) reads the lock word in its
   * footprint: a stopped fork, collapse or zap that took the lock disables it, so the two are
   * dependent even when the op touches nothing else of the mm (pipe, open, io_uring_setup).
   * Without the read, DPOR's sleep set kept such a fork asleep and missed traces.
   */
  private takesMmapLock(impl: OpImpl): void {
    if (impl.needsTask && !impl.lockless && this.c.task) void this.c.task.mm.mmapWriteLocked;
  }

  /** The operation named, once no BUG has stopped the run. */
  private opFor(op: string): OpImpl {
    this.mustBeAlive();
    const impl = OP_MAP.get(op);
    if (!impl) throw new ScenarioError(`unknown operation '${op}'`);
    return impl;
  }

  private mustBeAlive(): void {
    if (this.bugRep) throw new ScenarioError(`the kernel hit BUG() at step ${this.bugRep.step}; no further steps run`);
  }

  /**
   * One traced, invariant-checked kernel step: a BUG is recorded (the run stops), a model refusal
   * becomes a ScenarioError; `onFail` runs first on any throw.
   */
  private guarded(actor: string, op: string, args: Record<string, unknown>, fn: () => StepOutcome, onFail?: () => void): StepOutcome {
    const at = this.k.stepCount;
    try {
      return this.k.step(actor, op, args, fn);
    } catch (e) {
      onFail?.();
      if (e instanceof KernelBug) {
        this.bugRep = { message: e.message, step: at, details: e.details };
        return { ret: null };
      }
      if (e instanceof ApiUnavailable || e instanceof RangeError) throw new ScenarioError(e.message);
      throw e;
    }
  }

  stepPreemptible(taskName: string | null, op: string, args: Args, preempt: readonly string[], thread: string): StepOutcome {
    const impl = this.opFor(op);
    if (!impl.steps) return this.step(taskName, op, args, thread);
    this.bind(taskName, impl.needsTask);
    const key = thread;
    const busy = this.paused.get(key);
    if (busy) throw new ScenarioError(`'${key}' is still inside ${busy.op}() (paused at ${busy.point})`);
    this.c.stepNo = this.scenarioStep ?? this.k.stepCount;
    // Creating the generator runs none of its body: the lock read happens in segment(), inside the
    // first segment's footprint.
    const gen = impl.steps(this.c, args);
    const p: Paused = { gen, op, task: this.c.task, stepNo: this.c.stepNo, stopAt: stopSet(preempt), wait: null, point: '', fresh: impl };
    return this.segment(key, p, op, args as Record<string, unknown>);
  }

  resume(thread: string): StepOutcome {
    this.mustBeAlive();
    const key = thread;
    const p = this.paused.get(key);
    if (!p) throw new ScenarioError(`'${key}' has no paused operation to resume`);
    this.c.task = p.task;
    this.c.stepNo = p.stepNo;
    this.k.scenarioStep = p.stepNo;
    return this.segment(key, p, `${p.op}:resume`, { after: p.point });
  }

  /**
   * The scheduler's question runs footprint-neutral: it is no step, so whatever it looks at (a
   * paused operation's wait condition, the mm's lock) must not land in the next step's footprint.
   */
  blockedOn(thread: string, taskName: string | null, op: string | null): string | null {
    const fp = this.k.fp;
    const was = fp.enabled;
    fp.enabled = false;
    try {
      return this.blockedOnNow(thread, taskName, op);
    } finally {
      fp.enabled = was;
    }
  }

  private blockedOnNow(thread: string, taskName: string | null, op: string | null): string | null {
    const p = this.paused.get(thread);
    if (p) return p.wait?.waitUntil && !p.wait.waitUntil() ? p.wait.waitsFor ?? p.wait.point : null;
    if (op === null) return null;
    const impl = OP_MAP.get(op);
    if (!impl?.needsTask || impl.lockless) return null;
    const t = taskName === null ? [...peekTasks(this.k).values()][0] : peekTasks(this.k).get(taskName);
    // Everything else takes mmap_lock (at least for reading) on its task's mm.
    return t?.mm.peekMmapWriteLocked() ? `mmap_lock of ${t.name}'s mm (held by a stopped fork, collapse or zap)` : null;
  }

  /** Run a paused or new operation up to its next stop, as one traced, invariant-checked step. */
  private segment(key: string, p: Paused, op: string, args: Record<string, unknown>): StepOutcome {
    return this.guarded(actorLabel(key, p.task), op, args, (): StepOutcome => {
      if (p.fresh) {
        this.takesMmapLock(p.fresh);
        p.fresh = null;
      }
      this.k.preemptArmed = p.stopAt;
      let seg: Segment<StepOutcome>;
      try {
        seg = runSegment(p.gen, p.stopAt, p.wait);
      } finally {
        this.k.preemptArmed = null;
      }
      if (seg.done) {
        this.paused.delete(key);
        return seg.value;
      }
      p.point = seg.at.point;
      p.wait = seg.at.waitUntil ? seg.at : null;
      this.paused.set(key, p);
      this.k.note(`paused at ${seg.at.point}${p.wait ? `, waiting for ${seg.at.waitsFor ?? 'a condition'}` : ''}`);
      return { ret: null, paused: seg.at.point };
    }, () => this.paused.delete(key));
  }

  query(taskName: string | null, q: string, args: Args): Readonly<Record<string, Value>> {
    const impl = QUERY_MAP.get(q);
    if (!impl) throw new ScenarioError(`unknown query '${q}'`);
    this.bind(taskName, impl.needsTask);
    // A query looks; it is no part of the next step's footprint.
    return this.k.peek(() => impl.eval(this.c, args));
  }

  warnings(): readonly Warning[] {
    return this.k.warnings.list.map((w) => ({ id: w.id, message: w.message, step: w.step }));
  }

  bug(): BugReport | null {
    return this.bugRep;
  }

  allocFailures(): { reports: AllocFailureReport[]; suppressed: number } {
    return {
      reports: this.k.allocFailures.map((f) => ({ message: f.message, step: f.step, op: f.op, site: f.site, order: f.order, gfp: f.gfp })),
      suppressed: this.k.allocFailuresSuppressed,
    };
  }

  teardown(): LeakReport {
    if (this.bugRep) return { leaks: [] };
    this.k.scenarioStep = null;
    try {
      this.k.step('kernel', 'teardown', {}, () => {
        for (const t of tasks(this.k).values()) do_exit(this.k, t);
        this.k.runTeardownHooks();
        for (const f of files(this.k).values()) dropFileCache(this.k, f);
      });
    } catch (e) {
      if (e instanceof KernelBug) {
        this.bugRep = { message: e.message, step: this.k.stepCount - 1, details: e.details };
        return { leaks: [] };
      }
      throw e;
    }
    return { leaks: findLeaks(this.k, this.c.holders).map((l) => l.line) };
  }

  trace(): unknown {
    return { profile: this.k.profile.name, machine: this.k.machine, ...this.k.trace.toJSON() };
  }

  dispose(): void {
    this.k.dispose();
  }

  takeFootprint(): FootprintJSON {
    return this.k.takeFootprint();
  }

  takeFootprintRuns(sink: FootprintSink): void {
    this.k.takeFootprintRuns(sink);
  }
}

const OP_MAP = new Map(ALL_OPS.map((o) => [o.name, o]));
const QUERY_MAP = new Map(ALL_QUERIES.map((q) => [q.name, q]));

export function modelBackend(): Backend {
  return {
    profiles: [...PROFILES.keys()],
    acceptsProfile: (name) => resolveProfile(name) !== undefined,
    profileProblem: (name) => (/^\d+\.\d+/.test(name) ? versionProblem(name) : null),
    defaultProfile: DEFAULT_PROFILE,
    machineArgs: MACHINE_ARGS,
    ops: OP_MAP,
    queries: QUERY_MAP,
    constants: CONSTANTS,
    start({ profile, machine, tasks, explore }) {
      if (!resolveProfile(profile)) throw new ScenarioError(`unknown profile '${profile}'`);
      const k = new Kernel(explore
        ? { profile, machine: machineFrom(machine), trace: false, footprints: true, invariants: 'incremental', check: checkInvariants }
        : { profile, machine: machineFrom(machine), check: checkInvariants });
      return new ModelSession(k, tasks);
    },
  };
}
