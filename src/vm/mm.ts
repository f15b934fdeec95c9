// Tasks, mm_structs, VMAs and page tables.
// Page tables are per VMA: a PFN and a byte of PTE bits per page, plus a small map of
// PMD (2 MiB) leaf entries keyed by the absolute PMD index (address >> 21).

import { HPAGE_PMD_NR, HPAGE_PMD_SIZE, PAGE_SIZE } from '../include/uapi.js';
import type { File, VmOperations } from '../include/linux/fs.js';
import { IdSpace } from '../trace/ids.js';
import type { PhysMem } from '../mm/memory.js';
import { stateKey, type Kernel } from '../kernel.js';
import { PTE_YOUNG, VM_SHARED, VM_MAYWRITE } from '../include/linux/mm.js';

/** A PMD leaf: changed only through the Vma's pmd accessors. */
export interface PmdEntry {
  readonly pfn: number;
  readonly bits: number;
}

interface PmdSlot {
  pfn: number;
  bits: number;
}

export class Vma {
  readonly id: number;
  /** vma->vm_file: set by mmap, never changed after (so reading it conflicts with nothing). */
  readonly file: File | null;
  /** vma->vm_ops: what the file's ->mmap installed (the file's table); null for anonymous memory. Fixed like vm_file. */
  readonly vm_ops: VmOperations | null;
  // The VMA's own fields, private to this class: kernel code reaches them through the accessors
  // below (start, end, flags, pgoff, anonVma), which record a read or a write of the VMA in the
  // step's footprint through the owning memory's fp (null while k.peek() runs and when footprints
  // are off, so the benchmarks pay a null check). Observers use the peek* readers.
  /** Byte addresses, page aligned; end exclusive. */
  private vm_start: number;
  private vm_end: number;
  private vm_flags: number;
  /** File page offset of `start`. */
  private vm_pgoff: number;
  /** An anon_vma exists: the VMA has (had) anonymous pages, so fork copies its page tables. */
  private anon_vma = false;
  /** The folio table whose fp records this VMA's accesses (k.mem). */
  private readonly mem: PhysMem;
  // The page table, private to this class: every access goes through the accessors below, which
  // record a read (get) or write (set) of the VMA in the step's footprint (k.mem.fp: null while
  // k.peek() runs and when footprints are off), so no operation can forget it. Observers that are
  // not kernel code use the peek* readers. Per page: the PFN mapped (-1: pte_none), and PTE bits.
  private ptes: Int32Array;
  private pteBits: Uint8Array;
  // PMD leaves keyed by absolute PMD index (address >> 21): private like the PTE arrays.
  private readonly pmds = new Map<number, PmdSlot>();

  constructor(readonly mm: Mm, start: number, end: number, flags: number, file: File | null, pgoff: number) {
    this.id = mm.ids.take('vma');
    this.mem = mm.mem;
    this.vm_start = start;
    this.vm_end = end;
    this.vm_flags = flags;
    this.file = file;
    this.vm_ops = file ? file.vm_ops : null;
    if (file) file.users++; // vma_link_file(): into i_mmap (records a write of the file)
    this.vm_pgoff = pgoff;
    const n = (end - start) / PAGE_SIZE;
    this.ptes = new Int32Array(n).fill(-1);
    this.pteBits = new Uint8Array(n);
  }

  private rd(): void {
    const fp = this.mem.fp;
    if (fp !== null) fp.read('vma', this.id);
  }

  private wr(): void {
    const fp = this.mem.fp;
    if (fp !== null) fp.write('vma', this.id);
  }

  /** vma->vm_start (records a read of the VMA). */
  get start(): number {
    this.rd();
    return this.vm_start;
  }

  /** vma->vm_end, exclusive (records a read). */
  get end(): number {
    this.rd();
    return this.vm_end;
  }

  /** Move vm_end (split_vma(), vma_shrink()); records a write. */
  set end(v: number) {
    this.wr();
    this.vm_end = v;
  }

  /** vma->vm_flags (records a read). */
  get flags(): number {
    this.rd();
    return this.vm_flags;
  }

