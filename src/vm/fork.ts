// fork(): dup_mmap() and copy_page_range() (kernel/fork.c, mm/memory.c, include/linux/rmap.h).

import type { Kernel } from '../kernel.js';
import { ENOMEM, HPAGE_PMD_SIZE, PAGE_SIZE } from '../include/uapi.js';
import { PG_anon, PG_anon_exclusive, PG_lru, PG_swapbacked } from '../mm/page-flags.js';
import { Vma, type Mm, type Task, createTask, mm_alloc, runForkHooks } from './mm.js';
import { mapPage, setPte, split_huge_pmd } from './pgtable.js';
import { copy_hugetlb_page_range } from './hugetlb.js';
import { remove_vma } from './mmap.js';
import { runToEnd, type KernelGen } from '../preempt.js';
import { PTE_DIRTY, PTE_HWPOISON_ENTRY, PTE_PRESENT, PTE_SPECIAL, PTE_WRITE, PTE_YOUNG, VM_DONTCOPY, VM_HUGETLB, VM_PFNMAP, VM_MIXEDMAP, VM_WIPEONFORK, VM_WRITE } from '../include/linux/mm.js';
import { folio_maybe_dma_pinned } from '../mm/folio.js';

/** folio_needs_cow_for_dma() (include/linux/mm.h): the mm has pinned and the folio may be pinned. */
function needsCowForDma(k: Kernel, src: Mm, head: number): boolean {
  return k.profile.forkCopiesMaybePinned && src.hasPinned && folio_maybe_dma_pinned(k, head);
}

/** vma_needs_copy(): only VMAs with anonymous pages (or raw PFN maps) have their page tables copied. */
function vmaNeedsCopy(v: Vma): boolean {
  return (v.flags & (VM_PFNMAP | VM_MIXEDMAP)) !== 0 || v.anonVma;
}

export function do_fork(k: Kernel, parent: Task, childName: string): Task | number {
  return runToEnd(k, do_fork_gen(k, parent, childName));
}

/** Yield points of fork(): after deciding to share an anonymous page, before write-protecting it. */
export const FORK_YIELD_POINTS = ['before_wrprotect'] as const;

/**
 * dup_mmap() holding the parent's mmap_lock for writing; copy_page_range() inside the
 * write_protect_seq write section (v5.11, 57efa1fe5957; the model bumps it on every profile,
 * only GUP-fast's reading of it is profile-dependent).
 */
export function* do_fork_gen(k: Kernel, parent: Task, childName: string): KernelGen<Task | number> {
  const src = parent.mm;
  const dst = mm_alloc(k);
  dst.mmapBase = src.mmapBase;
  src.mmapWriteLocked = true;
  src.forkChild = dst;
  src.writeProtectSeq++; // odd: GUP-fast FOLL_PIN callers back off (R56)
  try {
    for (const v of src.vmaList(k)) {
      if (v.flags & VM_DONTCOPY) continue; // MADV_DONTFORK: the child has no mapping here
      const c = new Vma(dst, v.start, v.end, v.flags, v.file, v.pgoff);
      dst.insertVma(k, c);
      if (v.flags & VM_WIPEONFORK) continue; // MADV_WIPEONFORK: an empty anonymous VMA
      if (!vmaNeedsCopy(v)) continue;
      c.anonVma = true;
      const r = v.flags & VM_HUGETLB ? copy_hugetlb_page_range(k, src, v, c) : yield* copyPageRange(k, src, v, c);
      if (r < 0) {
        // dup_mmap() failure: undo the child.
        for (const cv of [...dst.vmaList(k)]) {
          for (let i = 0; i < cv.nrPages; i++) if (cv.ptep_get(k, i) >= 0) undoChildPte(k, cv, i);
          for (const b of [...cv.pmdLeaves(k).keys()]) undoChildPmd(k, cv, b);
          remove_vma(k, dst, cv);
        }
        return r;
      }
    }
  } finally {
    src.writeProtectSeq++;
    src.mmapWriteLocked = false;
    src.forkChild = null;
  }
  const child = createTask(k, childName, dst);
  runForkHooks(k, parent, child);
  return child;
}

