// Passthrough request mapping (block/blk-map.c blk_rq_map_user_iov(), bio_map_user_iov(),
// bio_copy_user_iov(), blk_rq_unmap_user(), bio_uncopy_user()), as SG_IO, NVMe passthrough and
// other ioctl paths use it (spec R93).
//
// - A user buffer whose addresses and lengths meet the queue's DMA alignment is mapped:
//   bio_map_user_iov() extracts the pages into bios — PINNED when the iterator is user-backed
//   from v6.5 ("block: convert bio_map_user_iov to use iov_iter_extract_pages", Howells; newest
//   kernels call bio_iov_iter_get_pages()), GETs before (iov_iter_get_pages_alloc2()). The
//   model builds them with bio_iov_iter_get_pages(), which follows the same profile switch.
// - A misaligned buffer, or a kernel-backed non-BVEC iterator, is bounced: bio_copy_user_iov()
//   allocates kernel pages; writes copy the user data in now (copy_from_iter(), the CPU), reads
//   copy it out at unmap (bio_uncopy_user()). No GUP, no pins, no GETs on user memory.
// - An ITER_BVEC is mapped by borrowing its pages (blk_rq_map_user_bvec()): no references.
// - blk_rq_unmap_user(): bounce bios copy back (reads) and free their pages; mapped bios are
//   released with bio_release_pages(bio, bio_data_dir(bio) == READ) — reads dirty the pages.

import type { Kernel } from '../kernel.js';
import type { File } from '../include/linux/fs.js';
import { EFAULT, EINVAL, PAGE_SIZE } from '../include/uapi.js';
import { GFP_KERNEL } from '../mm/memory.js';
import { bio_alloc, bio_iov_iter_get_pages, bio_release_pages, BIO_MAX_VECS, type Bio } from './bio.js';
import { blk_wait_bios, DMA_ALIGNMENT, submit_bio } from './blkdev.js';
import { bio_iov_vecs_to_alloc } from './fops.js';
import { IovIter, user_backed_iter } from '../lib/iov_iter/uio.js';
import { iov_iter_advance } from '../lib/iov_iter/advance.js';
import { copy_page_from_iter, copy_page_to_iter } from '../lib/iov_iter/copy.js';

/** One bio of a request and, for a bounce bio, what bio_uncopy_user() needs (struct bio_map_data). */
interface RqBio {
  bio: Bio;
  /** bio_copy_user_iov(): the kernel pages (freed at unmap) and, for reads, the saved user iterator. */
  bounce: { pages: number[]; iter: IovIter | null } | null;
}

/** A passthrough request: its bios in order (rq->bio chain) and the direction. */
export interface Request {
  readonly op: 'REQ_OP_DRV_IN' | 'REQ_OP_DRV_OUT';
  readonly bios: RqBio[];
  /** Whether blk_rq_map_user_iov() chose the copy path (bounce buffers). */
  readonly copy: boolean;
  size: number;
}

/** iov_iter_alignment(): the OR of every segment's address and length. */
function iovIterAlignment(iter: IovIter): number {
  if (iter.type === 'ITER_BVEC') return iter.bvec.reduce((a, b) => a | b.offset | b.len, 0);
  let a = 0;
  for (let s = iter.seg; s < iter.iov.length; s++) {
    const off = s === iter.seg ? iter.iovOffset : 0;
    a |= (iter.iov[s].base + off) | (iter.iov[s].len - off);
  }
  return a;
}

/** A copy of an iterator's position (bmd->iter = *iter). */
function iterCopy(i: IovIter): IovIter {
  const c = new IovIter(i.type, i.dir, i.mm, i.iov.map((v) => ({ ...v })), i.bvec.map((b) => ({ ...b })));
  c.kvec = i.kvec.map((v) => ({ ...v }));
  c.count = i.count;
  c.seg = i.seg;
  c.iovOffset = i.iovOffset;
  return c;
}

