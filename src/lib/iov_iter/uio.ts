// include/linux/uio.h and the constructors of lib/iov_iter.c: the iterator types, import_ubuf(),
// import_iovec(), iov_iter_bvec() and the rest, and the small queries (count, truncate, reexpand).

import type { File } from '../../include/linux/fs.js';
import { type Pipe, pipe_full } from '../pipe-buf.js';
import type { Mm } from '../../vm/mm.js';
import type { Profile } from '../../profile.js';
import { TASK_SIZE_MAX, EINVAL, EFAULT, PAGE_SIZE } from '../../include/uapi.js';
import type { Kernel } from '../../kernel.js';
import { ApiUnavailable } from '../../check/bug.js';

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
export function importIovecUbuf(p: Profile): boolean {
  return p.iterUbuf && p.importIovecUbuf;
}

/** iov_iter_extract_bvec_pages() walks on across page-aligned bvecs (v6.13); before, the current bvec only. */
export function bvecExtractSpansSegments(p: Profile): boolean {
  return p.iterExtractBvecMulti;
}

// ---- constructors ---------------------------------------------------------------------------------

export function clampRw(len: number): number {
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
export function segArray(i: IovIter): ReadonlyArray<{ len: number }> {
  if (i.type === 'ITER_KVEC') return i.kvec;
  if (i.type === 'ITER_BVEC') return i.bvec;
  return i.iov;
}
