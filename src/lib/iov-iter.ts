// struct iov_iter (include/linux/uio.h, lib/iov_iter.c): the iterator types, position
// bookkeeping (advance / revert / truncate / reexpand), page extraction with the references or
// pins each type gives (iov_iter_extract_pages(), iov_iter_get_pages2(), the seed 001 RFC's
// iov_iter_pin_pages()), and content copies between pages and an iterator's memory.
//
// The exported names and signatures of the contract skeleton are kept (fs/, block/ and drivers/
// code against them); everything else here is an addition. Spec §8 (R77–R82), R116.
//
// Representation. The kernel advances a pointer into the segment array and decrements nr_segs;
// the model keeps the array whole and an index `seg` into it (nr_segs = length - seg). iovOffset
// is, as in the kernel, the offset into the current segment's data (for a bvec or kvec: relative
// to its own offset). ITER_UBUF keeps its one buffer as iov[0] (seg stays 0). ITER_FOLIOQ is a
// flattened folio_queue: a list of folios, `seg` the slot; the chain of folio_queue segments is a
// container detail that moves no page. ITER_PIPE follows the v6.1–v6.4 code (Al Viro's
// rewrite: pages are appended on demand, i->last_offset); older kernels pushed buffers ahead of
// the data and truncated on advance, with the same references and frees for what the model does.

import type { Kernel } from '../kernel.js';
import type { File } from '../include/linux/fs.js';
import type { Profile } from '../profile.js';
import type { Mm } from '../vm/mm.js';
import { gup_fast_fallback } from '../gup/fast.js';
import { try_grab_folio } from '../gup/grab.js';
import { EFAULT, EINVAL, ENOMEM, PAGE_SIZE, TASK_SIZE_MAX } from '../include/uapi.js';
import { GFP_KERNEL } from '../mm/memory.js';
import { userAccess } from '../vm/access.js';
import { pipe_buf, pipe_buf_release, pipe_full, pipe_truncate, type Pipe } from './pipe-buf.js';
import { FOLL_GET, FOLL_NOFAULT, FOLL_PCI_P2PDMA, FOLL_PIN, FOLL_WRITE } from '../include/linux/mm.js';
import { ApiUnavailable } from '../check/bug.js';
import type { PipeBuffer } from '../include/linux/pipe_fs_i.js';

/** enum iter_type */
export type IterType = 'ITER_UBUF' | 'ITER_IOVEC' | 'ITER_KVEC' | 'ITER_BVEC' | 'ITER_FOLIOQ' | 'ITER_XARRAY' | 'ITER_DISCARD' | 'ITER_PIPE';
/** ITER_SOURCE: the memory is read (a write to a file); ITER_DEST: the memory is written (a read). */
export type IterDir = 'ITER_SOURCE' | 'ITER_DEST';

export interface Iovec { base: number; len: number }
/** A bio_vec-like segment: a physical page, offset and length. */
export interface BvecSeg {
  pfn: number;
  offset: number;
  len: number;
  /** rfc-2019-bvec (seed 000): the page came from GUP, so its release is put_user_page(). */
  gup?: boolean;
}
/** One slot of a folio_queue: the folio (head PFN) and folioq_folio_size(). */
export interface FolioqSlot { pfn: number; size: number }

/** MAX_RW_COUNT (include/linux/fs.h): INT_MAX & PAGE_MASK. */
export const MAX_RW_COUNT = 0x7ffff000;
/** UIO_MAXIOV (include/uapi/linux/uio.h) */
export const UIO_MAXIOV = 1024;
/** ITER_ALLOW_P2PDMA (include/linux/uio.h): the only iov_iter_extraction_t flag. */
export const ITER_ALLOW_P2PDMA = 0x01;

export class IovIter {
  /** Bytes left. */
  count = 0;
  /** Offset into the current segment. */
  iovOffset = 0;
  /** Index of the current segment. */
  seg = 0;
  /** i->nofault: set by filesystems that do I/O under locks (gfs2, btrfs): GUP with FOLL_NOFAULT. */
  nofault = false;
  /** ITER_KVEC: kernel virtual ranges in the linear map, so virt_to_page() of kaddr + n pages is pfn + n. */
  kvec: BvecSeg[] = [];
  /** ITER_FOLIOQ: the folios of the queue, in order. */
  folioq: FolioqSlot[] = [];
  /** ITER_XARRAY: the page cache (file->cache, index → folio) and the file position of byte 0. */
  xarray: File | null = null;
  xarrayStart = 0;
  /** ITER_PIPE: the pipe, the slot at which this iterator started and the slot of its last buffer. */
  pipe: Pipe | null = null;
  startHead = 0;
  head = 0;
  /**
   * ITER_PIPE i->last_offset (v6.1+): > 0: the last buffer is one of ours (anon, offset 0) holding
   * that many bytes; < 0: it is a spliced page ending at -last_offset; 0: no buffer yet.
   */
  lastOffset = 0;
  constructor(
    readonly type: IterType,
    readonly dir: IterDir,
    /** The mm a user-backed iterator refers to. */
    readonly mm: Mm | null,
    readonly iov: Iovec[] = [],
    readonly bvec: BvecSeg[] = [],
  ) {}
}

// ---- profile questions ------------------------------------------------------------------------------

/** import_iovec() of a single segment sets up ITER_UBUF ("iov_iter: import single vector iovecs as ITER_UBUF", ~v6.4). */
function importIovecUbuf(p: Profile): boolean {
  return p.iterUbuf && p.importIovecUbuf;
}

/** iov_iter_extract_bvec_pages() walks on across page-aligned bvecs (v6.13); before, the current bvec only. */
function bvecExtractSpansSegments(p: Profile): boolean {
  return p.iterExtractBvecMulti;
}

// ---- constructors ---------------------------------------------------------------------------------

function clampRw(len: number): number {
  return Math.min(Math.max(len, 0), MAX_RW_COUNT);
}

/** access_ok() (arch/x86/include/asm/uaccess_64.h): the range lies below TASK_SIZE_MAX. */
export function access_ok(addr: number, len: number): boolean {
  return addr >= 0 && len >= 0 && addr + len <= TASK_SIZE_MAX;
}

/**
 * import_ubuf() / iov_iter_ubuf() (lib/iov_iter.c, include/linux/uio.h): one user buffer, len
 * capped at MAX_RW_COUNT. Before ITER_UBUF (v6.0) the same buffer was a one-element ITER_IOVEC
 * (import_single_range()); pass k so the profile can say which — without k the iterator is
 * ITER_UBUF. The access_ok() check (-EFAULT) is the caller's, as vfs_read()/vfs_write() do it
 * first: see access_ok().
 */
export function import_ubuf(dir: IterDir, mm: Mm, addr: number, len: number, k?: Kernel): IovIter {
  const n = clampRw(len);
  const ubuf = !k || k.profile.iterUbuf;
  const i = new IovIter(ubuf ? 'ITER_UBUF' : 'ITER_IOVEC', dir, mm, [{ base: addr, len: n }]);
  i.count = n;
  return i;
}

/**
 * __import_iovec() (lib/iov_iter.c): a vector of user buffers; -EINVAL for more than UIO_MAXIOV
 * segments or a negative length, -EFAULT for a segment failing access_ok(); lengths are clamped
 * so the total stays within MAX_RW_COUNT. One segment becomes ITER_UBUF on kernels that do that
 * (v6.4+; needs k to ask the profile, else it does).
 */
