// The GUP slow path: __get_user_pages() and what it calls (mm/gup.c).

import type { Kernel } from '../kernel.js';
import { EBUSY, EEXIST, EFAULT, EHWPOISON, EMLINK, ENOMEM, EOPNOTSUPP, HPAGE_PMD_NR, HPAGE_PMD_SIZE, PAGE_SIZE } from '../include/uapi.js';
import { folio_mark_dirty } from '../mm/page-writeback.js';
import { PG_anon, PG_anon_exclusive, PG_dirty, PG_hwpoison, PG_referenced } from '../mm/page-flags.js';
import { handle_mm_fault } from '../vm/fault.js';
import type { Mm, Vma } from '../vm/mm.js';
import { split_huge_pmd } from '../vm/pgtable.js';
import { gup_put_folio, try_grab_folio } from './grab.js';
import { PTE_DIRTY, PTE_SPECIAL, PTE_WRITE, PTE_YOUNG, VM_HUGETLB, VM_IO, VM_MAYREAD, VM_MAYSHARE, VM_MAYWRITE, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE, FAULT_FLAG_REMOTE, FAULT_FLAG_RETRY_NOWAIT, FAULT_FLAG_UNSHARE, FAULT_FLAG_WRITE, VM_FAULT_ERROR, VM_FAULT_HWPOISON, VM_FAULT_OOM, VM_FAULT_RETRY, FOLL_ANON, FOLL_DUMP, FOLL_FORCE, FOLL_GET, FOLL_HWPOISON, FOLL_LONGTERM, FOLL_NOFAULT, FOLL_NOWAIT, FOLL_PIN, FOLL_REMOTE, FOLL_SPLIT_PMD, FOLL_TOUCH, FOLL_WRITE } from '../include/linux/mm.js';

export type PageArray = number[] | Int32Array;

/** vma_is_fsdax() (include/linux/fs.h): a DAX file on a filesystem. */
function vmaIsFsdax(vma: Vma): boolean {
  return vma.file?.fstype.dax ?? false;
}

function vmaIsSecretmem(k: Kernel, vma: Vma): boolean {
  return !!vma.file && vma.file.name.startsWith('secretmem');
}

/** vma_needs_dirty_tracking() (mm/mmap.c): shared writable file memory that writes back. */
export function vma_needs_dirty_tracking(vma: Vma): boolean {
  if ((vma.flags & (VM_WRITE | VM_SHARED)) !== (VM_WRITE | VM_SHARED)) return false;
  const f = vma.file;
  if (!f) return false;
  if ((f.vm_ops.page_mkwrite !== undefined)) return true;
  return f.fstype.writeback && !(vma.flags & VM_PFNMAP);
}

/** writable_file_mapping_allowed() (mm/gup.c, v6.5): refuse long-term write pins of dirty-tracked file memory. */
function writable_file_mapping_allowed(k: Kernel, vma: Vma, flags: number): boolean {
  if (!k.profile.longtermFileWriteRefused) return true;
  if ((flags & (FOLL_PIN | FOLL_LONGTERM)) !== (FOLL_PIN | FOLL_LONGTERM)) return true;
  return !vma_needs_dirty_tracking(vma);
}

/** check_vma_flags() (mm/gup.c). */
export function check_vma_flags(k: Kernel, vma: Vma, flags: number): number {
  const vf = vma.flags; // recorded also when the flags refuse (mprotect must conflict)
  const write = (flags & FOLL_WRITE) !== 0;
  if (vf & (VM_IO | VM_PFNMAP)) return -EFAULT;
  if (flags & FOLL_ANON && !vma.isAnonymous()) return -EFAULT;
  if ((flags & FOLL_LONGTERM) && vmaIsFsdax(vma)) return -EOPNOTSUPP;
  if (vmaIsSecretmem(k, vma)) return -EFAULT;
  if (write) {
    if (!vma.isAnonymous() && !writable_file_mapping_allowed(k, vma, flags)) return -EFAULT;
    if (!(vf & VM_WRITE)) {
      if (!(flags & FOLL_FORCE)) return -EFAULT;
      // FOLL_FORCE can write to read-only private mappings only (COW).
      if (!vma.isCowMapping()) return -EFAULT;
    }
  } else if (!(vf & VM_READ)) {
    if (!(flags & FOLL_FORCE)) return -EFAULT;
    if (!(vf & VM_MAYREAD)) return -EFAULT;
  }
  return 0;
}

/** gup_must_unshare() (mm/internal.h): R/O FOLL_PIN of a possibly shared anonymous page unshares first (v5.19). */
export function gup_must_unshare(k: Kernel, vma: Vma | null, flags: number, pfn: number): boolean {
  if (!k.profile.anonExclusive) return false;
  if ((flags & (FOLL_WRITE | FOLL_PIN)) !== FOLL_PIN) return false;
  const mem = k.mem;
  const head = mem.head(pfn);
  if (!mem.test(head, PG_anon)) {
    // Page cache, zero page, huge zero folio: only R/O long-term pins in COW mappings (v6.2).
    if (!k.profile.reliableRoLongterm || !(flags & FOLL_LONGTERM)) return false;
    if (!vma) return true; // GUP-fast cannot tell: let the slow path decide
    return vma.isCowMapping();
  }
  return (mem.flagsOf(pfn) & PG_anon_exclusive) === 0;
}

