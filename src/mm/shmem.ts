// mm/shmem.c as far as the model has it: tmpfs's operation tables, shmem_zero_setup() for shared
// anonymous memory, and the eviction of such an unnamed file with its last mapping.

import type { Kernel } from '../kernel.js';
import type { AddressSpaceOperations, File, FileSystemType, VmOperations } from '../include/linux/fs.js';
import { MAX_LFS_FILESIZE } from '../include/uapi.js';
import { filemap_fault, filemap_remove_folio, Inode, registerFile } from './filemap.js';
import { PG_dirty, PG_private } from './page-flags.js';
import { noop_dirty_folio } from './page-writeback.js';

const shmem_aops: AddressSpaceOperations = { name: 'shmem_aops', dirty_folio: noop_dirty_folio };
/** shmem_vm_ops: ->fault is shmem_fault(); no ->page_mkwrite. */
const shmem_vm_ops: VmOperations = { name: 'shmem_vm_ops', fault: filemap_fault };

/** tmpfs: no backing device to write back to; s_maxbytes MAX_LFS_FILESIZE. */
export const SHMEM_FS: FileSystemType = {
  name: 'tmpfs', s_maxbytes: MAX_LFS_FILESIZE, writeback: false, dax: false, blkdev: false, buffers: false,
  a_ops: shmem_aops, vm_ops: shmem_vm_ops,
};

/** shmem_zero_setup() (mm/shmem.c): the unnamed tmpfs file behind a MAP_SHARED|MAP_ANONYMOUS mapping. */
export function shmem_zero_setup(k: Kernel, name: string, size: number): File {
  const file = new Inode(name, SHMEM_FS, size, true);
  registerFile(k, file);
  return file;
}

/**
 * shmem_evict_inode() (mm/shmem.c → truncate_inode_pages_final()): the last reference to an
 * unnamed shmem file went; every cached folio leaves the page cache. shmem has no writeback to
 * wait for.
 */
export function shmem_evict_inode(k: Kernel, file: File): void {
  const mem = k.mem;
  for (const pfn of [...file.cache.values()]) {
    mem.clear(pfn, PG_private | PG_dirty);
    filemap_remove_folio(k, file, pfn);
  }
}
