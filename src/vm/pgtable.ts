// Setting and clearing page-table entries together with the rmap counts and references they hold.

import type { Kernel } from '../kernel.js';
import { HPAGE_PMD_NR, HPAGE_PMD_SIZE, PAGE_SIZE } from '../include/uapi.js';
import { PG_anon, PG_anon_exclusive, PG_dirty } from '../mm/page-flags.js';
import type { Vma } from './mm.js';
import { PTE_DIRTY, PTE_PRESENT, PTE_SPECIAL } from '../include/linux/mm.js';

/**
 * The mmu_gather of a zap that stops before freeing (munmap/madvise `before_tlb_finish_mmu`), per
 * kernel: while one is open, zapPte()/zapPmd() queue the mapping's reference here
 * (__tlb_remove_page()) instead of dropping it; tlb_finish_mmu() drops them. Without one the
 * reference is dropped at once, as if the gather were flushed right after the zap.
 */
const gathers = new WeakMap<Kernel, number[]>();

/** tlb_gather_mmu() (mm/mmu_gather.c): from now on the zaps queue the pages they free. */
export function tlb_gather_mmu(k: Kernel): void {
  gathers.set(k, []);
}

/** The folio heads queued since tlb_gather_mmu() (one entry per reference); the gather is closed. */
export function tlbGathered(k: Kernel): number[] {
  const g = gathers.get(k) ?? [];
  gathers.delete(k);
  return g;
}

/** tlb_finish_mmu() → tlb_batch_pages_flush() → free_pages_and_swap_cache(): drop the queued references. */
export function tlb_finish_mmu(k: Kernel, heads: readonly number[]): void {
  for (const h of heads) k.mem.putRefs(h, 1);
}

/** The mapping's reference of a zapped entry: queued in an open gather, else dropped now. */
function tlbRemovePage(k: Kernel, head: number): void {
  const g = gathers.get(k);
  if (g) g.push(head);
  else k.mem.putRefs(head, 1);
}

export function setPte(k: Kernel, vma: Vma, addr: number, pfn: number, bits: number): void {
  vma.set_pte_at(k, vma.idx(addr), pfn, bits);
}

/** Map one page of a folio: rmap (mapcount) only; the caller accounts the reference. */
export function mapPage(k: Kernel, vma: Vma, addr: number, pfn: number, bits: number): void {
  setPte(k, vma, addr, pfn, bits | PTE_PRESENT);
  k.mem.mapcountAdd(pfn, 1);
  k.fp.write('folio', k.mem.head(pfn));
}

/**
 * zap_present_pte(): clear one PTE; a dirty PTE of a file page dirties the folio; the
 * mapping's reference is dropped (may free the folio).
 */
export function zapPte(k: Kernel, vma: Vma, i: number): void {
  const pfn = vma.ptep_get(k, i);
  if (pfn < 0) return;
  const bits = vma.ptep_get_bits(k, i);
  vma.pte_clear(k, i);
  if (bits & PTE_SPECIAL) return; // zero page: no rmap, no reference
  const mem = k.mem;
  const head = mem.head(pfn);
  if ((bits & PTE_DIRTY) && !mem.test(head, PG_anon)) mem.set(head, PG_dirty);
  mem.mapcountAdd(pfn, -1);
  tlbRemovePage(k, head);
}

export function zapPmd(k: Kernel, vma: Vma, block: number): void {
  const e = vma.pmdLeaves(k).get(block);
  if (!e) return;
  vma.pmd_clear(k, block);
  const mem = k.mem;
  if (mem.isHugeZero(e.pfn)) return;
  mem.entireMapcountAdd(e.pfn, -1);
  tlbRemovePage(k, e.pfn);
}

export function zapRange(k: Kernel, vma: Vma, start: number, end: number): void {
  for (const block of [...vma.pmdLeaves(k).keys()]) {
    const bs = block * HPAGE_PMD_SIZE;
    if (bs >= start && bs + HPAGE_PMD_SIZE <= end) zapPmd(k, vma, block);
    else if (bs < end && bs + HPAGE_PMD_SIZE > start) {
      split_huge_pmd(k, vma, bs);
    }
  }
  const i0 = vma.idx(start);
  const i1 = vma.idx(end);
  for (let i = i0; i < i1; i++) {
    if (vma.ptep_get(k, i) >= 0) zapPte(k, vma, i);
    else vma.pte_clear(k, i); // non-present entries (hwpoison) are simply cleared
  }
}

/**
 * __split_huge_pmd_locked() (mm/huge_memory.c): replace a PMD leaf by 512 PTEs. For an anon
 * THP each PTE takes a reference (folio_ref_add(HPAGE_PMD_NR - 1)) and the head's
 * PageAnonExclusive is copied to every subpage; the huge zero PMD becomes zero-page PTEs.
 */
export function split_huge_pmd(k: Kernel, vma: Vma, addr: number): void {
  const block = Math.floor(addr / HPAGE_PMD_SIZE);
  const e = vma.pmdLeaves(k).get(block);
  if (!e) return;
  const mem = k.mem;
  const base = block * HPAGE_PMD_SIZE;
  vma.pmd_clear(k, block);
  k.vmstat.mod('thp_split_pmd', 1);
  k.note(`split PMD at 0x${base.toString(16)}`);
  if (mem.isHugeZero(e.pfn)) {
    for (let i = 0; i < HPAGE_PMD_NR; i++) {
      const a = base + i * PAGE_SIZE;
      setPte(k, vma, a, mem.zeroPfnFor(a), PTE_PRESENT | PTE_SPECIAL);
    }
    return;
  }
  const head = e.pfn;
  const exclusive = (mem.flagsOf(head) & PG_anon_exclusive) !== 0;
  mem.refAdd(head, HPAGE_PMD_NR - 1);
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    mapPage(k, vma, base + i * PAGE_SIZE, head + i, e.bits);
    if (exclusive) mem.set(head + i, PG_anon_exclusive);
  }
  mem.entireMapcountAdd(head, -1);
}
