// Writeback: the flusher and fsync write dirty page-cache folios to disk (mm/page-writeback.c,
// mm/rmap.c folio_mkclean(), fs/ext4/inode.c ext4_writepages(), fs/ext4/page-io.c). A write bio
// goes to the block device (src/block/blkdev.ts) and completes in a later step, so other actors
// can run while the folio is under writeback; the device copies the page's content token to the
// disk when it completes the bio.
//
// Pins play no part here (spec R101): writeback write-protects, cleans and writes a folio whether
// or not it may be DMA-pinned, and waits for writeback only, never for pins.

import { stateKey, type Kernel } from '../kernel.js';
import type { File } from '../include/linux/fs.js';
import { bio_add_page, bio_alloc, bioId, type Bio } from '../block/bio.js';
import { blk_wait_bios, submit_bio } from '../block/blkdev.js';
import { PAGE_SIZE } from '../include/uapi.js';
import { PG_dirty, PG_private, PG_writeback } from '../mm/page-flags.js';
import type { Mm } from '../vm/mm.js';
import { folio_mark_dirty } from '../mm/page-writeback.js';
import { PTE_DIRTY, PTE_WRITE } from '../include/linux/mm.js';
import { tasks } from '../vm/mm.js';

/** Folios under writeback, per file id: index → the write bio in flight (PG_writeback until it completes). */
const WB_BIOS = stateKey('writeback-bios', () => new Map<number, Map<number, Bio>>());

function wbInFlight(k: Kernel, file: File): Map<number, Bio> {
  const all = k.state(WB_BIOS);
  let m = all.get(file.id);
  if (!m) all.set(file.id, (m = new Map()));
  return m;
}

/** folio_wait_writeback() (mm/page-writeback.c): wait for the folio's write I/O — the device completes it now. */
export function folio_wait_writeback(k: Kernel, file: File, index: number): void {
  const bio = wbInFlight(k, file).get(index);
  if (bio) blk_wait_bios(k, [bio]);
}

/** enum writeback_sync_modes (include/linux/writeback.h): the flusher does not wait; fsync does. */
export type SyncMode = 'WB_SYNC_NONE' | 'WB_SYNC_ALL';

/** The tasks' distinct address spaces (CLONE_VM sharers are walked once), as an rmap walk would see them. */
export function liveMms(k: Kernel): Iterable<Mm> {
  const seen = new Map<number, Mm>();
  for (const t of tasks(k).values()) {
    if (t.exited) continue;
    seen.set(t.mm.id, t.mm);
    // a half-built fork child: dup_mmap() linked its VMAs into the rmap before copying PTEs
    if (t.mm.forkChild) seen.set(t.mm.forkChild.id, t.mm.forkChild);
  }
  return seen.values();
}

/**
 * folio_mkclean() (mm/rmap.c, page_mkclean_one()): in every shared mapping of the folio, a PTE that
 * is writable or dirty is write-protected and cleaned. Private mappings are not touched. Returns
 * the number of PTEs cleaned; the next CPU write to any of them faults and calls ->page_mkwrite.
 */
export function folio_mkclean(k: Kernel, file: File, head: number): number {
  const index = k.mem.indexOf(head);
  let cleaned = 0;
  for (const mm of liveMms(k)) {
    for (const v of mm.vmaList(k)) {
      if (v.file !== file || !v.isShared()) continue;
      const i = index - v.pgoff; // vma_address(): a file page sits at one address per VMA
      if (i < 0 || i >= v.nrPages || v.ptep_get(k, i) !== head) continue;
      if (!(v.ptep_get_bits(k, i) & (PTE_WRITE | PTE_DIRTY))) continue;
      v.ptep_clear_bits(k, i, PTE_WRITE | PTE_DIRTY); // page_mkclean_one(): pte_wrprotect(pte_mkclean())
      cleaned++;
    }
  }
  return cleaned;
}

/**
 * folio_clear_dirty_for_io() (mm/page-writeback.c): a dirty PTE found by folio_mkclean() is first
 * moved to the folio with folio_mark_dirty(), then the folio's dirty flag is cleared. Returns
 * whether the folio was dirty, i.e. must be written.
 */
export function folio_clear_dirty_for_io(k: Kernel, file: File, head: number): boolean {
  if (file.fstype.writeback && folio_mkclean(k, file, head) > 0) folio_mark_dirty(k, head);
  const was = k.mem.test(head, PG_dirty);
  if (was) k.mem.clear(head, PG_dirty);
  return was;
}

/**
 * folio_start_writeback() and ext4_bio_write_folio() (fs/ext4/page-io.c): PG_writeback, the block
 * is allocated if it was a delalloc reservation (mpage_map_and_submit_extent()), and a write bio
 * is submitted. Its completion (ext4_end_bio() → folio_end_writeback()) clears PG_writeback.
 */
