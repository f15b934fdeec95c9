// Block-device O_DIRECT (block/fops.c blkdev_direct_IO(), __blkdev_direct_IO_simple(),
// __blkdev_direct_IO_async(), __blkdev_direct_IO(), blkdev_bio_end_io(),
// blkdev_bio_end_io_async()), spec R97 and R93. The device's "disk" is the block-device node's
// File.disk map, one content token per 4 KiB page index; a 512-byte-aligned position that is not
// page-aligned moves data at page granularity (the model's tokens are per page).
//
// - sync, ≤ BIO_MAX_VECS pages → __blkdev_direct_IO_simple(): one bio, no pre-dirtying,
//   submit_bio_wait(), then bio_release_pages(bio, should_dirty) in the submitting task, so the
//   counters are settled when read()/write() returns;
// - async, ≤ BIO_MAX_VECS pages → __blkdev_direct_IO_async(): one bio (an ITER_BVEC borrows the
//   caller's bvecs through bio_iov_bvec_set()); user-backed reads pre-dirty
//   (bio_set_pages_dirty()) and end_io checks (bio_check_pages_dirty()), others release unmarked;
// - more pages → __blkdev_direct_IO(): several bios, DIO_SHOULD_DIRTY → set dirty at submission
//   and check at end_io (blkdev_bio_end_io()).
// should_dirty = a read into a user-backed iterator (user_backed_iter()).

import type { Kernel } from '../kernel.js';
import { EINVAL, EIO, EIOCBQUEUED, ENOSPC, PAGE_SIZE } from '../include/uapi.js';
import type { File } from '../include/linux/fs.js';
import {
  bio_alloc, bio_check_pages_dirty, bio_iov_iter_get_pages, bio_release_pages, bio_set_pages_dirty, BIO_MAX_VECS,
  type Bio,
  type BioTarget,
} from './bio.js';
import { blk_wait_bios, DMA_ALIGNMENT, submit_bio } from './blkdev.js';
import { user_backed_iter, type IovIter } from '../lib/iov_iter/uio.js';
import { iov_iter_revert } from '../lib/iov_iter/advance.js';
import { copy_token_from_iter } from '../lib/iov_iter/copy.js';

/** bdev_logical_block_size() of the modelled device. */
export const BDEV_LOGICAL_BLOCK_SIZE = 512;

/** Which path blkdev_direct_IO() took for the last call (tests and the scenario op's notes). */
export type BlkdevDioPath = 'simple' | 'async' | 'multi';

/**
 * bio_iov_vecs_to_alloc(iter, max): 0 for ITER_BVEC (the bio borrows the iterator's vector),
 * otherwise the pages the iterator touches (iov_iter_npages()), capped at max.
 */
export function bio_iov_vecs_to_alloc(iter: IovIter, max: number): number {
  if (iter.type === 'ITER_BVEC') return 0;
  let n = 0;
  let left = iter.count;
  for (let s = iter.seg; s < iter.iov.length && left > 0; s++) {
    const off = s === iter.seg ? iter.iovOffset : 0;
    const base = iter.iov[s].base + off;
    const len = Math.min(iter.iov[s].len - off, left);
    if (len <= 0) continue;
    n += Math.floor((base + len - 1) / PAGE_SIZE) - Math.floor(base / PAGE_SIZE) + 1;
    left -= len;
    if (n >= max) return max;
  }
  return n;
}

/**
 * bdev_iter_is_aligned(): every segment's address meets the DMA alignment and its length the
 * logical block size; an empty segment is skipped (lib/iov_iter.c iov_iter_aligned_iovec()).
 */
function bdevIterIsAligned(iter: IovIter): boolean {
  const segs = iter.type === 'ITER_BVEC' ? iter.bvec.map((b) => ({ base: b.offset, len: b.len })) : iter.iov;
  return segs.every((v) => v.len === 0 || ((v.base & DMA_ALIGNMENT) === 0 && v.len % BDEV_LOGICAL_BLOCK_SIZE === 0));
}

function target(file: File, pos: number): BioTarget {
  return { file, index: Math.floor(pos / PAGE_SIZE) };
}