  /** vm_flags_set()/vm_flags_reset() (records a write). */
  set flags(v: number) {
    this.wr();
    this.vm_flags = v;
  }

  /** vma->vm_pgoff: the file page offset of start (records a read). */
  get pgoff(): number {
    this.rd();
    return this.vm_pgoff;
  }

  /** vma->anon_vma is set: the VMA has (had) anonymous pages, so fork copies its page tables (records a read). */
  get anonVma(): boolean {
    this.rd();
    return this.anon_vma;
  }

  /** anon_vma_prepare() (records a read, and a write when the VMA had none). */
  set anonVma(v: boolean) {
    const fp = this.mem.fp;
    if (fp !== null) {
      fp.read('vma', this.id);
      if (v !== this.anon_vma) fp.write('vma', this.id);
    }
    this.anon_vma = v;
  }

  /** An observer's look at vm_start (invariants, queries, trace rendering): records nothing. */
  peekStart(): number {
    return this.vm_start;
  }

  /** An observer's look at vm_end: records nothing. */
  peekEnd(): number {
    return this.vm_end;
  }

  /** An observer's look at vm_flags: records nothing. */
  peekFlags(): number {
    return this.vm_flags;
  }

  /** An observer's look at vm_pgoff: records nothing. */
  peekPgoff(): number {
    return this.vm_pgoff;
  }

  /** ptep_get(): the PFN the PTE at page index i maps, -1 for pte_none (records a read). */
  ptep_get(k: Kernel, i: number): number {
    const fp = k.mem.fp;
    if (fp !== null) fp.read('vma', this.id);
    return this.ptes[i];
  }

  /** The PTE's bits (pte_write(), pte_dirty(), ... of ptep_get()); records a read. */
  ptep_get_bits(k: Kernel, i: number): number {
    const fp = k.mem.fp;
    if (fp !== null) fp.read('vma', this.id);
    return this.pteBits[i];
  }

  /** set_pte_at(): install pfn with bits at page index i (records a write). */
  set_pte_at(k: Kernel, i: number, pfn: number, bits: number): void {
    const fp = k.mem.fp;
    if (fp !== null) fp.write('vma', this.id);
    this.ptes[i] = pfn;
    this.pteBits[i] = bits;
  }

  /** pte_clear(): the PTE at page index i becomes pte_none (records a write). */
  pte_clear(k: Kernel, i: number): void {
    const fp = k.mem.fp;
    if (fp !== null) fp.write('vma', this.id);
    this.ptes[i] = -1;
    this.pteBits[i] = 0;
  }

  /**
   * Set bits in a present PTE (pte_mkdirty(), pte_mkyoung(), ptep_set_access_flags()): records a
   * read, and a write when a bit other than PTE_YOUNG changes (PTE_YOUNG is read by nothing, so
   * setting it conflicts with nothing).
   */
  ptep_set_bits(k: Kernel, i: number, bits: number): void {
    const old = this.pteBits[i];
    const fp = k.mem.fp;
    if (fp !== null) {
      fp.read('vma', this.id);
      if (((old | bits) ^ old) & ~PTE_YOUNG) fp.write('vma', this.id);
    }
    this.pteBits[i] = old | bits;
  }

  /** Clear bits of a PTE (ptep_set_wrprotect(), pte_mkclean()): records a read, and a write when a bit changes. */
  ptep_clear_bits(k: Kernel, i: number, bits: number): void {
    const old = this.pteBits[i];
    const fp = k.mem.fp;
    if (fp !== null) {
      fp.read('vma', this.id);
      if (old & bits & ~PTE_YOUNG) fp.write('vma', this.id);
    }
    this.pteBits[i] = old & ~bits;
  }

  /** Clear bits in every PTE of the VMA (change_protection() over the whole VMA); records a write. */
  ptesClearBits(k: Kernel, bits: number): void {
    const fp = k.mem.fp;
    if (fp !== null) fp.write('vma', this.id);
    const b = this.pteBits;
    for (let i = 0; i < b.length; i++) b[i] &= ~bits;
  }