export function import_iovec_checked(dir: IterDir, mm: Mm, iov: Iovec[], k?: Kernel): IovIter | number {
  if (iov.length > UIO_MAXIOV) return -EINVAL;
  if (iov.length === 1 && (!k || importIovecUbuf(k.profile))) {
    // __import_iovec_ubuf() → import_ubuf(): access_ok() after the MAX_RW_COUNT clamp.
    if (iov[0].len < 0) return -EINVAL;
    const len = clampRw(iov[0].len);
    if (!access_ok(iov[0].base, len)) return -EFAULT;
    return import_ubuf(dir, mm, iov[0].base, len, k);
  }
  const segs: Iovec[] = [];
  let total = 0;
  for (const v of iov) {
    if (v.len < 0) return -EINVAL; // copy_iovec_from_user(): ssize_t length < 0
    if (!access_ok(v.base, v.len)) return -EFAULT;
    const len = Math.min(v.len, MAX_RW_COUNT - total);
    segs.push({ base: v.base, len });
    total += len;
  }
  const i = new IovIter('ITER_IOVEC', dir, mm, segs); // iov_iter_init()
  i.count = total;
  return i;
}

/** import_iovec(): as import_iovec_checked(), for callers whose vector is valid; an invalid one throws. */
export function import_iovec(dir: IterDir, mm: Mm, iov: Iovec[], k?: Kernel): IovIter {
  const r = import_iovec_checked(dir, mm, iov, k);
  if (typeof r === 'number') throw new RangeError(`import_iovec(): invalid vector (${r === -EFAULT ? '-EFAULT' : '-EINVAL'})`);
  return r;
}

/** iov_iter_bvec() (lib/iov_iter.c): pages the kernel holds; count bytes from the first bvec. */
export function iov_iter_bvec(dir: IterDir, bvec: BvecSeg[], count: number): IovIter {
  const i = new IovIter('ITER_BVEC', dir, null, [], bvec);
  i.count = count;
  return i;
}

/** iov_iter_kvec() (lib/iov_iter.c): kernel virtual ranges, given as linear-map pages. */
export function iov_iter_kvec(dir: IterDir, kvec: BvecSeg[], count: number): IovIter {
  const i = new IovIter('ITER_KVEC', dir, null);
  i.kvec = kvec;
  i.count = count;
  return i;
}

/**
 * iov_iter_xarray() (lib/iov_iter.c): count bytes of a file's page cache from file position
 * start. The caller keeps the folios alive (a reference or the folio lock).
 */
export function iov_iter_xarray(dir: IterDir, file: File, start: number, count: number): IovIter {
  const i = new IovIter('ITER_XARRAY', dir, null);
  i.xarray = file;
  i.xarrayStart = start;
  i.count = count;
  return i;
}

/**
 * iov_iter_folio_queue() (lib/iov_iter.c, v6.12): folios (head PFNs) from slot firstSlot, offset
 * bytes into it. The caller keeps the folios alive.
 */
export function iov_iter_folio_queue(k: Kernel, dir: IterDir, folios: readonly number[], firstSlot: number,
  offset: number, count: number): IovIter {
  if (!k.profile.iterFolioq) throw new ApiUnavailable(`ITER_FOLIOQ does not exist in profile ${k.profile.name} (v6.12, netfs)`);
  const i = new IovIter('ITER_FOLIOQ', dir, null);
  i.folioq = folios.map((f) => {
    const head = k.mem.head(f);
    return { pfn: head, size: k.mem.folioNrPages(head) * PAGE_SIZE };
  });
  i.seg = firstSlot;
  i.iovOffset = offset;
  i.count = count;
  return i;
}

/** iov_iter_discard() (lib/iov_iter.c): a sink; BUG_ON(direction != READ). */
export function iov_iter_discard(dir: IterDir, count: number): IovIter {
  if (dir !== 'ITER_DEST') throw new RangeError('iov_iter_discard(): BUG_ON(direction != READ)');
  const i = new IovIter('ITER_DISCARD', dir, null);
  i.count = count;
  return i;
}

/**
 * iov_iter_pipe() (lib/iov_iter.c, ≤ v6.4): a destination that appends to the pipe; BUG_ON for a
 * source; WARN_ON if the pipe is already full.
 */
export function iov_iter_pipe(dir: IterDir, pipe: Pipe, count: number): IovIter {
  const k = pipe.k;
  if (!k.profile.iterPipe) throw new ApiUnavailable(`ITER_PIPE does not exist in profile ${k.profile.name} (removed in v6.5, "iov_iter: Kill ITER_PIPE")`);
  if (dir !== 'ITER_DEST') throw new RangeError('iov_iter_pipe(): BUG_ON(direction != READ)');
  k.WARN_ON_ONCE(pipe_full(pipe.head, pipe.tail, pipe.ringSize), 'lib/iov_iter.c:iov_iter_pipe:full',
    `iov_iter_pipe(): pipe ${pipe.id} is full`);
  const i = new IovIter('ITER_PIPE', dir, null);
  i.pipe = pipe;
  i.head = pipe.head;
  i.startHead = pipe.head;
  i.lastOffset = 0;
  i.count = count;
  return i;
}

// ---- small queries ---------------------------------------------------------------------------------

export function user_backed_iter(i: IovIter): boolean {
  return i.type === 'ITER_UBUF' || i.type === 'ITER_IOVEC';
}

/** iov_iter_count() */
export function iov_iter_count(i: IovIter): number {
  return i.count;
}

/** iov_iter_truncate() (include/linux/uio.h): only ever shrinks count. */
export function iov_iter_truncate(i: IovIter, count: number): void {
  if (i.count > count) i.count = count;
}

/** iov_iter_reexpand() (include/linux/uio.h): sets count back (after a truncate). */
export function iov_iter_reexpand(i: IovIter, count: number): void {
  i.count = count;
}

/** The segment array of an IOVEC/UBUF, KVEC or BVEC iterator (iovec and kvec have one layout). */
function segArray(i: IovIter): ReadonlyArray<{ len: number }> {
  if (i.type === 'ITER_KVEC') return i.kvec;
  if (i.type === 'ITER_BVEC') return i.bvec;
  return i.iov;
}

// ---- advance / revert ----------------------------------------------------------------------------

/**
 * iov_iter_iovec_advance() / iov_iter_bvec_advance() (lib/iov_iter.c): move over whole segments;
 * a position at the exact end of a segment is the start of the next one (zero-length segments are
 * stepped over).
 */
function segAdvance(i: IovIter, size: number): void {
  if (!i.count) return;
  const segs = segArray(i);
  i.count -= size;
  size += i.iovOffset;
  let s = i.seg;
  for (; s < segs.length; s++) {
    if (size < segs[s].len) break;
    size -= segs[s].len;
  }
  i.iovOffset = size;
  i.seg = s;
}

/** iov_iter_folioq_advance() (lib/iov_iter.c). */
function folioqAdvance(i: IovIter, size: number): void {
  if (!i.count) return;
  i.count -= size;
  let slot = i.seg;
  size += i.iovOffset;
  do {
    if (slot >= i.folioq.length) break;
    const fsize = i.folioq[slot].size;
    if (size < fsize) break;
    size -= fsize;
    slot++;
  } while (size);
  i.iovOffset = size;
  i.seg = slot;
}