function undoChildPte(k: Kernel, v: Vma, i: number): void {
  const pfn = v.ptep_get(k, i);
  const special = (v.ptep_get_bits(k, i) & PTE_SPECIAL) !== 0;
  v.pte_clear(k, i);
  if (special) return;
  k.mem.mapcountAdd(pfn, -1);
  k.mem.putRefs(k.mem.head(pfn), 1);
}

function undoChildPmd(k: Kernel, v: Vma, b: number): void {
  const e = v.pmdLeaves(k).get(b)!;
  v.pmd_clear(k, b);
  if (k.mem.isHugeZero(e.pfn)) return;
  k.mem.entireMapcountAdd(e.pfn, -1);
  k.mem.putRefs(e.pfn, 1);
}

function* copyPageRange(k: Kernel, srcMm: Mm, src: Vma, dst: Vma): KernelGen<number> {
  const mem = k.mem;
  const cow = src.isCowMapping();
  // copy_huge_pmd()
  for (const [b, e] of [...src.pmdLeaves(k)]) {
    const addr = b * HPAGE_PMD_SIZE;
    if (mem.isHugeZero(e.pfn)) {
      dst.set_pmd_at(k, b, e.pfn, e.bits);
      continue;
    }
    const head = e.pfn;
    k.fp.read('folio', head);
    if (mem.test(head, PG_anon) && needsCowForDma(k, srcMm, head)) {
      // A maybe-pinned THP is split in the parent and copied page by page (copy_huge_pmd() -EAGAIN).
      split_huge_pmd(k, src, addr);
      continue;
    }
    mem.refAdd(head, 1);
    mem.entireMapcountAdd(head, 1);
    if (cow && mem.test(head, PG_anon)) {
      mem.clear(head, PG_anon_exclusive);
      src.pmd_clear_bits(k, b, PTE_WRITE); // pmdp_set_wrprotect()
    }
    dst.set_pmd_at(k, b, head, e.bits);
  }
  // copy_pte_range() / copy_present_ptes()
  for (let i = 0; i < src.nrPages; i++) {
    const pfn = src.ptep_get(k, i);
    if (pfn === PTE_HWPOISON_ENTRY) dst.set_pte_at(k, i, pfn, 0); // copy_nonpresent_pte() copies hwpoison entries
    if (pfn < 0) continue;
    const addr = src.start + i * PAGE_SIZE;
    const bits = src.ptep_get_bits(k, i);
    if (bits & PTE_SPECIAL) {
      setPte(k, dst, addr, pfn, bits);
      continue;
    }
    const head = mem.head(pfn);
    k.fp.read('folio', head); // the maybe-pinned test and the copy read the folio
    const anon = mem.test(head, PG_anon);
    if (anon) {
      const exclusive = (mem.flagsOf(pfn) & PG_anon_exclusive) !== 0 || !k.profile.anonExclusive;
      if (exclusive && needsCowForDma(k, srcMm, head)) {
        // __folio_try_dup_anon_rmap() fails: copy_present_page() gives the child its own copy now.
        const np = mem.allocFolio(k.gfpUser(), 0, 'copy_present_page');
        if (np < 0) return -ENOMEM;
        mem.set(np, PG_anon | PG_swapbacked | PG_lru | (k.profile.anonExclusive ? PG_anon_exclusive : 0));
        mem.setMapping(np, -1);
        mem.setContent(np, mem.contentOf(pfn));
        mapPage(k, dst, addr, np, PTE_PRESENT | PTE_DIRTY | PTE_YOUNG | (src.flags & VM_WRITE ? PTE_WRITE : 0));
        k.note(`fork: copy maybe-pinned pfn ${pfn} -> child pfn ${np}`);
        continue;
      }
      // copy_present_pte(): the page will be shared. Before v5.11, GUP-fast could pin it right
      // here, after the maybe-pinned test and before the write-protect below (57efa1fe5957).
      if (src.isCowMapping()) {
        yield { point: 'before_wrprotect' };
        k.fp.read('folio', head);
      }
      mem.clear(pfn, PG_anon_exclusive);
    }
    mem.refAdd(head, 1);
    let cbits = bits;
    if (cow && anon) {
      src.ptep_clear_bits(k, i, PTE_WRITE); // ptep_set_wrprotect(), in this segment: the fork may pause again
      cbits &= ~PTE_WRITE;
    }
    mapPage(k, dst, addr, pfn, cbits);
  }
  k.fp.write('vma', src.id);
  return 0;
}

