// GUP-fast: the lockless page-table walk and its fallback (mm/gup.c gup_fast_fallback()).

import type { Kernel } from '../kernel.js';
import {
  EFAULT, EINVAL, EOVERFLOW, FOLL_FAST_ONLY, FOLL_FORCE, FOLL_GET, FOLL_HONOR_NUMA_FAULT, FOLL_LONGTERM,
  FOLL_NOFAULT, FOLL_PCI_P2PDMA, FOLL_PIN, FOLL_TOUCH, FOLL_UNLOCKABLE, FOLL_WRITE, HPAGE_PMD_SIZE, PAGE_SIZE,
  TASK_SIZE_MAX,
} from '../include/uapi.js';
import { PG_anon, PG_hugetlb, PG_referenced, PG_secretmem } from '../mm/page-flags.js';
import { PTE_SPECIAL, PTE_WRITE, type Mm } from '../vm/mm.js';
import { gup_put_folio, try_grab_folio_fast } from './grab.js';
import { gup_must_unshare, type PageArray } from './gup.js';
import { __gup_longterm_locked } from './longterm.js';

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
  const id = mem.mapping[head];
  if (id <= 0) return false; // truncated: no mapping
  return k.fileById(id)?.isShmem ?? false;
}

/** The lockless walk: grab pages from the start of the range until something needs the slow path. */
function gup_fast(k: Kernel, mm: Mm, start: number, end: number, flags: number, pages: PageArray, off: number): number {
  const mem = k.mem;
  let seq = 0;
  if (flags & FOLL_PIN) {
    seq = mm.writeProtectSeq;
    if (seq & 1) return 0; // fork in progress: let the slow path serialise with it
  }
  let nr = 0;
  let addr = start;
  walk: while (addr < end) {
    const vma = mm.findVma(addr); // stands in for the page-table walk: no VMA, no page table
    if (!vma) break;
    const pmd = vma.pmdLookup(addr);
    if (pmd) {
      // gup_fast_pmd_leaf()
      if (flags & FOLL_WRITE && !(pmd.bits & PTE_WRITE)) break;
      if (pmd.bits & PTE_SPECIAL) break;
      const blockEnd = (Math.floor(addr / HPAGE_PMD_SIZE) + 1) * HPAGE_PMD_SIZE;
      const refs = (Math.min(blockEnd, end) - addr) / PAGE_SIZE;
      const first = pmd.pfn + Math.floor((addr % HPAGE_PMD_SIZE) / PAGE_SIZE);
      if (!try_grab_folio_fast(k, first, refs, flags)) break;
      const head = pmd.pfn;
      if (!gup_fast_folio_allowed(k, head, flags) ||
        (!(pmd.bits & PTE_WRITE) && gup_must_unshare(k, null, flags, head))) {
        gup_put_folio(k, head, refs, flags);
        break;
      }
      for (let j = 0; j < refs; j++) pages[off + nr + j] = first + j;
      nr += refs;
      addr += refs * PAGE_SIZE;
      mem.set(head, PG_referenced);
      continue;
    }
    // gup_fast_pte_range()
    const vend = Math.min(vma.end, end);
    const pte = vma.pte;
    const bits = vma.bits;
    for (let i = vma.idx(addr); addr < vend; i++, addr += PAGE_SIZE) {
      const pfn = pte[i];
      if (pfn < 0) break walk;
      const b = bits[i];
      if (b & PTE_SPECIAL) break walk; // the zero page is left to the slow path
      if (flags & FOLL_WRITE && !(b & PTE_WRITE)) break walk; // pte_access_permitted()
      if (!try_grab_folio_fast(k, pfn, 1, flags)) break walk;
      const head = mem.head(pfn);
      if (!gup_fast_folio_allowed(k, head, flags) || (!(b & PTE_WRITE) && gup_must_unshare(k, null, flags, pfn))) {
        gup_put_folio(k, head, 1, flags);
        break walk;
      }
      mem.flags[head] |= PG_referenced;
      pages[off + nr++] = pfn;
    }
  }
  if (flags & FOLL_PIN && mm.writeProtectSeq !== seq) {
    // Raced with fork: unpin everything and let the slow path redo it (R56).
    for (let i = 0; i < nr; i++) gup_put_folio(k, mem.head(pages[off + i]), 1, flags);
    return 0;
  }
  return nr;
}

const FAST_ALLOWED = FOLL_WRITE | FOLL_LONGTERM | FOLL_FORCE | FOLL_PIN | FOLL_GET | FOLL_FAST_ONLY | FOLL_NOFAULT |
  FOLL_PCI_P2PDMA | FOLL_HONOR_NUMA_FAULT;

/** gup_fast_fallback(): validate, walk locklessly, then the slow (long-term aware) path for the rest. */
export function gup_fast_fallback(k: Kernel, mm: Mm, start: number, nr_pages: number, flags: number, pages: PageArray): number {
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
  const nr = gup_fast(k, mm, start, end, flags, pages, 0);
  if (nr === nr_pages || flags & FOLL_FAST_ONLY) return nr;
  if (nr) k.note(`gup-fast: ${nr} of ${nr_pages} pages, slow path for the rest`);
  else k.note('gup-fast: fell back to the slow path');
  const ret = __gup_longterm_locked(k, mm, start + nr * PAGE_SIZE, nr_pages - nr, pages,
    flags | FOLL_TOUCH | FOLL_UNLOCKABLE, nr);
  if (ret < 0) return nr ? nr : ret;
  return ret + nr;
}