/** last_offset() (lib/iov_iter.c v6.1–v6.4): what i->last_offset is after ending in buf. */
function lastOffsetOf(buf: PipeBuffer): number {
  return buf.ops === 'anon' ? buf.len : -(buf.offset + buf.len);
}

/**
 * pipe_advance() (lib/iov_iter.c v6.1–v6.4). Its callers only use it with 0 bytes, to drop what an
 * aborted read put into the pipe (generic_file_splice_read()): nothing emitted yet → discard from
 * the start; else discard past the current buffer. With more bytes the kernel walks slots past the
 * pipe's head (its pages are appended as they are filled, so there is nothing to advance over);
 * the model WARNs and only lowers count.
 */
function pipe_advance(i: IovIter, size: number): void {
  const pipe = i.pipe!;
  if (!i.lastOffset && !size) {
    pipe_truncate(pipe, i.startHead);
    return;
  }
  if (size) {
    pipe.k.WARN_ON_ONCE(true, 'pinlab:iov_iter_advance-pipe',
      `iov_iter_advance(${size}) on an ITER_PIPE iterator: there is no data past its last buffer to advance over`);
    i.count -= size;
  }
  pipe_truncate(pipe, i.head + 1);
}

export function iov_iter_advance(i: IovIter, bytes: number): void {
  const size = Math.min(Math.max(bytes, 0), i.count); // iov_iter_advance(): clamp to count
  switch (i.type) {
    case 'ITER_UBUF':
    case 'ITER_XARRAY':
      i.iovOffset += size;
      i.count -= size;
      return;
    case 'ITER_IOVEC':
    case 'ITER_KVEC':
    case 'ITER_BVEC':
      segAdvance(i, size);
      return;
    case 'ITER_FOLIOQ':
      folioqAdvance(i, size);
      return;
    case 'ITER_DISCARD':
      i.count -= size;
      return;
    case 'ITER_PIPE':
      pipe_advance(i, size);
      return;
  }
}

/**
 * iov_iter_revert() for ITER_PIPE (lib/iov_iter.c v6.1–v6.4; ≤ v6.0 the same end state through
 * pipe_truncate()): walk back from the pipe's head, shortening the buffer the new position falls
 * in and releasing every buffer past it (put_page): R81. A page whose only reference was the
 * pipe's is freed here — under DMA, if nobody else holds it (R116).
 */
function pipeRevert(i: IovIter, unroll: number): void {
  const pipe = i.pipe!;
  let head = pipe.head;
  while (head > i.startHead) {
    const b = pipe_buf(pipe, --head);
    if (unroll < b.len) {
      b.len -= unroll;
      i.lastOffset = lastOffsetOf(b);
      i.head = head;
      return;
    }
    unroll -= b.len;
    pipe.ring[head & (pipe.ringSize - 1)] = null;
    pipe.head--;
    pipe_buf_release(pipe, b);
  }
  i.lastOffset = 0;
  i.head = head;
}

/**
 * iov_iter_revert() (lib/iov_iter.c): give back `unroll` bytes (count grows, position moves
 * back). Within the current segment only iovOffset moves; otherwise whole segments are stepped
 * back and the position lands unroll bytes before the end of one. ITER_UBUF and ITER_XARRAY
 * cannot go before their start (BUG()). Reverting never releases pins (R82) — except that an
 * ITER_PIPE iterator releases the pipe buffers it gives back (R81).
 */
export function iov_iter_revert(k: Kernel, i: IovIter, bytes: number): void {
  let unroll = bytes;
  if (!unroll) return;
  if (k.WARN_ON_ONCE(unroll > MAX_RW_COUNT, 'lib/iov_iter.c:iov_iter_revert:MAX_RW_COUNT',
    `iov_iter_revert(${unroll}): more than MAX_RW_COUNT`)) return;
  i.count += unroll;
  if (i.type === 'ITER_PIPE') {
    pipeRevert(i, unroll);
    return;
  }
  if (i.type === 'ITER_DISCARD') return;
  if (unroll <= i.iovOffset) {
    i.iovOffset -= unroll;
    return;
  }
  unroll -= i.iovOffset;
  if (i.type === 'ITER_XARRAY' || i.type === 'ITER_UBUF') {
    k.BUG(`iov_iter_revert() before the start of an ${i.type} iterator (${unroll} bytes too far)`,
      ['lib/iov_iter.c iov_iter_revert(): "We should never go beyond the start of the specified range"']);
  }
  if (i.type === 'ITER_FOLIOQ') {
    // iov_iter_folioq_revert()
    i.iovOffset = 0;
    let slot = i.seg;
    for (;;) {
      if (slot === 0) k.BUG('iov_iter_revert() before the first folio of an ITER_FOLIOQ iterator');
      slot--;
      const fsize = i.folioq[slot].size;
      if (unroll <= fsize) {
        i.iovOffset = fsize - unroll;
        break;
      }
      unroll -= fsize;
    }
    i.seg = slot;
    return;
  }
  // IOVEC, KVEC ("same logics for iovec and kvec") and BVEC.
  const segs = segArray(i);
  let s = i.seg;
  for (;;) {
    if (s === 0) k.BUG(`iov_iter_revert() before the first segment of an ${i.type} iterator (a caller bug: memory before the array)`);
    const n = segs[--s].len;
    if (unroll <= n) {
      i.seg = s;
      i.iovOffset = n - unroll;
      return;
    }
    unroll -= n;
  }
}

// ---- page extraction -------------------------------------------------------------------------------

export interface Extracted { bytes: number; pages: number[]; offset0: number }

function fail(bytes: number, offset0 = 0): Extracted {
  return { bytes, pages: [], offset0 };
}

/**
 * want_pages_array() (lib/iov_iter.c): pages needed for size bytes from offset start, at most
 * maxpages; 0 (with a WARN) when there is nothing to want, which the callers turn into -ENOMEM.
 */
function want_pages_array(k: Kernel, size: number, start: number, maxpages: number): number {
  const count = Math.min(Math.ceil((size + start) / PAGE_SIZE), maxpages);
  k.WARN_ON_ONCE(count <= 0, 'lib/iov_iter.c:want_pages_array:!count', 'want_pages_array(): no pages wanted (the caller should have prevented that)');
  return Math.max(count, 0);
}

/** first_iovec_segment() (lib/iov_iter.c): the address of the first non-empty user segment; size capped to it. */
function firstIovecSegment(k: Kernel, i: IovIter, size: number): { addr: number; size: number } {
  if (i.type === 'ITER_UBUF') return { addr: i.iov[0].base + i.iovOffset, size };
  for (let s = i.seg, skip = i.iovOffset; s < i.iov.length; s++, skip = 0) {
    const len = i.iov[s].len - skip;
    if (len <= 0) continue;
    return { addr: i.iov[s].base + skip, size: Math.min(size, len) };
  }
  return k.BUG('first_iovec_segment() on an empty iterator');
}

/**
 * iov_iter_extract_user_pages() (lib/iov_iter.c): pin_user_pages_fast() on the pages of the
 * current segment only — FOLL_WRITE for ITER_DEST, FOLL_PCI_P2PDMA for ITER_ALLOW_P2PDMA,
 * FOLL_NOFAULT for nofault, never FOLL_LONGTERM (R78). A result ≤ 0 is returned as is; a partial
 * pin shortens the byte count; the iterator advances by what is returned.
 */
