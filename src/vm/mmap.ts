// mmap(), munmap(), mprotect(), madvise(), exit_mmap() (mm/mmap.c, mm/vma.c, mm/mprotect.c, mm/madvise.c).

import type { Kernel } from '../kernel.js';
import {
  EINVAL, ENOMEM, HPAGE_PMD_SIZE, MADV_DOFORK, MADV_DONTFORK, MADV_DONTNEED, MADV_HUGEPAGE, MADV_KEEPONFORK,
  MADV_NOHUGEPAGE, MADV_NORMAL, MADV_WIPEONFORK, MAP_ANONYMOUS, MAP_FIXED, MAP_HUGETLB, MAP_POPULATE, MAP_PRIVATE,
  MAP_SHARED, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, EACCES,
} from '../include/uapi.js';
import { File, dropFileCache } from '../fs/file.js';
import { handleMmFault, FAULT_FLAG_WRITE, VM_FAULT_ERROR } from './fault.js';
import {
  Mm, Vma, VM_DONTCOPY, VM_EXEC, VM_HUGEPAGE, VM_MAYEXEC, VM_MAYREAD, VM_MAYSHARE, VM_MAYWRITE, VM_NOHUGEPAGE,
  VM_READ, VM_SHARED, VM_WIPEONFORK, VM_WRITE, PTE_WRITE, VM_HUGETLB,
} from './mm.js';
import { splitHugePmd, zapRange } from './pgtable.js';

const pageAlign = (n: number) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

