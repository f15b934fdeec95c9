// RDMA memory registration: drivers/infiniband/core/umem.c ib_umem_get(), __ib_umem_release(),
// ib_umem_release(), reached from ibv_reg_mr() / ibv_dereg_mr(). Spec R51, R129, R139.
//
// Pins (v5.6+: pin_user_pages_fast(); v5.2: get_user_pages(); v5.1: get_user_pages_longterm())
// in chunks of PAGE_SIZE / sizeof(struct page *) = 512 pages, charged to mm->pinned_vm against
// RLIMIT_MEMLOCK, and collected into a scatterlist that merges physically contiguous pages.
// Release goes scatterlist entry by entry.

import * as api from '../gup/api.js';
import { put_page, set_page_dirty_lock, unpin_user_page_range_dirty_lock } from '../gup/unpin.js';
import { EFAULT, EINVAL, ENOMEM, EOPNOTSUPP, EPERM, PAGE_SIZE } from '../include/uapi.js';
import { stateKey, type Kernel } from '../kernel.js';
import { PG_dirty } from '../mm/page-flags.js';
import type { Mm, Task } from '../vm/mm.js';
import { get_user_pages_longterm, newId, pageAlignDown, pageArray, pagesSpanned } from './common.js';
import { DriverTable, registerTarget, unregisterTarget } from './device.js';
import { driverSwitches } from './features.js';
import { can_do_mlock, capable_ipc_lock, memlock, memlockLimitPages } from './memlock.js';
import { FOLL_FORCE, FOLL_LONGTERM, FOLL_WRITE } from '../include/linux/mm.js';

// include/rdma/ib_verbs.h enum ib_access_flags
export const IB_ACCESS_LOCAL_WRITE = 1 << 0;
export const IB_ACCESS_REMOTE_WRITE = 1 << 1;
export const IB_ACCESS_REMOTE_READ = 1 << 2;
export const IB_ACCESS_REMOTE_ATOMIC = 1 << 3;
export const IB_ACCESS_MW_BIND = 1 << 4;
export const IB_ACCESS_ON_DEMAND = 1 << 6;
export const IB_ACCESS_RELAXED_ORDERING = 1 << 20;

export const IB_ACCESS_NAMES: Readonly<Record<string, number>> = {
  IB_ACCESS_LOCAL_WRITE, IB_ACCESS_REMOTE_WRITE, IB_ACCESS_REMOTE_READ, IB_ACCESS_REMOTE_ATOMIC, IB_ACCESS_MW_BIND,
  IB_ACCESS_ON_DEMAND, IB_ACCESS_RELAXED_ORDERING,
};

/** ib_access_writable() */
export function ib_access_writable(access: number): boolean {
  return (access & (IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_WRITE | IB_ACCESS_REMOTE_ATOMIC | IB_ACCESS_MW_BIND)) !== 0;
}

/**
 * ib_dma_max_seg_size(): SZ_2G for the software devices (rxe, siw: ib_uses_virt_dma()); hardware
 * devices report their DMA segment limit. The model uses the software value.
 */
export const IB_MAX_SEG_PAGES = 2 ** 31 / PAGE_SIZE;

/** One scatterlist entry: physically contiguous pages. */
export interface SgEntry {
  readonly pfn: number;
  npages: number;
}

export class IbUmem {
  released = false;
  constructor(
    readonly id: number,
    readonly owningMm: Mm,
    readonly address: number,
    readonly length: number,
    readonly writable: boolean,
    readonly pinned: boolean,
    readonly sg: SgEntry[],
  ) {}

  /** ib_umem_num_pages() */
  get npages(): number {
    return pagesSpanned(this.address, this.length);
  }

  pages(): number[] {
    return this.sg.flatMap((e) => Array.from({ length: e.npages }, (_, i) => e.pfn + i));
  }
}

const RDMA_KEY = stateKey('drivers:rdma', (k: Kernel) => {
  const m = new DriverTable<IbUmem>(k.mem, 'rdma');
  // Closing the uverbs file at exit deregisters every MR.
  k.onTeardown(() => {
    for (const u of m.values()) ib_umem_release(k, u);
  });
  return m;
});

export function rdmaState(k: Kernel): DriverTable<IbUmem> {
  return k.state(RDMA_KEY);
}

/** sg_alloc_append_table_from_pages(): merge pages that follow their predecessor physically. */
function sgAppend(sg: SgEntry[], pages: readonly number[], n: number): void {
  for (let i = 0; i < n; i++) {
    const tail = sg[sg.length - 1];
    if (tail && pages[i] === tail.pfn + tail.npages && tail.npages < IB_MAX_SEG_PAGES) tail.npages++;
    else sg.push({ pfn: pages[i], npages: 1 });
  }
}