function iov_iter_extract_user_pages(k: Kernel, i: IovIter, maxsize: number, maxpages: number, extractionFlags: number): Extracted {
  let gup = 0;
  if (i.dir === 'ITER_DEST') gup |= FOLL_WRITE;
  // The model also takes FOLL_PCI_P2PDMA itself, as the v4–v8 drafts passed gup_flags through.
  if (extractionFlags & (ITER_ALLOW_P2PDMA | FOLL_PCI_P2PDMA)) gup |= FOLL_PCI_P2PDMA;
  if (i.nofault) gup |= FOLL_NOFAULT;
  if (!i.mm) return fail(-EFAULT);
  const { addr, size } = firstIovecSegment(k, i, maxsize);
  const offset = addr % PAGE_SIZE;
  const n = want_pages_array(k, size, offset, maxpages);
  if (!n) return fail(-ENOMEM);
  const pages = new Array<number>(n).fill(-1);
  // pin_user_pages_fast(): gup_fast_fallback() with FOLL_PIN added.
  const res = gup_fast_fallback(k, i.mm, addr - offset, n, gup | FOLL_PIN, pages);
  if (res <= 0) return fail(res, offset);
  const bytes = Math.min(size, res * PAGE_SIZE - offset);
  iov_iter_advance(i, bytes);
  return { bytes, pages: pages.slice(0, res), offset0: offset };
}

/** iov_iter_extract_kvec_pages() (lib/iov_iter.c): virt_to_page() of each page of the current kvec; no references. */
function extractKvecPages(k: Kernel, i: IovIter, maxsize: number, maxpages: number): Extracted {
  let skip = i.iovOffset;
  let size: number;
  for (;;) {
    if (i.seg >= i.kvec.length) return fail(0);
    size = Math.min(maxsize, i.kvec[i.seg].len - skip);
    if (size > 0) break;
    i.iovOffset = 0;
    i.seg++;
    skip = 0;
  }
  const kv = i.kvec[i.seg];
  const kaddr = kv.pfn * PAGE_SIZE + kv.offset + skip;
  const offset = kaddr % PAGE_SIZE;
  const n = want_pages_array(k, size, offset, maxpages);
  if (!n) return fail(-ENOMEM);
  const first = Math.floor(kaddr / PAGE_SIZE);
  const pages = Array.from({ length: n }, (_, j) => first + j);
  size = Math.min(size, n * PAGE_SIZE - offset);
  iov_iter_advance(i, size);
  return { bytes: size, pages, offset0: offset };
}

/**
 * iov_iter_extract_bvec_pages() (lib/iov_iter.c); no references. v6.3–v6.12: the pages of the
 * current bvec only. v6.13+: page by page across bvecs, stopping at a piece that does not start
 * at offset 0 (after the first) or does not end at a page end (only the first page may have an
 * offset, and no hole may be left).
 */
function iov_iter_extract_bvec_pages(k: Kernel, i: IovIter, maxsize: number, maxpages: number): Extracted {
  if (!bvecExtractSpansSegments(k.profile)) {
    let skip = i.iovOffset;
    let size: number;
    for (;;) {
      if (i.seg >= i.bvec.length) return fail(0);
      size = Math.min(maxsize, i.bvec[i.seg].len - skip);
      if (size > 0) break;
      i.iovOffset = 0;
      i.seg++;
      skip = 0;
    }
    const bv = i.bvec[i.seg];
    skip += bv.offset;
    const page = bv.pfn + Math.floor(skip / PAGE_SIZE);
    const offset = skip % PAGE_SIZE;
    const n = want_pages_array(k, size, offset, maxpages);
    if (!n) return fail(-ENOMEM);
    const pages = Array.from({ length: n }, (_, j) => page + j);
    size = Math.min(size, n * PAGE_SIZE - offset);
    iov_iter_advance(i, size);
    return { bytes: size, pages, offset0: offset };
  }
  if (i.seg >= i.bvec.length) return fail(0);
  let skip = i.iovOffset;
  if (i.iovOffset === i.bvec[i.seg].len) {
    i.iovOffset = 0;
    i.seg++;
    skip = 0;
  }
  // A bvec_iter over the remaining bvecs: bi_idx (relative to seg), bi_size, bi_bvec_done.
  let idx = 0;
  let biSize = maxsize;
  let done = skip;
  // The kernel sizes the array from skip, not from the offset into the first page.
  const max = want_pages_array(k, maxsize, skip, maxpages);
  if (!max) return fail(-ENOMEM);
  const pages: number[] = [];
  let size = 0;
  let offset0 = 0;
  while (biSize > 0 && i.seg + idx < i.bvec.length) {
    // bvec_iter_bvec(): the single-page piece at the iterator.
    const mp = i.bvec[i.seg + idx];
    const mpLen = Math.min(biSize, mp.len - done);
    const mpOff = mp.offset + done;
    const page = mp.pfn + Math.floor(mpOff / PAGE_SIZE);
    const off = mpOff % PAGE_SIZE;
    const len = Math.min(mpLen, PAGE_SIZE - off);
    if (pages.length) {
      if (off) break;
    } else {
      offset0 = off;
    }
    pages.push(page);
    size += len;
    if (pages.length >= max) break;
    if (off + len !== PAGE_SIZE) break;
    // bvec_iter_advance_single()
    done += len;
    if (done === mp.len) {
      done = 0;
      idx++;
    }
    biSize -= len;
  }
  iov_iter_advance(i, size);
  return { bytes: size, pages, offset0 };
}

/** folio_file_page() of the page cache entry for index, or -1 for a hole (xas_load() → NULL). */
function xarrayPage(k: Kernel, file: File, index: number): number {
  const h = file.cache.get(index);
  if (h === undefined) return -1;
  k.fp.read('folio', h);
  return k.mem.folioNrPages(h) > 1 ? h + (index - k.mem.indexOf(h)) : h;
}

/**
 * iov_iter_extract_xarray_pages() (lib/iov_iter.c): consecutive page-cache pages from the
 * position, up to the first hole; no references. Unlike iter_xarray_get_pages() it has no
 * "nothing found" check: with no page at all and an offset into the first page, the size_t
 * subtraction wraps and it returns maxsize with an empty list (callers ensure the pages exist).
 */
function iov_iter_extract_xarray_pages(k: Kernel, i: IovIter, maxsize: number, maxpages: number): Extracted {
  const pos = i.xarrayStart + i.iovOffset;
  const index = Math.floor(pos / PAGE_SIZE);
  const offset = pos % PAGE_SIZE;
  const n = want_pages_array(k, maxsize, offset, maxpages);
  if (!n) return fail(-ENOMEM);
  const pages: number[] = [];
  for (let x = index; pages.length < n; x++) {
    const p = xarrayPage(k, i.xarray!, x);
    if (p < 0) break;
    pages.push(p);
  }
  const covered = pages.length * PAGE_SIZE - offset;
  const bytes = covered < 0 ? maxsize : Math.min(covered, maxsize);
  iov_iter_advance(i, bytes);
  return { bytes, pages, offset0: offset };
}

/**
 * iov_iter_extract_folioq_pages() (lib/iov_iter.c, v6.12): page by page through the folios;
 * no references. Count and position move as pages are taken; an extraction that ends exactly at
 * a folio's end leaves the slot on that folio (iovOffset = its size).
 */