function submitFolio(k: Kernel, file: File, index: number, head: number): Bio {
  const mem = k.mem;
  mem.set(head, PG_writeback);
  file.delalloc.delete(index);
  const bio = bio_alloc('REQ_OP_WRITE', 1, { file, index });
  bio_add_page(k, bio, head, PAGE_SIZE, 0);
  bio.endIo = (kk) => {
    kk.mem.clear(head, PG_writeback);
    wbInFlight(kk, file).delete(index);
    kk.fp.write('file', file.id);
    kk.note(`writeback of ${file.name} index ${index} done`);
  };
  wbInFlight(k, file).set(index, bio);
  k.fp.write('file', file.id);
  k.note(`writeback ${file.name} index ${index} (pfn ${head}): bio ${bioId(k, bio)}`);
  submit_bio(k, bio);
  return bio;
}

/**
 * ext4's check on every dirty folio it is about to write (fs/ext4/inode.c
 * mpage_prepare_extent_to_map()): before v5.18 it takes the buffers with page_buffers(), whose
 * BUG_ON(!PagePrivate(page)) fires on a dirty folio without buffers (spec R112 step 8; seed 002
 * shows it as "kernel BUG at fs/ext4/inode.c:1899" on 4.4). Since v5.18 (cc5095747edf, "ext4:
 * don't BUG if someone dirty pages without asking ext4 first") it logs "page N does not have
 * buffers attached", clears the dirty flag and skips the folio: its data is never written (R110).
 * Returns false when the folio must be skipped.
 */
function ext4CheckBuffers(k: Kernel, file: File, index: number, head: number): boolean {
  if (!file.fstype.buffers || k.mem.test(head, PG_private)) return true;
  if (!k.profile.ext4WarnNoBuffers) {
    k.BUG(`kernel BUG at fs/ext4/inode.c: mpage_prepare_extent_to_map(): page_buffers() of a dirty page without ` +
      `buffers (BUG_ON(!PagePrivate(page))): ${file.name} index ${index}, pfn ${head}`, [
      ...k.mem.describe(head),
      'ext4_writepages <- do_writepages <- __writeback_single_inode <- writeback_sb_inodes <- wb_writeback <- wb_workfn',
    ]);
  }
  k.WARN_ON_ONCE(true, 'fs/ext4/inode.c:mpage_prepare_extent_to_map:no-buffers',
    `EXT4-fs warning: ${file.name}: page ${index} does not have buffers attached; dirty data dropped`);
  k.mem.clear(head, PG_dirty);
  return false;
}

export interface WritebackRange {
  /** First and last page index (inclusive); default: the whole file. */
  first?: number;
  last?: number;
}

/**
 * One writeback pass over a file: ->writepages (ext4_writepages() → mpage_prepare_extent_to_map()
 * → mpage_submit_folio()), in index order. Clean folios are skipped; a folio already under
 * writeback is skipped by the flusher (WB_SYNC_NONE) and waited for by data-integrity writeback
 * (WB_SYNC_ALL). Returns the number of folios submitted. DAX files write their pages to the
 * medium directly (dax_writeback_mapping_range() only flushes caches); shmem has no writeback.
 */
export function writeback_file(k: Kernel, file: File, mode: SyncMode, range: WritebackRange = {}): number {
  if (!file.fstype.writeback) return 0;
  const mem = k.mem;
  const first = range.first ?? 0;
  const last = range.last ?? Infinity;
  const indices = [...file.cache.keys()].filter((i) => i >= first && i <= last).sort((a, b) => a - b);
  let submitted = 0;
  for (const index of indices) {
    const head = file.cache.get(index)!;
    if (!mem.test(head, PG_dirty)) continue;
    if (mem.test(head, PG_writeback)) {
      if (mode === 'WB_SYNC_NONE') continue;
      folio_wait_writeback(k, file, index);
    }
    if (file.fstype.dax) {
      if (folio_clear_dirty_for_io(k, file, head)) file.disk.set(index, mem.contentOf(head));
      continue;
    }
    if (!ext4CheckBuffers(k, file, index, head)) continue;
    if (!folio_clear_dirty_for_io(k, file, head)) continue;
    submitFolio(k, file, index, head);
    submitted++;
  }
  return submitted;
}

/** Wait for (complete) the file's writeback I/O in a range; returns the number of bios completed. */
export function filemap_fdatawait_range(k: Kernel, file: File, range: WritebackRange = {}): number {
  const first = range.first ?? 0;
  const last = range.last ?? Infinity;
  // Reads the file's writeback state even when nothing is in flight (the explorer's dependence).
  k.fp.read('file', file.id);
  const bios = [...wbInFlight(k, file)].filter(([i]) => i >= first && i <= last).map(([, b]) => b);
  blk_wait_bios(k, bios);
  return bios.length;
}

/**
 * filemap_write_and_wait_range() (mm/filemap.c): data-integrity writeback of the pages covering
 * the byte range [start, end], then wait for it. Direct I/O calls this before touching the disk;
 * fsync through file_write_and_wait_range(). Returns 0.
 */
export function filemap_write_and_wait_range(k: Kernel, file: File, start: number, end: number): number {
  if (end < start) return 0;
  const range = { first: Math.floor(start / PAGE_SIZE), last: Math.floor(end / PAGE_SIZE) };
  writeback_file(k, file, 'WB_SYNC_ALL', range);
  filemap_fdatawait_range(k, file, range);
  return 0;
}
