// mmap(), munmap(), mprotect(), madvise(), exit_mmap() (mm/mmap.c, mm/vma.c, mm/mprotect.c, mm/madvise.c).

import type { Kernel } from '../kernel.js';
import {
  EBADF, EINVAL, ENOMEM, EOVERFLOW, HPAGE_PMD_SIZE, MADV_DOFORK, MADV_DONTFORK, MADV_DONTNEED, MADV_HUGEPAGE,
  MADV_KEEPONFORK, MADV_NOHUGEPAGE, MADV_NORMAL, MADV_WIPEONFORK, MAP_ANONYMOUS, MAP_FIXED, MAP_HUGETLB, MAP_NORESERVE, MAP_POPULATE,
  MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, MAP_TYPE, MAX_LFS_FILESIZE, PAGE_SHIFT, PAGE_SIZE, PROT_EXEC,
  PROT_GROWSDOWN, PROT_GROWSUP, PROT_READ, PROT_SEM, PROT_WRITE, EACCES, TASK_SIZE,
} from '../include/uapi.js';
import { align64, num, offsetInPage64, pageAlign64, u64, wrap64 } from '../include/u64.js';
import type { File } from '../include/linux/fs.js';
import { shmem_evict_inode, shmem_zero_setup } from '../mm/shmem.js';
import { handle_mm_fault, wantsWritenotify } from './fault.js';
import { PG_anon, PG_anon_exclusive } from '../mm/page-flags.js';
import { Mm, Vma } from './mm.js';
import { __vm_enough_memory } from '../mm/util.js';
import { split_huge_pmd, zapRange } from './pgtable.js';
import { VM_DONTCOPY, VM_EXEC, VM_HUGEPAGE, VM_MAYEXEC, VM_MAYREAD, VM_MAYSHARE, VM_MAYWRITE, VM_NOHUGEPAGE, VM_READ, VM_SHARED, VM_WIPEONFORK, VM_WRITE, PTE_DIRTY, PTE_PRESENT, PTE_SPECIAL, PTE_WRITE, VM_HUGETLB, VM_ACCOUNT, VM_NORESERVE, FAULT_FLAG_WRITE, VM_FAULT_ERROR } from '../include/linux/mm.js';

