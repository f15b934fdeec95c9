// RLIMIT_MEMLOCK, CAP_IPC_LOCK and the counters pinning drivers charge (spec R51): the user's
// locked_vm (io_uring, XDP), mm->pinned_vm (RDMA, io_uring) and mm->locked_vm (VFIO, powerpc
// mm_iommu). GUP itself charges nothing. Every task belongs to one user (one uid), so
// user->locked_vm is one number per kernel.

import { ENOMEM, PAGE_SHIFT } from '../include/uapi.js';
import { stateKey, type Kernel } from '../kernel.js';
import type { Mm, Task } from '../vm/mm.js';

export interface TaskLimits {
  /** RLIMIT_MEMLOCK in bytes; null is RLIM_INFINITY. */
  memlock: number | null;
  /** capable(CAP_IPC_LOCK) */
  capIpcLock: boolean;
}

export class MemlockState {
  private readonly limits = new Map<Task, TaskLimits>();
  /** user_struct->locked_vm of the one user, in pages. */
  userLockedVm = 0;
  private readonly pinned = new Map<Mm, number>();
  private readonly locked = new Map<Mm, number>();

  /**
   * A task's limits. Default: root — CAP_IPC_LOCK and an unlimited RLIMIT_MEMLOCK. A forked
   * child starts from the default too (the model does not copy rlimits at fork).
   */
  limitsOf(t: Task): TaskLimits {
    let l = this.limits.get(t);
    if (!l) {
      l = { memlock: null, capIpcLock: true };
      this.limits.set(t, l);
    }
    return l;
  }

  pinnedVm(mm: Mm): number {
    return this.pinned.get(mm) ?? 0;
  }

  lockedVm(mm: Mm): number {
    return this.locked.get(mm) ?? 0;
  }

  addPinnedVm(mm: Mm, n: number): number {
    const v = this.pinnedVm(mm) + n;
    this.pinned.set(mm, v);
    return v;
  }

  addLockedVm(mm: Mm, n: number): number {
    const v = this.lockedVm(mm) + n;
    this.locked.set(mm, v);
    return v;
  }
}

const MEMLOCK_KEY = stateKey('drivers:memlock', () => new MemlockState());

export function memlock(k: Kernel): MemlockState {
  return k.state(MEMLOCK_KEY);
}

/** rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT for a task (Infinity when unlimited). */
export function memlockLimitPages(k: Kernel, t: Task): number {
  const l = memlock(k).limitsOf(t).memlock;
  return l === null ? Infinity : Math.floor(l / 2 ** PAGE_SHIFT);
}

export function capable_ipc_lock(k: Kernel, t: Task): boolean {
  return memlock(k).limitsOf(t).capIpcLock;
}

/** can_do_mlock() (mm/mlock.c): a non-zero RLIMIT_MEMLOCK or CAP_IPC_LOCK. */
export function can_do_mlock(k: Kernel, t: Task): boolean {
  const l = memlock(k).limitsOf(t);
  return l.memlock !== 0 || l.capIpcLock;
}

/** setrlimit(RLIMIT_MEMLOCK, limit): bytes, or null for RLIM_INFINITY. */
export function setrlimit_memlock(k: Kernel, t: Task, bytes: number | null): void {
  memlock(k).limitsOf(t).memlock = bytes;
}

export function set_cap_ipc_lock(k: Kernel, t: Task, on: boolean): void {
  memlock(k).limitsOf(t).capIpcLock = on;
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
