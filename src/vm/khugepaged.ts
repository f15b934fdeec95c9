// THP collapse of anonymous memory (mm/khugepaged.c collapse_huge_page()): a PMD range mapped
// by small pages is copied into a new THP mapped by one PMD. Modelled without khugepaged's scan
// heuristics (max_ptes_none/shared, the referenced test): the scenario asks for the collapse.
//
// Between pmdp_collapse_flush() and the new PMD, the PMD is none while the old page table stays
// readable by a GUP-fast walk that read the PMD before it was cleared. That window is kept here,
// per VMA and PMD block, for the collapse's duration only (the collapse holds mmap_lock for
// writing, so only lockless walkers can see it).

import type { Kernel } from '../kernel.js';
import { EAGAIN, EINVAL, ENOMEM, HPAGE_PMD_NR, HPAGE_PMD_ORDER, HPAGE_PMD_SIZE } from '../include/uapi.js';
import { PG_anon, PG_anon_exclusive, PG_lru, PG_swapbacked } from '../mm/page-flags.js';
import { gfpNowarn } from '../mm/memory.js';
import { PTE_DIRTY, PTE_PRESENT, PTE_SPECIAL, PTE_WRITE, PTE_YOUNG, VM_HUGETLB, VM_WRITE } from '../include/linux/mm.js';
import type { KernelGen } from '../preempt.js';
import type { Mm, Vma } from './mm.js';
import { folio_isolate_lru, folio_putback_lru } from './migrate.js';
import { thpAllowed } from './fault.js';

/** Yield point of collapse_huge_page(): the pages are isolated (refcounts checked), nothing copied yet. */
export const COLLAPSE_YIELD_POINTS = ['after_isolate'] as const;

/** PMD blocks whose PMD a running collapse has cleared (pmdp_collapse_flush()), per VMA. */
const clearedPmds = new WeakMap<Vma, Set<number>>();

/** GUP-fast walks of an mm stopped inside their interrupts-off section (local_irq_save() … local_irq_restore()). */
const irqsOffWalks = new WeakMap<Mm, number>();

/**
 * A GUP-fast walk of mm enters (+1) or leaves (-1) a stop with interrupts off: an IPI (the
 * collapse's tlb_remove_table_sync_one()) waits for it. Records a write of the mm.
 */
export function gupFastIrqsOff(k: Kernel, mm: Mm, delta: 1 | -1): void {
  k.fp.write('mm', mm.id);
  irqsOffWalks.set(mm, (irqsOffWalks.get(mm) ?? 0) + delta);
}

/** Some PMD of this VMA is cleared by a collapse in progress (no footprint: a hint for GUP-fast's walk). */
export function collapseInProgress(vma: Vma): boolean {
  const s = clearedPmds.get(vma);
  return s !== undefined && s.size > 0;
}

/**
 * pmdp_get_lockless() of the PMD above addr, reduced to what GUP-fast compares: it still points
 * at the page table (not a leaf, not cleared by a collapse). Records a read of the VMA.
 */
export function pmd_is_table(k: Kernel, vma: Vma, addr: number): boolean {
  const block = Math.floor(addr / HPAGE_PMD_SIZE);
  if (vma.pmd_get(k, addr)) return false;
  const s = clearedPmds.get(vma);
  return s === undefined || !s.has(block);
}

function setCleared(k: Kernel, vma: Vma, block: number, cleared: boolean): void {
  k.fp.write('vma', vma.id);
  let s = clearedPmds.get(vma);
  if (!s) clearedPmds.set(vma, s = new Set());
  if (cleared) s.add(block);
  else s.delete(block);
}

/**
 * collapse_huge_page() of the PMD block at addr: 0 (also when a PMD already maps it, as
 * MADV_COLLAPSE answers), -EINVAL for a range that cannot hold a THP or has no writable PTE
 * (SCAN_PAGE_RO), -EAGAIN when a page has references its mappings do not explain
 * (is_refcount_suitable(): a pin, a GUP reference), -ENOMEM without a huge page.
 */