  /**
   * The first page index >= from whose PTE maps a PFN in [lo, hi), or -1: an rmap walk's page
   * table scan (page_vma_mapped_walk()); records one read of the VMA.
   */
  ptesFind(k: Kernel, from: number, lo: number, hi: number): number {
    const fp = k.mem.fp;
    if (fp !== null) fp.read('vma', this.id);
    const p = this.ptes;
    for (let i = from; i < p.length; i++) if (p[i] >= lo && p[i] < hi) return i;
    return -1;
  }

  /** Move the page table of pages [cut, nrPages) into hi and shrink this one (split_vma()); records writes of both. */
  splitPageTables(k: Kernel, hi: Vma, cut: number): void {
    const fp = k.mem.fp;
    if (fp !== null) {
      fp.write('vma', this.id);
      fp.write('vma', hi.id);
    }
    hi.ptes.set(this.ptes.subarray(cut));
    hi.pteBits.set(this.pteBits.subarray(cut));
    this.ptes = this.ptes.slice(0, cut);
    this.pteBits = this.pteBits.slice(0, cut);
    const at = this.start + cut * PAGE_SIZE;
    for (const [b, e] of this.pmds) {
      if (b * HPAGE_PMD_SIZE >= at) {
        hi.pmds.set(b, e);
        this.pmds.delete(b);
      }
    }
  }

  /** An observer's read of the PTE's PFN (invariants, queries, trace rendering): records nothing. */
  peekPte(i: number): number {
    return this.ptes[i];
  }

