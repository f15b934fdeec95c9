// Truncate and invalidation (mm/truncate.c truncate_pagecache(), truncate_inode_pages_range(),
// truncate_cleanup_folio(), invalidate_inode_pages2_range(); fs/ext4/inode.c ext4_setattr() /
// ext4_truncate(); mm/shmem.c shmem_setattr()).

import type { Kernel } from '../kernel.js';
import { EBUSY, PAGE_SIZE } from '../include/uapi.js';
import { PG_dirty, PG_private } from '../mm/page-flags.js';
import { zapPte } from '../vm/pgtable.js';
import type { File } from '../include/linux/fs.js';
import { folio_wait_writeback } from './writeback.js';
import { try_to_free_buffers, try_to_unmap_file_folio } from './reclaim.js';
import { liveMms } from './writeback.js';
import { filemap_remove_folio } from '../mm/filemap.js';

/**
 * unmap_mapping_range(mapping, holebegin, 0, even_cows = 1) (mm/memory.c): every PTE that maps a
 * page at or past `firstIndex`, in shared and private mappings — private COW copies included.
 */
function unmapMappingRange(k: Kernel, file: File, firstIndex: number): void {
  for (const mm of liveMms(k)) {
    for (const v of mm.vmaList(k)) {
      if (v.file !== file) continue;
      for (let i = Math.max(0, firstIndex - v.pgoff); i < v.nrPages; i++) {
        if (v.ptep_get(k, i) >= 0) zapPte(k, v, i);
      }
    }
  }
}

/**
 * truncate_inode_folio() → truncate_cleanup_folio() + filemap_remove_folio(): the folio loses its
 * mappings, its buffers (folio_invalidate() → block_invalidate_folio() discards them and frees
 * them; references do not matter), its dirty flag (folio_cancel_dirty()) and its place in the
 * page cache. A folio someone still holds — a pin, a GET — stays allocated as an orphan with no
 * mapping: a later folio_mark_dirty() only sets the flag and its data never reaches the file
 * (spec R109).
 */
function truncate_inode_folio(k: Kernel, file: File, index: number, head: number): void {
  const mem = k.mem;
  folio_wait_writeback(k, file, index); // truncate_inode_pages_range(): folio_wait_writeback()
  mem.clear(head, PG_private | PG_dirty); // ext4_invalidate_folio() also gives the delalloc reservation back
  if (mem.ref(head) > 1) k.note(`truncate ${file.name} index ${index}: pfn ${head} is still held; it stays allocated without a mapping`);
  filemap_remove_folio(k, file, head);
}

/**
 * truncate_setsize() + truncate_pagecache() + the filesystem's block freeing (ext4_truncate(),
 * shmem_undo_range()): i_size becomes newsize; pages wholly past it leave the page cache and
 * every mapping, and their blocks are freed. The page holding newsize itself stays (its tail is
 * zeroed in the kernel; one content token per page cannot show that). Growing only sets i_size.
 */
export function truncate_setsize(k: Kernel, file: File, newsize: number): void {
  const old = file.size;
  file.size = newsize;
  if (newsize >= old) return;
  const first = Math.ceil(newsize / PAGE_SIZE);
  unmapMappingRange(k, file, first);
  for (const index of [...file.cache.keys()].filter((i) => i >= first).sort((a, b) => a - b)) {
    truncate_inode_folio(k, file, index, file.cache.get(index)!);
  }
  for (const index of [...file.disk.keys()]) if (index >= first) file.disk.delete(index);
}

/**
 * invalidate_inode_pages2_range() (mm/truncate.c), what direct I/O runs after a write
 * (kiocb_invalidate_post_direct_write()): every cached folio in [first, last] is unmapped
 * (unmap_mapping_folio(): private COW copies stay), waited on if under writeback, and removed
 * from the page cache if it is clean and its buffers can be released — whatever its refcount
 * (invalidate_complete_folio2() "ignores the folio's refcount"), so a pinned folio becomes an
 * orphan. A dirty folio stays (ext4 has no ->launder_folio) and the result is -EBUSY, on which
 * the caller warns about a stale page cache (dio_warn_stale_pagecache()). Returns 0 or -EBUSY.
 */
export function invalidate_inode_pages2_range(k: Kernel, file: File, first: number, last: number): number {
  const mem = k.mem;
  let ret = 0;
  for (const index of [...file.cache.keys()].filter((i) => i >= first && i <= last).sort((a, b) => a - b)) {
    const head = file.cache.get(index)!;
    if (mem.folioMapcount(head) > 0) try_to_unmap_file_folio(k, file, head);
    folio_wait_writeback(k, file, index);
    if (!try_to_free_buffers(k, file, head) || mem.test(head, PG_dirty)) {
      ret = -EBUSY;
      continue;
    }
    filemap_remove_folio(k, file, head);
  }
  return ret;
}
