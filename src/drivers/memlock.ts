// RLIMIT_MEMLOCK, CAP_IPC_LOCK and the counters pinning drivers charge (spec R51): the user's
// locked_vm (io_uring, XDP), mm->pinned_vm (RDMA, io_uring) and mm->locked_vm (VFIO, powerpc
// mm_iommu). GUP itself charges nothing. Every task belongs to one user (one uid), so
// user->locked_vm is one number per kernel.

import { ENOMEM, PAGE_SHIFT } from '../include/uapi.js';
import { stateKey, type Kernel } from '../kernel.js';
import type { Mm, Task } from '../vm/mm.js';
import type { PhysMem } from '../mm/memory.js';

export interface TaskLimits {
  /** RLIMIT_MEMLOCK in bytes; null is RLIM_INFINITY. */
  memlock: number | null;
  /** capable(CAP_IPC_LOCK) */
  capIpcLock: boolean;
}

/**
 * The counters and limits, private: every read and write goes through the accessors below, which
 * record it in the step's footprint (nothing under k.peek()). mm->pinned_vm and mm->locked_vm are
 * fields of the mm ('mm'); user->locked_vm is the user_struct's ('user', one user); a task's
 * RLIMIT_MEMLOCK and CAP_IPC_LOCK (signal->rlim, cred) are the task's ('task', by pid).
 */
export class MemlockState {
  private readonly limits = new Map<Task, TaskLimits>();
  /** user_struct->locked_vm of the one user, in pages. */
  private userLocked = 0;
  private readonly pinned = new Map<Mm, number>();
  private readonly locked = new Map<Mm, number>();

  constructor(private readonly mem: PhysMem) {}

  /**
   * A task's limits. Default: root — CAP_IPC_LOCK and an unlimited RLIMIT_MEMLOCK. A forked
   * child starts from the default too (the model does not copy rlimits at fork). Records nothing.
   */
  private limitsOf(t: Task): TaskLimits {
    let l = this.limits.get(t);
    if (!l) {
      l = { memlock: null, capIpcLock: true };
      this.limits.set(t, l);
    }
    return l;
  }

  /** The task's limits (records a read of them). */
  limitsFor(t: Task): Readonly<TaskLimits> {
    this.mem.fp?.read('task', t.pid);
    return this.limitsOf(t);
  }

  /** setrlimit()/capset(): change the task's limits (records a write). */
  setLimits(t: Task, change: Partial<TaskLimits>): void {
    this.mem.fp?.write('task', t.pid);
    Object.assign(this.limitsOf(t), change);
  }

  /** user->locked_vm (records a read of the user). */
  get userLockedVm(): number {
    this.mem.fp?.read('user', 0);
    return this.userLocked;
  }

  /** Records a write of the user. */
  set userLockedVm(v: number) {
    this.mem.fp?.write('user', 0);
    this.userLocked = v;
  }

  /** mm->pinned_vm (records a read of the mm). */
  pinnedVm(mm: Mm): number {
    this.mem.fp?.read('mm', mm.id);
    return this.pinned.get(mm) ?? 0;
  }

  /** mm->locked_vm (records a read of the mm). */
  lockedVm(mm: Mm): number {
    this.mem.fp?.read('mm', mm.id);
    return this.locked.get(mm) ?? 0;
  }

  /** atomic64_add_return(n, &mm->pinned_vm): records a read and a write of the mm. */
  addPinnedVm(mm: Mm, n: number): number {
    const v = this.pinnedVm(mm) + n;
    this.mem.fp?.write('mm', mm.id);
    this.pinned.set(mm, v);
    return v;
  }

  /** mm->locked_vm += n: records a read and a write of the mm. */
  addLockedVm(mm: Mm, n: number): number {
    const v = this.lockedVm(mm) + n;
    this.mem.fp?.write('mm', mm.id);
    this.locked.set(mm, v);
    return v;
  }
}

const MEMLOCK_KEY = stateKey('drivers:memlock', (k) => new MemlockState(k.mem));

export function memlock(k: Kernel): MemlockState {
  return k.state(MEMLOCK_KEY);
}

/** rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT for a task (Infinity when unlimited). */
export function memlockLimitPages(k: Kernel, t: Task): number {
  const l = memlock(k).limitsFor(t).memlock;
  return l === null ? Infinity : Math.floor(l / 2 ** PAGE_SHIFT);
}

export function capable_ipc_lock(k: Kernel, t: Task): boolean {
  return memlock(k).limitsFor(t).capIpcLock;
}

/** can_do_mlock() (mm/mlock.c): a non-zero RLIMIT_MEMLOCK or CAP_IPC_LOCK. */
export function can_do_mlock(k: Kernel, t: Task): boolean {
  const l = memlock(k).limitsFor(t);
  return l.memlock !== 0 || l.capIpcLock;
}

/** setrlimit(RLIMIT_MEMLOCK, limit): bytes, or null for RLIM_INFINITY. */
export function setrlimit_memlock(k: Kernel, t: Task, bytes: number | null): void {
  memlock(k).setLimits(t, { memlock: bytes });
}

export function set_cap_ipc_lock(k: Kernel, t: Task, on: boolean): void {
  memlock(k).setLimits(t, { capIpcLock: on });
}

/**
 * __account_locked_vm() (mm/util.c): mm->locked_vm += pages, refused with -ENOMEM past the
 * task's RLIMIT_MEMLOCK unless it has CAP_IPC_LOCK; a decrease always succeeds.
 */
export function account_locked_vm(k: Kernel, mm: Mm, t: Task, pages: number, inc: boolean): number {
  const st = memlock(k);
  if (inc) {
    if (st.lockedVm(mm) + pages > memlockLimitPages(k, t) && !capable_ipc_lock(k, t)) return -ENOMEM;
    st.addLockedVm(mm, pages);
  } else {
    st.addLockedVm(mm, -pages);
  }
  return 0;
}
