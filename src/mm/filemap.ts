// The page cache's side of folio->mapping (mm/filemap.c): the model's folio table stores a file id
// in `mapping`; this per-kernel table turns it back into the file (the inode and its
// address_space), and lists the files a scenario made (the superblocks' inode lists).

import { stateKey, type Kernel } from '../kernel.js';
import type { AddressSpaceOperations, File, FileIndex, FileIndexSet, FileSystemType, VmOperations } from '../include/linux/fs.js';
import type { PhysMem } from './memory.js';
import { PG_uptodate, PG_fsdax, PG_lru, PG_swapbacked } from './page-flags.js';

/** Ids before registration; registerFile() gives each file its per-kernel id. */
let provisionalId = 1 << 30;

/** A FileIndex (include/linux/fs.ts) that records each access as a read or write of its file. */
class RecordingIndex implements FileIndex {
  private readonly m = new Map<number, number>();
  constructor(private readonly owner: Inode) {}
  get size(): number {
    this.owner.recordRead();
    return this.m.size;
  }
  get(index: number): number | undefined {
    this.owner.recordRead();
    return this.m.get(index);
  }
  has(index: number): boolean {
    this.owner.recordRead();
    return this.m.has(index);
  }
  set(index: number, v: number): void {
    this.owner.recordWrite();
    this.m.set(index, v);
  }
  delete(index: number): boolean {
    this.owner.recordRead();
    const had = this.m.delete(index);
    if (had) this.owner.recordWrite();
    return had;
  }
  keys(): IterableIterator<number> {
    this.owner.recordRead();
    return this.m.keys();
  }
  values(): IterableIterator<number> {
    this.owner.recordRead();
    return this.m.values();
  }
  entries(): IterableIterator<[number, number]> {
    this.owner.recordRead();
    return this.m.entries();
  }
  [Symbol.iterator](): IterableIterator<[number, number]> {
    return this.entries();
  }
  /** For observers (queries, invariants): records nothing. */
  peek(): ReadonlyMap<number, number> {
    return this.m;
  }
}

/** A FileIndexSet that records like RecordingIndex. */
class RecordingIndexSet implements FileIndexSet {
  private readonly s = new Set<number>();
  constructor(private readonly owner: Inode) {}
  get size(): number {
    this.owner.recordRead();
    return this.s.size;
  }
  has(index: number): boolean {
    this.owner.recordRead();
    return this.s.has(index);
  }
  add(index: number): void {
    this.owner.recordWrite();
    this.s.add(index);
  }
  delete(index: number): boolean {
    this.owner.recordRead();
    const had = this.s.delete(index);
    if (had) this.owner.recordWrite();
    return had;
  }
  [Symbol.iterator](): IterableIterator<number> {
    this.owner.recordRead();
    return this.s.values();
  }
  peek(): ReadonlySet<number> {
    return this.s;
  }
}

/**
 * An inode and its page cache (struct inode + struct address_space) on a filesystem whose tables
 * it takes at creation (fs/file.ts File names the filesystems by name; mm/shmem.ts makes shmem's).
 * Its state is private: i_size and the users count through getters and setters, the page cache,
 * the disk and the delalloc set through recording indexes, each access recorded as a read or
 * write of the file ('file', by id) once the file is registered with a kernel (registerFile()).
 */
export class Inode implements File {
  private ino = provisionalId++;
  /** The folio table whose fp records the accesses (k.mem); null until registered. */
  private mem: PhysMem | null = null;
  private i_size: number;
  private nr_users = 0;
  private readonly i_pages = new RecordingIndex(this);
  private readonly blocks = new RecordingIndex(this);
  /**
   * Delayed allocation (ext4 delalloc, the default): indices whose buffers were mapped with a
   * reservation but no block yet (BH_Delay; fs/ext4/inode.c ext4_da_get_block_prep()). The block
   * is allocated when writeback submits the folio (mpage_map_and_submit_extent()).
   */
  private readonly delayed = new RecordingIndexSet(this);
  readonly a_ops: AddressSpaceOperations;
  readonly vm_ops: VmOperations;

  /**
   * anonymous: the unnamed tmpfs file behind MAP_SHARED|MAP_ANONYMOUS (shmem_zero_setup()); its
   * inode, and so its pages, go away with the last VMA. Named files stay in the page cache.
   */
  constructor(readonly name: string, readonly fstype: FileSystemType, size: number, readonly anonymous = false) {
    this.i_size = size;
    this.a_ops = fstype.a_ops;
    this.vm_ops = fstype.vm_ops;
  }

  /** The inode number: given once by registerFile(), read by nothing that can race it. */
  get id(): number {
    return this.ino;
  }

  /** registerFile(): the per-kernel id, and the kernel's memory whose fp records the accesses. */
  register(id: number, mem: PhysMem): void {
    this.ino = id;
    this.mem = mem;
  }

  recordRead(): void {
    const fp = this.mem?.fp;
    if (fp) fp.read('file', this.ino);
  }