  /** An observer's read of the PTE's bits: records nothing. */
  peekPteBits(i: number): number {
    return this.pteBits[i];
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

  /** pmdp_get() of a PMD leaf: the leaf mapping addr, if any; records a read of the VMA. */
  pmd_get(k: Kernel, addr: number): PmdEntry | undefined {
    const fp = k.mem.fp;
    if (fp !== null) fp.read('vma', this.id);
    return this.pmds.size ? this.pmds.get(Math.floor(addr / HPAGE_PMD_SIZE)) : undefined;
  }

  /** The PMD leaves by block (absolute PMD index), read-only; records a read of the VMA. */
  pmdLeaves(k: Kernel): ReadonlyMap<number, PmdEntry> {
    const fp = k.mem.fp;
    if (fp !== null) fp.read('vma', this.id);
    return this.pmds;
  }

  /** set_pmd_at(): install a PMD leaf at block; records a write. */
  set_pmd_at(k: Kernel, block: number, pfn: number, bits: number): void {
    const fp = k.mem.fp;
    if (fp !== null) fp.write('vma', this.id);
    this.pmds.set(block, { pfn, bits });
  }

  /** pmd_clear(): remove the PMD leaf at block; records a write. */
  pmd_clear(k: Kernel, block: number): void {
    const fp = k.mem.fp;
    if (fp !== null) fp.write('vma', this.id);
    this.pmds.delete(block);
  }

  /** Set bits of the PMD leaf at block (pmd_mkdirty(), touch_pmd()): as ptep_set_bits(). */
  pmd_set_bits(k: Kernel, block: number, bits: number): void {
    const e = this.pmds.get(block);
    if (!e) return;
    const old = e.bits;
    const fp = k.mem.fp;
    if (fp !== null) {
      fp.read('vma', this.id);
      if (((old | bits) ^ old) & ~PTE_YOUNG) fp.write('vma', this.id);
    }
    e.bits = old | bits;
  }

  /** Clear bits of the PMD leaf at block (pmdp_set_wrprotect()): as ptep_clear_bits(). */
  pmd_clear_bits(k: Kernel, block: number, bits: number): void {
    const e = this.pmds.get(block);
    if (!e) return;
    const old = e.bits;
    const fp = k.mem.fp;
    if (fp !== null) {
      fp.read('vma', this.id);
      if (old & bits & ~PTE_YOUNG) fp.write('vma', this.id);
    }
    e.bits = old & ~bits;
  }

  /** An observer's look at the PMD leaf mapping addr: records nothing. */
  peekPmd(addr: number): PmdEntry | undefined {
    return this.pmds.size ? this.pmds.get(Math.floor(addr / HPAGE_PMD_SIZE)) : undefined;
  }

  /** An observer's look at the PMD leaves: records nothing. */
  peekPmdLeaves(): ReadonlyMap<number, PmdEntry> {
    return this.pmds;
  }

  /** The 2 MiB block of addr lies wholly inside the VMA. */
  pmdFits(addr: number): boolean {
    const hs = Math.floor(addr / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE;
    return hs >= this.start && hs + HPAGE_PMD_SIZE <= this.end;
  }

  /** pte_range_none(): no PTE in [from, from + nr pages) is populated; records a read. */
  ptesNone(k: Kernel, from: number, nr: number): boolean {
    const fp = k.mem.fp;
    if (fp !== null) fp.read('vma', this.id);
    const i0 = this.idx(from);
    for (let i = i0; i < i0 + nr; i++) if (this.ptes[i] !== -1) return false;
    return true;
  }
}

export class Mm {
  // The VMA list (the kernel's maple tree mm->mm_mt), in address order, private: find_vma(),
  // vmaList() and rmapVmas() record a read of the mm, insertVma()/removeVma() a write (k.mem.fp:
  // nothing under k.peek()); observers use the peek* readers.
  private vmaTree: Vma[] = [];
  // The mm's own fields, private like the VMA list: kernel code reaches them through the
  // accessors below, which record a read or write of the mm (the same id as the VMA list: fork and
  // mmap change both together); observers use the peek* readers.
  /** MMF_HAS_PINNED (mm->has_pinned before ~v5.15): set on the first FOLL_PIN, never cleared. */
  private has_pinned = false;
  /** Odd while fork copies page tables (mm->write_protect_seq). */
  private write_protect_seq = 0;
  /**
   * mmap_lock held for writing by an operation the explorer has paused (fork between two PTEs):
   * operations that take mmap_lock wait; GUP-fast, which takes none, does not.
   */
  private mmap_write_locked = false;
  /**
   * The new mm a fork of this one is building (dup_mmap()'s mm), while the fork runs: its page
   * tables already map pages (and count in their mapcounts) before the child task exists, so the
   * invariants must walk them too when the explorer pauses the fork half-way.
   */
  private fork_child: Mm | null = null;
  /** Next address handed out by get_unmapped_area() (top-down): mm->mmap_base. */
  private mmap_base = 0x7f0000000000;
  /** mm->mm_users */
  private mm_users = 1;

  constructor(readonly id: number, readonly ids: IdSpace, readonly mem: PhysMem) {}

  private rd(): void {
    const fp = this.mem.fp;
    if (fp !== null) fp.read('mm', this.id);
  }

  private wr(): void {
    const fp = this.mem.fp;
    if (fp !== null) fp.write('mm', this.id);
  }

  /** MMF_HAS_PINNED is set (records a read of the mm). */
  get hasPinned(): boolean {
    this.rd();
    return this.has_pinned;
  }

  /**
   * mm_set_has_pinned_flag() (mm/gup.c): tests the bit and sets it only when clear, so it records
   * a read, and a write only when the value changes (a pin of an mm already marked writes nothing).
   */
  set hasPinned(v: boolean) {
    const fp = this.mem.fp;
    if (fp !== null) {
      fp.read('mm', this.id);
      if (v !== this.has_pinned) fp.write('mm', this.id);
    }
    this.has_pinned = v;
  }

  /** raw_read_seqcount(&mm->write_protect_seq) (records a read). */
  get writeProtectSeq(): number {
    this.rd();
    return this.write_protect_seq;
  }

  /** raw_write_seqcount_begin()/_end() (records a write). */
  set writeProtectSeq(v: number) {
    this.wr();
    this.write_protect_seq = v;
  }

  /** mmap_lock is held for writing by a paused operation (records a read). */
  get mmapWriteLocked(): boolean {
    this.rd();
    return this.mmap_write_locked;
  }

  /** mmap_write_lock()/mmap_write_unlock() around a pausable operation (records a write). */
  set mmapWriteLocked(v: boolean) {
    this.wr();
    this.mmap_write_locked = v;
  }

  /** The mm a fork of this one is building (records a read). */
  get forkChild(): Mm | null {
    this.rd();
    return this.fork_child;
  }

  /** Records a write. */
  set forkChild(v: Mm | null) {
    this.wr();
    this.fork_child = v;
  }

  /** mm->mmap_base (records a read). */
  get mmapBase(): number {
    this.rd();
    return this.mmap_base;
  }

  /** Records a write. */
  set mmapBase(v: number) {
    this.wr();
    this.mmap_base = v;
  }

  /** mm->mm_users (records a read). */
  get users(): number {
    this.rd();
    return this.mm_users;
  }

  /** mmget()/mmput() (records a write). */
  set users(v: number) {
    this.wr();
    this.mm_users = v;
  }

  /** Observers' looks at the mm's fields (queries, the scheduler, invariants): record nothing. */
  peekHasPinned(): boolean {
    return this.has_pinned;
  }

  peekMmapWriteLocked(): boolean {
    return this.mmap_write_locked;
  }

  peekForkChild(): Mm | null {
    return this.fork_child;
  }

  /**
   * The VMAs an rmap walk reaches through this mm's pages: its own and those of the child a fork is
   * building (kernel/fork.c dup_mmap() links each new VMA into i_mmap / the anon_vma before
   * copy_page_range() fills its page table).
   */
  rmapVmas(k: Kernel): readonly Vma[] {
    const fp = k.mem.fp;
    if (fp !== null) {
      fp.read('mm', this.id);
      if (this.fork_child) fp.read('mm', this.fork_child.id);
    }
    return this.fork_child ? [...this.vmaTree, ...this.fork_child.vmaTree] : this.vmaTree;
  }

  /** rmapVmas() for observers (invariant checks): records nothing. */
  peekRmapVmas(): readonly Vma[] {
    return this.fork_child ? [...this.vmaTree, ...this.fork_child.vmaTree] : this.vmaTree;
  }

  /** The VMAs in address order (for_each_vma()); records a read of the mm. */
  vmaList(k: Kernel): readonly Vma[] {
    const fp = k.mem.fp;
    if (fp !== null) fp.read('mm', this.id);
    return this.vmaTree;
  }

  /** The VMAs for observers (queries, trace rendering, tests): records nothing. */
  peekVmas(): readonly Vma[] {
    return this.vmaTree;
  }

  /** find_vma() restricted to a VMA that contains addr (gup_vma_lookup() does not grow stacks); records a read of the mm. */
  find_vma(k: Kernel, addr: number): Vma | undefined {
    const fp = k.mem.fp;
    if (fp !== null) fp.read('mm', this.id);
    return this.peekVma(addr);
  }

  /** find_vma() for observers: records nothing. */
  peekVma(addr: number): Vma | undefined {
    const v = this.vmaTree;
    let lo = 0;
    let hi = v.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = v[mid];
      // The bounds are read under the mm's read: they change only with a write of the mm (split, munmap).
      if (addr < m.peekStart()) hi = mid - 1;
      else if (addr >= m.peekEnd()) lo = mid + 1;
      else return m;
    }
    return undefined;
  }

  /** vma_link(): insert into the VMA list; records a write of the mm (find_vma() readers conflict). */
  insertVma(k: Kernel, vma: Vma): void {
    const fp = k.mem.fp;
    if (fp !== null) {
      fp.write('mm', this.id);
      fp.write('vma', vma.id); // a new VMA: whoever finds it later depends on this step
    }
    const i = this.vmaTree.findIndex((v) => v.peekStart() > vma.peekStart());
    if (i < 0) this.vmaTree.push(vma);
    else this.vmaTree.splice(i, 0, vma);
  }

  /** Unlink from the VMA list (vms_complete_munmap_vmas()); records a write of the mm. */
  removeVma(k: Kernel, vma: Vma): void {
    const fp = k.mem.fp;
    if (fp !== null) {
      fp.write('mm', this.id);
      fp.write('vma', vma.id); // gone: a paused operation holding it conflicts with this
    }
    const i = this.vmaTree.indexOf(vma);
    if (i >= 0) this.vmaTree.splice(i, 1);
  }
}

export class Task {
  // Private like the mm's fields: exited and exitCode record a read or write of the task
  // ('task', by pid) through the mm's footprint; observers use peekExited().
  private is_exited = false;
  private exit_code = 0;
  constructor(readonly pid: number, readonly name: string, readonly mm: Mm) {}

