// VFIO type1 IOMMU DMA mappings: drivers/vfio/vfio_iommu_type1.c vfio_dma_do_map() /
// vfio_pin_pages_remote() / vaddr_get_pfns() / put_pfn() / vfio_dma_do_unmap(). Spec R51, R120, R138.
//
// VFIO_IOMMU_MAP_DMA pins the user range FOLL_LONGTERM (+FOLL_WRITE when the device may write),
// charges mm->locked_vm for every page that is not reserved, and maps it at an IOVA.
// VFIO_IOMMU_UNMAP_DMA releases with put_pfn(): unpin_user_pages_dirty_lock(&page, 1,
// prot & IOMMU_WRITE) (before v5.6: SetPageDirty() if writable, put_page()). Reserved pages
// (is_invalid_reserved_pfn(): PageReserved — which includes the zero page) are never released.

import * as api from '../gup/api.js';
import { put_page, unpin_user_page, unpin_user_pages_dirty_lock } from '../gup/unpin.js';
import { EEXIST, EFAULT, EINVAL, ENOMEM, PAGE_SIZE } from '../include/uapi.js';
import { stateKey, type Kernel } from '../kernel.js';
import { PG_dirty, PG_reserved } from '../mm/page-flags.js';
import type { Mm, Task } from '../vm/mm.js';
import { get_user_pages_longterm, pageArray } from './common.js';
import { dmaWritePage } from './device.js';
import { driverSwitches } from './features.js';
import { containerHandle } from './device.js';
import { capable_ipc_lock, memlock, memlockLimitPages } from './memlock.js';
import { FOLL_LONGTERM, FOLL_WRITE } from '../include/linux/mm.js';
import type { PhysMem } from '../mm/memory.js';

// include/uapi/linux/vfio.h
export const VFIO_DMA_MAP_FLAG_READ = 1 << 0;
export const VFIO_DMA_MAP_FLAG_WRITE = 1 << 1;
export const VFIO_DMA_MAP_NAMES: Readonly<Record<string, number>> = { VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE };
// include/linux/iommu.h
export const IOMMU_READ = 1 << 0;
export const IOMMU_WRITE = 1 << 1;

/** VFIO_BATCH_MAX_CAPACITY: PAGE_SIZE / sizeof(struct page *) pages per vaddr_get_pfns() call. */
export const VFIO_BATCH_MAX_CAPACITY = PAGE_SIZE / 8;

export class VfioDma {
  /** Per page: the pfn mapped at iova + i * PAGE_SIZE. */
  readonly pfns: number[] = [];
  /** Per page: is_invalid_reserved_pfn() when it was pinned (never unpinned, never charged). */
  readonly rsvd: boolean[] = [];
  constructor(readonly iova: number, readonly vaddr: number, readonly size: number, readonly prot: number,
    readonly task: Task, readonly mm: Mm, readonly pinned: boolean) {}

  get end(): number {
    return this.iova + this.size;
  }
}

/** struct vfio_iommu: one container per kernel in the model. */
export class VfioIommu {
  // The container's DMA mappings (iommu->dma_list), private: reading them records a read of the
  // container's handle ('handle' VFIO_HANDLE), changing them a write (a DMA through the IOMMU that
  // finds no mapping must still be ordered against the map or unmap it missed).
  private readonly dma_list: VfioDma[] = [];
  constructor(private readonly mem: PhysMem) {}

  /** The mappings in iova order (records a read). */
  get dmas(): readonly VfioDma[] {
    this.mem.fp?.read('handle', VFIO_HANDLE);
    return this.dma_list;
  }

  /** vfio_link_dma() (records a write). */
  add(d: VfioDma): void {
    this.mem.fp?.write('handle', VFIO_HANDLE);
    this.dma_list.push(d);
    this.dma_list.sort((a, b) => a.iova - b.iova);
  }

  /** vfio_unlink_dma() (records a write). */
  remove(d: VfioDma): void {
    this.mem.fp?.write('handle', VFIO_HANDLE);
    const i = this.dma_list.indexOf(d);
    if (i >= 0) this.dma_list.splice(i, 1);
  }