/** bio_copy_user_iov(): a bio over fresh kernel pages; writes copy the user data in now (R93). */
function bio_copy_user_iov(k: Kernel, iter: IovIter, op: Bio['op']): RqBio | number {
  const len = Math.min(iter.count, BIO_MAX_VECS * PAGE_SIZE);
  const n = Math.ceil(len / PAGE_SIZE);
  const bio = bio_alloc(k, op, n, null);
  const pages: number[] = [];
  for (let i = 0; i < n; i++) {
    const pfn = k.mem.allocFolio(GFP_KERNEL, 0, 'bio_copy_user_iov');
    if (pfn < 0) {
      for (const p of pages) k.mem.putRefs(p, 1);
      return -12; // -ENOMEM
    }
    pages.push(pfn);
    const l = Math.min(PAGE_SIZE, len - i * PAGE_SIZE);
    bio.addVec({ pfn, offset: 0, len: l });
    bio.size += l;
  }
  // The bounce bio holds no references on user memory: neither PINNED nor REFFED.
  let saved: IovIter | null = null;
  if (op === 'REQ_OP_WRITE') {
    // bio_copy_from_iter(): the CPU reads the user buffer (faulting it in as needed).
    let done = 0;
    for (const v of bio.vecs) {
      const c = copy_page_from_iter(k, v.pfn, 0, v.len, iter);
      done += c;
      if (c < v.len) break;
    }
    if (done < len) {
      for (const p of pages) k.mem.putRefs(p, 1);
      return -EFAULT;
    }
  } else {
    saved = iterCopy(iter);
    saved.count = len;
    iov_iter_advance(iter, len);
  }
  return { bio, bounce: { pages, iter: saved } };
}


/**
 * blk_rq_map_user_iov(): map (or bounce) the whole iterator into a request's bios. Returns the
 * request or -errno; on error everything mapped so far is unmapped again.
 */
export function blk_rq_map_user_iov(k: Kernel, iter: IovIter): Request | number {
  const write = iter.dir === 'ITER_SOURCE';
  const op = write ? 'REQ_OP_WRITE' : 'REQ_OP_READ';
  if (iter.count === 0) return -EINVAL;
  // The copy decision: misaligned for the queue (queue_dma_alignment() | dma_pad_mask), or not
  // user-backed (and not a BVEC, which blk_rq_map_user_bvec() maps directly).
  const copy = (iovIterAlignment(iter) & DMA_ALIGNMENT) !== 0
    || (iter.type !== 'ITER_BVEC' && !user_backed_iter(iter));
  const rq: Request = { op: write ? 'REQ_OP_DRV_OUT' : 'REQ_OP_DRV_IN', bios: [], copy, size: 0 };
  k.note(`blk_rq_map_user_iov: ${copy ? 'bounce (bio_copy_user_iov)' : 'map (bio_map_user_iov)'} ${iter.count} bytes`);
  while (iter.count > 0) {
    let rb: RqBio | number;
    if (copy) {
      rb = bio_copy_user_iov(k, iter, op);
    } else {
      // bio_map_user_iov(): bio_kmalloc(bio_iov_vecs_to_alloc(iter, BIO_MAX_VECS)), pages extracted
      // (PINNED from v6.5, GETs before), the bio appended to the request.
      const bio = bio_alloc(k, op, Math.max(1, bio_iov_vecs_to_alloc(iter, BIO_MAX_VECS)), null);
      const err = bio_iov_iter_get_pages(k, bio, iter);
      rb = err ? err : { bio, bounce: null };
    }
    if (typeof rb === 'number') {
      blk_rq_unmap_user(k, rq);
      return rb;
    }
    rq.bios.push(rb);
    rq.size += rb.bio.size;
  }
  return rq;
}

/**
 * blk_execute_rq() for the model's device: the request's data moves between its bios and the
 * device disk starting at page index `index` (the DMA happens at completion, as for any bio).
 * Returns 0 or the first bio's error.
 */
export function blk_execute_rq(k: Kernel, rq: Request, dev: File, index: number): number {
  let status = 0;
  let i = index;
  for (const rb of rq.bios) {
    rb.bio.target = { file: dev, index: i };
    submit_bio(k, rb.bio); // submit_bio_wait(), via blk_wait_bios() (see fops.ts)
    blk_wait_bios(k, [rb.bio]);
    const s = rb.bio.status;
    if (s && !status) status = s;
    i += Math.ceil(rb.bio.size / PAGE_SIZE);
  }
  return status;
}

/**
 * blk_rq_unmap_user(): per bio — a bounce bio copies back to the saved user iterator (reads) and
 * frees its pages (bio_uncopy_user()); a mapped bio releases with
 * bio_release_pages(bio, bio_data_dir(bio) == READ): reads dirty the user pages (R93, R85).
 */
export function blk_rq_unmap_user(k: Kernel, rq: Request): number {
  let ret = 0;
  for (const rb of rq.bios) {
    const { bio, bounce } = rb;
    if (bounce) {
      if (bounce.iter && !bio.status) {
        // bio_copy_to_iter(): the CPU writes the user buffer.
        for (const v of bio.vecs) {
          const c = copy_page_to_iter(k, v.pfn, 0, v.len, bounce.iter);
          if (c < v.len) { ret ||= -EFAULT; break; }
        }
      }
      for (const p of bounce.pages) k.mem.putRefs(p, 1); // bio_free_pages()
    } else {
      bio_release_pages(k, bio, bio.op === 'REQ_OP_READ');
    }
  }
  rq.bios.length = 0;
  return ret;
}