/** can_follow_write_pte() / can_follow_write_pmd(): a read-only entry may be written through only in narrow FOLL_FORCE cases. */
function canFollowWrite(k: Kernel, vma: Vma, bits: number, pfn: number, flags: number, follCow: boolean): boolean {
  if (bits & PTE_WRITE) return true;
  if (!(flags & FOLL_FORCE)) return false;
  if (k.profile.follCow) return follCow && (bits & PTE_DIRTY) !== 0; // v4.9 .. v5.19: FOLL_COW after a COW fault
  if (vma.flags & (VM_MAYSHARE | VM_SHARED)) return false;
  if (!(vma.flags & VM_MAYWRITE)) return false;
  if (vma.flags & VM_WRITE) return false;
  if (pfn < 0 || bits & PTE_SPECIAL) return false;
  const head = k.mem.head(pfn);
  return k.mem.test(head, PG_anon) && (k.mem.flagsOf(pfn) & PG_anon_exclusive) !== 0;
}

/** What follow_page_mask() found: a page, nothing (fault needed), or an error (-EMLINK: unshare). */
interface Follow {
  pfn: number;
  err: number;
  pageMask: number;
}

const NO_PAGE: Follow = { pfn: -1, err: 0, pageMask: 0 };

/** follow_page_mask(): look up and grab the page mapped at addr (mm/gup.c follow_huge_pmd(), follow_page_pte()). */
function follow_page_mask(k: Kernel, vma: Vma, addr: number, flags: number, follCow: boolean): Follow {
  const mem = k.mem;
  const pmd = vma.pmd_get(k, addr);
  if (pmd) {
    if (flags & FOLL_SPLIT_PMD && !(vma.flags & VM_HUGETLB)) {
      split_huge_pmd(k, vma, addr);
    } else {
      const head = pmd.pfn;
      if (flags & FOLL_WRITE && !canFollowWrite(k, vma, pmd.bits, head, flags, follCow)) return NO_PAGE;
      if (flags & FOLL_DUMP && mem.isHugeZero(head)) return { pfn: -1, err: -EFAULT, pageMask: 0 };
      if (!(pmd.bits & PTE_WRITE) && gup_must_unshare(k, vma, flags, head)) return { pfn: -1, err: -EMLINK, pageMask: 0 };
      const ret = try_grab_folio(k, head, 1, flags);
      if (ret) return { pfn: -1, err: ret, pageMask: 0 };
      if (flags & FOLL_TOUCH) {
        vma.pmd_set_bits(k, Math.floor(addr / HPAGE_PMD_SIZE), PTE_YOUNG | (flags & FOLL_WRITE ? PTE_DIRTY : 0));
      }
      const pfn = head + Math.floor((addr % HPAGE_PMD_SIZE) / PAGE_SIZE);
      return { pfn, err: 0, pageMask: HPAGE_PMD_NR - 1 };
    }
  }
  const i = vma.idx(addr);
  const pfn = vma.ptep_get(k, i);
  if (pfn < 0) {
    // no_page_table(): FOLL_DUMP of a never-touched anonymous hole is an error, not a fault;
    // a non-present entry (hwpoison) goes to the fault path.
    if (pfn === -1 && flags & FOLL_DUMP && vma.isAnonymous()) return { pfn: -1, err: -EFAULT, pageMask: 0 };
    return NO_PAGE;
  }
  const bits = vma.ptep_get_bits(k, i);
  if (flags & FOLL_WRITE && !canFollowWrite(k, vma, bits, pfn, flags, follCow)) return NO_PAGE;
  if (bits & PTE_SPECIAL) {
    // vm_normal_page() is NULL; is_zero_pfn() gives the zero page back (FOLL_DUMP: a hole).
    if (flags & FOLL_DUMP) return { pfn: -1, err: -EFAULT, pageMask: 0 };
    if (!mem.isZeroPfn(pfn)) return { pfn: -1, err: -EEXIST, pageMask: 0 };
  }
  if (!(bits & PTE_WRITE) && gup_must_unshare(k, vma, flags, pfn)) return { pfn: -1, err: -EMLINK, pageMask: 0 };
  const head = mem.head(pfn);
  if (mem.flagsOf(pfn) & PG_hwpoison && flags & FOLL_HWPOISON) return { pfn: -1, err: -EHWPOISON, pageMask: 0 };
  const ret = try_grab_folio(k, head, 1, flags);
  if (ret) return { pfn: -1, err: ret, pageMask: 0 };
  if (flags & FOLL_TOUCH) {
    // Mark the folio dirty for a write lookup if neither PTE nor folio is dirty, and accessed.
    if (flags & FOLL_WRITE && !(bits & PTE_DIRTY) && !mem.test(head, PG_dirty) && !(bits & PTE_SPECIAL))
      folio_mark_dirty(k, head);
    if (!mem.isZeroPfn(head)) mem.set(head, PG_referenced);
  }
  return { pfn, err: 0, pageMask: 0 };
}

