// The page cache of a file (mm/filemap.c, mm/shmem.c) and the ext4 address_space operations the
// rest of the model calls into: ->dirty_folio, ->page_mkwrite. Writeback, reclaim, truncate and the
// read/write paths live next to this file (writeback.ts, reclaim.ts, truncate.ts, filemap.ts, read_write.ts).
//
// Buffer heads are one bit per folio: PG_private set = buffers attached (folio_buffers() != NULL).
// The block size equals the page size (ext4 with 4 KiB blocks, as in spec R112), so a folio has
// one buffer, and "the buffers are dirty" is the folio's dirty flag. In the kernel attaching
// buffers also takes a folio reference (folio_attach_private()), and every refcount check counts
// it back (folio_has_private() in mapping_evict_folio(), folio_expected_ref_count()); the model
// leaves both out, so its refcount checks read "page cache + mappings + callers" only.

import type { Kernel } from '../kernel.js';
import type { Bio } from '../block/bio.js';
import { blk_wait_bios } from '../block/blkdev.js';
import { MAX_LFS_FILESIZE } from '../include/uapi.js';
import { PG_dirty, PG_fsdax, PG_lru, PG_private, PG_swapbacked, PG_uptodate } from '../mm/page-flags.js';

/** ext4-dax: ext4 mounted -o dax on persistent memory (IS_DAX inodes, vma_is_fsdax()). */
/** vfat: a block filesystem whose O_DIRECT still goes through legacy fs/direct-io.c (R98). */
/** blkdev: a raw block device node (/dev/sdX): O_DIRECT goes to block/fops.c blkdev_direct_IO() (R97); size = device size. */
export type FsKind = 'ext4' | 'tmpfs' | 'ext4-dax' | 'vfat' | 'blkdev';

/** ext4_max_size() for an extent-mapped file with 4 KiB blocks: 16 TiB - 4 KiB. */
export const EXT4_MAX_SIZE = (2 ** 32 - 1) * 4096;

/**
 * sb->s_maxbytes, the largest file size: ext4 with extents and 4 KiB blocks ((2^32 - 1) << 12,
 * fs/ext4/super.c ext4_max_size(); the host's ext4 refuses one byte more with -EFBIG), vfat
 * 0xffffffff (fs/fat/inode.c fat_fill_super()), tmpfs and block devices MAX_LFS_FILESIZE.
 */
export function sMaxbytes(fs: FsKind): number {
  switch (fs) {
    case 'ext4':
    case 'ext4-dax': return EXT4_MAX_SIZE;
    case 'vfat': return 0xffffffff;
    default: return MAX_LFS_FILESIZE;
  }
}

/** Ids before registration; Kernel.registerFile() gives each file its per-kernel id. */
let provisionalId = 1 << 30;

export class File {
  id = provisionalId++;
  /** index → head PFN of the cached folio */
  readonly cache = new Map<number, number>();
  /** What the disk holds per page index (content tokens); absent = no block allocated (a hole, reads as zeros). */
  readonly disk = new Map<number, number>();
  /**
   * Delayed allocation (ext4 delalloc, the default): indices whose buffers were mapped with a
   * reservation but no block yet (BH_Delay; fs/ext4/inode.c ext4_da_get_block_prep()). The block
   * is allocated when writeback submits the folio (mpage_map_and_submit_extent()).
   */
  readonly delalloc = new Set<number>();
  /** Folios under writeback: index → the write bio in flight (PG_writeback until it completes). */
  readonly wbInFlight = new Map<number, Bio>();

  /** VMAs holding the file (vma->vm_file references). */
  users = 0;

  /**
   * anonymous: the unnamed tmpfs file behind MAP_SHARED|MAP_ANONYMOUS (shmem_zero_setup()); its
   * inode, and so its pages, go away with the last VMA. Named files stay in the page cache.
   */
  constructor(readonly name: string, readonly fs: FsKind, public size: number, readonly anonymous = false) {}

  /** sb->s_maxbytes of the file's filesystem (sMaxbytes()). */
  get sMaxbytes(): number {
    return sMaxbytes(this.fs);
  }

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

  /** O_DIRECT through __blockdev_direct_IO() (fs/direct-io.c) rather than iomap: FAT, exfat, hfs... */
  get legacyDio(): boolean {
    return this.fs === 'vfat';
  }

  /** A block device node: def_blk_fops, O_DIRECT through blkdev_direct_IO() (block/fops.c). */
  get isBlkdev(): boolean {
    return this.fs === 'blkdev';
  }

  /**
   * Block-based with buffer heads (ext4 without DAX): ->dirty_folio is ext4_dirty_folio(). vfat
   * also uses buffer heads, but the model keeps only ext4's checks on them.
   */
  get usesBuffers(): boolean {
    return this.fs === 'ext4';
  }
}

