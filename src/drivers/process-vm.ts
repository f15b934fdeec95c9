// process_vm_readv() / process_vm_writev(): mm/process_vm_access.c process_vm_rw_core() and
// process_vm_rw_single_vec(). Spec R124, R137.
//
// The remote pages are pinned (v5.7+: pin_user_pages_remote(), FOLL_WRITE only for writev; before:
// get_user_pages_remote()), copied by the CPU, and released (unpin_user_pages_dirty_lock(pages, n,
// vm_write); before: set_page_dirty_lock() while copying for writev, then put_page()).
//
// The local side is an ITER_IOVEC (or ITER_UBUF) over the caller's memory, copied with
// copy_page_to_iter() / copy_page_from_iter() (src/lib/iov-iter.ts): content tokens, per page.

import { copy_page_from_iter, copy_page_to_iter, import_iovec_checked, iov_iter_count, UIO_MAXIOV, type IovIter } from '../lib/iov-iter.js';
import * as api from '../gup/api.js';
import { put_page, set_page_dirty_lock, unpin_user_pages_dirty_lock } from '../gup/unpin.js';
import { EFAULT, EINVAL, PAGE_SIZE } from '../include/uapi.js';
import type { Kernel } from '../kernel.js';
import type { Mm, Task } from '../vm/mm.js';
import { ESRCH, pageAlignDown, pageArray } from './common.js';
import { driverSwitches } from './features.js';
import { FOLL_WRITE } from '../include/linux/mm.js';

export interface Iovec {
  readonly base: number;
  readonly len: number;
}

/**
 * PVM_MAX_KMALLOC_PAGES / sizeof(struct page *): at most 1024 pages are pinned per loop. The
 * 16-entry on-stack array (PVM_MAX_PP_ARRAY_COUNT) is only where they are kept when no remote
 * iovec needs more than 16 pages; it does not limit a chunk.
 */
export const PVM_MAX_PAGES_PER_LOOP = (PAGE_SIZE * 2) / 8;

/** process_vm_rw_pages(): copy between the pinned remote pages and the local iterator. */
function process_vm_rw_pages(k: Kernel, pages: readonly number[], offset: number, len: number, iter: IovIter,
  vm_write: boolean, pinned: boolean): number {
  let i = 0;
  while (len && iov_iter_count(iter)) {
    const page = pages[i++];
    const copy = Math.min(PAGE_SIZE - offset, len);
    let copied: number;
    if (vm_write) {
      copied = copy_page_from_iter(k, page, offset, copy, iter);
      // Before v5.7 the page was dirtied here, while the copy went on.
      if (!pinned) set_page_dirty_lock(k, page);
    } else {
      copied = copy_page_to_iter(k, page, offset, copy, iter);
    }
    len -= copied;
    if (copied < copy && iov_iter_count(iter)) return -EFAULT;
    offset = 0;
  }
  return 0;
}

/** process_vm_rw_single_vec(): one remote iovec, pinned and copied in chunks. */
function process_vm_rw_single_vec(k: Kernel, addr: number, len: number, iter: IovIter, mm: Mm, vm_write: boolean): number {
  const pinned = driverSwitches(k.profile).driversPin;
  let pa = pageAlignDown(addr);
  let startOffset = addr - pa;
  if (len === 0) return 0;
  let nrPages = Math.floor((addr + len - 1) / PAGE_SIZE) - Math.floor(addr / PAGE_SIZE) + 1;
  const flags = vm_write ? FOLL_WRITE : 0;
  let rc = 0;
  while (!rc && nrPages && iov_iter_count(iter)) {
    const want = Math.min(nrPages, PVM_MAX_PAGES_PER_LOOP);
    const pages = pageArray(want);
    const locked = [1];
    const got = pinned
      ? api.pin_user_pages_remote(k, mm, pa, want, flags, pages, locked)
      : api.get_user_pages_remote(k, mm, pa, want, flags, pages, locked);
    if (got <= 0) return -EFAULT;
    const bytes = Math.min(got * PAGE_SIZE - startOffset, len);
    rc = process_vm_rw_pages(k, pages, startOffset, bytes, iter, vm_write, pinned);
    len -= bytes;
    startOffset = 0;
    nrPages -= got;
    pa += got * PAGE_SIZE;
    // "If vm_write is set, the pages need to be made dirty"
    if (pinned) unpin_user_pages_dirty_lock(k, pages, got, vm_write);
    else for (let j = got - 1; j >= 0; j--) put_page(k, pages[j]);
  }
  return rc;
}

/**
 * process_vm_rw(): bytes copied if any, else the error. `target` is the task named by pid;
 * the permission check (mm_access(), PTRACE_MODE_ATTACH_REALCREDS) is assumed to pass.
 */
export function process_vm_rw(k: Kernel, current: Task, target: Task, lvec: readonly Iovec[], rvec: readonly Iovec[],
  vm_write: boolean, flags = 0): number {
  if (flags !== 0) return -EINVAL;
  // import_iovec(): -EINVAL / -EFAULT for a bad local vector.
  const iter = import_iovec_checked(vm_write ? 'ITER_SOURCE' : 'ITER_DEST', current.mm, [...lvec], k);
  if (typeof iter === 'number') return iter;
  // Nothing to copy: the remote vector is not even read (the host: local total 0 with a remote
  // length of (size_t)-1 is 0).
  const total = iov_iter_count(iter);
  if (!total) return 0;
  // iovec_from_user(): more than UIO_MAXIOV segments, or a (ssize_t) negative length, is -EINVAL.
  if (rvec.length > UIO_MAXIOV) return -EINVAL;
  for (const v of rvec) if (v.len < 0) return -EINVAL;
  // process_vm_rw_core(): no remote page at all is 0, before the pid is looked up.
  if (!rvec.some((v) => v.len > 0)) return 0;
  // mm_access(): a task without an mm (exited) gives -ESRCH.
  if (target.exited) return -ESRCH;
  let rc = 0;
  for (let i = 0; i < rvec.length && iov_iter_count(iter) && !rc; i++)
    rc = process_vm_rw_single_vec(k, rvec[i].base, rvec[i].len, iter, target.mm, vm_write);
  const copied = total - iov_iter_count(iter);
  return copied ? copied : rc;
}

export function process_vm_readv(k: Kernel, current: Task, target: Task, lvec: readonly Iovec[], rvec: readonly Iovec[]): number {
  return process_vm_rw(k, current, target, lvec, rvec, false);
}

export function process_vm_writev(k: Kernel, current: Task, target: Task, lvec: readonly Iovec[], rvec: readonly Iovec[]): number {
  return process_vm_rw(k, current, target, lvec, rvec, true);
}