function iov_iter_extract_folioq_pages(k: Kernel, i: IovIter, maxsize: number, maxpages: number): Extracted {
  let slot = i.seg;
  const offset0 = i.iovOffset % PAGE_SIZE;
  const n = want_pages_array(k, maxsize, offset0, maxpages);
  if (!n) return fail(-ENOMEM);
  const pages: number[] = [];
  let extracted = 0;
  for (;;) {
    if (slot >= i.folioq.length) break;
    const folio = i.folioq[slot];
    const off = i.iovOffset;
    let part = PAGE_SIZE - (off % PAGE_SIZE);
    if (off < folio.size) {
      part = Math.min(part, maxsize - extracted, folio.size - off);
      i.count -= part;
      i.iovOffset += part;
      extracted += part;
      pages.push(folio.pfn + Math.floor(off / PAGE_SIZE));
    }
    if (pages.length >= n || extracted >= maxsize) break;
    if (i.iovOffset >= folio.size) {
      i.iovOffset = 0;
      slot++;
    }
  }
  i.seg = slot;
  return { bytes: extracted, pages, offset0 };
}

// ---- ITER_PIPE (≤ v6.4) -----------------------------------------------------------------------------

/** sanity() (lib/iov_iter.c, PIPE_PARANOIA): the iterator still sits at the pipe's head. */
function pipeSane(i: IovIter): boolean {
  const pipe = i.pipe!;
  let ok: boolean;
  if (i.lastOffset) {
    ok = pipe.head !== pipe.tail && i.head === pipe.head - 1;
    if (ok) {
      const p = pipe_buf(pipe, i.head);
      ok = p.offset + p.len === Math.abs(i.lastOffset);
    }
  } else {
    ok = i.head === pipe.head;
  }
  if (!ok) {
    pipe.k.WARN_ON_ONCE(true, 'lib/iov_iter.c:sanity', `ITER_PIPE iterator out of step with pipe ${pipe.id} ` +
      `(iterator head ${i.head}, last_offset ${i.lastOffset}; pipe head ${pipe.head}, tail ${pipe.tail})`);
  }
  return ok;
}

/**
 * append_pipe() (lib/iov_iter.c v6.1–v6.4): room in our last (anon) buffer is filled first;
 * otherwise a fresh page (alloc_page(GFP_USER)) becomes a new buffer (push_anon(), the pipe owns
 * the allocation's reference). The iterator's count drops by what was appended. null when the
 * pipe is full or memory ran out.
 */
function append_pipe(i: IovIter, size: number): { pfn: number; off: number; size: number } | null {
  const pipe = i.pipe!;
  const k = pipe.k;
  const offset = i.lastOffset;
  if (offset > 0 && offset < PAGE_SIZE) {
    const buf = pipe_buf(pipe, pipe.head - 1);
    const n = Math.min(size, PAGE_SIZE - offset);
    buf.len += n;
    i.lastOffset += n;
    i.count -= n;
    return { pfn: buf.pfn, off: offset, size: n };
  }
  const n = Math.min(size, PAGE_SIZE);
  if (pipe_full(pipe.head, pipe.tail, pipe.maxUsage)) return null;
  const pfn = k.mem.allocFolio(GFP_KERNEL, 0, 'append_pipe');
  if (pfn < 0) return null;
  pipe.ring[pipe.head & (pipe.ringSize - 1)] = { pfn, offset: 0, len: n, ops: 'anon' };
  pipe.head++;
  i.head = pipe.head - 1;
  i.lastOffset = n;
  i.count -= n;
  k.note(`pipe ${pipe.id}: new buffer pfn ${pfn} (${n} bytes)`);
  return { pfn, off: 0, size: n };
}

/** pipe_npages() (lib/iov_iter.c): free slots, plus our partly filled last page; returns its fill (or 0). */
function pipeNpages(i: IovIter): { npages: number; off: number } {
  const pipe = i.pipe!;
  const used = pipe.head - pipe.tail;
  const npages = Math.max(pipe.maxUsage - used, 0);
  const off = i.lastOffset;
  if (off > 0 && off < PAGE_SIZE) return { npages: npages + 1, off };
  return { npages, off: 0 };
}

type PipeGrab = 'get' | 'none' | 'pin';

/**
 * pipe_get_pages() (lib/iov_iter.c v6.1–v6.4) and iov_iter_extract_pipe_pages() (v6.3–v6.4):
 * append pages to the pipe for maxsize bytes and list them. pipe_get_pages() gives the caller a
 * reference of its own on each (get_page()); iov_iter_extract_pipe_pages() gives none ("the pipe
 * will hold the refs"); the seed 001 RFC's pipe_get_pages(use_pup) pins them (pin_page()).
 */
function pipe_get_pages(k: Kernel, i: IovIter, maxsize: number, maxpages: number, grab: PipeGrab): Extracted {
  if (!pipeSane(i)) return fail(-EFAULT);
  const { npages, off } = pipeNpages(i);
  if (!npages) return fail(-EFAULT);
  const count = want_pages_array(k, maxsize, off, Math.min(npages, maxpages));
  if (!count) return fail(-ENOMEM);
  const pages: number[] = [];
  let left = maxsize;
  while (pages.length < count && left > 0) {
    const a = append_pipe(i, left);
    if (!a) break;
    if (grab === 'get') k.mem.refAdd(k.mem.head(a.pfn), 1);
    else if (grab === 'pin') pin_page(k, a.pfn);
    pages.push(a.pfn);
    left -= a.size;
  }
  if (!pages.length) return fail(-EFAULT, off);
  return { bytes: maxsize - left, pages, offset0: off };
}

/**
 * pin_page() (the seed 001 RFC, "mm/gup: introduce pin_page()"): the FOLL_PIN counterpart of
 * get_page() — the pincount (+1 ref) or GUP_PIN_COUNTING_BIAS, counted in nr_foll_pin_acquired.
 * Modelled as try_grab_folio(FOLL_PIN) on the folio, which does exactly that.
 */
export function pin_page(k: Kernel, pfn: number): void {
  try_grab_folio(k, k.mem.head(pfn), 1, FOLL_PIN);
}

// ---- the extraction APIs ------------------------------------------------------------------------------

/**
 * iov_iter_extract_will_pin(): the caller gets pins (true: release with unpin_user_page*()) or
 * nothing (false: whoever built the iterator keeps the pages alive) — R79. True exactly for
 * user-backed iterators; on the seed 001 RFC profile also for ITER_PIPE, which its
 * iov_iter_pin_pages() pins with pin_page().
 */
export function iov_iter_extract_will_pin(i: IovIter): boolean {
  if (i.type === 'ITER_PIPE') return i.pipe?.k.profile.iterPinPagesRfc ?? false;
  return user_backed_iter(i);
}

/**
 * iov_iter_extract_pages(): up to maxpages pages covering up to maxsize bytes from the current
 * position, pinned (FOLL_PIN) for user-backed iterators, no reference for kernel-backed ones.
 * Advances the iterator. Returns { bytes, pages, offset0 } or a negative errno in bytes.
 *
 * lib/iov_iter.c iov_iter_extract_pages() (v6.3): maxsize capped at count and MAX_RW_COUNT (0 if
 * nothing is left); UBUF/IOVEC → iov_iter_extract_user_pages(); KVEC, BVEC, FOLIOQ, XARRAY →
 * their pages with no reference; ITER_PIPE (v6.3/v6.4 only) → iov_iter_extract_pipe_pages():
 * fresh pipe pages with no reference of the caller's — the pipe's buffers are their only owner
 * (the precondition of R116); DISCARD → -EFAULT.
 *
 * On the seed 001 RFC profile (iterPinPagesRfc, a 5.7 kernel without this function) the call is
 * that RFC's iov_iter_pin_pages(), which its bio direct I/O used in the same place.
 */