  /** Every mapping, taken out (the container's release; records a write). */
  takeAll(): VfioDma[] {
    this.mem.fp?.write('handle', VFIO_HANDLE);
    return this.dma_list.splice(0);
  }

  /** For observers (queries, holder labels): records nothing. */
  peekDmas(): readonly VfioDma[] {
    return this.dma_list;
  }
}

/** The container's footprint id: 'handle' ids of device targets are driver number * 2^48 + id (device.ts); VFIO is driver 5. */
const VFIO_HANDLE = containerHandle(5);

const VFIO_KEY = stateKey('drivers:vfio', (k: Kernel) => {
  const s = new VfioIommu(k.mem);
  // Closing the container: vfio_iommu_type1_release() → vfio_iommu_unmap_unpin_all().
  k.onTeardown(() => {
    for (const d of s.takeAll()) vfio_unmap_unpin(k, d);
  });
  return s;
});

export function vfioState(k: Kernel): VfioIommu {
  return k.state(VFIO_KEY);
}

/** is_invalid_reserved_pfn(): PageReserved (the zero page is a reserved page). */
function is_invalid_reserved_pfn(k: Kernel, pfn: number): boolean {
  return k.mem.test(k.mem.head(pfn), PG_reserved);
}

/** put_pfn(): release one pinned page unless it is reserved; 1 if released. */
function put_pfn(k: Kernel, pfn: number, prot: number, pinned: boolean): number {
  if (is_invalid_reserved_pfn(k, pfn)) return 0;
  if (pinned) {
    unpin_user_pages_dirty_lock(k, [pfn], 1, (prot & IOMMU_WRITE) !== 0);
  } else {
    if (prot & IOMMU_WRITE) k.mem.set(k.mem.head(pfn), PG_dirty); // SetPageDirty()
    put_page(k, pfn);
  }
  return 1;
}

/**
 * vaddr_get_pfns(): pin up to n pages at vaddr (FOLL_LONGTERM [| FOLL_WRITE]). With the
 * v6.0 .. ~v6.9 workaround, zero pages are unpinned at once (they are reserved, so put_pfn() would
 * never release them). Returns the number of pages or -errno.
 */
function vaddr_get_pfns(k: Kernel, task: Task, vaddr: number, n: number, prot: number, pages: number[], pinned: boolean): number {
  const flags = prot & IOMMU_WRITE ? FOLL_WRITE : 0;
  let ret: number;
  if (pinned) ret = api.pin_user_pages_remote(k, task.mm, vaddr, n, flags | FOLL_LONGTERM, pages);
  else ret = get_user_pages_longterm(k, task, vaddr, n, flags, pages); // v5.1/v5.2: current->mm
  if (ret > 0 && pinned && driverSwitches(k.profile).vfioUnpinZeroPages) {
    for (let i = 0; i < ret; i++) if (k.mem.isZeroPfn(pages[i])) unpin_user_page(k, pages[i]);
  }
  // No VM_PFNMAP fallback in the model (no device memory mappings): nothing pinned is -EFAULT.
  return ret === 0 ? -EFAULT : ret;
}

/**
 * VFIO_IOMMU_MAP_DMA: vfio_dma_do_map() + vfio_pin_map_dma(). Returns 0 or -errno: -EINVAL for
 * no permission or an unaligned/empty range, -EEXIST for an IOVA overlap, -ENOMEM past
 * RLIMIT_MEMLOCK (without CAP_IPC_LOCK), GUP's error otherwise. A failure releases everything.
 */
