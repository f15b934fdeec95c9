// A minimal page cache for file-backed and shmem mappings (mm/filemap.c, mm/shmem.c).
// Issue "users of pins" grows this into a block filesystem with buffer heads and writeback.

import type { Kernel } from '../kernel.js';
import { PG_dirty, PG_fsdax, PG_lru, PG_private, PG_swapbacked, PG_uptodate } from '../mm/page-flags.js';

/** ext4-dax: ext4 mounted -o dax on persistent memory (IS_DAX inodes, vma_is_fsdax()). */
export type FsKind = 'ext4' | 'tmpfs' | 'ext4-dax';

let nextFileId = 1;

export class File {
  readonly id = nextFileId++;
  /** index → head PFN of the cached folio */
  readonly cache = new Map<number, number>();
  /** What the disk holds per page index (content tokens); absent = zeros / hole. */
  readonly disk = new Map<number, number>();

  /** VMAs holding the file (vma->vm_file references). */
  users = 0;

  /**
   * anonymous: the unnamed tmpfs file behind MAP_SHARED|MAP_ANONYMOUS (shmem_zero_setup()); its
   * inode, and so its pages, go away with the last VMA. Named files stay in the page cache.
   */
  constructor(readonly name: string, readonly fs: FsKind, public size: number, readonly anonymous = false) {}

  /** vm_ops->page_mkwrite present (ext4_page_mkwrite); tmpfs has none. */
  get hasPageMkwrite(): boolean {
    return this.fs !== 'tmpfs';
  }

  /** mapping_can_writeback(): the mapping writes back to a backing device. shmem does not. */
  get canWriteback(): boolean {
    return this.fs !== 'tmpfs';
  }

  /** vma_is_fsdax(): the file is a DAX inode on a filesystem (not device-dax). */
  get isFsdax(): boolean {
    return this.fs === 'ext4-dax';
  }

  get isShmem(): boolean {
    return this.fs === 'tmpfs';
  }
}

/**
 * filemap_fault() / shmem_fault() minus I/O waits: find the folio for index in the page cache,
 * or allocate one, read it in and add it (the cache holds one reference). Returns the PFN or -1 on OOM.
 */
export function filemapGetFolio(k: Kernel, file: File, index: number): { pfn: number; major: boolean } {
  const cached = file.cache.get(index);
  if (cached !== undefined) {
    k.fp.read('folio', cached);
    return { pfn: cached, major: false };
  }
  const mem = k.mem;
  const pfn = mem.allocFolio(k.gfpUser(), 0);
  if (pfn < 0) return { pfn: -1, major: false };
  // A DAX "page" is persistent memory mapped directly; the model keeps it in the cache map with PG_fsdax.
  mem.flags[pfn] |= PG_uptodate | (file.isFsdax ? PG_fsdax : PG_lru) | (file.isShmem ? PG_swapbacked : 0);
  mem.mapping[pfn] = file.id;
  mem.index[pfn] = index;
  mem.content[pfn] = file.disk.get(index) ?? 0;
  file.cache.set(index, pfn);
  k.fp.write('file', file.id);
  return { pfn, major: !file.isShmem };
}

/** folio_mark_dirty() through the mapping's ->dirty_folio (block_dirty_folio / noop for shmem). */
export function folioMarkDirty(k: Kernel, head: number): void {
  k.mem.set(head, PG_dirty);
}

/** ->page_mkwrite (ext4_page_mkwrite): allocate blocks, attach buffer heads, dirty the folio. */
export function pageMkwrite(k: Kernel, file: File, head: number): void {
  if (!file.hasPageMkwrite) return;
  k.mem.set(head, PG_private);
  folioMarkDirty(k, head);
}

/** Drop every cached page of a file (truncate_inode_pages at inode eviction). */
export function dropFileCache(k: Kernel, file: File): void {
  const mem = k.mem;
  for (const [index, pfn] of [...file.cache]) {
    if (mem.test(pfn, PG_dirty)) file.disk.set(index, mem.content[pfn]);
    mem.clear(pfn, PG_private | PG_dirty);
    mem.mapping[pfn] = 0;
    file.cache.delete(index);
    mem.putRefs(pfn, 1);
  }
}
