// Legacy direct I/O (fs/direct-io.c __blockdev_direct_IO(), do_direct_IO(), submit_page_section(),
// dio_bio_add_page(), dio_bio_complete()), still used by FAT, exfat, hfs(plus), jfs, udf... (R98).
//
// Since v6.5 ("block: Use iov_iter_extract_pages() and page pinning in direct-io.c") pages are
// extracted (pinned), the page being built into a section holds an extra pin (dio_pin_page() =
// folio_add_pin(), not counted in nr_foll_pin_acquired), a bio gets its own folio_add_pin() per
// page added, and all of them are dropped with unpin_user_page(): a page covered by one section
// shows acquired +1, released +3 (R71, R76, R98 [derived]). Before v6.5: GETs everywhere.

import type { Kernel } from '../kernel.js';
import { EINVAL, PAGE_SIZE } from '../include/uapi.js';
import type { File } from '../include/linux/fs.js';
import { folio_add_pin } from '../gup/api.js';
import { put_page, unpin_user_page } from '../gup/unpin.js';
import {
  bio_add_page, bio_alloc, bio_check_pages_dirty, bio_release_pages, bio_set_pages_dirty, BIO_MAX_VECS, type Bio,
} from '../block/bio.js';
import { submit_bio } from '../block/blkdev.js';
import { EIOCBQUEUED } from '../include/uapi.js';
import { get_page_ref } from '../block/zero.js';
import { user_backed_iter, type IovIter } from '../lib/iov_iter/uio.js';
import { iov_iter_extract_pages, iov_iter_extract_will_pin, iov_iter_get_pages2 } from '../lib/iov_iter/extract.js';

/** DIO_PAGES: pages extracted per batch. */
const DIO_PAGES = 64;
const BLOCK = 512;

export function legacy_dio_rw(k: Kernel, file: File, iter: IovIter, pos: number,
  opts: { async: boolean; complete: (k: Kernel, bios: Bio[]) => void }): number {
  const write = iter.dir === 'ITER_SOURCE';
  // do_blockdev_direct_IO(): offset and buffer must be aligned to the logical block size; checked
  // before any page is touched.
  const misaligned = iter.type === 'ITER_BVEC'
    ? iter.bvec.some((b) => (b.offset | b.len) % BLOCK)
    : iter.iov.some((v) => (v.base | v.len) % BLOCK);
  if ((pos | iter.count) % BLOCK || misaligned) return -EINVAL;
  const pinned = k.profile.legacyDioPins && iov_iter_extract_will_pin(iter);
  const shouldDirty = !write && user_backed_iter(iter);
  const hold = (pfn: number) => (pinned ? folio_add_pin(k, pfn) : get_page_ref(k, pfn));
  const drop = (pfn: number) => (pinned ? unpin_user_page(k, pfn) : put_page(k, pfn));
  const bios: Bio[] = [];
  let bio: Bio | null = null;
  let done = 0;
  let p = pos;
  while (iter.count > 0) {
    const ex = pinned || k.profile.iterExtractPages
      ? iov_iter_extract_pages(k, iter, iter.count, DIO_PAGES, 0)
      : iov_iter_get_pages2(k, iter, iter.count, DIO_PAGES);
    if (ex.bytes <= 0) {
      if (!done) return ex.bytes || -EINVAL;
      break;
    }
    let left = ex.bytes;
    let off = ex.offset0;
    for (const pfn of ex.pages) {
      const len = Math.min(PAGE_SIZE - off, left);
      const index = Math.floor(p / PAGE_SIZE);
      if (!write && !file.disk.has(index)) {
        // A hole: zero_user() — the CPU zeroes this part of the page; no bio.
        k.mem.setContent(pfn, 0);
      } else {
        // One section per page (block size = page size): dio_pin_page() for sdio->cur_page, then
        // dio_bio_add_page() gives the bio its own reference, then the section ends (dio_unpin_page()).
        hold(pfn);
        if (!bio || bio.vecs.length >= BIO_MAX_VECS) {
          bio = bio_alloc(k, write ? 'REQ_OP_WRITE' : 'REQ_OP_READ', BIO_MAX_VECS, { file, index });
          bio.pinned = pinned;
          bio.reffed = !pinned;
          bios.push(bio);
        }
        hold(pfn);
        bio_add_page(k, bio, pfn, len, off);
        drop(pfn);
      }
      drop(pfn); // the extraction's reference, once the page has been walked
      left -= len;
      p += len;
      done += len;
      off = 0;
    }
  }
  for (const b of bios) {
    if (shouldDirty && opts.async) bio_set_pages_dirty(k, b); // only async dios pre-dirty (dio_bio_submit())
    b.endIo = (kk, bb) => (shouldDirty && opts.async ? bio_check_pages_dirty(kk, bb) : bio_release_pages(kk, bb, shouldDirty));
    submit_bio(k, b);
  }
  if (write && done) file.size = Math.max(file.size, pos + done);
  if (opts.async && bios.length) return -EIOCBQUEUED;
  opts.complete(k, bios);
  return done;
}
