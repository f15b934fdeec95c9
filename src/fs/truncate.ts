// Truncate (mm/truncate.c truncate_pagecache(), truncate_inode_pages_range(),
// truncate_cleanup_folio(); fs/ext4/inode.c ext4_setattr() / ext4_truncate(); mm/shmem.c
// shmem_setattr()).

import type { Kernel } from '../kernel.js';
import { PAGE_SIZE } from '../include/uapi.js';
import { PG_dirty, PG_private } from '../mm/page-flags.js';
import { zapPte } from '../vm/pgtable.js';
import { folioWaitWriteback, type File } from './file.js';
import { liveMms } from './writeback.js';

/**
 * unmap_mapping_range(mapping, holebegin, 0, even_cows = 1) (mm/memory.c): every PTE that maps a
 * page at or past `firstIndex`, in shared and private mappings — private COW copies included.
 */
function unmapMappingRange(k: Kernel, file: File, firstIndex: number): void {
  for (const mm of liveMms(k)) {
    for (const v of mm.vmas) {
      if (v.file !== file) continue;
      for (let i = Math.max(0, firstIndex - v.pgoff); i < v.nrPages; i++) {
        if (v.pte[i] >= 0) zapPte(k, v, i);
      }
    }
  }
}

/**
 * truncate_inode_folio() → truncate_cleanup_folio() + filemap_remove_folio(): the folio loses its
 * mappings, its buffers (folio_invalidate() → block_invalidate_folio() → try_to_free_buffers(),
 * which ignores references), its dirty flag (folio_cancel_dirty()) and its place in the page
 * cache; the page cache's reference is dropped. A folio someone still holds — a pin, a GET — stays
 * allocated as an orphan with no mapping: a later folio_mark_dirty() only sets the flag and its
 * data never reaches the file (spec R109).
 */
function truncateFolio(k: Kernel, file: File, index: number, head: number): void {
  const mem = k.mem;
  folioWaitWriteback(k, file, index); // truncate_inode_pages_range(): folio_wait_writeback()
  mem.clear(head, PG_private | PG_dirty);
  file.delalloc.delete(index); // ext4_invalidate_folio(): the delalloc reservation is given back
  file.cache.delete(index);
  mem.mapping[head] = 0;
  k.fp.write('file', file.id);
  const held = mem.ref(head) > 1;
  mem.putRefs(head, 1);
  if (held) k.note(`truncate ${file.name} index ${index}: pfn ${head} is still held; it stays allocated without a mapping`);
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
  k.fp.write('file', file.id);
  if (newsize >= old) return;
  const first = Math.ceil(newsize / PAGE_SIZE);
  unmapMappingRange(k, file, first);
  for (const index of [...file.cache.keys()].filter((i) => i >= first).sort((a, b) => a - b)) {
    truncateFolio(k, file, index, file.cache.get(index)!);
  }
  for (const index of [...file.disk.keys()]) if (index >= first) file.disk.delete(index);
}
