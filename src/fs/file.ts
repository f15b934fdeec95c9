// Files on the model's filesystems: the per-filesystem operation tables (address_space_operations,
// vm_operations_struct; include/linux/fs.ts) that mm/ and vm/ call through — ext4's ->dirty_folio
// and ->page_mkwrite, shmem's and the generic ones — attached to a File when it is created, and
// the page-cache fault and removal they share (mm/filemap.c, mm/shmem.c). Writeback, reclaim, truncate and the
// read/write paths live next to this file (writeback.ts, reclaim.ts, truncate.ts, filemap.ts, read_write.ts).
//
// Buffer heads are one bit per folio: PG_private set = buffers attached (folio_buffers() != NULL).
// The block size equals the page size (ext4 with 4 KiB blocks, as in spec R112), so a folio has
// one buffer, and "the buffers are dirty" is the folio's dirty flag. In the kernel attaching
// buffers also takes a folio reference (folio_attach_private()), and every refcount check counts
// it back (folio_has_private() in mapping_evict_folio(), folio_expected_ref_count()); the model
// leaves both out, so its refcount checks read "page cache + mappings + callers" only.

import type { Kernel } from '../kernel.js';
import type { AddressSpaceOperations, File as FileShape, FileSystemType, VmOperations } from '../include/linux/fs.js';
import { MAX_LFS_FILESIZE } from '../include/uapi.js';
import { filemap_fault, filemap_remove_folio, Inode } from '../mm/filemap.js';
import { SHMEM_FS } from '../mm/shmem.js';
import { noop_dirty_folio, folio_mark_dirty } from '../mm/page-writeback.js';
import { PG_dirty, PG_private } from '../mm/page-flags.js';
import { folio_wait_writeback } from './writeback.js';

/** ext4_max_size() for an extent-mapped file with 4 KiB blocks: 16 TiB - 4 KiB. */
export const EXT4_MAX_SIZE = (2 ** 32 - 1) * 4096;

/**
 * ext4's ->dirty_folio (fs/ext4/inode.c ext4_dirty_folio(), ext4_set_page_dirty() before v5.18)
 * warns when the folio has no buffers — since v4.10, commit 6dcc693bc57f "ext4: warn when page is
 * dirtied without buffers" — and then block_dirty_folio() (fs/buffer.c) dirties the buffers it
 * has, if any, and the folio; it never creates buffers.
 */
export function ext4_dirty_folio(k: Kernel, file: FileShape, head: number): void {
  k.WARN_ON_ONCE(!k.mem.test(head, PG_private), 'fs/ext4/inode.c:ext4_dirty_folio:!folio_buffers',
    `ext4_dirty_folio(): ${file.name} index ${k.mem.indexOf(head)} (pfn ${head}) dirtied without buffers attached`);
  k.fp.write('file', file.id);
  block_dirty_folio(k, file, head);
}

/** block_dirty_folio() (fs/buffer.c), with buffers as one bit: the folio's dirty flag. */
export function block_dirty_folio(k: Kernel, file: FileShape, head: number): void {
  noop_dirty_folio(k, file, head);
}

/**
 * ext4_page_mkwrite() (fs/ext4/inode.c → fs/buffer.c block_page_mkwrite()): map the page's block —
 * with delayed allocation a reservation (ext4_da_get_block_prep()) — which attaches buffer heads
 * (create_empty_buffers()), dirty them (block_commit_write()), then folio_mark_dirty().
 */
export function ext4_page_mkwrite(k: Kernel, file: FileShape, head: number): void {
  attachBuffers(k, file, head);
  folio_mark_dirty(k, head);
}

/**
 * filemap_page_mkwrite() (mm/filemap.c; vfat and block devices through generic_file_vm_ops) and
 * ext4_dax_fault() for a write (DAX files have no buffers): the folio is marked dirty.
 */
export function filemap_page_mkwrite(k: Kernel, _file: FileShape, head: number): void {
  folio_mark_dirty(k, head);
}

/** __block_write_begin_int() for a whole-page block: buffers attached; a hole gets a delalloc reservation. */
export function attachBuffers(k: Kernel, file: FileShape, head: number): void {
  const index = k.mem.indexOf(head);
  if (!file.disk.has(index)) file.delalloc.add(index);
  k.mem.set(head, PG_private);
  k.fp.write('file', file.id);
}