  /** The task has exited (records a read of the task: an rmap walk that skips it depends on the exit). */
  get exited(): boolean {
    this.mm.mem.fp?.read('task', this.pid);
    return this.is_exited;
  }

  /** do_exit() (records a write of the task). */
  set exited(v: boolean) {
    this.mm.mem.fp?.write('task', this.pid);
    this.is_exited = v;
  }

  /** The exit code (records a read). */
  get exitCode(): number {
    this.mm.mem.fp?.read('task', this.pid);
    return this.exit_code;
  }

  /** Records a write. */
  set exitCode(v: number) {
    this.mm.mem.fp?.write('task', this.pid);
    this.exit_code = v;
  }

  /** An observer's look at exited (the scenario runner, queries, invariants): records nothing. */
  peekExited(): boolean {
    return this.is_exited;
  }
}

export const PMD_PAGES = HPAGE_PMD_NR;

/**
 * The task list (kernel/fork.c, kernel/pid.c) and its notifier chains: fork hooks (copy_files(),
 * ...) and exit hooks (exit_files(), ...). Per kernel, in a state slot: the Kernel knows no task.
 */
class TaskList {
  // Private: tasks() records a read of the task list ('task' 0), createTask() a write.
  private readonly byName = new Map<string, Task>();
  private nextPid = 1;
  private nextMmId = 1;
  readonly forkHooks: Array<(parent: Task, child: Task) => void> = [];
  readonly exitHooks: Array<(task: Task) => void> = [];