function protToVmFlags(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

/**
 * mmap_min_addr: CONFIG_DEFAULT_MMAP_MIN_ADDR's default (mm/Kconfig), which is also what
 * /proc/sys/vm/mmap_min_addr says on the host this model is checked against.
 */
export const MMAP_MIN_ADDR = 4096;

/**
 * The top-down search of get_unmapped_area() (mm/mmap.c unmapped_area_topdown()): the highest
 * free range below mmap_base. `align` is 2 MiB where thp_get_unmapped_area() applies (anonymous
 * mappings of at least PMD size, no hint), else a page. Returns the address or -ENOMEM.
 */
function unmappedArea(k: Kernel, mm: Mm, len: number, align: number): number {
  let top = mm.mmapBase;
  for (;;) {
    const start = Math.floor((top - len) / align) * align;
    if (start < MMAP_MIN_ADDR) return -ENOMEM;
    const clash = mm.vmaList(k).find((v) => v.start < start + len && v.end > start);
    if (!clash) {
      mm.mmapBase = start;
      return start;
    }
    top = clash.start;
  }
}

/**
 * A hint the caller gave without MAP_FIXED (arch/x86/kernel/sys_x86_64.c
 * arch_get_unmapped_area_topdown(), arch/x86/mm/mmap.c mmap_address_hint_valid()): taken, page
 * aligned down, when [hint, hint + len) lies below TASK_SIZE and overlaps no VMA.
 */
function hintFree(k: Kernel, mm: Mm, hint: number, len: number): boolean {
  if (hint === 0 || TASK_SIZE - len < hint) return false;
  return !mm.vmaList(k).some((v) => v.start < hint + len && v.end > hint);
}

/** Split vma at addr (page aligned, strictly inside); PMD leaves across addr are split first. Returns the upper part. */
export function splitVma(k: Kernel, vma: Vma, addr: number): Vma {
  if (addr % HPAGE_PMD_SIZE !== 0) split_huge_pmd(k, vma, addr);
  const mm = vma.mm;
  const hi = new Vma(mm, addr, vma.end, vma.flags, vma.file, vma.pgoff + (addr - vma.start) / PAGE_SIZE);
  const cut = vma.idx(addr);
  vma.splitPageTables(k, hi, cut);
  hi.anonVma = vma.anonVma;
  vma.end = addr;
  mm.insertVma(k, hi);
  return hi;
}

/** hugetlb VMAs split only at huge page boundaries (hugetlb_vm_op_split() refuses others). */
function hugetlbMisaligned(k: Kernel, mm: Mm, start: number, end: number): boolean {
  for (const v of mm.vmaList(k)) {
    if (!(v.flags & VM_HUGETLB) || v.end <= start || v.start >= end) continue;
    if ((start > v.start && start % HPAGE_PMD_SIZE) || (end < v.end && end % HPAGE_PMD_SIZE)) return true;
  }
  return false;
}

/** The VMAs covering [start, end), split so that each lies wholly inside the range. */
function vmasInRange(k: Kernel, mm: Mm, start: number, end: number): Vma[] {
  for (const v of [...mm.vmaList(k)]) {
    if (v.start < start && v.end > start) splitVma(k, v, start);
  }
  for (const v of [...mm.vmaList(k)]) {
    if (v.start < end && v.end > end) splitVma(k, v, end);
  }
  return mm.vmaList(k).filter((v) => v.start >= start && v.end <= end);
}

/** Pages of [start, end) in VMAs that were charged (VM_ACCOUNT): vms_gather_munmap_vmas()'s nr_accounted. */
function accountedPages(k: Kernel, mm: Mm, start: number, end: number): number {
  let n = 0;
  for (const v of mm.vmaList(k)) {
    if (v.flags & VM_ACCOUNT && v.start < end && v.end > start) n += (Math.min(end, v.end) - Math.max(start, v.start)) / PAGE_SIZE;
  }
  return n;
}

export interface MmapArgs {
  addr: number;
  length: number;
  prot: number;
  flags: number;
  file?: File | null;
  offset?: number;
}

/**
 * mmap(): returns the address, or -errno. The checks come in the kernel's order (the same from
 * v5.1 to v6.18): arch/x86/kernel/sys_x86_64.c sys_mmap() (offset alignment), mm/mmap.c
 * ksys_mmap_pgoff() (the file, MAP_HUGETLB), do_mmap() (length), __get_unmapped_area() (room,
 * MAP_FIXED address), then do_mmap()'s file and MAP_TYPE checks and the hugetlb reservation.
 * addr, length and offset are unsigned long: a negative number is the 64-bit value -n wraps to
 * (src/include/u64.ts). The host's answers are in test/vm/mmap-edges.test.ts.
 */
export function do_mmap(k: Kernel, mm: Mm, a: MmapArgs): number {
  const off = u64(a.offset ?? 0);
  // sys_mmap(): the byte offset must be page aligned.
  if (offsetInPage64(off)) return -EINVAL;
  const anon = (a.flags & MAP_ANONYMOUS) !== 0;
  const huge = (a.flags & MAP_HUGETLB) !== 0;
  // ksys_mmap_pgoff(): fget(fd) of a file mapping (the model names its file; none given is a bad fd).
  if (!anon && !a.file) return -EBADF;
  // ksys_mmap_pgoff(): MAP_HUGETLB on a file that is not on hugetlbfs (no model file is).
  if (huge && !anon) return -EINVAL;
  let len = u64(a.length);
  // ksys_mmap_pgoff(): an anonymous MAP_HUGETLB length is rounded up to the huge page size (and may wrap to 0).
  if (huge) len = align64(len, HPAGE_PMD_SIZE);
  // do_mmap()
  if (len === 0n) return -EINVAL;
  const fixed = (a.flags & MAP_FIXED) !== 0;
  let addr = u64(a.addr);
  if (!fixed) {
    // round_hint_to_min()
    addr &= ~BigInt(PAGE_SIZE - 1);
    if (addr !== 0n && addr < BigInt(MMAP_MIN_ADDR)) addr = BigInt(MMAP_MIN_ADDR);
  }
  len = pageAlign64(len);
  if (len === 0n) return -ENOMEM; // "Careful about overflows": PAGE_ALIGN wrapped
  const pgoff64 = off >> BigInt(PAGE_SHIFT);
  if (wrap64(pgoff64 + (len >> BigInt(PAGE_SHIFT))) < pgoff64) return -EOVERFLOW; // "offset overflow?" (cannot happen on 64-bit)
  // __get_unmapped_area()
  if (len > BigInt(TASK_SIZE)) return -ENOMEM;
  const mlen = num(len);
  let start: number;
  if (fixed) {
    // hugetlb_get_unmapped_area(): a MAP_FIXED huge mapping must start on a huge page.
    if (huge && addr % BigInt(HPAGE_PMD_SIZE) !== 0n) return -EINVAL;
    if (addr > BigInt(TASK_SIZE) - len) return -ENOMEM;
    if (offsetInPage64(addr)) return -EINVAL;
    start = num(addr);
  } else {
    const hint = addr <= BigInt(TASK_SIZE) ? num(addr) : 0;
    const align = huge || (hint === 0 && mlen >= HPAGE_PMD_SIZE) ? HPAGE_PMD_SIZE : PAGE_SIZE;
    start = hint !== 0 && hint % align === 0 && hintFree(k, mm, hint, mlen) ? hint : unmappedArea(k, mm, mlen, align);
    if (start < 0) return start;
  }
  const type = a.flags & MAP_TYPE;
  if (!anon) {
    // file_mmap_ok() (v4.19+): the file range must fit in loff_t.
    if (len > BigInt(MAX_LFS_FILESIZE) || pgoff64 > (BigInt(MAX_LFS_FILESIZE) - len) >> BigInt(PAGE_SHIFT)) return -EOVERFLOW;
    if (type !== MAP_SHARED && type !== MAP_SHARED_VALIDATE && type !== MAP_PRIVATE) return -EINVAL;
  } else if (type !== MAP_SHARED && type !== MAP_PRIVATE) {
    return -EINVAL; // anonymous: MAP_SHARED_VALIDATE and the rest fall to "default: return -EINVAL"
  }
  const shared = type !== MAP_PRIVATE;
  if (huge) {
    // Private anonymous MAP_HUGETLB only (shared hugetlb needs hugetlbfs, not modelled yet).
    if (shared) throw new RangeError('the model has shared MAP_HUGETLB mappings only as private anonymous ones (hugetlbfs files are not modelled)');
    // hugetlb_reserve_pages() (from hugetlbfs_file_mmap()): the pool must cover the whole mapping now.
    if (k.mem.hugetlbFree.length < mlen / HPAGE_PMD_SIZE) return -ENOMEM;
  }
  let vmflags = protToVmFlags(a.prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | (huge ? VM_HUGETLB : 0);
  // do_mmap(): MAP_NORESERVE skips accounting unless overcommit is "never" (the model's is "guess").
  if (a.flags & MAP_NORESERVE) vmflags |= VM_NORESERVE;
  if (shared) vmflags |= VM_SHARED | VM_MAYSHARE;
  // mmap_region() (mm/vma.c __mmap_region() in v6.12+): a private writable mapping is charged
  // (accountable_mapping(): not hugetlb, VM_WRITE without VM_SHARED or VM_NORESERVE), less what
  // the MAP_FIXED range already had charged; shared anonymous memory is charged by shmem_zero_setup()
  // → shmem_acct_size() unless VM_NORESERVE. Both run before the old mappings go. (v5.x unmapped a
  // MAP_FIXED range first; the model keeps the current order on every profile.)
  const pages = mlen / PAGE_SIZE;
  if (!huge && (vmflags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) === VM_WRITE) {
    const charged = pages - (fixed ? accountedPages(k, mm, start, start + mlen) : 0);
    if (charged > 0 && !__vm_enough_memory(k, charged)) return -ENOMEM;
    vmflags |= VM_ACCOUNT;
  } else if (anon && shared && !(vmflags & VM_NORESERVE) && !__vm_enough_memory(k, pages)) {
    return -ENOMEM;
  }
  if (fixed) do_munmap(k, mm, start, mlen);
  let file = anon ? null : a.file!;
  let pgoff = anon ? 0 : num(pgoff64);
  if (shared) {
    // shmem_zero_setup(): shared anonymous memory is a tmpfs file.
    if (anon) {
      file = shmem_zero_setup(k, `dev/zero (deleted) #${mm.id}`, mlen);
      pgoff = 0;
    }
  }
  const vma = new Vma(mm, start, start + mlen, vmflags, file, pgoff);
  mm.insertVma(k, vma);
  if (a.flags & MAP_POPULATE) {
    // populate_vma_page_range(): write-fault writable private mappings, read-fault the rest.
    const write = (vmflags & VM_WRITE) !== 0 && type === MAP_PRIVATE;
    for (let addr = start; addr < start + mlen; addr += PAGE_SIZE) {
      const r = handle_mm_fault(k, vma, addr, write ? FAULT_FLAG_WRITE : 0);
      if (r & VM_FAULT_ERROR) break;
    }
  }
  return start;
}

/** remove_vma(): drop the VMA's file reference; an unnamed shmem file is evicted with its last user (fput()). */
export function remove_vma(k: Kernel, mm: Mm, vma: Vma): void {
  mm.removeVma(k, vma);
  const f = vma.file;
  if (f && --f.users === 0 && f.anonymous) shmem_evict_inode(k, f);
}

/**
 * munmap() (mm/vma.c do_vmi_munmap(); mm/mmap.c __do_munmap() before v6.1): -EINVAL for an
 * unaligned start, a range not wholly below TASK_SIZE, or a length that rounds to nothing;
 * unmapping nothing is 0. start and length are unsigned long (src/include/u64.ts).
 */
export function do_munmap(k: Kernel, mm: Mm, start: number, length: number): number {
  const s = u64(start);
  const len = u64(length);
  const TS = BigInt(TASK_SIZE);
  if (offsetInPage64(s) || s > TS || len > TS - s) return -EINVAL;
  const e = s + pageAlign64(len);
  if (e === s) return -EINVAL;
  const end = num(e);
  // hugetlb_vm_op_split(): a hugetlb VMA splits only at huge page boundaries.
  if (hugetlbMisaligned(k, mm, start, end)) return -EINVAL;
  for (const v of vmasInRange(k, mm, start, end)) {
    zapRange(k, v, v.start, v.end);
    remove_vma(k, mm, v);
  }
  return 0;
}

/**
 * The VMAs over [start, end) in address order, and whether the range has holes: the walk of
 * do_mprotect_pkey() and madvise_walk_vmas(), which act on every VMA they meet and report a hole
 * as -ENOMEM.
 */
function walkRange(k: Kernel, mm: Mm, start: number, end: number): { vmas: Vma[]; holeAt: number | null } {
  const vmas = mm.vmaList(k).filter((v) => v.end > start && v.start < end);
  let at = start;
  let holeAt: number | null = null;
  for (const v of vmas) {
    if (v.start > at && holeAt === null) holeAt = at;
    at = v.end;
  }
  if (at < end && holeAt === null) holeAt = at;
  return { vmas, holeAt };
}

/** Split the VMAs at start and end if they straddle them, and return the one now covering [from, to) pieces. */
function splitFor(k: Kernel, v: Vma, start: number, end: number): Vma {
  let cur = v;
  if (cur.start < start) cur = splitVma(k, cur, start);
  if (cur.end > end) splitVma(k, cur, end);
  return cur;
}

/**
 * mprotect() (mm/mprotect.c do_mprotect_pkey()): the argument checks in the kernel's order —
 * PROT_GROWSDOWN with PROT_GROWSUP, an unaligned start (-EINVAL); a zero length does nothing;
 * a length that wraps (-ENOMEM); bits arch_validate_prot() refuses (-EINVAL) — then the walk:
 * the first VMA must cover start (-ENOMEM), each VMA met is changed in turn, and a hole stops the
 * walk with -ENOMEM after the VMAs before it were changed (the host agrees:
 * test/vm/mmap-edges.test.ts). The model has no VM_GROWSDOWN/VM_GROWSUP VMAs, so PROT_GROWS*
 * on a mapped range is -EINVAL. VM_WRITE changes; PTEs lose write permission when it is removed.
 */
export function do_mprotect(k: Kernel, mm: Mm, start: number, length: number, prot: number): number {
  const grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
  prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
  if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) return -EINVAL;
  const s = u64(start);
  if (offsetInPage64(s)) return -EINVAL;
  const len = u64(length);
  if (len === 0n) return 0;
  const e = wrap64(s + pageAlign64(len));
  if (e <= s) return -ENOMEM;
  // arch_validate_prot() (include/linux/mman.h; x86 has no override).
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) return -EINVAL;
  // Past TASK_SIZE nothing is mapped: the walk meets a hole there.
  const end = e > BigInt(TASK_SIZE) ? TASK_SIZE + PAGE_SIZE : num(e);
  const { vmas, holeAt } = walkRange(k, mm, start, end);
  const first = vmas[0];
  if (!first) return -ENOMEM;
  if (grows & PROT_GROWSDOWN) return first.start >= end ? -ENOMEM : -EINVAL;
  if (first.start > start) return -ENOMEM;
  if (grows & PROT_GROWSUP) return -EINVAL;
  for (const v0 of vmas) {
    if (holeAt !== null && v0.start > holeAt) return -ENOMEM;
    if (prot & PROT_WRITE && v0.isShared() && !(v0.flags & VM_MAYWRITE)) return -EACCES;
    const from = Math.max(start, v0.start);
    const to = Math.min(end, v0.end);
    // mm/mprotect.c mprotect_fixup(): flags that do not change leave the VMA alone, unsplit (so
    // fork still copies a zero-page PTE in it; fuzz: scenarios/fuzz/mprotect-same-prot-no-split.yaml).
    if (((v0.flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | protToVmFlags(prot)) === v0.flags) continue;
    // mprotect_fixup() → split_vma(): a hugetlb VMA splits only at huge page boundaries.
    if (hugetlbMisaligned(k, mm, from, to)) return -EINVAL;
    // mprotect_fixup(): making a private mapping writable charges it, once (VM_ACCOUNT).
    let account = 0;
    if (prot & PROT_WRITE && !(v0.flags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE))) {
      if (!__vm_enough_memory(k, (to - from) / PAGE_SIZE)) return -ENOMEM;
      account = VM_ACCOUNT;
    }
    const v = splitFor(k, v0, from, to);
    v.flags = (v.flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | protToVmFlags(prot) | account;
    if (!(prot & PROT_WRITE)) {
      v.ptesClearBits(k, PTE_WRITE);
      for (const b of v.pmdLeaves(k).keys()) v.pmd_clear_bits(k, b, PTE_WRITE);
    } else if (!(v.flags & VM_HUGETLB)) {
      changeProtectionWritable(k, v);
    }
  }
  return holeAt !== null ? -ENOMEM : 0;
}

/**
 * change_protection() of a VMA that became writable (mm/mprotect.c mprotect_fixup() →
 * change_pte_range() / change_huge_pmd()): a shared VMA without write notification has a writable
 * vm_page_prot, so every present PTE becomes writable; otherwise, where the VMA wants a manual
 * upgrade (vma_wants_manual_pte_write_upgrade(): MM_CP_TRY_CHANGE_WRITABLE, MM_CP_DIRTY_ACCT
 * before v6.0), an entry that can_change_pte_writable() allows.
 */
function changeProtectionWritable(k: Kernel, v: Vma): void {
  const shared = v.isShared();
  const allWritable = shared && !wantsWritenotify(v);
  if (!shared && !k.profile.mprotectWritableExclusiveAnon) return;
  for (const [b, pmd] of v.pmdLeaves(k)) {
    if (!(pmd.bits & PTE_WRITE) && (allWritable || can_change_pmd_writable(k, v, pmd.pfn, pmd.bits))) v.pmd_set_bits(k, b, PTE_WRITE);
  }
  for (let i = 0; i < v.nrPages; i++) {
    const pfn = v.ptep_get(k, i);
    if (pfn < 0) continue;
    const bits = v.ptep_get_bits(k, i);
    if (!(bits & PTE_PRESENT) || bits & PTE_WRITE) continue;
    if (allWritable || can_change_pte_writable(k, v, pfn, bits)) v.ptep_set_bits(k, i, PTE_WRITE);
  }
}

/**
 * can_change_pte_writable() (mm/mprotect.c, v6.0 64fe24a3e05e): private: only a normal page that
 * is anonymous and exclusive (the write fault would reuse it without further checks); shared: a
 * dirty PTE (the filesystem was told already; MM_CP_DIRTY_ACCT did the same before). The model has
 * no soft-dirty or uffd-wp tracking, the other two refusals.
 */
function can_change_pte_writable(k: Kernel, v: Vma, pfn: number, bits: number): boolean {
  if (v.isShared()) return (bits & PTE_DIRTY) !== 0;
  if (bits & PTE_SPECIAL) return false; // vm_normal_page(): the zero page is no normal page
  const f = k.mem.flagsOf(pfn);
  return (k.mem.flagsOf(k.mem.head(pfn)) & PG_anon) !== 0 && (f & PG_anon_exclusive) !== 0;
}

/** can_change_pmd_writable() (mm/huge_memory.c, v6.0): the same rule for a PMD leaf (PageAnonExclusive of its head). */
function can_change_pmd_writable(k: Kernel, v: Vma, pfn: number, bits: number): boolean {
  if (v.isShared()) return (bits & PTE_DIRTY) !== 0;
  if (bits & PTE_SPECIAL) return false; // the huge zero folio
  const f = k.mem.flagsOf(pfn);
  return (f & PG_anon) !== 0 && (f & PG_anon_exclusive) !== 0;
}

/**
 * madvise_behavior_valid() (mm/madvise.c): the advice some kernel of the profiles accepts, by
 * value. The model implements MADV_NORMAL, DONTNEED, DONTFORK, DOFORK, HUGEPAGE, NOHUGEPAGE,
 * WIPEONFORK and KEEPONFORK; any other advice a kernel accepts is refused as not modelled
 * (rather than answered -EINVAL, which the kernel would not say); values no kernel accepts are -EINVAL.
 */
const MADV_NOT_MODELLED: Readonly<Record<number, string>> = {
  1: 'MADV_RANDOM', 2: 'MADV_SEQUENTIAL', 3: 'MADV_WILLNEED', 8: 'MADV_FREE', 9: 'MADV_REMOVE', 12: 'MADV_MERGEABLE',
  13: 'MADV_UNMERGEABLE', 16: 'MADV_DONTDUMP', 17: 'MADV_DODUMP', 20: 'MADV_COLD', 21: 'MADV_PAGEOUT',
  22: 'MADV_POPULATE_READ', 23: 'MADV_POPULATE_WRITE', 24: 'MADV_DONTNEED_LOCKED', 25: 'MADV_COLLAPSE',
  100: 'MADV_HWPOISON', 101: 'MADV_SOFT_OFFLINE', 102: 'MADV_GUARD_INSTALL', 103: 'MADV_GUARD_REMOVE',
};
const MADV_MODELLED = [MADV_NORMAL, MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
  MADV_WIPEONFORK, MADV_KEEPONFORK];

/**
 * madvise() (mm/madvise.c do_madvise(): is_valid_madvise() and madvise_should_skip() since
 * v6.15, the same checks inline before): an unknown advice, an unaligned start, a length that
 * rounds up from a small negative to zero, or a range that wraps is -EINVAL; an empty range is 0.
 * Then madvise_walk_vmas() applies the advice to every VMA in the range and answers -ENOMEM at
 * the end if the range had holes (the VMAs around a hole are still advised: the host agrees,
 * test/vm/mmap-edges.test.ts). An error from one VMA stops the walk there.
 */
export function do_madvise(k: Kernel, mm: Mm, start: number, length: number, advice: number): number {
  if (!MADV_MODELLED.includes(advice)) {
    const name = MADV_NOT_MODELLED[advice];
    if (name) throw new RangeError(`madvise(${name}) is not modelled (the model has ${MADV_MODELLED.length} advice values; see pinlab ops)`);
    return -EINVAL;
  }
  // madvise_behavior_valid() / is_valid_madvise(): these two exist only with CONFIG_TRANSPARENT_HUGEPAGE
  // (fuzz: scenarios/fuzz/madv-hugepage-without-thp.yaml, uml-6.12).
  if ((advice === MADV_HUGEPAGE || advice === MADV_NOHUGEPAGE) && !k.machine.thpConfigured) return -EINVAL;
  const s = u64(start);
  if (offsetInPage64(s)) return -EINVAL;
  const lenIn = u64(length);
  const len = pageAlign64(lenIn);
  if (lenIn !== 0n && len === 0n) return -EINVAL;
  const e = s + len;
  if (e >= 1n << 64n) return -EINVAL;
  if (e === s) return 0;
  const end = e > BigInt(TASK_SIZE) ? TASK_SIZE + PAGE_SIZE : num(e);
  const { vmas, holeAt } = walkRange(k, mm, start, end);
  if (!vmas.length) return -ENOMEM;
  for (const v0 of vmas) {
    const from = Math.max(start, v0.start);
    const to = Math.min(end, v0.end);
    if (advice === MADV_WIPEONFORK && (v0.file || v0.isShared())) return -EINVAL;
    // The flag setter and zapRange() record the write (a flag advice that changes nothing: a read).
    if (advice === MADV_DONTNEED) {
      zapRange(k, v0, from, to); // a pinned page stays allocated, just unmapped
      continue;
    }
    const old = v0.flags;
    let flags = old;
    switch (advice) {
      case MADV_DONTFORK: flags |= VM_DONTCOPY; break;
      case MADV_DOFORK: flags &= ~VM_DONTCOPY; break;
      case MADV_HUGEPAGE: flags = (flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE; break;
      case MADV_NOHUGEPAGE: flags = (flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE; break;
      case MADV_WIPEONFORK: flags |= VM_WIPEONFORK; break;
      case MADV_KEEPONFORK: flags &= ~VM_WIPEONFORK; break;
      default: break; // MADV_NORMAL: clears read-ahead hints the model does not have
    }
    // mm/madvise.c madvise_behavior() (≤6.0) / madvise_update_vma(): flags that do not change leave
    // the VMA alone, unsplit (fuzz: scenarios/fuzz/madvise-same-flags-no-split.yaml, uml-5.10).
    if (flags === old) continue;
    // split_vma() for a flag change: a hugetlb VMA splits only at huge page boundaries.
    if (hugetlbMisaligned(k, mm, from, to)) return -EINVAL;
    const v = splitFor(k, v0, from, to);
    v.flags = flags;
  }
  return holeAt !== null ? -ENOMEM : 0;
}

/** exit_mmap(): tear down every mapping. */
export function exit_mmap(k: Kernel, mm: Mm): void {
  for (const v of [...mm.vmaList(k)]) {
    zapRange(k, v, v.start, v.end);
    remove_vma(k, mm, v);
  }
}

