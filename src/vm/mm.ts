// Tasks, mm_structs, VMAs and page tables.
// Page tables are per VMA: a PFN and a byte of PTE bits per page, plus a small map of
// PMD (2 MiB) leaf entries keyed by the absolute PMD index (address >> 21).

import { HPAGE_PMD_NR, HPAGE_PMD_SIZE, PAGE_SIZE } from '../include/uapi.js';
import type { File } from '../fs/file.js';
import { IdSpace } from '../trace/ids.js';
import { VM_SHARED, VM_MAYWRITE } from '../include/linux/mm.js';

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