  recordWrite(): void {
    const fp = this.mem?.fp;
    if (fp) fp.write('file', this.ino);
  }

  /** i_size_read() (records a read of the file). */
  get size(): number {
    this.recordRead();
    return this.i_size;
  }

  /** i_size_write() (records a write). */
  set size(v: number) {
    this.recordWrite();
    this.i_size = v;
  }

  /** The VMAs holding the file (vm_file references; records a read). */
  get users(): number {
    this.recordRead();
    return this.nr_users;
  }

  /** Records a write. */
  set users(v: number) {
    this.recordWrite();
    this.nr_users = v;
  }

  get cache(): FileIndex {
    return this.i_pages;
  }

  get disk(): FileIndex {
    return this.blocks;
  }

  get delalloc(): FileIndexSet {
    return this.delayed;
  }

  /** Observers' looks (queries, invariants, trace rendering): record nothing. */
  peekSize(): number {
    return this.i_size;
  }

  peekCache(): ReadonlyMap<number, number> {
    return this.i_pages.peek();
  }

  peekDisk(): ReadonlyMap<number, number> {
    return this.blocks.peek();
  }

  peekDelalloc(): ReadonlySet<number> {
    return this.delayed.peek();
  }
}

class FileTable {
  /** By name, as scenarios and tests name them. */
  readonly byName = new Map<string, File>();
  readonly byId = new Map<number, File>();
}

const FILES = stateKey('files', () => new FileTable());

/** Every named file (the page caches a scenario can reach by name). */
export function files(k: Kernel): Map<string, File> {
  return k.state(FILES).byName;
}

/** Give the file its per-kernel id (inode number) so folio->mapping can name it. */
export function registerFile(k: Kernel, f: File): void {
  if (!(f instanceof Inode)) throw new TypeError(`registerFile(): ${f.name} is not an Inode`);
  f.register(k.ids.take('file'), k.mem);
  k.state(FILES).byId.set(f.id, f);
}

export function fileById(k: Kernel, id: number): File | undefined {
  return k.state(FILES).byId.get(id);
}

/** folio->mapping->host: the file whose page cache holds the folio, or null (anonymous, or truncated away). */
export function folio_file(k: Kernel, head: number): File | null {
  const id = k.mem.mappingOf(head);
  return id > 0 ? fileById(k, id) ?? null : null;
}

/** shmem_mapping() (mm/shmem.c): the mapping's a_ops are shmem_aops. */
export function shmem_mapping(f: File): boolean {
  return f.a_ops.name === 'shmem_aops';
}

/**
 * filemap_fault() / shmem_fault() / ext4_dax_fault() minus I/O waits: find the folio for index in
 * the page cache, or allocate one, read it in and add it (the cache holds one reference). Returns
 * the PFN or -1 on OOM.
 */
export function filemap_fault(k: Kernel, file: File, index: number): { pfn: number; major: boolean } {
  const cached = file.cache.get(index);
  if (cached !== undefined) {
    k.fp.read('folio', cached);
    return { pfn: cached, major: false };
  }
  // A model limit, not the kernel's: folio->index is an Int32Array entry here, so the page cache
  // holds files up to 8 TiB (ext4 allows 16 TiB, tmpfs 8 EiB).
  if (index > 0x7fffffff) {
    throw new RangeError(`page ${index} of ${file.name} (offset ${index * 4096}) is past what the model's page cache indexes (2^31 pages, 8 TiB)`);
  }
  const mem = k.mem;
  const pfn = mem.allocFolio(k.gfpUser(), 0, 'filemap_alloc_folio');
  if (pfn < 0) return { pfn: -1, major: false };
  const shmem = shmem_mapping(file);
  // A DAX "page" is persistent memory mapped directly; the model keeps it in the cache map with PG_fsdax.
  // ext4's read path (ext4_mpage_readpages()) reads whole-page blocks without attaching buffers.
  mem.set(pfn, PG_uptodate | (file.fstype.dax ? PG_fsdax : PG_lru) | (shmem ? PG_swapbacked : 0));
  mem.setMapping(pfn, file.id);
  mem.setIndex(pfn, index);
  mem.setContent(pfn, file.disk.get(index) ?? 0);
  file.cache.set(index, pfn);
  return { pfn, major: !shmem };
}

/**
 * filemap_remove_folio() (mm/filemap.c): the folio leaves the page cache — folio->mapping cleared —
 * and the page cache's reference is dropped. Whoever still holds a reference (a pin, a GET) keeps
 * an orphan with no mapping; the last put frees it. The caller has dealt with buffers and dirt.
 */
export function filemap_remove_folio(k: Kernel, file: File, head: number): void {
  const mem = k.mem;
  const index = mem.indexOf(head);
  file.cache.delete(index);
  file.delalloc.delete(index);
  mem.setMapping(head, 0);
  mem.putRefs(head, 1);
}