// The operation tables, one per filesystem, attached to a file when it is created.
const ext4_da_aops: AddressSpaceOperations = { name: 'ext4_da_aops', dirty_folio: ext4_dirty_folio };
const ext4_dax_aops: AddressSpaceOperations = { name: 'ext4_dax_aops', dirty_folio: noop_dirty_folio };
const fat_aops: AddressSpaceOperations = { name: 'fat_aops', dirty_folio: block_dirty_folio };
const def_blk_aops: AddressSpaceOperations = { name: 'def_blk_aops', dirty_folio: block_dirty_folio };

const ext4_file_vm_ops: VmOperations = { name: 'ext4_file_vm_ops', fault: filemap_fault, page_mkwrite: ext4_page_mkwrite };
const ext4_dax_vm_ops: VmOperations = { name: 'ext4_dax_vm_ops', fault: filemap_fault, page_mkwrite: filemap_page_mkwrite };
const generic_file_vm_ops: VmOperations = { name: 'generic_file_vm_ops', fault: filemap_fault, page_mkwrite: filemap_page_mkwrite };

/**
 * The filesystems a scenario can create files on. s_maxbytes: ext4 with extents and 4 KiB blocks
 * ((2^32 - 1) << 12, fs/ext4/super.c ext4_max_size(); the host's ext4 refuses one byte more with
 * -EFBIG), vfat 0xffffffff (fs/fat/inode.c fat_fill_super()), tmpfs and block devices MAX_LFS_FILESIZE.
 */
export const FS_TYPES = {
  'ext4': { name: 'ext4', s_maxbytes: EXT4_MAX_SIZE, writeback: true, dax: false, blkdev: false, buffers: true, a_ops: ext4_da_aops, vm_ops: ext4_file_vm_ops },
  /** ext4 mounted -o dax on persistent memory (IS_DAX inodes, vma_is_fsdax()). */
  'ext4-dax': { name: 'ext4-dax', s_maxbytes: EXT4_MAX_SIZE, writeback: true, dax: true, blkdev: false, buffers: false, a_ops: ext4_dax_aops, vm_ops: ext4_dax_vm_ops },
  'tmpfs': SHMEM_FS,
  /** A block filesystem whose O_DIRECT still goes through legacy fs/direct-io.c (R98). */
  'vfat': { name: 'vfat', s_maxbytes: 0xffffffff, writeback: true, dax: false, blkdev: false, buffers: false, a_ops: fat_aops, vm_ops: generic_file_vm_ops },
  /** A raw block device node (/dev/sdX): O_DIRECT goes to block/fops.c blkdev_direct_IO() (R97); size = device size. */
  'blkdev': { name: 'blkdev', s_maxbytes: MAX_LFS_FILESIZE, writeback: true, dax: false, blkdev: true, buffers: false, a_ops: def_blk_aops, vm_ops: generic_file_vm_ops },
} as const satisfies Record<string, FileSystemType>;

export type FsKind = keyof typeof FS_TYPES;

/** A file on one of FS_TYPES, by its name: the filesystem's tables are attached here, once. */
export class File extends Inode {
  constructor(name: string, fs: FsKind, size: number, anonymous = false) {
    super(name, FS_TYPES[fs], size, anonymous);
  }
}

/**
 * Drop every cached page of a file (truncate_inode_pages_final() at inode eviction). The model
 * writes dirty data back first, as the sync before unmount would; writeback in flight is waited for.
 */
export function dropFileCache(k: Kernel, file: FileShape): void {
  const mem = k.mem;
  for (const [index, pfn] of [...file.cache]) {
    folio_wait_writeback(k, file, index);
    if (mem.test(pfn, PG_dirty)) file.disk.set(index, mem.contentOf(pfn));
    mem.clear(pfn, PG_private | PG_dirty);
    filemap_remove_folio(k, file, pfn);
  }
}

/** sb->s_maxbytes of a filesystem, by name (a scenario checks a size before creating the file). */
export function sMaxbytes(fs: FsKind): number {
  return FS_TYPES[fs].s_maxbytes;
}
