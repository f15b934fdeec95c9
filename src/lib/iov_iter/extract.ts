// lib/iov_iter.c page extraction: iov_iter_extract_pages() (pins or no references, by type),
// iov_iter_get_pages2() (GETs), the seed 001 RFC's iov_iter_pin_pages(), ITER_PIPE's pipe_get_pages().

import type { Kernel } from '../../kernel.js';
import { PAGE_SIZE, EFAULT, ENOMEM } from '../../include/uapi.js';
import { IovIter, ITER_ALLOW_P2PDMA, bvecExtractSpansSegments, user_backed_iter, MAX_RW_COUNT } from './uio.js';
import { FOLL_WRITE, FOLL_PCI_P2PDMA, FOLL_NOFAULT, FOLL_PIN, FOLL_GET } from '../../include/linux/mm.js';
import { gup_fast_fallback } from '../../gup/fast.js';
import { iov_iter_advance } from './advance.js';
import type { File } from '../../include/linux/fs.js';
import { try_grab_folio } from '../../gup/grab.js';
import { ApiUnavailable } from '../../check/bug.js';
import { pipeSane, append_pipe } from './iter-pipe.js';

// ---- page extraction -------------------------------------------------------------------------------

export interface Extracted { bytes: number; pages: number[]; offset0: number }

export function fail(bytes: number, offset0 = 0): Extracted {
  return { bytes, pages: [], offset0 };
}

/**
 * want_pages_array() (lib/iov_iter.c): pages needed for size bytes from offset start, at most
 * maxpages; 0 (with a WARN) when there is nothing to want, which the callers turn into -ENOMEM.
 */
export function want_pages_array(k: Kernel, size: number, start: number, maxpages: number): number {
  const count = Math.min(Math.ceil((size + start) / PAGE_SIZE), maxpages);
  k.WARN_ON_ONCE(count <= 0, 'lib/iov_iter.c:want_pages_array:!count', 'want_pages_array(): no pages wanted (the caller should have prevented that)');
  return Math.max(count, 0);
}

/** first_iovec_segment() (lib/iov_iter.c): the address of the first non-empty user segment; size capped to it. */
export function firstIovecSegment(k: Kernel, i: IovIter, size: number): { addr: number; size: number } {
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
export function xarrayPage(k: Kernel, file: File, index: number): number {
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
