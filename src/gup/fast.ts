// GUP-fast: the lockless page-table walk and its fallback (mm/gup.c gup_fast_fallback()).

import type { Kernel } from '../kernel.js';
import { EFAULT, EINVAL, EOVERFLOW, HPAGE_PMD_SIZE, PAGE_SIZE, TASK_SIZE_MAX } from '../include/uapi.js';
import { PG_anon, PG_hugetlb, PG_referenced, PG_secretmem } from '../mm/page-flags.js';
import type { Mm, PmdEntry, Vma } from '../vm/mm.js';
import { gup_put_folio, try_grab_folio_fast, try_grab_folio_fast_paused } from './grab.js';
import { gup_must_unshare, type PageArray } from './gup.js';
import { __gup_longterm_locked } from './longterm.js';
import { armed, runToEnd, type KernelGen } from '../preempt.js';
import { folio_has_pincount } from '../mm/folio.js';
import { collapseInProgress, gupFastIrqsOff, pmd_is_table } from '../vm/khugepaged.js';
import { PTE_SPECIAL, PTE_WRITE, FOLL_FAST_ONLY, FOLL_FORCE, FOLL_GET, FOLL_HONOR_NUMA_FAULT, FOLL_LONGTERM, FOLL_NOFAULT, FOLL_PCI_P2PDMA, FOLL_PIN, FOLL_TOUCH, FOLL_UNLOCKABLE, FOLL_WRITE } from '../include/linux/mm.js';
import { fileById, shmem_mapping } from '../mm/filemap.js';

/**
 * gup_fast_folio_allowed(): after the grab, a long-term write pin must be of anonymous,
 * shmem or hugetlb memory (v6.5); secretmem is never allowed.
 */
function gup_fast_folio_allowed(k: Kernel, head: number, flags: number): boolean {
  const mem = k.mem;
  const rejectFileBacked = k.profile.longtermFileWriteRefused &&
    (flags & (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)) === (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE);
  if (mem.test(head, PG_secretmem)) return false;
  if (!rejectFileBacked) return true;
  if (mem.test(head, PG_hugetlb) || mem.test(head, PG_anon)) return true;
  const id = mem.mappingOf(head);
  if (id <= 0) return false; // truncated: no mapping
  const f = fileById(k, id);
  return f !== undefined && shmem_mapping(f);
}

/**
 * Yield points of GUP-fast: `before_grab`, in the PTE walk between reading a PTE (and the folio
 * of its page) and grabbing that folio (mm/gup.c gup_fast_pte_range(), 5.x gup_pte_range():
 * ptep_get() … try_grab_folio_fast() / try_grab_compound_head()); `after_grab`, after the lockless
 * walk has grabbed its pages, before the fork check.
 */
export const GUP_FAST_YIELD_POINTS = ['before_grab', 'after_grab'] as const;

/**
 * gup_fast_pmd_leaf() (mm/gup.c): grab the pages [addr, end) of one PMD leaf; the number grabbed
 * (all or none). Its own function, as in the kernel: the walk stays small enough for V8 to
 * inline the per-page accessors of gup_fast_pte_range() into it.
 */
function gup_fast_pmd_leaf(k: Kernel, pmd: PmdEntry, addr: number, end: number, flags: number, pages: PageArray, off: number): number {
  if (flags & FOLL_WRITE && !(pmd.bits & PTE_WRITE)) return 0;
  if (pmd.bits & PTE_SPECIAL) return 0;
  const refs = (end - addr) / PAGE_SIZE;
  const first = pmd.pfn + Math.floor((addr % HPAGE_PMD_SIZE) / PAGE_SIZE);
  if (!try_grab_folio_fast(k, first, refs, flags)) return 0;
  const head = pmd.pfn;
  if (!gup_fast_folio_allowed(k, head, flags) ||
    (!(pmd.bits & PTE_WRITE) && gup_must_unshare(k, null, flags, head))) {
    gup_put_folio(k, head, refs, flags);
    return 0;
  }
  for (let j = 0; j < refs; j++) pages[off + j] = first + j;
  k.mem.set(head, PG_referenced);
  return refs;
}

