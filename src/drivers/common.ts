// What the driver models share: errno values the scenario constants do not have yet, object ids,
// page-range arithmetic, and the pre-FOLL_LONGTERM long-term GUP entry point.

import * as api from '../gup/api.js';
import type { PageArray } from '../gup/gup.js';
import { __gup_longterm_locked } from '../gup/longterm.js';
import { PAGE_SIZE } from '../include/uapi.js';
import { stateKey, type Kernel } from '../kernel.js';
import type { Task } from '../vm/mm.js';
import { FOLL_LONGTERM, FOLL_TOUCH } from '../include/linux/mm.js';
import { containerHandle } from './device.js';

// include/uapi/asm-generic/errno-base.h, errno.h: values src/include/uapi.ts does not name yet.
export const ESRCH = 3;
export const ENXIO = 6;
export const EBADF = 9;
export const ENOBUFS = 105;

/** Page frames spanned by [addr, addr + len): the kernel's "(end + PAGE_SIZE - 1) >> PAGE_SHIFT - start >> PAGE_SHIFT". */
export function pagesSpanned(addr: number, len: number): number {
  if (len <= 0) return 0;
  return Math.floor((addr + len + PAGE_SIZE - 1) / PAGE_SIZE) - Math.floor(addr / PAGE_SIZE);
}

export function pageAlignDown(addr: number): number {
  return Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
}

/** A fresh pages array, NULL (-1) filled like kvcalloc(). */
export function pageArray(n: number): number[] {
  return new Array<number>(Math.max(n, 0)).fill(-1);
}

const IDS_KEY = stateKey('drivers:ids', () => ({ next: 3 }));

/**
 * Small integers for driver object handles (RDMA MRs) and the AF_XDP socket's number, which is not
 * (yet) a descriptor of the task's table; io_uring rings and pipes get theirs from
 * get_unused_fd_flags() (src/fs/fdtable.ts).
 */
export function newId(k: Kernel): number {
  const s = k.state(IDS_KEY);
  // The allocator's counter is shared by every driver object: which object gets which number
  // depends on the order, so taking one reads and writes it (driver 0's container handle).
  k.mem.fp?.read('handle', containerHandle(0));
  k.mem.fp?.write('handle', containerHandle(0));
  return s.next++;
}

/**
 * get_user_pages_longterm() (mm/gup.c, v4.15 .. v5.1): long-term GETs before FOLL_LONGTERM was a
 * flag — memalloc_nocma scope, get_user_pages(), fs-dax refused with -EOPNOTSUPP, CMA pages
 * migrated. The model's __gup_longterm_locked() does the same steps (docs/profiles.md, 5.1).
 * On profiles that have FOLL_LONGTERM this is get_user_pages(gup_flags | FOLL_LONGTERM) (v5.2).
 */
export function get_user_pages_longterm(k: Kernel, current: Task, start: number, nr_pages: number, gup_flags: number,
  pages: PageArray): number {
  if (k.profile.follLongterm) return api.get_user_pages(k, current, start, nr_pages, gup_flags | FOLL_LONGTERM, pages);
  return __gup_longterm_locked(k, current.mm, start, nr_pages, pages, gup_flags | FOLL_LONGTERM | FOLL_TOUCH);
}