/** __blkdev_direct_IO_simple(): one on-stack bio, waited for and released by the caller (R97). */
function dioSimple(k: Kernel, file: File, iter: IovIter, pos: number, nrPages: number): number {
  const read = iter.dir === 'ITER_DEST';
  const shouldDirty = read && user_backed_iter(iter);
  const bio = bio_alloc(read ? 'REQ_OP_READ' : 'REQ_OP_WRITE', Math.max(nrPages, 1), target(file, pos));
  const err = bio_iov_iter_get_pages(k, bio, iter);
  if (err) return err;
  const size = bio.size;
  // submit_bio_wait(). (blkdev.ts submit_bio_wait() cannot wait for a bio failed at submission,
  // so wait through blk_wait_bios(), which skips one that is no longer queued.)
  submit_bio(k, bio);
  blk_wait_bios(k, [bio]);
  const status = bio.status;
  // No pre-dirtying on this path: the release dirties (mark_dirty = should_dirty).
  bio_release_pages(k, bio, shouldDirty);
  return status || size;
}

/** __blkdev_direct_IO_async(): one bio; end_io completes the iocb, then releases or checks dirty (R97). */
function dioAsync(k: Kernel, file: File, iter: IovIter, pos: number, nrPages: number): number {
  const read = iter.dir === 'ITER_DEST';
  const bio = bio_alloc(read ? 'REQ_OP_READ' : 'REQ_OP_WRITE', Math.max(nrPages, 1), target(file, pos));
  // ITER_BVEC: bio_iov_bvec_set() (bio_iov_iter_get_pages() takes the same branch in the model).
  const err = bio_iov_iter_get_pages(k, bio, iter);
  if (err) return err;
  const shouldDirty = read && user_backed_iter(iter);
  if (shouldDirty) bio_set_pages_dirty(k, bio);
  const size = bio.size;
  bio.endIo = (kk, b) => {
    kk.note(`blkdev dio complete: ${b.status || size} ${b.status ? '(error)' : 'bytes'}`); // ki_complete()
    if (shouldDirty) bio_check_pages_dirty(kk, b);
    else bio_release_pages(kk, b, false);
  };
  submit_bio(k, bio);
  return -EIOCBQUEUED;
}

/** __blkdev_direct_IO(): several bios, DIO_SHOULD_DIRTY → set dirty / check dirty (R97, R91, R92). */
function dioMulti(k: Kernel, file: File, iter: IovIter, pos: number, nrPages: number, opts: { async: boolean }): number {
  const read = iter.dir === 'ITER_DEST';
  const shouldDirty = read && user_backed_iter(iter);
  const dio = { ref: 1, status: 0, size: 0, done: false };
  const bios: Bio[] = [];
  let p = pos;
  let ret = 0;
  let nr = nrPages;
  const endIo = (kk: Kernel, b: Bio): void => {
    if (b.status && !dio.status) dio.status = b.status;
    if (--dio.ref === 0) {
      dio.done = true;
      kk.note(`blkdev dio complete: ${dio.status || dio.size} ${dio.status ? '(error)' : 'bytes'}`);
    }
    if (shouldDirty) bio_check_pages_dirty(kk, b);
    else bio_release_pages(kk, b, false);
  };
  for (;;) {
    const bio = bio_alloc(read ? 'REQ_OP_READ' : 'REQ_OP_WRITE', Math.max(nr, 1), target(file, p));
    bio.endIo = endIo;
    const err = bio_iov_iter_get_pages(k, bio, iter);
    if (err) {
      // bio->bi_status = BLK_STS_IOERR; bio_endio(bio) — drops the reference the loop holds.
      ret = err;
      bio.status = -EIO;
      dio.ref++;
      bio.endIo(k, bio);
      break;
    }
    if (shouldDirty) bio_set_pages_dirty(k, bio);
    dio.size += bio.size;
    p += bio.size;
    nr = bio_iov_vecs_to_alloc(iter, BIO_MAX_VECS);
    dio.ref++;
    bios.push(bio);
    submit_bio(k, bio);
    if (!nr) break;
  }
  // The submitter's reference (the kernel hands it to the last bio; same count).
  if (--dio.ref === 0) dio.done = true;
  if (opts.async) return -EIOCBQUEUED;
  // Wait for the waiter to be woken: every bio completes.
  blk_wait_bios(k, bios);
  return ret || dio.status || dio.size;
}