/** faultin_page(): 0 to retry the lookup, -EBUSY for "retry later", or -errno. */
function faultin_page(k: Kernel, vma: Vma, addr: number, flags: number, unshare: boolean): { ret: number; follCow: boolean } {
  if (flags & FOLL_NOFAULT) return { ret: -EFAULT, follCow: false };
  let ff = 0;
  if (flags & FOLL_WRITE) ff |= FAULT_FLAG_WRITE;
  if (flags & FOLL_REMOTE) ff |= FAULT_FLAG_REMOTE;
  if (flags & FOLL_NOWAIT) ff |= FAULT_FLAG_RETRY_NOWAIT;
  if (unshare) ff |= FAULT_FLAG_UNSHARE;
  const r = handle_mm_fault(k, vma, addr, ff);
  if (r & VM_FAULT_ERROR) {
    // vm_fault_to_errno()
    if (r & VM_FAULT_OOM) return { ret: -ENOMEM, follCow: false };
    if (r & VM_FAULT_HWPOISON) return { ret: flags & FOLL_HWPOISON ? -EHWPOISON : -EFAULT, follCow: false };
    return { ret: -EFAULT, follCow: false };
  }
  if (r & VM_FAULT_RETRY) return { ret: -EBUSY, follCow: false };
  // Pre-v6.0: a COW fault in a !VM_WRITE mapping sets FOLL_COW so the retry may follow the R/O PTE.
  return { ret: 0, follCow: (flags & FOLL_WRITE) !== 0 && !(vma.flags & VM_WRITE) };
}

/**
 * __get_user_pages(): walk [start, start + nr_pages) one page (or one PMD run) at a time.
 * Returns the number of pages grabbed from the start of the range, or -errno if none.
 */
export function __get_user_pages(k: Kernel, mm: Mm, start: number, nr_pages: number, flags: number,
  pages: PageArray | null, off = 0): number {
  if (!nr_pages) return 0;
  // nr_pages is an unsigned long: a negative count would be 2^64 - n pages (see src/scenario/ops/mm.ts).
  if (nr_pages < 0) throw new RangeError(`__get_user_pages(): nr_pages ${nr_pages} is 2^64${nr_pages} as an unsigned long; the model cannot walk that far`);
  let i = 0;
  let ret = 0;
  let vma: Vma | undefined;
  let follCow = false;
  out: do {
    if (!vma || start >= vma.end) {
      vma = mm.find_vma(k, start); // gup_vma_lookup(): no stack expansion
      if (!vma) { ret = -EFAULT; break; }
      ret = check_vma_flags(k, vma, flags);
      if (ret) break;
    }
    let f: Follow;
    for (;;) {
      f = follow_page_mask(k, vma, start, flags, follCow);
      if (f.pfn >= 0 || (f.err && f.err !== -EMLINK)) break;
      const fr = faultin_page(k, vma, start, flags, f.err === -EMLINK);
      if (fr.ret === 0) { follCow ||= fr.follCow; continue; }
      ret = fr.ret === -EBUSY ? 0 : fr.ret;
      break out;
    }
    if (f.err) {
      if (f.err === -EEXIST && !pages) {
        // A PTE with no struct page: fine when only faulting in.
      } else { ret = f.err; break; }
    }
    let increm = 1 + (~Math.floor(start / PAGE_SIZE) & f.pageMask);
    if (increm > nr_pages) increm = nr_pages;
    if (pages && f.pfn >= 0) {
      if (increm > 1) {
        const head = k.mem.head(f.pfn);
        // Grab the rest of the run in one go; failure drops the first grab and fails hard.
        if (try_grab_folio(k, head, increm - 1, flags)) {
          gup_put_folio(k, head, 1, flags);
          ret = -EFAULT;
          break;
        }
      }
      for (let j = 0; j < increm; j++) pages[off + i + j] = f.pfn + j;
    }
    i += increm;
    start += increm * PAGE_SIZE;
    nr_pages -= increm;
  } while (nr_pages);
  return i ? i : ret;
}

/** __get_user_pages_locked(): FOLL_GET is implied when pages are wanted without FOLL_PIN; sets MMF_HAS_PINNED. */
export function __get_user_pages_locked(k: Kernel, mm: Mm, start: number, nr_pages: number, pages: PageArray | null,
  flags: number, off = 0): number {
  if (flags & FOLL_PIN) mm.hasPinned = true; // mm_set_has_pinned_flag()
  if (pages && !(flags & FOLL_PIN)) flags |= FOLL_GET;
  return __get_user_pages(k, mm, start, nr_pages, flags, pages, off);
}