/** gup_fast_pte_range() (mm/gup.c): grab the PTE-mapped pages of [addr, end) in vma until one needs the slow path; the number grabbed. */
function gup_fast_pte_range(k: Kernel, vma: Vma, addr: number, end: number, flags: number, pages: PageArray, off: number): number {
  const mem = k.mem;
  let nr = 0;
  for (let i = vma.idx(addr); addr < end; i++, addr += PAGE_SIZE) {
    const pfn = vma.ptep_get(k, i);
    if (pfn < 0) break;
    const b = vma.ptep_get_bits(k, i);
    if (b & PTE_SPECIAL) break; // the zero page is left to the slow path
    if (flags & FOLL_WRITE && !(b & PTE_WRITE)) break; // pte_access_permitted()
    if (!try_grab_folio_fast(k, pfn, 1, flags)) break;
    const head = mem.head(pfn);
    if (!gup_fast_folio_allowed(k, head, flags) || (!(b & PTE_WRITE) && gup_must_unshare(k, null, flags, pfn))) {
      gup_put_folio(k, head, 1, flags);
      break;
    }
    mem.set(head, PG_referenced);
    pages[off + nr++] = pfn;
  }
  return nr;
}

/** The lockless walk: grab pages from the start of the range until something needs the slow path. */
function* gup_fast(k: Kernel, mm: Mm, start: number, end: number, flags: number, pages: PageArray, off: number): KernelGen<number> {
  // Without CONFIG_HAVE_FAST_GUP (CONFIG_HAVE_GUP_FAST from v6.10) the lockless walk is compiled
  // out: mm/gup.c lockless_pages_from_mm() (5.10, 6.1) and gup_fast() (6.12) return 0 before
  // reading write_protect_seq, and everything goes to the slow path.
  if (!k.machine.gupFast) return 0;
  const mem = k.mem;
  let seq = 0;
  const seqCheck = (flags & FOLL_PIN) !== 0 && k.profile.gupFastForkSeq;
  if (seqCheck) {
    // raw_read_seqcount(): fork in progress (odd): let the slow path serialise with it (R56).
    seq = mm.writeProtectSeq;
    k.fp.read('mm', mm.id);
    if (seq & 1) {
      k.note('gup-fast: fork in progress (write_protect_seq odd), slow path');
      return 0;
    }
  }
  let nr = 0;
  let addr = start;
  const pauseBeforeGrab = armed(k, 'before_grab');
  // The walk reads the page tables even where it grabs nothing (the explorer's dependence).
  k.fp.read('mm', mm.id);
  while (addr < end) {
    const vma = mm.find_vma(k, addr); // stands in for the page-table walk: no VMA, no page table
    if (!vma) break;
    const pmd = vma.pmd_get(k, addr);
    if (pmd) {
      const stop = Math.min((Math.floor(addr / HPAGE_PMD_SIZE) + 1) * HPAGE_PMD_SIZE, end);
      const got = pauseBeforeGrab
        ? yield* gup_fast_pmd_leaf_preemptible(k, vma, pmd, addr, stop, flags, pages, off + nr)
        : gup_fast_pmd_leaf(k, pmd, addr, stop, flags, pages, off + nr);
      nr += got;
      addr += got * PAGE_SIZE;
      if (addr < stop) break; // something needs the slow path
      continue;
    }
    const vend = Math.min(vma.end, end);
    // The same walk, stoppable between each PTE's read and its grab (`before_grab`), only when a
    // step asked to stop there or a collapse is under way: the plain walk yields nothing per page.
    const got = pauseBeforeGrab || collapseInProgress(vma)
      ? yield* gup_fast_pte_range_preemptible(k, vma, addr, vend, flags, pages, off + nr)
      : gup_fast_pte_range(k, vma, addr, vend, flags, pages, off + nr);
    nr += got;
    addr += got * PAGE_SIZE;
    if (addr < vend) break; // something needs the slow path
  }
  yield { point: 'after_grab' };
  if (seqCheck) k.fp.read('mm', mm.id); // read_seqcount_retry() reads the sequence either way
  if (seqCheck && mm.writeProtectSeq !== seq) {
    // Raced with fork: unpin everything and let the slow path redo it (R56).
    k.note(`gup-fast: fork overlapped the walk, ${nr} page(s) unpinned, slow path`);
    for (let i = 0; i < nr; i++) gup_put_folio(k, mem.head(pages[off + i]), 1, flags);
    return 0;
  }
  return nr;
}

