// Reclaim of page-cache folios (mm/vmscan.c shrink_folio_list(), __remove_mapping();
// mm/rmap.c try_to_unmap(); mm/filemap.c filemap_release_folio(); fs/buffer.c
// try_to_free_buffers()) and drop_caches (fs/drop_caches.c, mm/truncate.c
// invalidate_mapping_pages(), mapping_evict_folio()).
//
// The `reclaim` operation is memory pressure that picks a file's folios off the inactive list
// and finds them not recently referenced (folio_check_references() is not modelled). Anonymous
// and shmem folios need swap, which the model does not have; DAX pages are not on the LRU.

import type { Kernel } from '../kernel.js';
import { PG_active, PG_dirty, PG_locked, PG_lru, PG_private, PG_writeback } from '../mm/page-flags.js';
import type { Profile } from '../profile.js';
import { folio_isolate_lru, folio_putback_lru } from '../vm/migrate.js';
import { zapPte } from '../vm/pgtable.js';
import type { File } from '../include/linux/fs.js';
import { liveMms } from './writeback.js';
import { folio_maybe_dma_pinned } from '../mm/folio.js';
import { filemap_remove_folio, shmem_mapping } from '../mm/filemap.js';

/**
 * try_to_unmap() for a page-cache folio (mm/rmap.c try_to_unmap_one()): every PTE that maps it
 * goes, in shared and private mappings alike; a dirty PTE dirties the folio. Pins do not stop it
 * (spec R103: only anonymous exclusive pages refuse to be unmapped while maybe pinned).
 */
export function try_to_unmap_file_folio(k: Kernel, file: File, head: number): void {
  const index = k.mem.indexOf(head);
  for (const mm of liveMms(k)) {
    for (const v of mm.vmaList(k)) {
      if (v.file !== file) continue;
      const i = index - v.pgoff;
      if (i >= 0 && i < v.nrPages && v.ptep_get(k, i) === head) zapPte(k, v, i);
    }
  }
}

/**
 * try_to_free_buffers() (fs/buffer.c) through filemap_release_folio() / ext4_release_folio():
 * fails while the folio is under writeback or a buffer is dirty; otherwise the buffer heads are
 * freed and folio->private cleared. It does not look at the folio's references.
 */
export function try_to_free_buffers(k: Kernel, file: File, head: number): boolean {
  const mem = k.mem;
  if (!mem.test(head, PG_private)) return true;
  if (mem.test(head, PG_writeback) || mem.test(head, PG_dirty)) return false;
  mem.clear(head, PG_private);
  file.delalloc.delete(mem.indexOf(head));
  k.fp.write('file', file.id);
  k.note(`buffers of ${file.name} index ${mem.indexOf(head)} (pfn ${head}) freed`);
  return true;
}

/**
 * __remove_mapping() / remove_mapping() (mm/vmscan.c): the refcount must freeze at exactly the
 * references the caller expects (its own plus the page cache's); any other — a GET, a pin — and
 * the folio stays (spec R102 step 3). A dirty folio stays too. On success the folio leaves the
 * page cache and the page cache's reference is dropped.
 */
function __remove_mapping(k: Kernel, file: File, head: number, callerRefs: number): boolean {
  const mem = k.mem;
  if (mem.ref(head) !== callerRefs + 1 || mem.test(head, PG_dirty)) return false;
  filemap_remove_folio(k, file, head);
  return true;
}

export type ReclaimOutcome = 'freed' | 'not-lru' | 'writeback' | 'locked' | 'pinned' | 'dirty' | 'busy-buffers' | 'held';

/**
 * shrink_folio_list() (mm/vmscan.c) for one page-cache folio: isolate it, skip it under writeback,
 * unmap it, then — since v6.4 ("mm: do not reclaim private data from pinned page", d824ec2a1546,
 * spec R102 step 2) — put a maybe-pinned folio back on the active list with its buffers; a dirty
 * file folio is left to the flusher (activated); the buffers of a clean one are released; last,
 * __remove_mapping() frees it unless someone else holds a reference. Before v6.4 a clean folio
 * held by GUP loses its buffers here and then stays in the page cache (R112 step 5).
 */