  constructor(private readonly mem: PhysMem) {}

  list(): ReadonlyMap<string, Task> {
    this.mem.fp?.read('task', 0);
    return this.byName;
  }

  peek(): ReadonlyMap<string, Task> {
    return this.byName;
  }

  /** alloc_pid(), mm ids: numbering, not state any operation reads. */
  takePid(): number {
    return this.nextPid++;
  }

  takeMmId(): number {
    return this.nextMmId++;
  }

  add(t: Task): void {
    this.mem.fp?.write('task', 0);
    this.byName.set(t.name, t);
  }
}

const TASKS = stateKey('tasks', (k) => new TaskList(k.mem));

/** Every task by name, in creation order (exited ones too, marked exited): for_each_process(); records a read of the task list. */
export function tasks(k: Kernel): ReadonlyMap<string, Task> {
  return k.state(TASKS).list();
}

/** tasks() for observers (the scenario runner, queries, invariants): records nothing. */
export function peekTasks(k: Kernel): ReadonlyMap<string, Task> {
  return k.state(TASKS).peek();
}

/** mm_alloc(): a new, empty mm_struct. */
export function mm_alloc(k: Kernel): Mm {
  return new Mm(k.state(TASKS).takeMmId(), k.ids, k.mem);
}

export function createTask(k: Kernel, name: string, mm?: Mm): Task {
  const tl = k.state(TASKS);
  if (tl.peek().has(name)) throw new RangeError(`task '${name}' already exists`);
  const t = new Task(tl.takePid(), name, mm ?? mm_alloc(k));
  tl.add(t);
  return t;
}

export function findTask(k: Kernel, name: string): Task {
  const t = k.state(TASKS).list().get(name);
  if (!t) throw new RangeError(`no task named '${name}'`);
  return t;
}

/** Run when fork() has created a child (copy_files(), ...). */
export function onFork(k: Kernel, fn: (parent: Task, child: Task) => void): void {
  k.state(TASKS).forkHooks.push(fn);
}

export function runForkHooks(k: Kernel, parent: Task, child: Task): void {
  for (const fn of k.state(TASKS).forkHooks) fn(parent, child);
}

/** Run when a task exits, after its mm went (do_exit(): exit_mm(), then exit_files(), ...). */
export function onExit(k: Kernel, fn: (task: Task) => void): void {
  k.state(TASKS).exitHooks.push(fn);
}

export function runExitHooks(k: Kernel, task: Task): void {
  for (const fn of k.state(TASKS).exitHooks) fn(task);
}