/**
 * gup_fast_pte_range() from addr to vend with the `before_grab` yield point: each PTE is read and
 * its folio looked up, other CPUs may run, then the folio is grabbed and the PTE (v6.0: and the
 * PMD) read again; a change drops the grab and ends the walk (the slow path redoes the rest).
 * Returns the number of pages grabbed.
 */
function* gup_fast_pte_range_preemptible(k: Kernel, vma: Vma, addr: number, vend: number, flags: number,
  pages: PageArray, off: number): KernelGen<number> {
  const mem = k.mem;
  const pause = armed(k, 'before_grab');
  let nr = 0;
  for (let i = vma.idx(addr); addr < vend; i++, addr += PAGE_SIZE) {
    // gup_fast_pmd_range(): a PMD a THP collapse cleared is pmd_none: nothing more to walk.
    const pmdTable = pmd_is_table(k, vma, addr);
    if (!pmdTable) break;
    const pfn = vma.ptep_get(k, i);
    if (pfn < 0) break;
    const b = vma.ptep_get_bits(k, i);
    if (b & PTE_SPECIAL) break;
    if (flags & FOLL_WRITE && !(b & PTE_WRITE)) break;
    const folio = mem.head(pfn); // page_folio(): read before the reference is taken
    const hadPincount = folio_has_pincount(k, folio);
    if (pause) {
      // The walk runs with interrupts off (gup_fast(): local_irq_save()): an IPI waits for it.
      gupFastIrqsOff(k, vma.mm, 1);
      yield { point: 'before_grab' };
      gupFastIrqsOff(k, vma.mm, -1);
    }
    if (!try_grab_folio_fast_paused(k, pfn, folio, hadPincount, 1, flags)) break;
    const head = mem.head(pfn);
    // The recheck after the grab: the PTE (since the generic walk, 2667f50e8b81) and, from v6.0
    // (70cbc3cc78a9), the PMD, which a THP collapse clears before it checks the refcounts.
    const pmdChanged = k.profile.gupFastRechecksPmd && !pmd_is_table(k, vma, addr);
    if (pmdChanged || vma.ptep_get(k, i) !== pfn || vma.ptep_get_bits(k, i) !== b) {
      k.note(`gup-fast: the ${pmdChanged ? 'PMD' : 'PTE'} of ${addr.toString(16)} changed under the grab, backing off`);
      gup_put_folio(k, folio, 1, flags);
      break;
    }
    if (!gup_fast_folio_allowed(k, head, flags) || (!(b & PTE_WRITE) && gup_must_unshare(k, null, flags, pfn))) {
      gup_put_folio(k, head, 1, flags);
      break;
    }
    mem.set(head, PG_referenced);
    pages[off + nr++] = pfn;
  }
  return nr;
}

/**
 * gup_fast_pmd_leaf() with the `before_grab` yield point between reading the PMD and grabbing its
 * folio (mm/gup.c gup_fast_pmd_leaf(), 5.x gup_huge_pmd(): the grab is of pmd_page(orig), the
 * head seen in the PMD). After the grab the PMD is compared with what was read (in every version)
 * and the grab dropped if it changed. Before v5.14 the grab decided BIAS or pincount from the
 * compound page it read, and the drop from the folio it finds: after a split in between, the drop
 * takes GUP_PIN_COUNTING_BIAS times what the grab added (c24d37322548).
 */