export function iov_iter_extract_pages(k: Kernel, i: IovIter, maxsize: number, maxpages: number,
  extractionFlags: number): { bytes: number; pages: number[]; offset0: number } {
  const p = k.profile;
  if (!p.iterExtractPages) {
    if (p.iterPinPagesRfc) return iov_iter_pin_pages(k, i, maxsize, maxpages);
    throw new ApiUnavailable(`iov_iter_extract_pages() does not exist in profile ${p.name} ` +
      '(v6.3, "iov_iter: Add a function to extract a page list from an iterator"); use iov_iter_get_pages2()');
  }
  maxsize = Math.min(maxsize, i.count, MAX_RW_COUNT);
  if (maxsize <= 0) return fail(0);
  switch (i.type) {
    case 'ITER_UBUF':
    case 'ITER_IOVEC':
      return iov_iter_extract_user_pages(k, i, maxsize, maxpages, extractionFlags);
    case 'ITER_KVEC':
      return extractKvecPages(k, i, maxsize, maxpages);
    case 'ITER_BVEC':
      return iov_iter_extract_bvec_pages(k, i, maxsize, maxpages);
    case 'ITER_FOLIOQ':
      return iov_iter_extract_folioq_pages(k, i, maxsize, maxpages);
    case 'ITER_XARRAY':
      return iov_iter_extract_xarray_pages(k, i, maxsize, maxpages);
    case 'ITER_PIPE':
      if (i.dir !== 'ITER_DEST') return fail(-EFAULT);
      return pipe_get_pages(k, i, maxsize, maxpages, 'none');
    case 'ITER_DISCARD':
      return fail(-EFAULT);
  }
}

/**
 * iov_iter_pin_pages() (the seed 001 RFC, "iov_iter: introduce iov_iter_pin_pages*() routines",
 * 2020, never merged): ITER_PIPE → pipe_get_pages() with pin_page(); ITER_DISCARD → -EFAULT;
 * anything but ITER_IOVEC → WARN_ON_ONCE and -EFAULT; ITER_IOVEC → pin_user_pages_fast() on the
 * first non-empty segment (FOLL_WRITE for a read), at most maxpages pages. The RFC's function did
 * not advance (5.x callers advanced by what they used); the model's does, like every extraction
 * call here, so callers follow one convention.
 */
export function iov_iter_pin_pages(k: Kernel, i: IovIter, maxsize: number, maxpages: number): Extracted {
  if (!k.profile.iterPinPagesRfc) throw new ApiUnavailable(`iov_iter_pin_pages() exists only in the seed 001 RFC (profile rfc-2020-bio-pin), not in ${k.profile.name}`);
  if (i.type === 'ITER_PIPE') return pipe_get_pages(k, i, Math.min(maxsize, i.count), maxpages, 'pin');
  if (i.type === 'ITER_DISCARD') return fail(-EFAULT);
  if (k.WARN_ON_ONCE(i.type !== 'ITER_IOVEC', 'lib/iov_iter.c:iov_iter_pin_pages:!iovec',
    `iov_iter_pin_pages() on an ${i.type} iterator`)) return fail(-EFAULT);
  if (!maxsize) return fail(0);
  maxsize = Math.min(maxsize, i.count);
  if (maxsize <= 0 || !i.mm) return fail(0);
  // iterate_iovec(): the step runs on the first non-empty segment and returns from the function.
  const { addr: a, size } = firstIovecSegment(k, i, maxsize);
  const start = a % PAGE_SIZE;
  let len = size + start;
  if (len > maxpages * PAGE_SIZE) len = maxpages * PAGE_SIZE;
  const n = Math.ceil(len / PAGE_SIZE);
  const pages = new Array<number>(n).fill(-1);
  const res = gup_fast_fallback(k, i.mm, a - start, n, FOLL_PIN | (i.dir === 'ITER_DEST' ? FOLL_WRITE : 0), pages);
  if (res < 0) return fail(res, start);
  const bytes = (res === n ? len : res * PAGE_SIZE) - start;
  if (bytes > 0) iov_iter_advance(i, bytes);
  return { bytes, pages: pages.slice(0, res), offset0: start };
}

/**
 * iov_iter_get_pages2(): the older FOLL_GET extraction (references for every iterator type).
 *
 * lib/iov_iter.c iov_iter_get_pages2() / __iov_iter_get_pages_alloc() (v6.0 name; the older
 * iov_iter_get_pages() did not advance — its callers advanced by what they used, so the model's
 * one function stands for both): 0 for maxpages 0 or nothing left; UBUF/IOVEC →
 * get_user_pages_fast() on the current segment (FOLL_WRITE for ITER_DEST, FOLL_NOFAULT if
 * nofault): a GET per page (R80); BVEC → the pages of the current bvec, folio_get() each; FOLIOQ,
 * XARRAY → get_page()/folio_get() per page; ITER_PIPE (≤ v6.4) → pipe_get_pages(): fresh pipe
 * pages, each with a reference for the caller besides the pipe's; KVEC and DISCARD → -EFAULT.
 *
 * ITER_PIPE under profile.nonUserIterNoRef (the block-pinning series while it was in development,
 * without the seed 001 RFC): the caller gets the pipe's pages with no reference of its own, as
 * iov_iter_extract_pipe_pages() gives them (R116's precondition). No released kernel's
 * iov_iter_get_pages*() did this; it is the model's switch for that series.
 */