export function shrink_file_folio(k: Kernel, file: File, head: number): ReclaimOutcome {
  const mem = k.mem;
  if (!folio_isolate_lru(k, head)) return 'not-lru';
  const keep = (why: ReclaimOutcome, activate: boolean): ReclaimOutcome => {
    if (activate) mem.set(head, PG_active);
    folio_putback_lru(k, head);
    k.note(`reclaim ${file.name} index ${mem.indexOf(head)} (pfn ${head}): kept (${why})`);
    return why;
  };
  if (mem.test(head, PG_writeback)) return keep('writeback', false);
  if (mem.test(head, PG_locked)) return keep('locked', false);
  if (mem.folioMapcount(head) > 0) try_to_unmap_file_folio(k, file, head);
  // The folio is unmapped now, so it cannot gain new GUP pins (the comment in shrink_folio_list()).
  if (k.profile.reclaimKeepsPinnedPrivate && folio_maybe_dma_pinned(k, head)) return keep('pinned', true);
  if (mem.test(head, PG_dirty)) return keep('dirty', true);
  if (!try_to_free_buffers(k, file, head)) return keep('busy-buffers', true);
  if (!__remove_mapping(k, file, head, 1)) return keep('held', false);
  // Freed: drop the isolation reference (NR_ISOLATED_FILE is given back by the caller's batch).
  k.vmstat.mod('nr_isolated_file', -1);
  k.note(`reclaim ${file.name} index ${mem.indexOf(head)} (pfn ${head}): freed`);
  mem.clear(head, PG_lru | PG_active);
  mem.putRefs(head, 1);
  return 'freed';
}

/** One reclaim pass over a file's page cache, in index order. Returns the number of folios freed. */
export function shrink_file(k: Kernel, file: File): number {
  if (shmem_mapping(file) || file.fstype.dax) return 0;
  let freed = 0;
  for (const index of [...file.cache.keys()].sort((a, b) => a - b)) {
    const head = file.cache.get(index);
    if (head !== undefined && shrink_file_folio(k, file, head) === 'freed') freed++;
  }
  return freed;
}

/**
 * Whether invalidation (drop_caches, invalidate_mapping_pages()) looks at the refcount before it
 * releases buffers: e41c81d0d30e "mm/truncate: Replace page_mapped() call in invalidate_inode_page()"
 * (the v5.18 folio pull). Before it only page_mapped() was tested, so the buffers of an unmapped
 * page held by GUP were freed and remove_mapping() then failed (spec R112 step 5, second path).
 */
function invalidateChecksRefcount(p: Profile): boolean {
  return p.invalidateChecksRefcount;
}

/**
 * mapping_evict_folio() (v5.18+) / invalidate_inode_page() (before), mm/truncate.c: drop one
 * clean, unused folio. Returns true if it left the page cache.
 */
export function mapping_evict_folio(k: Kernel, file: File, head: number): boolean {
  const mem = k.mem;
  k.fp.read('folio', head); // the tests read the folio also when they keep it (an unmap must conflict)
  if (mem.test(head, PG_dirty) || mem.test(head, PG_writeback) || mem.test(head, PG_locked)) return false;
  if (invalidateChecksRefcount(k.profile)) {
    // "The refcount will be elevated if any page in the folio is mapped": page cache only, here.
    if (mem.ref(head) > 1) return false;
  } else if (mem.folioMapcount(head) > 0) {
    return false;
  }
  if (!try_to_free_buffers(k, file, head)) return false;
  return __remove_mapping(k, file, head, 0);
}

/**
 * echo 1 > /proc/sys/vm/drop_caches (fs/drop_caches.c drop_pagecache_sb() →
 * invalidate_mapping_pages()): every clean, unused page-cache folio of every file is dropped.
 * shmem folios are not (they have no backing store to come back from). Returns the number dropped.
 */
export function drop_pagecache(k: Kernel, files: Iterable<File>): number {
  let dropped = 0;
  for (const file of files) {
    if (shmem_mapping(file) || file.fstype.dax) continue;
    for (const index of [...file.cache.keys()].sort((a, b) => a - b)) {
      const head = file.cache.get(index)!;
      if (mapping_evict_folio(k, file, head)) dropped++;
      else k.note(`drop_caches: ${file.name} index ${index} (pfn ${head}) kept`);
    }
  }
  return dropped;
}