export function* collapse_huge_page(k: Kernel, mm: Mm, addr: number): KernelGen<number> {
  const mem = k.mem;
  const haddr = Math.floor(addr / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE;
  const block = haddr / HPAGE_PMD_SIZE;
  // hugepage_vma_revalidate(): an anonymous VMA that holds the whole block and allows THPs.
  const vma = mm.find_vma(k, haddr);
  if (!vma || vma.start > haddr || !vma.pmdFits(haddr) || vma.file || vma.flags & VM_HUGETLB || !thpAllowed(k, vma)) return -EINVAL;
  if (vma.pmd_get(k, haddr)) return 0; // SCAN_PMD_MAPPED
  // alloc_charge_folio(), before the mmap_lock is taken for writing.
  const np = mem.allocFolio(gfpNowarn({ movable: true, name: 'GFP_TRANSHUGE' }), HPAGE_PMD_ORDER, 'alloc_charge_folio');
  if (np < 0) return -ENOMEM;
  mm.mmapWriteLocked = true;
  k.fp.write('mm', mm.id);
  const i0 = vma.idx(haddr);
  const isolated: number[] = [];
  try {
    // pmdp_collapse_flush(): from here a GUP-fast walk that reads the PMD finds it none; one that
    // read it before still walks the old page table.
    setCleared(k, vma, block, true);
    // tlb_remove_table_sync_one() (v6.1, 2ba99c5e0881): an IPI to every CPU, which a CPU in a
    // GUP-fast walk (interrupts off) takes only when its walk is over: no walk that read the old
    // PMD is still going when the refcounts are checked.
    if (k.profile.collapseSyncsGupFast) {
      yield {
        point: 'tlb_remove_table_sync_one',
        waitUntil: () => { k.fp.read('mm', mm.id); return (irqsOffWalks.get(mm) ?? 0) === 0; },
        waitsFor: 'GUP-fast walks with interrupts off to take the IPI',
      };
    }
    // __collapse_huge_page_isolate(): every present page must be a small anonymous folio whose
    // refcount its mappings explain; each is isolated from the LRU.
    let writable = false;
    let result = 0;
    for (let i = i0; i < i0 + HPAGE_PMD_NR; i++) {
      const pfn = vma.ptep_get(k, i);
      if (pfn < 0) continue;
      const bits = vma.ptep_get_bits(k, i);
      if (bits & PTE_SPECIAL) continue; // the zero page
      const head = mem.head(pfn);
      k.fp.read('folio', head);
      if (mem.isLarge(head)) throw new RangeError('collapse_huge_page: a PTE-mapped large folio in the range is not modelled');
      if (!mem.test(head, PG_anon)) { result = -EINVAL; break; }
      if (mem.ref(head) !== mem.mapcountOf(pfn)) {
        k.note(`collapse: pfn ${pfn} refcount ${mem.ref(head)} != mapcount ${mem.mapcountOf(pfn)} (SCAN_PAGE_COUNT)`);
        result = -EAGAIN;
        break;
      }
      if (!folio_isolate_lru(k, head)) { result = -EAGAIN; break; }
      isolated.push(head);
      if (bits & PTE_WRITE) writable = true;
    }
    if (result === 0 && !writable) result = -EINVAL; // SCAN_PAGE_RO
    if (result !== 0) {
      // pmd_populate() of the old page table, release_pte_pages().
      setCleared(k, vma, block, false);
      for (const h of isolated) folio_putback_lru(k, h);
      mem.putRefs(np, 1);
      return result;
    }
    yield { point: 'after_isolate' };
    // __collapse_huge_page_copy(): copy (holes and the zero page read as zeros), then
    // __collapse_huge_page_copy_succeeded(): clear each PTE, drop its rmap, free the page.
    for (let i = 0; i < HPAGE_PMD_NR; i++) {
      const pfn = vma.ptep_get(k, i0 + i);
      const zero = pfn < 0 || (vma.ptep_get_bits(k, i0 + i) & PTE_SPECIAL) !== 0;
      mem.setContent(np + i, zero ? 0 : mem.contentOf(pfn));
    }
    for (let i = i0; i < i0 + HPAGE_PMD_NR; i++) {
      const pfn = vma.ptep_get(k, i);
      if (pfn < 0) continue;
      const special = (vma.ptep_get_bits(k, i) & PTE_SPECIAL) !== 0;
      vma.pte_clear(k, i);
      if (special) continue;
      const head = mem.head(pfn);
      folio_putback_lru(k, head); // release_pte_folio()
      mem.mapcountAdd(pfn, -1); // folio_remove_rmap_pte()
      mem.putRefs(head, 1); // free_page_and_swap_cache()
    }
    // The new folio: anonymous, exclusive, mapped by one PMD (set_pmd_at()).
    mem.set(np, PG_anon | PG_swapbacked | PG_lru | (k.profile.anonExclusive ? PG_anon_exclusive : 0));
    mem.setMapping(np, -1);
    mem.entireMapcountAdd(np, 1);
    k.fp.write('folio', np);
    vma.set_pmd_at(k, block, np, PTE_PRESENT | PTE_YOUNG | PTE_DIRTY | (vma.flags & VM_WRITE ? PTE_WRITE : 0));
    setCleared(k, vma, block, false);
    k.note(`collapse: 0x${haddr.toString(16)} now maps THP pfn ${np}`);
    return 0;
  } finally {
    mm.mmapWriteLocked = false;
    k.fp.write('mm', mm.id);
  }
}