export function iov_iter_get_pages2(k: Kernel, i: IovIter, maxsize: number, maxpages: number):
  { bytes: number; pages: number[]; offset0: number } {
  if (!maxpages) return fail(0);
  maxsize = Math.min(maxsize, i.count);
  if (maxsize <= 0) return fail(0);
  maxsize = Math.min(maxsize, MAX_RW_COUNT);
  const mem = k.mem;
  switch (i.type) {
    case 'ITER_UBUF':
    case 'ITER_IOVEC': {
      if (!i.mm) return fail(-EFAULT);
      let gup = FOLL_GET;
      if (i.dir === 'ITER_DEST') gup |= FOLL_WRITE;
      if (i.nofault) gup |= FOLL_NOFAULT;
      const { addr, size } = firstIovecSegment(k, i, maxsize);
      const start = addr % PAGE_SIZE;
      const n = want_pages_array(k, size, start, maxpages);
      if (!n) return fail(-ENOMEM);
      const pages = new Array<number>(n).fill(-1);
      const res = gup_fast_fallback(k, i.mm, addr - start, n, gup, pages);
      if (res <= 0) return fail(res, start);
      const bytes = Math.min(size, res * PAGE_SIZE - start);
      iov_iter_advance(i, bytes);
      return { bytes, pages: pages.slice(0, res), offset0: start };
    }
    case 'ITER_BVEC': {
      // first_bvec_segment(): the current bvec, from the position.
      if (i.seg >= i.bvec.length) return fail(0);
      const bv = i.bvec[i.seg];
      const size = Math.min(maxsize, bv.len - i.iovOffset);
      const skip = i.iovOffset + bv.offset;
      const page = bv.pfn + Math.floor(skip / PAGE_SIZE);
      const start = skip % PAGE_SIZE;
      const n = want_pages_array(k, size, start, maxpages);
      if (!n) return fail(-ENOMEM);
      const pages: number[] = [];
      for (let j = 0; j < n; j++) {
        pages.push(page + j);
        mem.refAdd(mem.head(page + j), 1); // folio_get() (slab pages excepted: the model has none)
      }
      const bytes = Math.min(size, n * PAGE_SIZE - start);
      i.count -= bytes;
      i.iovOffset += bytes;
      if (i.iovOffset === bv.len) {
        i.iovOffset = 0;
        i.seg++;
      }
      return { bytes, pages, offset0: start };
    }
    case 'ITER_FOLIOQ': {
      // iter_folioq_get_pages(): as the extraction, plus get_page() per page.
      const r = iov_iter_extract_folioq_pages(k, i, maxsize, maxpages);
      for (const p of r.pages) mem.refAdd(mem.head(p), 1);
      return r;
    }
    case 'ITER_XARRAY': {
      // iter_xarray_get_pages(): folio_get() per page; nothing present → 0.
      const pos = i.xarrayStart + i.iovOffset;
      const index = Math.floor(pos / PAGE_SIZE);
      const start = pos % PAGE_SIZE;
      const n = want_pages_array(k, maxsize, start, maxpages);
      if (!n) return fail(-ENOMEM);
      const pages: number[] = [];
      for (let x = index; pages.length < n; x++) {
        const p = xarrayPage(k, i.xarray!, x);
        if (p < 0) break;
        mem.refAdd(mem.head(p), 1);
        pages.push(p);
      }
      if (!pages.length) return fail(0, start);
      const bytes = Math.min(pages.length * PAGE_SIZE - start, maxsize);
      i.iovOffset += bytes;
      i.count -= bytes;
      return { bytes, pages, offset0: start };
    }
    case 'ITER_PIPE': {
      const noRef = k.profile.nonUserIterNoRef && !k.profile.iterPinPagesRfc;
      return pipe_get_pages(k, i, maxsize, maxpages, noRef ? 'none' : 'get');
    }
    case 'ITER_KVEC':
    case 'ITER_DISCARD':
      return fail(-EFAULT);
  }
}

// ---- copies ---------------------------------------------------------------------------------------------

/** A run of the iterator's memory: user addresses, or a kernel page (+ offset, may span pages). */
type Piece = { user: true; addr: number; len: number } | { user: false; pfn: number; off: number; len: number };

/** The iterator's memory for the next `bytes` bytes from its position, run by run (iterate_and_advance()). */
function* pieces(k: Kernel, i: IovIter, bytes: number): Generator<Piece> {
  switch (i.type) {
    case 'ITER_UBUF':
      yield { user: true, addr: i.iov[0].base + i.iovOffset, len: bytes };
      return;
    case 'ITER_IOVEC':
      for (let s = i.seg, skip = i.iovOffset; bytes > 0 && s < i.iov.length; s++, skip = 0) {
        const part = Math.min(bytes, i.iov[s].len - skip);
        if (part <= 0) continue;
        yield { user: true, addr: i.iov[s].base + skip, len: part };
        bytes -= part;
      }
      return;
    case 'ITER_KVEC':
    case 'ITER_BVEC': {
      const segs = i.type === 'ITER_KVEC' ? i.kvec : i.bvec;
      for (let s = i.seg, skip = i.iovOffset; bytes > 0 && s < segs.length; s++, skip = 0) {
        const part = Math.min(bytes, segs[s].len - skip);
        if (part <= 0) continue;
        yield { user: false, pfn: segs[s].pfn, off: segs[s].offset + skip, len: part };
        bytes -= part;
      }
      return;
    }
    case 'ITER_FOLIOQ':
      for (let s = i.seg, skip = i.iovOffset; bytes > 0 && s < i.folioq.length; s++, skip = 0) {
        const part = Math.min(bytes, i.folioq[s].size - skip);
        if (part <= 0) continue;
        yield { user: false, pfn: i.folioq[s].pfn, off: skip, len: part };
        bytes -= part;
      }
      return;
    case 'ITER_XARRAY': {
      // iterate_xarray(): the folios present from the position (a hole ends the walk here).
      let pos = i.xarrayStart + i.iovOffset;
      while (bytes > 0) {
        const p = xarrayPage(k, i.xarray!, Math.floor(pos / PAGE_SIZE));
        if (p < 0) return;
        const off = pos % PAGE_SIZE;
        const part = Math.min(bytes, PAGE_SIZE - off);
        yield { user: false, pfn: p, off, len: part };
        bytes -= part;
        pos += part;
      }
      return;
    }
    case 'ITER_DISCARD':
    case 'ITER_PIPE':
      return;
  }
}

/** The PFNs a kernel piece touches. */
function piecePages(pfn: number, off: number, len: number): number[] {
  const first = pfn + Math.floor(off / PAGE_SIZE);
  const last = pfn + Math.floor((off + len - 1) / PAGE_SIZE);
  const out: number[] = [];
  for (let p = first; p <= last; p++) out.push(p);
  return out;
}

/**
 * copy_to_user() of a content token: page by page through the task's current mapping, faulting
 * as a user store would (userAccess()). Returns the bytes NOT copied (0 on success).
 */
function copyTokenToUser(k: Kernel, mm: Mm, addr: number, len: number, token: number): number {
  if (!access_ok(addr, len)) return len;
  let done = 0;
  for (let a = addr; a < addr + len; ) {
    const n = Math.min((Math.floor(a / PAGE_SIZE) + 1) * PAGE_SIZE, addr + len) - a;
    const pfn = userAccess(k, mm, a, true);
    if (pfn < 0) return len - done;
    k.mem.setContent(pfn, token >>> 0);
    k.fp.write('folio', k.mem.head(pfn));
    done += n;
    a += n;
  }
  return 0;
}

/** copy_from_user(): the token of each page read (the last one wins), and the bytes NOT copied. */
function copyTokenFromUser(k: Kernel, mm: Mm, addr: number, len: number): { left: number; token: number | null } {
  if (!access_ok(addr, len)) return { left: len, token: null };
  let done = 0;
  let token: number | null = null;
  for (let a = addr; a < addr + len; ) {
    const n = Math.min((Math.floor(a / PAGE_SIZE) + 1) * PAGE_SIZE, addr + len) - a;
    const pfn = userAccess(k, mm, a, false);
    if (pfn < 0) return { left: len - done, token };
    k.fp.read('folio', k.mem.head(pfn));
    token = k.mem.contentOf(pfn);
    done += n;
    a += n;
  }
  return { left: 0, token };
}

/**
 * _copy_to_iter() of a content token (memcpy/copy_to_user through iterate_and_advance()): up to
 * bytes into the iterator's memory; a user fault makes it short. Advances by what was copied.
 */
function copyTokenToIter(k: Kernel, token: number, bytes: number, i: IovIter): number {
  bytes = Math.min(bytes, i.count);
  if (bytes <= 0) return 0;
  if (i.type === 'ITER_DISCARD') {
    i.count -= bytes;
    return bytes;
  }
  let progress = 0;
  for (const pc of pieces(k, i, bytes)) {
    if (pc.user) {
      const left = copyTokenToUser(k, i.mm!, pc.addr, pc.len, token);
      progress += pc.len - left;
      if (left) break;
    } else {
      for (const p of piecePages(pc.pfn, pc.off, pc.len)) {
        k.mem.setContent(p, token >>> 0);
        k.fp.write('folio', k.mem.head(p));
      }
      progress += pc.len;
    }
  }
  iov_iter_advance(i, progress);
  return progress;
}

