// include/linux/fs.h: the shapes the layers share about files. The model keeps one object per
// inode and its page cache (struct inode + struct address_space); fs/ fills the operation tables
// per filesystem (fs/file.ts) and attaches them when the file is created, so mm/ and vm/ call
// into the filesystem through them, as the kernel calls mapping->a_ops and vma->vm_ops.
// Types only.

import type { Kernel } from '../../kernel.js';

/** struct address_space_operations, as far as the model needs it. */
export interface AddressSpaceOperations {
  /** The kernel's name for the table (ext4_da_aops, shmem_aops, ...). */
  readonly name: string;
  /** ->dirty_folio: folio_mark_dirty() (mm/page-writeback.ts) calls it for a folio of this mapping. */
  readonly dirty_folio: (k: Kernel, file: File, head: number) => void;
}

/** struct vm_operations_struct of a file mapping (include/linux/mm.h), as far as the model needs it. */
export interface VmOperations {
  readonly name: string;
  /**
   * ->fault, minus I/O waits: the page-cache folio for `index`, read in if missing (the cache
   * holds one reference); pfn -1 when out of memory. major: the data had to be read.
   */
  readonly fault: (k: Kernel, file: File, index: number) => { pfn: number; major: boolean };
  /** ->page_mkwrite: the filesystem is told a page becomes writable (absent: tmpfs). */
  readonly page_mkwrite?: (k: Kernel, file: File, head: number) => void;
}

/** What the model needs of struct file_system_type and the mounted super_block. */
export interface FileSystemType {
  /** The name the scenario mounts it by ('ext4', 'tmpfs', ...). */
  readonly name: string;
  /** sb->s_maxbytes: the largest file size. */
  readonly s_maxbytes: number;
  /** The backing device writes back (BDI_CAP_WRITEBACK; mapping_can_writeback()). shmem does not. */
  readonly writeback: boolean;
  /** IS_DAX(): ext4 mounted -o dax on persistent memory (vma_is_fsdax()). */
  readonly dax: boolean;
  /** S_ISBLK(): a block device node (/dev/sdX), size = the device's. */
  readonly blkdev: boolean;
  /**
   * Buffer heads whose checks the model keeps (ext4 without DAX: ext4_dirty_folio() warns on a
   * folio without buffers, ->page_mkwrite attaches them). vfat has buffer heads too, unchecked.
   */
  readonly buffers: boolean;
  readonly a_ops: AddressSpaceOperations;
  readonly vm_ops: VmOperations;
}

/**
 * A per-file index: the page cache's xarray (index → head PFN), the disk's blocks (index → content
 * token). The implementation (mm/filemap.ts) records every read and write of it as the file's.
 */
export interface FileIndex extends Iterable<[number, number]> {
  readonly size: number;
  get(index: number): number | undefined;
  has(index: number): boolean;
  set(index: number, v: number): void;
  delete(index: number): boolean;
  keys(): IterableIterator<number>;
  values(): IterableIterator<number>;
  entries(): IterableIterator<[number, number]>;
}

/** A per-file set of indices (ext4's delalloc reservations), recording like FileIndex. */
export interface FileIndexSet extends Iterable<number> {
  readonly size: number;
  has(index: number): boolean;
  add(index: number): void;
  delete(index: number): boolean;
}

/**
 * An inode with its page cache (struct inode + struct address_space). Its state (i_size, the
 * page cache, the disk, delalloc, the mappings' count) is private to the implementation
 * (mm/filemap.ts Inode): every read and write of it records the file in the step's footprint.
 */
export interface File {
  /** Per kernel; folio->mapping holds it (mm/filemap.ts resolves it back). */
  readonly id: number;
  readonly name: string;
  /** i_sb->s_type. */
  readonly fstype: FileSystemType;
  /** mapping->a_ops */
  readonly a_ops: AddressSpaceOperations;
  /** What ->mmap (file->f_op->mmap) puts in vma->vm_ops. */
  readonly vm_ops: VmOperations;
  /** i_size */
  size: number;
  /** The unnamed tmpfs file behind MAP_SHARED|MAP_ANONYMOUS (shmem_zero_setup()): it goes with its last VMA. */
  readonly anonymous: boolean;
  /** index → head PFN of the cached folio (the xarray). */
  readonly cache: FileIndex;
  /** What the disk holds per page index (content tokens); absent = a hole, reads as zeros. */
  readonly disk: FileIndex;
  /** ext4 delayed allocation: indices reserved (BH_Delay) but not yet given a block. */
  readonly delalloc: FileIndexSet;
  /**
   * VMAs holding the file (vma->vm_file references), each linked into the mapping's i_mmap: a
   * change is a write of the file, so rmap walks of the file conflict with mmap/munmap/fork.
   */
  users: number;
}