/** folio->mapping->host: the file whose page cache holds the folio, or null (anonymous, or truncated away). */
export function folioFile(k: Kernel, head: number): File | null {
  const id = k.mem.mapping[head];
  return id > 0 ? k.fileById(id) ?? null : null;
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
  // A model limit, not the kernel's: folio->index is an Int32Array entry here, so the page cache
  // holds files up to 8 TiB (ext4 allows 16 TiB, tmpfs 8 EiB).
  if (index > 0x7fffffff) {
    throw new RangeError(`page ${index} of ${file.name} (offset ${index * 4096}) is past what the model's page cache indexes (2^31 pages, 8 TiB)`);
  }
  const mem = k.mem;
  const pfn = mem.allocFolio(k.gfpUser(), 0, 'filemap_alloc_folio');
  if (pfn < 0) return { pfn: -1, major: false };
  // A DAX "page" is persistent memory mapped directly; the model keeps it in the cache map with PG_fsdax.
  // ext4's read path (ext4_mpage_readpages()) reads whole-page blocks without attaching buffers.
  mem.flags[pfn] |= PG_uptodate | (file.isFsdax ? PG_fsdax : PG_lru) | (file.isShmem ? PG_swapbacked : 0);
  mem.mapping[pfn] = file.id;
  mem.index[pfn] = index;
  mem.content[pfn] = file.disk.get(index) ?? 0;
  file.cache.set(index, pfn);
  k.fp.write('file', file.id);
  return { pfn, major: !file.isShmem };
}

/**
 * folio_mark_dirty() (mm/page-writeback.c): through the mapping's ->dirty_folio, or
 * noop_dirty_folio() when the folio has no mapping (anonymous, or truncated while someone held it:
 * only the flag is set, spec R109). ext4's ->dirty_folio (fs/ext4/inode.c ext4_dirty_folio(),
 * ext4_set_page_dirty() before v5.18) warns when the folio has no buffers — since v4.10, commit
 * 6dcc693bc57f "ext4: warn when page is dirtied without buffers" — and then block_dirty_folio()
 * (fs/buffer.c) dirties the buffers it has, if any, and the folio; it never creates buffers.
 */
export function folioMarkDirty(k: Kernel, head: number): void {
  const file = folioFile(k, head);
  if (file?.usesBuffers) {
    k.WARN_ON_ONCE(!k.mem.test(head, PG_private), 'fs/ext4/inode.c:ext4_dirty_folio:!folio_buffers',
      `ext4_dirty_folio(): ${file.name} index ${k.mem.index[head]} (pfn ${head}) dirtied without buffers attached`);
    k.fp.write('file', file.id);
  }
  k.mem.set(head, PG_dirty);
}

/**
 * ->page_mkwrite (fs/ext4/inode.c ext4_page_mkwrite() → fs/buffer.c block_page_mkwrite()): map the
 * page's block — with delayed allocation a reservation (ext4_da_get_block_prep()) — which attaches
 * buffer heads (create_empty_buffers()), dirty them (block_commit_write()), then folio_mark_dirty().
 * DAX files have no buffers (ext4_dax_fault()); tmpfs has no ->page_mkwrite.
 */
export function pageMkwrite(k: Kernel, file: File, head: number): void {
  if (!file.hasPageMkwrite) return;
  if (file.usesBuffers) {
    attachBuffers(k, file, head);
  }
  folioMarkDirty(k, head);
}

/** __block_write_begin_int() for a whole-page block: buffers attached; a hole gets a delalloc reservation. */
export function attachBuffers(k: Kernel, file: File, head: number): void {
  const index = k.mem.index[head];
  if (!file.disk.has(index)) file.delalloc.add(index);
  k.mem.set(head, PG_private);
  k.fp.write('file', file.id);
}

/** folio_wait_writeback() (mm/page-writeback.c): wait for the folio's write I/O — the device completes it now. */
export function folioWaitWriteback(k: Kernel, file: File, index: number): void {
  const bio = file.wbInFlight.get(index);
  if (bio) blk_wait_bios(k, [bio]);
}

/**
 * filemap_remove_folio() (mm/filemap.c): the folio leaves the page cache — folio->mapping cleared —
 * and the page cache's reference is dropped. Whoever still holds a reference (a pin, a GET) keeps
 * an orphan with no mapping; the last put frees it. The caller has dealt with buffers and dirt.
 */
export function filemap_remove_folio(k: Kernel, file: File, head: number): void {
  const mem = k.mem;
  const index = mem.index[head];
  file.cache.delete(index);
  file.delalloc.delete(index);
  mem.mapping[head] = 0;
  k.fp.write('file', file.id);
  mem.putRefs(head, 1);
}

/**
 * Drop every cached page of a file (truncate_inode_pages_final() at inode eviction). The model
 * writes dirty data back first, as the sync before unmount would; writeback in flight is waited for.
 */
export function dropFileCache(k: Kernel, file: File): void {
  const mem = k.mem;
  for (const [index, pfn] of [...file.cache]) {
    folioWaitWriteback(k, file, index);
    if (mem.test(pfn, PG_dirty)) file.disk.set(index, mem.content[pfn]);
    mem.clear(pfn, PG_private | PG_dirty);
    filemap_remove_folio(k, file, pfn);
  }
}