/** _copy_from_iter(): the token of the iterator's memory (the last page read wins) and the bytes copied. */
function copyTokenFromIter(k: Kernel, bytes: number, i: IovIter): { copied: number; token: number | null } {
  bytes = Math.min(bytes, i.count);
  if (bytes <= 0) return { copied: 0, token: null };
  let progress = 0;
  let token: number | null = null;
  for (const pc of pieces(k, i, bytes)) {
    if (pc.user) {
      const r = copyTokenFromUser(k, i.mm!, pc.addr, pc.len);
      if (r.token !== null) token = r.token;
      progress += pc.len - r.left;
      if (r.left) break;
    } else {
      for (const p of piecePages(pc.pfn, pc.off, pc.len)) {
        k.fp.read('folio', k.mem.head(p));
        token = k.mem.contentOf(p);
      }
      progress += pc.len;
    }
  }
  iov_iter_advance(i, progress);
  return { copied: progress, token };
}

/** page_copy_sane() (lib/iov_iter.c): offset + n must stay inside the page's folio (WARN otherwise). */
function pageCopySane(k: Kernel, pfn: number, offset: number, n: number): boolean {
  const v = n + offset;
  if (v <= PAGE_SIZE) return true;
  const head = k.mem.head(pfn);
  const inFolio = v + (pfn - head) * PAGE_SIZE;
  return !k.WARN_ON_ONCE(inFolio > k.mem.folioNrPages(head) * PAGE_SIZE, 'lib/iov_iter.c:page_copy_sane',
    `copy of ${n} bytes at offset ${offset} runs past the end of pfn ${pfn}'s folio`);
}

/**
 * copy_page_to_iter_pipe() (lib/iov_iter.c v6.1–v6.4): splice the page itself into the pipe
 * (push_page(): get_page(), page_cache_pipe_buf_ops), or grow the last buffer when it is the
 * same page and the data continues it; 0 when the pipe is full.
 */
function copy_page_to_iter_pipe(k: Kernel, pfn: number, offset: number, bytes: number, i: IovIter): number {
  const pipe = i.pipe!;
  bytes = Math.min(bytes, i.count);
  if (!bytes) return 0;
  if (!pipeSane(i)) return 0;
  if (offset && i.lastOffset === -offset) {
    const buf = pipe_buf(pipe, pipe.head - 1);
    if (buf.pfn === pfn) {
      buf.len += bytes;
      i.lastOffset -= bytes;
      i.count -= bytes;
      return bytes;
    }
  }
  if (pipe_full(pipe.head, pipe.tail, pipe.maxUsage)) return 0;
  const head = pipe.head;
  k.mem.refAdd(k.mem.head(pfn), 1); // push_page(): get_page()
  pipe.ring[head & (pipe.ringSize - 1)] = { pfn, offset, len: bytes, ops: 'page-cache' };
  pipe.head++;
  i.lastOffset = -(offset + bytes);
  i.head = head;
  i.count -= bytes;
  return bytes;
}

/** copy_pipe_to_iter() / pipe_zero() (lib/iov_iter.c v6.1–v6.4): append pages and fill them. */
function fillPipe(k: Kernel, token: number, bytes: number, i: IovIter): number {
  bytes = Math.min(bytes, i.count);
  if (!bytes || !pipeSane(i)) return 0;
  let n = bytes;
  while (n > 0) {
    const a = append_pipe(i, n);
    if (!a) return bytes - n;
    k.mem.setContent(a.pfn, token >>> 0);
    k.fp.write('folio', a.pfn);
    n -= a.size;
  }
  return bytes;
}

/** Copy content tokens between an iterator and a page (copy_page_to_iter / copy_page_from_iter). */
export function copy_page_to_iter(k: Kernel, pfn: number, offset: number, bytes: number, i: IovIter): number {
  // lib/iov_iter.c copy_page_to_iter(): sanity, direction (WARN for a source iterator), then
  // page by page through _copy_to_iter(), stopping at the first short copy. ITER_PIPE (≤ v6.4):
  // the page is spliced in by reference instead.
  if (!pageCopySane(k, pfn, offset, bytes)) return 0;
  if (k.WARN_ON_ONCE(i.dir === 'ITER_SOURCE', 'lib/iov_iter.c:_copy_to_iter:data_source',
    `copy to an ITER_SOURCE ${i.type} iterator`)) return 0;
  if (i.type === 'ITER_PIPE') return copy_page_to_iter_pipe(k, pfn, offset, bytes, i);
  let page = pfn + Math.floor(offset / PAGE_SIZE);
  offset %= PAGE_SIZE;
  let res = 0;
  for (;;) {
    k.fp.read('folio', k.mem.head(page));
    const n = copyTokenToIter(k, k.mem.contentOf(page), Math.min(bytes, PAGE_SIZE - offset), i);
    res += n;
    bytes -= n;
    if (!bytes || !n) break;
    offset += n;
    if (offset === PAGE_SIZE) {
      page++;
      offset = 0;
    }
  }
  return res;
}

export function copy_page_from_iter(k: Kernel, pfn: number, offset: number, bytes: number, i: IovIter): number {
  // lib/iov_iter.c copy_page_from_iter(): page by page through _copy_from_iter(), which WARNs
  // for a destination iterator; the page takes the token of the memory read.
  if (!pageCopySane(k, pfn, offset, bytes)) return 0;
  let page = pfn + Math.floor(offset / PAGE_SIZE);
  offset %= PAGE_SIZE;
  let res = 0;
  for (;;) {
    if (k.WARN_ON_ONCE(i.dir === 'ITER_DEST', 'lib/iov_iter.c:_copy_from_iter:!data_source',
      `copy from an ITER_DEST ${i.type} iterator`)) break;
    const r = copyTokenFromIter(k, Math.min(bytes, PAGE_SIZE - offset), i);
    if (r.token !== null) {
      k.mem.setContent(page, r.token >>> 0);
      k.fp.write('folio', k.mem.head(page));
    }
    res += r.copied;
    bytes -= r.copied;
    if (!bytes || !r.copied) break;
    offset += r.copied;
    if (offset === PAGE_SIZE) {
      page++;
      offset = 0;
    }
  }
  return res;
}

/**
 * iov_iter_zero() (lib/iov_iter.c): zeroes into the iterator (clear_user() for user memory, a
 * short count on a fault); ITER_PIPE (≤ v6.4): pipe_zero() appends zeroed pages. Content token 0.
 */
export function iov_iter_zero(k: Kernel, bytes: number, i: IovIter): number {
  if (i.type === 'ITER_PIPE') return fillPipe(k, 0, bytes, i);
  return copyTokenToIter(k, 0, bytes, i);
}

/** copy_to_iter() of a content token (the data a kernel buffer holds): what a driver's read copies out. */
export function copy_token_to_iter(k: Kernel, token: number, bytes: number, i: IovIter): number {
  if (k.WARN_ON_ONCE(i.dir === 'ITER_SOURCE', 'lib/iov_iter.c:_copy_to_iter:data_source',
    `copy to an ITER_SOURCE ${i.type} iterator`)) return 0;
  if (i.type === 'ITER_PIPE') return fillPipe(k, token, bytes, i);
  return copyTokenToIter(k, token, bytes, i);
}
