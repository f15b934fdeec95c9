// lib/iov_iter.c copies: copy_page_to_iter(), copy_page_from_iter(), iov_iter_zero(), as content
// tokens, through the pieces() stepper (include/linux/iov_iter.h iterate_*()).

import type { Kernel } from '../../kernel.js';
import { IovIter, access_ok } from './uio.js';
import { xarrayPage } from './extract.js';
import { PAGE_SIZE } from '../../include/uapi.js';
import type { Mm } from '../../vm/mm.js';
import { uaccessRead, userAccess } from '../../vm/access.js';
import { iov_iter_advance } from './advance.js';
import { copy_page_to_iter_pipe, fillPipe } from './iter-pipe.js';

// ---- copies ---------------------------------------------------------------------------------------------

/** A run of the iterator's memory: user addresses, or a kernel page (+ offset, may span pages). */
export type Piece = { user: true; addr: number; len: number } | { user: false; pfn: number; off: number; len: number };

/** The iterator's memory for the next `bytes` bytes from its position, run by run (iterate_and_advance()). */
export function* pieces(k: Kernel, i: IovIter, bytes: number): Generator<Piece> {
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
export function piecePages(pfn: number, off: number, len: number): number[] {
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
    const pfn = uaccessRead(k, mm, a);
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

/** copy_from_iter() into a kernel buffer: the bytes copied and the token of the memory read (null: nothing read). */
export function copy_token_from_iter(k: Kernel, bytes: number, i: IovIter): { copied: number; token: number | null } {
  if (k.WARN_ON_ONCE(i.dir === 'ITER_DEST', 'lib/iov_iter.c:_copy_from_iter:!data_source',
    `copy from an ITER_DEST ${i.type} iterator`)) return { copied: 0, token: null };
  return copyTokenFromIter(k, bytes, i);
}

/** copy_to_iter() of a content token (the data a kernel buffer holds): what a driver's read copies out. */
export function copy_token_to_iter(k: Kernel, token: number, bytes: number, i: IovIter): number {
  if (k.WARN_ON_ONCE(i.dir === 'ITER_SOURCE', 'lib/iov_iter.c:_copy_to_iter:data_source',
    `copy to an ITER_SOURCE ${i.type} iterator`)) return 0;
  if (i.type === 'ITER_PIPE') return fillPipe(k, token, bytes, i);
  return copyTokenToIter(k, token, bytes, i);
}