export function vfio_dma_do_map(k: Kernel, current: Task, vaddr: number, size: number, iova: number, flags: number): number {
  const st = vfioState(k);
  let prot = 0;
  if (flags & VFIO_DMA_MAP_FLAG_WRITE) prot |= IOMMU_WRITE;
  if (flags & VFIO_DMA_MAP_FLAG_READ) prot |= IOMMU_READ;
  if (!prot || !size || (size | iova | vaddr) % PAGE_SIZE || size < 0 || iova < 0 || vaddr < 0) return -EINVAL;
  if (st.dmas.some((d) => iova < d.end && d.iova < iova + size)) return -EEXIST;
  const pinned = driverSwitches(k.profile).driversPin;
  const dma = new VfioDma(iova, vaddr, size, prot, current, current.mm, pinned);
  const npage = size / PAGE_SIZE;
  const limit = memlockLimitPages(k, current);
  const lockCap = capable_ipc_lock(k, current);
  const ml = memlock(k);
  let lockAcct = 0;
  let ret = 0;
  // vfio_pin_pages_remote(): refill a batch, then consume it page by page, charging locked_vm.
  while (dma.pfns.length < npage && !ret) {
    const want = Math.min(npage - dma.pfns.length, VFIO_BATCH_MAX_CAPACITY);
    const batch = pageArray(want);
    const got = vaddr_get_pfns(k, current, vaddr + dma.pfns.length * PAGE_SIZE, want, prot, batch, pinned);
    if (got < 0) { ret = got; break; }
    for (let i = 0; i < got; i++) {
      const rsvd = is_invalid_reserved_pfn(k, batch[i]);
      if (!rsvd && !lockCap && ml.lockedVm(current.mm) + lockAcct + 1 > limit) {
        k.note(`vfio_pin_pages_remote: RLIMIT_MEMLOCK (${limit * PAGE_SIZE}) exceeded`);
        // vfio_batch_unpin(): the unconsumed rest of the batch goes back too.
        for (let j = i; j < got; j++) put_pfn(k, batch[j], prot, pinned);
        ret = -ENOMEM;
        break;
      }
      if (!rsvd) lockAcct++;
      dma.pfns.push(batch[i]);
      dma.rsvd.push(rsvd);
    }
  }
  if (ret) {
    // vfio_remove_dma(): what was consumed is unpinned; nothing was charged yet.
    for (const p of dma.pfns) put_pfn(k, p, prot, pinned);
    return ret;
  }
  ml.addLockedVm(current.mm, lockAcct); // vfio_lock_acct()
  st.add(dma);
  return 0;
}

/** vfio_unmap_unpin(): put_pfn() each page, give back locked_vm for what was released. */
function vfio_unmap_unpin(k: Kernel, d: VfioDma): void {
  let unlocked = 0;
  for (const p of d.pfns) unlocked += put_pfn(k, p, d.prot, d.pinned);
  memlock(k).addLockedVm(d.mm, -unlocked);
}

/**
 * VFIO_IOMMU_UNMAP_DMA: vfio_dma_do_unmap(). Every mapping inside [iova, iova + size) is removed;
 * one that straddles either end makes it -EINVAL (the v2 IOMMU model). Returns the bytes unmapped.
 */
export function vfio_dma_do_unmap(k: Kernel, iova: number, size: number): number {
  const st = vfioState(k);
  if (!size || (size | iova) % PAGE_SIZE || size < 0 || iova < 0) return -EINVAL;
  const end = iova + size;
  if (st.dmas.some((d) => (d.iova < iova && d.end > iova) || (d.iova < end && d.end > end))) return -EINVAL;
  let unmapped = 0;
  for (const d of st.dmas.filter((x) => x.iova >= iova && x.end <= end)) {
    vfio_unmap_unpin(k, d);
    st.remove(d);
    unmapped += d.size;
  }
  return unmapped;
}

/** The pfn the IOMMU translates iova to, or -1. */
export function vfioTranslate(k: Kernel, iova: number): { dma: VfioDma; pfn: number } | null {
  const d = vfioState(k).dmas.find((x) => iova >= x.iova && iova < x.end);
  return d ? { dma: d, pfn: d.pfns[Math.floor((iova - d.iova) / PAGE_SIZE)] } : null;
}

/**
 * A device DMA write of `value` to [iova, iova + length) through the IOMMU. -EFAULT (an IOMMU
 * fault) if part of it is unmapped or mapped without IOMMU_WRITE.
 */
export function vfioDeviceDmaWrite(k: Kernel, iova: number, length: number, value: number): number {
  for (let a = iova; a < iova + Math.max(length, 1); a += PAGE_SIZE) {
    const t = vfioTranslate(k, a);
    if (!t || !(t.dma.prot & IOMMU_WRITE)) return -EFAULT;
  }
  for (let a = iova; a < iova + Math.max(length, 1); a += PAGE_SIZE) dmaWritePage(k, vfioTranslate(k, a)!.pfn, value);
  return 0;
}
