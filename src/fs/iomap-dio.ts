// iomap direct I/O (fs/iomap/direct-io.c __iomap_dio_rw(), iomap_dio_bio_iter(),
// iomap_dio_bio_end_io(), iomap_dio_zero()), as ext4, xfs and btrfs use it.

import type { Kernel } from '../kernel.js';
import { EINVAL, PAGE_SIZE } from '../include/uapi.js';
import type { File } from '../include/linux/fs.js';
import { get_page_ref } from '../block/zero.js';
import {
  bio_alloc, bio_check_pages_dirty, bio_iov_iter_get_pages, bio_release_pages, bio_set_pages_dirty, BIO_MAX_VECS,
  type Bio,
} from '../block/bio.js';
import { DMA_ALIGNMENT, submit_bio } from '../block/blkdev.js';
import { invalidate_inode_pages2_range } from './truncate.js';

/** The device's logical block size: O_DIRECT offsets and lengths must be multiples of it. */
export const LOGICAL_BLOCK_SIZE = 512;
/** The filesystem block size (ext4 with 4 KiB blocks). */
export const FS_BLOCK_SIZE = PAGE_SIZE;
import { EIOCBQUEUED } from '../include/uapi.js';
import { user_backed_iter, type IovIter } from '../lib/iov_iter/uio.js';
import { iov_iter_zero } from '../lib/iov_iter/copy.js';

/**
 * bdev_iter_is_aligned(): every segment's address and length meet the DMA alignment; an empty
 * segment is skipped (lib/iov_iter.c iov_iter_aligned_iovec(): `if (len)`; fuzz: uml-6.12,
 * scenarios/fuzz/dio-empty-iovec.yaml).
 */
function iterAligned(iter: IovIter): boolean {
  if (iter.type === 'ITER_BVEC') return iter.bvec.every((b) => b.len === 0 || ((b.offset | b.len) & DMA_ALIGNMENT) === 0);
  return iter.iov.every((v) => v.len === 0 || ((v.base | v.len) & DMA_ALIGNMENT) === 0);
}

interface Dio {
  ref: number;
  error: number;
  size: number;
  shouldDirty: boolean;
  done: boolean;
  bios: Bio[];
  /** Run when the last reference goes (an async extending write grows i_size then). */
  onDone?: () => void;
}

/** iomap_dio_bio_end_io(): record the error, complete the dio on the last bio, then release the pages (R96). */
function endIo(dio: Dio) {
  return (k: Kernel, bio: Bio): void => {
    if (bio.status && !dio.error) dio.error = bio.status;
    if (--dio.ref === 0) {
      dio.done = true;
      k.note(`dio complete: ${dio.error || dio.size} ${dio.error ? '(error)' : 'bytes'}`);
      dio.onDone?.();
    }
    if (dio.shouldDirty) bio_check_pages_dirty(k, bio);
    else bio_release_pages(k, bio, false);
  };
}

/** iomap_dio_zero(): a separate, never-PINNED bio of zeroes for the unwritten part of a new block (R95). */
function dioZero(k: Kernel, dio: Dio, file: File, index: number): void {
  const bio = bio_alloc('REQ_OP_WRITE', 1, { file, index });
  const zero = k.mem.zeroPfns[0];
  if (!k.profile.iomapZeroNoRef) {
    get_page_ref(k, zero); // ≤ v6.4: ZERO_PAGE(0) plus a GET, put by the bio's release
    bio.reffed = true;
  }
  bio.vecs.push({ pfn: zero, offset: 0, len: PAGE_SIZE });
  bio.size = PAGE_SIZE;
  bio.endIo = endIo(dio);
  dio.ref++;
  dio.bios.push(bio);
  submit_bio(k, bio);
}