/**
 * blkdev_direct_IO(): bytes, -EIOCBQUEUED for queued async I/O, or -errno. The position and
 * length must be multiples of the logical block size and — before the check moved to bio
 * submission (profile.dioAlignCheckAtSubmit, as for iomap) — the buffer DMA-aligned:
 * -EINVAL before any page is touched (blkdev_dio_invalid() / blkdev_dio_unaligned()).
 */
export function blkdev_direct_IO(k: Kernel, file: File, iter: IovIter, pos: number, opts: { async: boolean }): number {
  if (iter.count === 0) return 0;
  if ((pos | iter.count) % BDEV_LOGICAL_BLOCK_SIZE) return -EINVAL;
  if (!k.profile.dioAlignCheckAtSubmit && !bdevIterIsAligned(iter)) return -EINVAL;
  const nrPages = bio_iov_vecs_to_alloc(iter, BIO_MAX_VECS + 1);
  const path = blkdevDioPath(nrPages, opts.async);
  k.note(`blkdev_direct_IO: ${path} path (${nrPages} pages)`);
  if (path === 'simple') return dioSimple(k, file, iter, pos, nrPages);
  if (path === 'async') return dioAsync(k, file, iter, pos, nrPages);
  return dioMulti(k, file, iter, pos, Math.min(nrPages, BIO_MAX_VECS), opts);
}

/** Which of the three paths blkdev_direct_IO() takes for nr_pages (bio_iov_vecs_to_alloc(iter, BIO_MAX_VECS + 1)). */
export function blkdevDioPath(nrPages: number, async: boolean): BlkdevDioPath {
  if (nrPages <= BIO_MAX_VECS) return async ? 'async' : 'simple';
  return 'multi';
}

/**
 * blkdev_read_iter() / blkdev_write_iter() around the DIO: reads stop at the end of the device
 * (iov_iter_truncate(), 0 at or past the end), writes at or past the end fail with -ENOSPC and
 * are truncated to the device otherwise.
 */
export function blkdev_dio_rw(k: Kernel, file: File, iter: IovIter, pos: number, opts: { async: boolean }): number {
  const size = file.size;
  const write = iter.dir === 'ITER_SOURCE';
  if (pos >= size) return write ? -ENOSPC : 0;
  const shorten = Math.max(0, iter.count - (size - pos));
  iter.count -= shorten;
  const count = iter.count;
  let r = blkdev_direct_IO(k, file, iter, pos, opts);
  if (write && r >= 0 && r < count) {
    // blkdev_direct_write(): the iterator goes back to just after what the DIO wrote.
    const left = count - r;
    if (left > iter.count) iov_iter_revert(k, iter, left - iter.count);
    r = blkdevBufferedRest(k, file, iter, pos + r, r);
  }
  iter.count += shorten;
  return r;
}

/**
 * The rest of a short O_DIRECT write to a block device is written through the page cache:
 * mm/filemap.c __generic_file_write_iter() → generic_perform_write() up to v6.6, block/fops.c
 * blkdev_write_iter() → blkdev_buffered_write() + direct_write_fallback() from v6.7. Either way
 * the copied range is then written back and its cached pages invalidated
 * (filemap_write_and_wait_range(), invalidate_mapping_pages()), so the model stores what was
 * copied straight to the disk. Returns direct + buffered bytes; a buffered copy that faults at
 * once (-EFAULT) leaves the direct count (fuzz: scenarios/fuzz/blkdev-dio-write-buffered-rest.yaml).
 */
function blkdevBufferedRest(k: Kernel, file: File, iter: IovIter, pos: number, direct: number): number {
  let copied = 0;
  let p = pos;
  while (iter.count > 0) {
    const n = Math.min(PAGE_SIZE - (p % PAGE_SIZE), iter.count);
    const r = copy_token_from_iter(k, n, iter);
    if (r.token !== null && r.copied > 0) file.disk.set(Math.floor(p / PAGE_SIZE), r.token);
    copied += r.copied;
    p += r.copied;
    if (r.copied < n) break;
  }
  return direct + copied;
}
