// Tasks, mm_structs, VMAs and page tables.
// Page tables are per VMA: a PFN and a byte of PTE bits per page, plus a small map of
// PMD (2 MiB) leaf entries keyed by the absolute PMD index (address >> 21).

import { HPAGE_PMD_NR, HPAGE_PMD_SIZE, PAGE_SIZE } from '../include/uapi.js';
import type { File } from '../fs/file.js';
import { IdSpace } from '../trace/ids.js';

// include/linux/mm.h vm_flags values
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_PFNMAP = 0x400;
export const VM_LOCKED = 0x2000;
export const VM_IO = 0x4000;
export const VM_DONTCOPY = 0x20000;
export const VM_DONTEXPAND = 0x40000;
export const VM_ACCOUNT = 0x100000;
export const VM_NORESERVE = 0x200000;
export const VM_HUGETLB = 0x400000;
export const VM_WIPEONFORK = 0x2000000;
export const VM_MIXEDMAP = 0x10000000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;

// PTE bits of the model (x86 names)
export const PTE_PRESENT = 1 << 0;
export const PTE_WRITE = 1 << 1;
export const PTE_DIRTY = 1 << 2;
export const PTE_YOUNG = 1 << 3;
/** pte_special(): no struct page behind it as far as vm_normal_page() is concerned (zero page). */
export const PTE_SPECIAL = 1 << 4;

/** A non-present entry left by memory_failure() (a hwpoison swap entry): not none, not a page. */
export const PTE_HWPOISON_ENTRY = -2;

export interface PmdEntry {
  pfn: number;
  bits: number;
}

export class Vma {
  readonly id: number;
  /** Byte addresses, page aligned; end exclusive. */
  start: number;
  end: number;
  flags: number;
  file: File | null;
  /** File page offset of `start`. */
  pgoff: number;
  /** Per page: the PFN mapped, or -1. */
  pte: Int32Array;
  bits: Uint8Array;
  readonly pmd = new Map<number, PmdEntry>();
  /** An anon_vma exists: the VMA has (had) anonymous pages, so fork copies its page tables. */
  anonVma = false;

  constructor(readonly mm: Mm, start: number, end: number, flags: number, file: File | null, pgoff: number) {
    this.id = mm.ids.take('vma');
    this.start = start;
    this.end = end;
    this.flags = flags;
    this.file = file;
    if (file) file.users++;
    this.pgoff = pgoff;
    const n = (end - start) / PAGE_SIZE;
    this.pte = new Int32Array(n).fill(-1);
    this.bits = new Uint8Array(n);
  }

  get nrPages(): number {
    return (this.end - this.start) / PAGE_SIZE;
  }

  idx(addr: number): number {
    return Math.floor((addr - this.start) / PAGE_SIZE);
  }

  contains(addr: number): boolean {
    return addr >= this.start && addr < this.end;
  }

  isAnonymous(): boolean {
    return this.file === null;
  }

  isShared(): boolean {
    return (this.flags & VM_SHARED) !== 0;
  }

  /** is_cow_mapping(): private and may become writable. */
  isCowMapping(): boolean {
    return (this.flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
  }

  /** File page index that addr maps (linear_page_index()). */
  fileIndex(addr: number): number {
    return this.pgoff + this.idx(addr);
  }

  pmdLookup(addr: number): PmdEntry | undefined {
    return this.pmd.size ? this.pmd.get(Math.floor(addr / HPAGE_PMD_SIZE)) : undefined;
  }

  /** The 2 MiB block of addr lies wholly inside the VMA. */
  pmdFits(addr: number): boolean {
    const hs = Math.floor(addr / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE;
    return hs >= this.start && hs + HPAGE_PMD_SIZE <= this.end;
  }

  ptesNone(from: number, nr: number): boolean {
    const i0 = this.idx(from);
    for (let i = i0; i < i0 + nr; i++) if (this.pte[i] !== -1) return false;
    return true;
  }
}

export class Mm {
  vmas: Vma[] = [];
  /** MMF_HAS_PINNED (mm->has_pinned before ~v5.15): set on the first FOLL_PIN, never cleared. */
  hasPinned = false;
  /** Odd while fork copies page tables (mm->write_protect_seq). */
  writeProtectSeq = 0;
  /**
   * mmap_lock held for writing by an operation the explorer has paused (fork between two PTEs):
   * operations that take mmap_lock wait; GUP-fast, which takes none, does not.
   */
  mmapWriteLocked = false;
  /**
   * The new mm a fork of this one is building (dup_mmap()'s mm), while the fork runs: its page
   * tables already map pages (and count in their mapcounts) before the child task exists, so the
   * invariants must walk them too when the explorer pauses the fork half-way.
   */
  forkChild: Mm | null = null;

  /**
   * The VMAs an rmap walk reaches through this mm's pages: its own and those of the child a fork is
   * building (kernel/fork.c dup_mmap() links each new VMA into i_mmap / the anon_vma before
   * copy_page_range() fills its page table).
   */
  get rmapVmas(): readonly Vma[] {
    return this.forkChild ? [...this.vmas, ...this.forkChild.vmas] : this.vmas;
  }
  /** Next address handed out by get_unmapped_area() (top-down). */
  mmapBase = 0x7f0000000000;
  users = 1;

  constructor(readonly id: number, readonly ids: IdSpace = new IdSpace()) {}

  /** find_vma() restricted to a VMA that contains addr (gup_vma_lookup() does not grow stacks). */
  findVma(addr: number): Vma | undefined {
    const v = this.vmas;
    let lo = 0;
    let hi = v.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = v[mid];
      if (addr < m.start) hi = mid - 1;
      else if (addr >= m.end) lo = mid + 1;
      else return m;
    }
    return undefined;
  }

  insertVma(vma: Vma): void {
    const i = this.vmas.findIndex((v) => v.start > vma.start);
    if (i < 0) this.vmas.push(vma);
    else this.vmas.splice(i, 0, vma);
  }

  removeVma(vma: Vma): void {
    const i = this.vmas.indexOf(vma);
    if (i >= 0) this.vmas.splice(i, 1);
  }
}

export class Task {
  exited = false;
  exitCode = 0;
  constructor(readonly pid: number, readonly name: string, public mm: Mm) {}
}

export const PMD_PAGES = HPAGE_PMD_NR;
