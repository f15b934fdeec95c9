// hugetlb faults, COW and fork for private MAP_HUGETLB mappings (mm/hugetlb.c).

import { stateKey, type Kernel } from '../kernel.js';
import { HPAGE_PMD_NR, HPAGE_PMD_SIZE } from '../include/uapi.js';
import { PG_anon, PG_anon_exclusive, PG_hugetlb, PG_lru } from '../mm/page-flags.js';
import type { Mm, Vma } from './mm.js';
import { PTE_DIRTY, PTE_PRESENT, PTE_WRITE, PTE_YOUNG, VM_WRITE } from '../include/linux/mm.js';
import { folio_maybe_dma_pinned } from '../mm/folio.js';

const FAULT_FLAG_WRITE = 1 << 0;
const FAULT_FLAG_UNSHARE = 1 << 10;
const VM_FAULT_OOM = 0x1;
const VM_FAULT_SIGBUS = 0x2;

/**
 * The pool's free count (h->free_huge_pages) in the footprint: 'zone' HUGETLB_POOL, as a zone's
 * NR_FREE_PAGES is 'zone' by zone id. Whoever looks at the count (mmap's check, an allocation
 * that finds the pool empty) reads it; taking a page and a hugetlb folio going back to the pool
 * (seen through the folio table's free watch, registered before the first hugetlb folio is
 * handed out) write it. Without it, a fault taking the last huge page and another task's mmap
 * that checks the pool looked independent.
 */
export const HUGETLB_POOL = 1000;

const POOL_WATCH = stateKey('hugetlb-pool', (k: Kernel) => {
  k.mem.watchFrees((head) => {
    if (k.mem.test(head, PG_hugetlb)) k.mem.fp?.write('zone', HUGETLB_POOL);
  });
  return true;
});

/** The pool's free count (records a read of it). */
export function hugetlbPoolFree(k: Kernel): number {
  k.state(POOL_WATCH);
  k.mem.fp?.read('zone', HUGETLB_POOL);
  return k.mem.hugetlbFree.length;
}

/** A new anonymous hugetlb folio from the pool (alloc_hugetlb_folio() + hugetlb_add_new_anon_rmap()). */
function newHugetlbAnon(k: Kernel, vma: Vma): number {
  const mem = k.mem;
  if (hugetlbPoolFree(k) === 0) return -1;
  k.mem.fp?.write('zone', HUGETLB_POOL);
  const pfn = mem.allocHugetlbFolio();
  if (pfn < 0) return -1;
  // PG_lru stands in for "on the hstate active list": what isolate_hugetlb() checks.
  mem.set(pfn, PG_anon | PG_lru | (k.profile.anonExclusive ? PG_anon_exclusive : 0));
  mem.setMapping(pfn, -1);
  mem.entireMapcountAdd(pfn, 1);
  vma.anonVma = true;
  return pfn;
}

/** hugetlb_fault(): hugetlb_no_page() for an empty entry, hugetlb_wp() for a write/unshare of a read-only one. */
export function hugetlb_fault(k: Kernel, vma: Vma, addr: number, fflags: number): number {
  const mem = k.mem;
  const block = Math.floor(addr / HPAGE_PMD_SIZE);
  const e = vma.pmdLeaves(k).get(block);
  const write = (fflags & FAULT_FLAG_WRITE) !== 0;
  const writeBit = vma.flags & VM_WRITE ? PTE_WRITE : 0;
  if (!e) {
    // No zero page for hugetlb: even a read fault allocates (SIGBUS when the pool is empty).
    const pfn = newHugetlbAnon(k, vma);
    if (pfn < 0) return VM_FAULT_SIGBUS;
    vma.set_pmd_at(k, block, pfn, PTE_PRESENT | PTE_YOUNG | (write ? PTE_DIRTY | writeBit : 0));
    return 0;
  }
  if (!(fflags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) || e.bits & PTE_WRITE) {
    if (write) vma.pmd_set_bits(k, block, PTE_DIRTY);
    return 0;
  }
  const unshare = (fflags & FAULT_FLAG_UNSHARE) !== 0;
  const old = e.pfn;
  // hugetlb_wp(): an exclusive page, or one only this mapping maps (folio_mapcount() == 1), is reused in place.
  const exclusive = k.profile.anonExclusive && (mem.flagsOf(old) & PG_anon_exclusive) !== 0;
  if (exclusive || (mem.test(old, PG_anon) && mem.folioMapcount(old) === 1)) {
    mem.set(old, k.profile.anonExclusive ? PG_anon_exclusive : 0);
    if (!unshare) vma.pmd_set_bits(k, block, PTE_DIRTY | PTE_YOUNG | writeBit);
    k.fp.write('folio', old);
    return 0;
  }
  const np = newHugetlbAnon(k, vma);
  if (np < 0) return VM_FAULT_OOM;
  for (let i = 0; i < HPAGE_PMD_NR; i++) mem.setContent(np + i, mem.contentOf(old + i));
  k.note(`hugetlb ${unshare ? 'unshare' : 'COW'}: pfn ${old} -> ${np}`);
  vma.set_pmd_at(k, block, np, PTE_PRESENT | PTE_YOUNG | (unshare ? 0 : PTE_DIRTY | writeBit));
  mem.entireMapcountAdd(old, -1);
  mem.putRefs(old, 1);
  return 0;
}

/**
 * copy_hugetlb_page_range() for a private mapping: share and write-protect, unless the page may
 * be pinned (hugetlb_try_dup_anon_rmap() fails), in which case the child gets its own copy now.
 * Returns 0 or -ENOMEM (no huge page left for the copy).
 */
export function copy_hugetlb_page_range(k: Kernel, srcMm: Mm, src: Vma, dst: Vma): number {
  const mem = k.mem;
  for (const [b, e] of src.pmdLeaves(k)) {
    const head = e.pfn;
    const exclusive = !k.profile.anonExclusive || (mem.flagsOf(head) & PG_anon_exclusive) !== 0;
    if (k.profile.forkCopiesMaybePinned && srcMm.hasPinned && exclusive && folio_maybe_dma_pinned(k, head)) {
      const np = newHugetlbAnon(k, dst);
      if (np < 0) return -12;
      for (let i = 0; i < HPAGE_PMD_NR; i++) mem.setContent(np + i, mem.contentOf(head + i));
      dst.set_pmd_at(k, b, np, PTE_PRESENT | PTE_YOUNG | PTE_DIRTY | (src.flags & VM_WRITE ? PTE_WRITE : 0));
      k.note(`fork: copy maybe-pinned hugetlb pfn ${head} -> child pfn ${np}`);
      continue;
    }
    mem.refAdd(head, 1);
    mem.entireMapcountAdd(head, 1);
    mem.clear(head, PG_anon_exclusive);
    src.pmd_clear_bits(k, b, PTE_WRITE);
    dst.set_pmd_at(k, b, head, e.bits);
  }
  k.fp.write('vma', src.id);
  return 0;
}