function protToVmFlags(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

/** get_unmapped_area(): top-down; 2 MiB-aligned for lengths of at least 2 MiB (thp_get_unmapped_area()). */
function unmappedArea(mm: Mm, len: number): number {
  const align = len >= HPAGE_PMD_SIZE ? HPAGE_PMD_SIZE : PAGE_SIZE;
  let top = mm.mmapBase;
  for (;;) {
    const start = Math.floor((top - len) / align) * align;
    const clash = mm.vmas.find((v) => v.start < start + len && v.end > start);
    if (!clash) {
      mm.mmapBase = start;
      return start;
    }
    top = clash.start;
  }
}

/** Split vma at addr (page aligned, strictly inside); PMD leaves across addr are split first. Returns the upper part. */
export function splitVma(k: Kernel, vma: Vma, addr: number): Vma {
  if (addr % HPAGE_PMD_SIZE !== 0) splitHugePmd(k, vma, addr);
  const mm = vma.mm;
  const hi = new Vma(mm, addr, vma.end, vma.flags, vma.file, vma.pgoff + (addr - vma.start) / PAGE_SIZE);
  const cut = vma.idx(addr);
  hi.pte.set(vma.pte.subarray(cut));
  hi.bits.set(vma.bits.subarray(cut));
  hi.anonVma = vma.anonVma;
  for (const [b, e] of [...vma.pmd]) {
    if (b * HPAGE_PMD_SIZE >= addr) {
      hi.pmd.set(b, e);
      vma.pmd.delete(b);
    }
  }
  vma.pte = vma.pte.slice(0, cut);
  vma.bits = vma.bits.slice(0, cut);
  vma.end = addr;
  mm.insertVma(hi);
  k.fp.write('vma', vma.id);
  k.fp.write('vma', hi.id);
  return hi;
}

/** hugetlb VMAs split only at huge page boundaries (hugetlb_vm_op_split() refuses others). */
function hugetlbMisaligned(mm: Mm, start: number, end: number): boolean {
  for (const v of mm.vmas) {
    if (!(v.flags & VM_HUGETLB) || v.end <= start || v.start >= end) continue;
    if ((start > v.start && start % HPAGE_PMD_SIZE) || (end < v.end && end % HPAGE_PMD_SIZE)) return true;
  }
  return false;
}

/** The VMAs covering [start, end), split so that each lies wholly inside the range. */
function vmasInRange(k: Kernel, mm: Mm, start: number, end: number): Vma[] {
  for (const v of [...mm.vmas]) {
    if (v.start < start && v.end > start) splitVma(k, v, start);
  }
  for (const v of [...mm.vmas]) {
    if (v.start < end && v.end > end) splitVma(k, v, end);
  }
  return mm.vmas.filter((v) => v.start >= start && v.end <= end);
}

export interface MmapArgs {
  addr: number;
  length: number;
  prot: number;
  flags: number;
  file?: File | null;
  offset?: number;
}

/** do_mmap(): returns the address, or -errno. */
export function do_mmap(k: Kernel, mm: Mm, a: MmapArgs): number {
  const len = pageAlign(a.length);
  if (len <= 0 || a.addr % PAGE_SIZE !== 0 || (a.offset ?? 0) % PAGE_SIZE !== 0) return -EINVAL;
  const type = a.flags & (MAP_SHARED | MAP_PRIVATE);
  if (type !== MAP_SHARED && type !== MAP_PRIVATE) return -EINVAL;
  const anon = (a.flags & MAP_ANONYMOUS) !== 0;
  if (!anon && !a.file) return -EINVAL; // EBADF in the kernel: a file mapping needs a file
  const huge = (a.flags & MAP_HUGETLB) !== 0;
  if (huge) {
    // Private anonymous MAP_HUGETLB only (shared hugetlb needs hugetlbfs, not modelled yet).
    if (!anon || type !== MAP_PRIVATE) return -EINVAL;
    if (a.flags & MAP_FIXED && a.addr % HPAGE_PMD_SIZE !== 0) return -EINVAL;
    // hugetlb_reserve_pages(): the pool must cover the whole mapping now.
    if (k.mem.hugetlbFree.length < Math.ceil(len / HPAGE_PMD_SIZE)) return -ENOMEM;
  }
  const mlen = huge ? Math.ceil(len / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE : len;
  let start: number;
  if (a.flags & MAP_FIXED) {
    start = a.addr;
    do_munmap(k, mm, start, mlen);
  } else {
    start = unmappedArea(mm, mlen);
  }
  let vmflags = protToVmFlags(a.prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | (huge ? VM_HUGETLB : 0);
  let file = anon ? null : a.file!;
  let pgoff = anon ? 0 : (a.offset ?? 0) / PAGE_SIZE;
  if (type === MAP_SHARED) {
    vmflags |= VM_SHARED | VM_MAYSHARE;
    // shmem_zero_setup(): shared anonymous memory is a tmpfs file.
    if (anon) {
      file = new File(`dev/zero (deleted) #${mm.id}`, 'tmpfs', len, true);
      k.registerFile(file);
      pgoff = 0;
    }
  }
  const vma = new Vma(mm, start, start + mlen, vmflags, file, pgoff);
  mm.insertVma(vma);
  k.fp.write('vma', vma.id);
  k.fp.write('mm', mm.id);
  if (a.flags & MAP_POPULATE) {
    // populate_vma_page_range(): write-fault writable private mappings, read-fault the rest.
    const write = (vmflags & VM_WRITE) !== 0 && type === MAP_PRIVATE;
    for (let addr = start; addr < start + mlen; addr += PAGE_SIZE) {
      const r = handleMmFault(k, vma, addr, write ? FAULT_FLAG_WRITE : 0);
      if (r & VM_FAULT_ERROR) break;
    }
  }
  return start;
}

/** remove_vma(): drop the VMA's file reference; an unnamed shmem file is evicted with its last user (fput()). */
export function remove_vma(k: Kernel, mm: Mm, vma: Vma): void {
  mm.removeVma(vma);
  k.fp.write('vma', vma.id);
  const f = vma.file;
  if (f && --f.users === 0 && f.anonymous) dropFileCache(k, f);
}

export function do_munmap(k: Kernel, mm: Mm, start: number, length: number): number {
  if (start % PAGE_SIZE !== 0 || length <= 0) return -EINVAL;
  const end = start + pageAlign(length);
  if (hugetlbMisaligned(mm, start, end)) return -EINVAL;
  for (const v of vmasInRange(k, mm, start, end)) {
    zapRange(k, v, v.start, v.end);
    remove_vma(k, mm, v);
  }
  return 0;
}

/**
 * The end of [start, start+length) if it is page aligned, wholly mapped (-ENOMEM otherwise, as
 * mprotect() and madvise() answer) and splittable at its ends; or -errno.
 */
function mappedRangeEnd(mm: Mm, start: number, length: number): number {
  if (start % PAGE_SIZE !== 0) return -EINVAL;
  const end = start + pageAlign(length);
  for (let a = start; a < end; a += PAGE_SIZE) if (!mm.findVma(a)) return -ENOMEM;
  return hugetlbMisaligned(mm, start, end) ? -EINVAL : end;
}

/** mprotect(): VM_WRITE changes; PTEs lose write permission when it is removed. */
export function do_mprotect(k: Kernel, mm: Mm, start: number, length: number, prot: number): number {
  const end = mappedRangeEnd(mm, start, length);
  if (end < 0) return end;
  for (const v of vmasInRange(k, mm, start, end)) {
    if (prot & PROT_WRITE && v.isShared() && !(v.flags & VM_MAYWRITE)) return -EACCES;
    v.flags = (v.flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | protToVmFlags(prot);
    if (!(prot & PROT_WRITE)) {
      for (let i = 0; i < v.bits.length; i++) v.bits[i] &= ~PTE_WRITE;
      for (const e of v.pmd.values()) e.bits &= ~PTE_WRITE;
    }
    k.fp.write('vma', v.id);
  }
  return 0;
}

export function do_madvise(k: Kernel, mm: Mm, start: number, length: number, advice: number): number {
  const known = [MADV_NORMAL, MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
    MADV_WIPEONFORK, MADV_KEEPONFORK];
  if (!known.includes(advice)) return -EINVAL;
  const end = mappedRangeEnd(mm, start, length);
  if (end < 0) return end;
  for (const v of vmasInRange(k, mm, start, end)) {
    k.fp.write('vma', v.id);
    switch (advice) {
      case MADV_DONTNEED: zapRange(k, v, v.start, v.end); break; // a pinned page stays allocated, just unmapped
      case MADV_DONTFORK: v.flags |= VM_DONTCOPY; break;
      case MADV_DOFORK: v.flags &= ~VM_DONTCOPY; break;
      case MADV_HUGEPAGE: v.flags = (v.flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE; break;
      case MADV_NOHUGEPAGE: v.flags = (v.flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE; break;
      case MADV_WIPEONFORK:
        if (v.file || v.isShared()) return -EINVAL;
        v.flags |= VM_WIPEONFORK; break;
      case MADV_KEEPONFORK: v.flags &= ~VM_WIPEONFORK; break;
      default: break;
    }
  }
  return 0;
}

/** exit_mmap(): tear down every mapping. */
export function exit_mmap(k: Kernel, mm: Mm): void {
  for (const v of [...mm.vmas]) {
    zapRange(k, v, v.start, v.end);
    remove_vma(k, mm, v);
  }
  k.fp.write('mm', mm.id);
}

