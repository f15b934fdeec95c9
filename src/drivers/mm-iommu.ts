// powerpc (book3s64) pre-registered memory for VFIO SPAPR TCE: arch/powerpc/mm/book3s64/iommu_api.c
// mm_iommu_do_alloc() / mm_iommu_unpin() / mm_iommu_put() (VFIO_IOMMU_SPAPR_REGISTER_MEMORY /
// _UNREGISTER_MEMORY). Seed 004: "powerpc: book3s64: convert to pin_user_pages() and
// put_user_page()", v5.6.
//
// The region is charged to mm->locked_vm, pinned FOLL_WRITE|FOLL_LONGTERM in chunks, and unpinned
// at unregistration; a page is dirtied only if a TCE let the device write to it
// (MM_IOMMU_TABLE_GROUP_PAGE_DIRTY).

import * as api from '../gup/api.js';
import { put_page, unpin_user_page, unpin_user_pages } from '../gup/unpin.js';
import { EFAULT, EINVAL, ENOENT, PAGE_SIZE } from '../include/uapi.js';
import { stateKey, type Kernel } from '../kernel.js';
import { PG_dirty } from '../mm/page-flags.js';
import type { Mm, Task } from '../vm/mm.js';
import { get_user_pages_longterm, pageArray } from './common.js';
import { containerHandle, registerTarget, unregisterTarget } from './device.js';
import type { PhysMem } from '../mm/memory.js';
import { driverSwitches } from './features.js';
import { account_locked_vm } from './memlock.js';
import { FOLL_LONGTERM, FOLL_WRITE } from '../include/linux/mm.js';

/** The pages pinned per pin_user_pages() call: (1 << (PAGE_SHIFT + MAX_PAGE_ORDER)) / sizeof(struct vm_area_struct *). */
export const MM_IOMMU_CHUNK = 2 ** (12 + 10) / 8;

export class MmIommuMem {
  /** Per entry: the device wrote through a TCE (MM_IOMMU_TABLE_GROUP_PAGE_DIRTY). */
  readonly dirty: boolean[];
  constructor(readonly ua: number, readonly entries: number, readonly hpages: number[], readonly mm: Mm,
    readonly task: Task, readonly pinned: boolean) {
    this.dirty = new Array<boolean>(entries).fill(false);
  }
}

/**
 * mm->context.iommu_group_mem_list, private: searching it records a read of the driver's container
 * handle, changing it a write (a put that finds nothing is ordered against the new it missed).
 */
export class MmIommuList {
  private readonly regions: MmIommuMem[] = [];
  constructor(private readonly mem: PhysMem) {}

  find(pred: (m: MmIommuMem) => boolean): MmIommuMem | undefined {
    this.mem.fp?.read('handle', MM_IOMMU_HANDLE);
    return this.regions.find(pred);
  }

  some(pred: (m: MmIommuMem) => boolean): boolean {
    return this.find(pred) !== undefined;
  }

  push(m: MmIommuMem): void {
    this.mem.fp?.write('handle', MM_IOMMU_HANDLE);
    this.regions.push(m);
  }

  remove(m: MmIommuMem): void {
    this.mem.fp?.write('handle', MM_IOMMU_HANDLE);
    const i = this.regions.indexOf(m);
    if (i >= 0) this.regions.splice(i, 1);
  }

  /** Every region (teardown; records a read). */
  values(): MmIommuMem[] {
    this.mem.fp?.read('handle', MM_IOMMU_HANDLE);
    return [...this.regions];
  }

  /** For observers: records nothing. */
  peekFind(pred: (m: MmIommuMem) => boolean): MmIommuMem | undefined {
    return this.regions.find(pred);
  }
}

/** The list's footprint id: driver 4's container handle (device.ts numbers the drivers). */
const MM_IOMMU_HANDLE = containerHandle(4);

const MM_IOMMU_KEY = stateKey('drivers:mm_iommu', (k: Kernel) => {
  const list = new MmIommuList(k.mem);
  // mm_iommu_cleanup() when the container's mm goes.
  k.onTeardown(() => {
    for (const m of list.values()) mm_iommu_release(k, m);
  });
  return list;
});

export function mmIommuState(k: Kernel): MmIommuList {
  return k.state(MM_IOMMU_KEY);
}

/** mm_iommu_new() → mm_iommu_do_alloc(): 0 or -errno (-EINVAL overlap, -ENOMEM over the limit, -EFAULT short pin). */
export function mm_iommu_new(k: Kernel, current: Task, ua: number, entries: number): number {
  const list = mmIommuState(k);
  if (ua % PAGE_SIZE || entries <= 0) return -EINVAL;
  const end = ua + entries * PAGE_SIZE;
  if (list.some((m) => m.mm === current.mm && m.ua < end && ua < m.ua + m.entries * PAGE_SIZE)) return -EINVAL;
  let ret = account_locked_vm(k, current.mm, current, entries, true);
  if (ret) return ret;
  const pinned = driverSwitches(k.profile).driversPin;
  const hpages = pageArray(entries);
  let got = 0;
  for (let entry = 0; entry < entries; entry += MM_IOMMU_CHUNK) {
    const n = Math.min(entries - entry, MM_IOMMU_CHUNK);
    const part = pageArray(n);
    ret = pinned
      ? api.pin_user_pages(k, current, ua + entry * PAGE_SIZE, n, FOLL_WRITE | FOLL_LONGTERM, part)
      : get_user_pages_longterm(k, current, ua + entry * PAGE_SIZE, n, FOLL_WRITE, part);
    for (let i = 0; i < Math.max(ret, 0); i++) hpages[entry + i] = part[i];
    if (ret > 0) got += ret;
    if (ret !== n) break;
  }
  if (got !== entries) {
    if (!ret || ret > 0) ret = -EFAULT;
    if (pinned) unpin_user_pages(k, hpages, got);
    else for (let i = 0; i < got; i++) put_page(k, hpages[i]);
    account_locked_vm(k, current.mm, current, entries, false);
    return ret;
  }
  const mem = new MmIommuMem(ua, entries, hpages, current.mm, current, pinned);
  list.push(mem);
  registerTarget(k, 'mm_iommu', ua, {
    deviceWritable: true,
    pages: () => mem.hpages,
    onDeviceWrite: (i) => { mem.dirty[i] = true; },
  });
  return 0;
}

/** mm_iommu_unpin(): SetPageDirty() where the device wrote, then unpin_user_page() (put_page() before v5.6). */
function mm_iommu_release(k: Kernel, m: MmIommuMem): void {
  for (let i = 0; i < m.entries; i++) {
    const p = m.hpages[i];
    if (p < 0) continue;
    if (m.dirty[i]) k.mem.set(k.mem.head(p), PG_dirty);
    if (m.pinned) unpin_user_page(k, p);
    else put_page(k, p);
  }
  account_locked_vm(k, m.mm, m.task, m.entries, false);
  mmIommuState(k).remove(m);
  unregisterTarget(k, 'mm_iommu', m.ua);
}

/** VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY: mm_iommu_get() + mm_iommu_put(); -ENOENT if no such region. */
export function mm_iommu_put(k: Kernel, current: Task, ua: number, entries: number): number {
  const m = mmIommuState(k).find((x) => x.mm === current.mm && x.ua === ua && x.entries === entries);
  if (!m) return -ENOENT;
  mm_iommu_release(k, m);
  return 0;
}