/**
 * The dio's error when extraction (GUP) fails at `at`: iomap_dio_bio_iter() returns what it had
 * submitted in this iteration, but iomap_iter() then maps the rest and the next iteration fails
 * at once with nothing submitted, and __iomap_dio_rw() records that error with
 * iomap_dio_set_error(), so iomap_dio_complete() returns -EFAULT rather than a short count (ext4
 * does not set IOMAP_DIO_PARTIAL).
 */
function failedIteration(k: Kernel, iSize: number, write: boolean, at: number, ret: number): number {
  // From v5.15 past i_size too: ext4_iomap_begin() maps the blocks there as a hole,
  // iomap_dio_hole_iter() zeroes the user buffer, and a fault in it is -EFAULT (uml-6.1, uml-6.12,
  // the 6.18 host). Before, iomap_apply() returned what it had done and the loop stopped at i_size.
  return !write && !k.profile.iomapDioPastEof && at >= iSize ? 0 : ret;
}

/**
 * __iomap_dio_rw(): returns the bytes transferred, -EIOCBQUEUED for a queued async I/O, or -errno.
 * A synchronous dio waits for its bios (they complete within the same step here).
 */
export function iomap_dio_rw(k: Kernel, file: File, iter: IovIter, pos: number, opts: { async: boolean; complete: (k: Kernel, bios: Bio[]) => void }): number {
  const write = iter.dir === 'ITER_SOURCE';
  const count = iter.count;
  if (count === 0) return 0;
  // __iomap_dio_rw(): dio->i_size is read once; a read from at or past it returns 0 at once,
  // before iomap_dio_bio_iter() checks any alignment, and iomap_dio_complete() cuts a read that
  // ran past it to i_size - pos ("check for short read").
  const iSize = file.size;
  if (!write && pos >= iSize) return 0;
  // A write first invalidates the cached pages of its range, unmapping them from every mapping
  // (kiocb_invalidate_pages() → invalidate_inode_pages2_range(); open-coded in 5.10), before
  // iomap_dio_bio_iter() can refuse a misalignment (fuzz: scenarios/fuzz/dio-write-invalidates.yaml).
  if (write) invalidate_inode_pages2_range(k, file, Math.floor(pos / PAGE_SIZE), Math.floor((pos + count - 1) / PAGE_SIZE));
  const dio: Dio = { ref: 1, error: 0, size: 0, shouldDirty: !write && user_backed_iter(iter), done: false, bios: [] };
  const end = pos + count;
  let p = pos;
  while (p < end && !dio.error) {
    // Before v5.15 the loop of iomap_apply() calls stopped once pos reached i_size.
    if (!write && !k.profile.iomapDioPastEof && p >= iSize) break;
    const index = Math.floor(p / FS_BLOCK_SIZE);
    if (!write && !file.disk.has(index)) {
      // A hole or unwritten extent: iomap_dio_hole_iter() → iov_iter_zero(): CPU zeroes, no GUP, no pin.
      // ext4_iomap_begin() maps the whole run of hole blocks the request covers as one extent, past
      // i_size too, so before v5.15 the loop's stop at i_size comes after it was all zeroed
      // (fuzz: scenarios/fuzz/dio-hole-extent-past-eof-5.10.yaml, uml-5.10).
      let holeEnd = Math.min(end, (index + 1) * FS_BLOCK_SIZE);
      while (holeEnd < end && !file.disk.has(Math.floor(holeEnd / FS_BLOCK_SIZE))) {
        holeEnd = Math.min(end, (Math.floor(holeEnd / FS_BLOCK_SIZE) + 1) * FS_BLOCK_SIZE);
      }
      const n = holeEnd - p;
      const copied = iov_iter_zero(k, n, iter);
      // iomap_dio_hole_iter() returns a short length, and the next iteration's iov_iter_zero() of
      // nothing is -EFAULT, which __iomap_dio_rw() records for the whole dio (below).
      if (copied < n) {
        dio.size += copied;
        // Before v5.16 the hole actor's short count ended the loop with no error: a short read.
        if (k.profile.dioHoleFaultEfault) dio.error = failedIteration(k, iSize, write, p + copied, -14);
        break;
      }
      dio.size += n;
      p += n;
      continue;
    }
    // A mapped (or, for writes, newly allocated) extent: as far as the next block of the other
    // kind. fs/ext4/inode.c ext4_iomap_begin(): ext4_map_blocks() maps one run of blocks in one
    // state, so a write from mapped blocks into new ones is two iterations, and a user page that
    // straddles the boundary is pinned by each (fuzz: scenarios/fuzz/dio-write-across-eof.yaml).
    const mapped = file.disk.has(index);
    let extEnd = Math.min(end, (index + 1) * FS_BLOCK_SIZE);
    while (extEnd < end && file.disk.has(Math.floor(extEnd / FS_BLOCK_SIZE)) === mapped) {
      extEnd = Math.min(end, (Math.floor(extEnd / FS_BLOCK_SIZE) + 1) * FS_BLOCK_SIZE);
    }
    // iomap_dio_bio_iter(), per mapped extent (a hole is zeroed by iomap_dio_hole_iter(), which
    // checks nothing): its offset and length must be logical-block aligned; older kernels also
    // check the buffer here (bdev_iter_is_aligned()), before any page is pinned. The error is the
    // dio's, whatever earlier iterations did (fuzz: scenarios/fuzz/dio-misaligned-hole-read.yaml).
    if ((p | (extEnd - p)) % LOGICAL_BLOCK_SIZE || (!k.profile.dioAlignCheckAtSubmit && !iterAligned(iter))) {
      dio.error = -EINVAL;
      break;
    }
    if (write && p % FS_BLOCK_SIZE && !file.disk.has(index)) dioZero(k, dio, file, index);
    // iov_iter_truncate() to the extent, bios until it is consumed, iov_iter_reexpand().
    const saved = iter.count;
    const extLen = extEnd - p;
    iter.count = Math.min(saved, extLen);
    let done = 0;
    while (done < extLen) {
      const bio = bio_alloc(write ? 'REQ_OP_WRITE' : 'REQ_OP_READ', BIO_MAX_VECS,
        { file, index: Math.floor((p + done) / FS_BLOCK_SIZE) });
      const ret = bio_iov_iter_get_pages(k, bio, iter);
      if (ret) {
        dio.error = failedIteration(k, iSize, write, p + done, ret);
        break;
      }
      if (dio.shouldDirty) bio_set_pages_dirty(k, bio);
      bio.endIo = endIo(dio);
      dio.ref++;
      dio.bios.push(bio);
      done += bio.size;
      submit_bio(k, bio);
    }
    iter.count = saved - done;
    dio.size += done;
    p += done;
    if (done < extLen) break;
  }
  if (write && dio.size && p % FS_BLOCK_SIZE && !file.disk.has(Math.floor((p - 1) / FS_BLOCK_SIZE))) {
    dioZero(k, dio, file, Math.floor((p - 1) / FS_BLOCK_SIZE));
  }
  // Drop the submitter's reference; a sync dio waits for the rest.
  const submitted = dio.bios.slice();
  // An extending write grows i_size at completion (fs/ext4/file.c ext4_dio_write_end_io() →
  // ext4_handle_inode_extension()): for an async one, when its last bio completes; a write that
  // failed does not (end_io returns the error first; fuzz: scenarios/fuzz/dio-write-failed-no-extend.yaml).
  const grow = () => {
    if (write && dio.size && !dio.error) file.size = Math.max(file.size, pos + dio.size);
  };
  if (opts.async && submitted.length) dio.onDone = grow;
  if (--dio.ref === 0) dio.done = true;
  if (opts.async && submitted.length) return -EIOCBQUEUED;
  opts.complete(k, submitted);
  grow();
  if (!write && !dio.error && pos + dio.size > iSize) return iSize - pos;
  return dio.error || dio.size;
}