/** __ib_umem_release(): one release per scatterlist entry; dirty only on deregistration of a writable MR. */
function __ib_umem_release(k: Kernel, sg: readonly SgEntry[], writable: boolean, pinned: boolean, dirty: boolean): void {
  const makeDirty = writable && dirty;
  for (const e of sg) {
    if (pinned) {
      // v5.12+: unpin_user_page_range_dirty_lock(sg_page(sg), pages, make_dirty); v5.6 .. v5.11
      // unpinned the same pages one by one with unpin_user_pages_dirty_lock(): same result.
      unpin_user_page_range_dirty_lock(k, e.pfn, e.npages, makeDirty);
    } else {
      // Before v5.6: set_page_dirty_lock() on clean pages, then put_page().
      for (let i = 0; i < e.npages; i++) {
        const p = e.pfn + i;
        if (makeDirty && !k.mem.test(k.mem.head(p), PG_dirty)) set_page_dirty_lock(k, p);
        put_page(k, p);
      }
    }
  }
}

/**
 * ib_umem_get(): returns the umem or -errno (-EINVAL overflow or empty, -EPERM without
 * can_do_mlock(), -EOPNOTSUPP for on-demand paging, -ENOMEM over RLIMIT_MEMLOCK, or GUP's error).
 */
export function ib_umem_get(k: Kernel, current: Task, addr: number, size: number, access: number): IbUmem | number {
  const sw = driverSwitches(k.profile);
  if (size < 0 || addr < 0) return -EINVAL;
  if (!can_do_mlock(k, current)) return -EPERM;
  if (access & IB_ACCESS_ON_DEMAND) return -EOPNOTSUPP; // ODP MRs use hmm_range_fault(), not pins
  const writable = ib_access_writable(access);
  let npages = pagesSpanned(addr, size);
  if (npages === 0) return -EINVAL;
  const mm = current.mm;
  const ml = memlock(k);
  const total = npages;
  const newPinned = ml.addPinnedVm(mm, npages);
  if (newPinned > memlockLimitPages(k, current) && !capable_ipc_lock(k, current)) {
    ml.addPinnedVm(mm, -npages);
    return -ENOMEM;
  }
  // v6.2+: FOLL_LONGTERM [| FOLL_WRITE]. Before: FOLL_WRITE, plus FOLL_FORCE for read-only MRs
  // (the "break COW so the device sees our page" trick that reliable R/O pins made unnecessary).
  let gupFlags: number;
  if (sw.rdmaNoForce) gupFlags = FOLL_LONGTERM | (writable ? FOLL_WRITE : 0);
  else gupFlags = FOLL_WRITE | (writable ? 0 : FOLL_FORCE) | (k.profile.follLongterm ? FOLL_LONGTERM : 0);
  const pinned = sw.driversPin;
  let cur = pageAlignDown(addr);
  const sg: SgEntry[] = [];
  let ret = 0;
  while (npages) {
    const n = Math.min(npages, PAGE_SIZE / 8);
    const list = pageArray(n);
    let got: number;
    if (pinned) got = api.pin_user_pages_fast(k, current, cur, n, gupFlags, list);
    else if (k.profile.follLongterm) got = api.get_user_pages(k, current, cur, n, gupFlags, list);
    else got = get_user_pages_longterm(k, current, cur, n, gupFlags, list); // v5.1
    if (got <= 0) { ret = got < 0 ? got : -EFAULT; break; }
    cur += got * PAGE_SIZE;
    npages -= got;
    sgAppend(sg, list, got);
  }
  if (ret) {
    // umem_release: everything pinned so far goes back, undirtied; pinned_vm is restored.
    __ib_umem_release(k, sg, writable, pinned, false);
    ml.addPinnedVm(mm, -total);
    return ret;
  }
  const umem = new IbUmem(newId(k), mm, addr, size, writable, pinned, sg);
  rdmaState(k).set(umem.id, umem);
  registerTarget(k, 'rdma', umem.id, { deviceWritable: writable, pages: () => umem.pages() });
  return umem;
}

/** ib_umem_release(): unpin (dirtying a writable MR's pages) and give back pinned_vm. */
export function ib_umem_release(k: Kernel, umem: IbUmem): void {
  if (umem.released) return;
  umem.released = true;
  __ib_umem_release(k, umem.sg, umem.writable, umem.pinned, true);
  memlock(k).addPinnedVm(umem.owningMm, -umem.npages);
  rdmaState(k).delete(umem.id);
  unregisterTarget(k, 'rdma', umem.id);
}