function* gup_fast_pmd_leaf_preemptible(k: Kernel, vma: Vma, pmd: PmdEntry, addr: number, end: number, flags: number,
  pages: PageArray, off: number): KernelGen<number> {
  // The PMD's value as read (pmdp_get_lockless()): the entry object may change in place.
  const head = pmd.pfn;
  const bits = pmd.bits;
  if (flags & FOLL_WRITE && !(bits & PTE_WRITE)) return 0;
  if (bits & PTE_SPECIAL) return 0;
  const refs = (end - addr) / PAGE_SIZE;
  const first = head + Math.floor((addr % HPAGE_PMD_SIZE) / PAGE_SIZE);
  const hadPincount = folio_has_pincount(k, head);
  gupFastIrqsOff(k, vma.mm, 1);
  yield { point: 'before_grab' };
  gupFastIrqsOff(k, vma.mm, -1);
  if (!try_grab_folio_fast_paused(k, head, head, hadPincount, refs, flags)) return 0;
  const now = vma.pmd_get(k, addr);
  if (!now || now.pfn !== head || now.bits !== bits) {
    k.note(`gup-fast: the PMD of ${addr.toString(16)} changed under the grab, backing off`);
    gup_put_folio(k, head, refs, flags);
    return 0;
  }
  if (!gup_fast_folio_allowed(k, head, flags) || (!(bits & PTE_WRITE) && gup_must_unshare(k, null, flags, head))) {
    gup_put_folio(k, head, refs, flags);
    return 0;
  }
  for (let j = 0; j < refs; j++) pages[off + j] = first + j;
  k.mem.set(head, PG_referenced);
  return refs;
}

const FAST_ALLOWED = FOLL_WRITE | FOLL_LONGTERM | FOLL_FORCE | FOLL_PIN | FOLL_GET | FOLL_FAST_ONLY | FOLL_NOFAULT |
  FOLL_PCI_P2PDMA | FOLL_HONOR_NUMA_FAULT;

/** gup_fast_fallback(): validate, walk locklessly, then the slow (long-term aware) path for the rest. */
export function gup_fast_fallback(k: Kernel, mm: Mm, start: number, nr_pages: number, flags: number, pages: PageArray): number {
  return runToEnd(k, gup_fast_fallback_gen(k, mm, start, nr_pages, flags, pages));
}

/** gup_fast_fallback() with its yield points: after GUP-fast's grab, and waiting for mmap_lock before the slow path. */
export function* gup_fast_fallback_gen(k: Kernel, mm: Mm, start: number, nr_pages: number, flags: number, pages: PageArray): KernelGen<number> {
  if (k.WARN_ON_ONCE((flags & ~FAST_ALLOWED) !== 0, 'mm/gup.c:gup_fast_fallback:flags',
    `gup_fast_fallback(): unsupported gup_flags 0x${(flags & ~FAST_ALLOWED).toString(16)}`)) return -EINVAL;
  if (flags & FOLL_PIN) mm.hasPinned = true;
  start = Math.floor(start / PAGE_SIZE) * PAGE_SIZE;
  if (nr_pages < 0) {
    // An int nr_pages < 0 becomes a huge unsigned length: start + len wraps (-EOVERFLOW) or ends
    // far above TASK_SIZE_MAX (-EFAULT).
    return start >= -nr_pages * PAGE_SIZE ? -EOVERFLOW : -EFAULT;
  }
  const end = start + nr_pages * PAGE_SIZE;
  if (end >= 2 ** 64) return -EOVERFLOW;
  if (end > TASK_SIZE_MAX) return -EFAULT;
  if (nr_pages === 0) return 0;
  k.fp.read('mm', mm.id);
  const nr = yield* gup_fast(k, mm, start, end, flags, pages, 0);
  if (nr === nr_pages || flags & FOLL_FAST_ONLY) return nr;
  if (nr) k.note(`gup-fast: ${nr} of ${nr_pages} pages, slow path for the rest`);
  else k.note('gup-fast: fell back to the slow path');
  // The slow path takes mmap_lock for reading: it waits for a fork that holds it for writing.
  // The test reads the lock (mm): inside a step that is in the footprint (a step that finds the
  // lock held and waits conflicts with the fork that releases it); the scheduler's own asking
  // (blockedOn) runs footprint-neutral.
  yield { point: 'mmap_lock', waitUntil: () => { k.fp.read('mm', mm.id); return !mm.mmapWriteLocked; }, waitsFor: `mmap_lock of mm ${mm.id} (held by a stopped fork, collapse or zap)` };
  k.fp.read('mm', mm.id);
  const ret = __gup_longterm_locked(k, mm, start + nr * PAGE_SIZE, nr_pages - nr, pages,
    flags | FOLL_TOUCH | FOLL_UNLOCKABLE, nr);
  if (ret < 0) return nr ? nr : ret;
  return ret + nr;
}
