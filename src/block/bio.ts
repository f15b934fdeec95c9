// struct bio and its page bookkeeping (block/bio.c, block/blk.h, include/linux/blk_types.h).

import { stateKey, type Kernel } from '../kernel.js';
import type { File } from '../include/linux/fs.js';
import { EFAULT, EINVAL, EIO, PAGE_SIZE } from '../include/uapi.js';
import { folio_mark_dirty } from '../mm/page-writeback.js';
import { put_page, put_user_page, unpin_user_folio } from '../gup/unpin.js';
import { PG_dirty } from '../mm/page-flags.js';
import { user_backed_iter, type BvecSeg, type IovIter } from '../lib/iov_iter/uio.js';
import { iov_iter_advance, iov_iter_revert } from '../lib/iov_iter/advance.js';
import { iov_iter_extract_pages, iov_iter_extract_will_pin, iov_iter_get_pages2 } from '../lib/iov_iter/extract.js';

/** BIO_MAX_VECS (include/linux/bio.h) */
export const BIO_MAX_VECS = 256;
export type BioOp = 'REQ_OP_READ' | 'REQ_OP_WRITE';

/** Where a bio's data lives on the "disk": a file's blocks, one content token per page index. */
export interface BioTarget {
  /** The file (a block device node, or the file whose blocks these are) the transfer reads or writes: its `disk`. */
  readonly file: File;
  /** Page index of the first byte. */
  readonly index: number;
}


export class Bio {
  /** Per-kernel id, given the first time the kernel touches the bio (bioId()). */
  id = 0;
  readonly vecs: BvecSeg[] = [];
  size = 0;
  /** BIO_PAGE_PINNED: every page carries a FOLL_PIN (v6.5+). */
  pinned = false;
  /** Pages carry GETs (≤ v6.4: the default, unless BIO_NO_PAGE_REF). */
  reffed = false;
  /** BIO_NO_PAGE_REF (v5.1 .. v6.4): the bio holds no page references (ITER_BVEC). */
  noPageRef = false;
  /** BIO_CLONED: the bvec array belongs to someone else (bio_iov_bvec_set()). */
  cloned = false;
  status = 0;
  /** Called at completion (bi_end_io). */
  endIo: ((k: Kernel, bio: Bio) => void) | null = null;
  constructor(readonly op: BioOp, readonly maxVecs: number, public target: BioTarget | null) {}
}

/** The bio's per-kernel id (traces, footprints). */
export function bioId(k: Kernel, bio: Bio): number {
  if (!bio.id) bio.id = k.ids.take('bio');
  return bio.id;
}

export function bio_alloc(op: BioOp, nrVecs: number, target: BioTarget | null): Bio {
  return new Bio(op, Math.min(nrVecs, BIO_MAX_VECS), target);
}

/**
 * bvec_try_merge_page(): merge into the last bvec if the new data starts exactly where it ends
 * physically — the same page, or the next physical page (multi-page bvecs).
 */
function bvec_try_merge_page(bio: Bio, pfn: number, len: number, off: number, gup: boolean): { merged: boolean; samePage: boolean } {
  const last = bio.vecs[bio.vecs.length - 1];
  if (!last || (last.gup ?? false) !== gup) return { merged: false, samePage: false };
  const endAddr = last.pfn * PAGE_SIZE + last.offset + last.len; // one past the last byte
  const newAddr = pfn * PAGE_SIZE + off;
  if (endAddr !== newAddr) return { merged: false, samePage: false };
  const samePage = Math.floor((endAddr - 1) / PAGE_SIZE) === pfn;
  last.len += len;
  bio.size += len;
  return { merged: true, samePage };
}

/**
 * bio_add_page(): bytes added (len) or 0 when the bio is full; merging never touches references.
 * gup: the seed 000 RFC told bio_add_page() whether the page came from GUP (bv_pfn + flags).
 */
export function bio_add_page(k: Kernel, bio: Bio, pfn: number, len: number, off: number, gup = false): number {
  if (k.WARN_ON_ONCE(bio.cloned, 'block/bio.c:bio_add_page:cloned', 'bio_add_page() on a cloned bio')) return 0;
  if (bio.size + len > 0xffffffff) return 0;
  k.fp.write('bio', bioId(k, bio));
  const origin = gup && k.profile.bvecOriginFlags;
  if (bvec_try_merge_page(bio, pfn, len, off, origin).merged) return len;
  if (bio.vecs.length >= bio.maxVecs) return 0;
  bio.vecs.push(origin ? { pfn, offset: off, len, gup: true } : { pfn, offset: off, len });
  bio.size += len;
  return len;
}

/** bio_add_folio(): add len bytes at off within a folio (folio_page(folio, 0) + off). */
export function bio_add_folio(k: Kernel, bio: Bio, folio: number, len: number, off: number): boolean {
  const head = k.mem.head(folio);
  return bio_add_page(k, bio, head + Math.floor(off / PAGE_SIZE), len, off % PAGE_SIZE) > 0;
}

/** Pages [first, last] a segment touches. */
function segPages(v: BvecSeg): { first: number; count: number } {
  const first = v.pfn + Math.floor(v.offset / PAGE_SIZE);
  const last = v.pfn + Math.floor((v.offset + v.len - 1) / PAGE_SIZE);
  return { first, count: last - first + 1 };
}

/** bio_release_page(): one page's reference, by the bio's cleanup mode. */
export function bio_release_page(k: Kernel, bio: Bio, pfn: number): void {
  if (bio.pinned) unpin_user_folio(k, k.mem.head(pfn), 1);
  else if (bio.reffed) put_page(k, pfn);
}

/**
 * bio_release_pages(bio, mark_dirty) / __bio_release_pages(): per folio segment, dirty it if
 * asked (no "already dirty" shortcut), then drop one pin (or GET) per page the segment touches.
 * Before the ~v6.8 fix an unaligned multi-page segment released one pin per whole-page count
 * of its length (leaking a pin); the model follows profile.bioReleaseUnalignedFix.
 */
export function bio_release_pages(k: Kernel, bio: Bio, markDirty: boolean): void {
  if (!bio.pinned && !bio.reffed) return;
  const mem = k.mem;
  k.fp.write('bio', bioId(k, bio));
  for (const v of bio.vecs) {
    const { first, count } = segPages(v);
    const n = k.profile.bioReleaseUnalignedFix || !bio.pinned ? count : Math.max(1, Math.ceil(v.len / PAGE_SIZE));
    for (let p = first; p < first + n; ) {
      const head = mem.head(p);
      const inFolio = Math.min(first + n - p, mem.folioNrPages(head) - (p - head));
      if (markDirty && !mem.isZeroPfn(head)) folio_mark_dirty(k, head);
      if (bio.pinned) unpin_user_folio(k, head, inFolio);
      else if (v.gup) for (let j = 0; j < inFolio; j++) put_user_page(k, p + j); // bvec_put_page() (seed 000)
      else for (let j = 0; j < inFolio; j++) put_page(k, p + j);
      p += inFolio;
    }
  }
}

/** bio_set_pages_dirty(): pre-dirty every folio of a read into user memory (R91). */
export function bio_set_pages_dirty(k: Kernel, bio: Bio): void {
  for (const v of bio.vecs) {
    const { first, count } = segPages(v);
    for (let p = first; p < first + count; p++) {
      const head = k.mem.head(p);
      if (!k.mem.isZeroPfn(head)) folio_mark_dirty(k, head);
    }
  }
}

/**
 * bio_check_pages_dirty() (R92): if every folio is still dirty, release without dirtying; if
 * writeback cleaned one meanwhile, defer to bio_dirty_fn(), which re-dirties and releases later.
 */
export function bio_check_pages_dirty(k: Kernel, bio: Bio): void {
  const mem = k.mem;
  const clean = bio.vecs.some((v) => {
    const { first, count } = segPages(v);
    for (let p = first; p < first + count; p++) {
      const h = mem.head(p);
      if (!mem.isZeroPfn(h) && !mem.test(h, PG_dirty)) return true;
    }
    return false;
  });
  if (!clean) {
    bio_release_pages(k, bio, false);
    return;
  }
  k.note(`bio ${bioId(k, bio)}: a page was cleaned during the read; queued on bio_dirty_list`);
  bioState(k).dirtyList.push(bio);
}

/** bio_dirty_fn(): the deferred worker — re-dirty under the folio lock, then release. */
export function bio_dirty_fn(k: Kernel): number {
  // block/bio.c bio_dirty_fn(): takes bio_dirty_list under bio_dirty_lock. The list lives with
  // the device's state in the footprint ('dev' 0, which bio_check_pages_dirty()'s caller, the
  // completion, writes): an empty list is still a read, so the explorer orders the worker
  // against the completion that queues onto it.
  k.fp.read('dev', 0);
  const list = bioState(k).dirtyList.splice(0);
  if (list.length) k.fp.write('dev', 0);
  for (const bio of list) bio_release_pages(k, bio, true);
  return list.length;
}

const BIO_KEY = stateKey('bio', () => ({ dirtyList: [] as Bio[] }));

export function bioState(k: Kernel): { dirtyList: Bio[] } {
  return k.state(BIO_KEY);
}

/**
 * bio_iov_iter_get_pages() (R86/R87): ITER_BVEC borrows the iterator's bvecs (no references);
 * otherwise extract pages — pinned when the iterator is user-backed (v6.5+), GETs before — and
 * add them run by run, dropping the extra pin of a page merged into the previous bvec. Returns
 * 0 if anything was added, else the error.
 */
export function bio_iov_iter_get_pages(k: Kernel, bio: Bio, iter: IovIter): number {
  if (k.WARN_ON_ONCE(bio.cloned, 'block/bio.c:bio_iov_iter_get_pages:cloned', 'bio_iov_iter_get_pages() on a cloned bio')) return -EIO;
  if (iter.type === 'ITER_BVEC') {
    // bio_iov_bvec_set(): point at the caller's bvecs; the caller keeps the pages alive.
    let left = iter.count;
    for (let s = iter.seg; s < iter.bvec.length && left > 0; s++) {
      const b = iter.bvec[s];
      const off = s === iter.seg ? iter.iovOffset : 0;
      const len = Math.min(b.len - off, left);
      bio.vecs.push({ pfn: b.pfn, offset: b.offset + off, len });
      bio.size += len;
      left -= len;
    }
    bio.cloned = true;
    bio.noPageRef = k.profile.bioNoPageRef;
    // block/bio.c bio_iov_iter_get_pages(): iov_iter_advance() by bi_size, the count: only the
    // (possibly truncated, one extent of iomap_dio_bio_iter()) count is consumed, so the next
    // extent's bio starts where this one ended (fuzz: a fixed write across EOF looped here).
    iov_iter_advance(iter, iter.count);
    return 0;
  }
  // v6.5+: iov_iter_extract_pages() pins user-backed memory and takes nothing on kernel-backed
  // iterators, so such a bio owns no references; before, iov_iter_get_pages2() took GETs.
  const pin = k.profile.bioPagePinned && iov_iter_extract_will_pin(iter);
  // One cleanup mode per bio (R90): adding pages of another kind to a bio that already holds pages
  // would make its release unpin a GET or put a pin (R9). The kernel relies on its callers for
  // this; the model refuses it at the call that would mix them.
  const reffed = !pin && !k.profile.iterExtractPages;
  if (bio.size > 0 && !k.profile.bvecOriginFlags && (bio.pinned !== pin || bio.reffed !== reffed)) {
    k.WARN_ON_ONCE(true, 'pinlab:bio-mixed-cleanup',
      `bio ${bioId(k, bio)}: ${pin ? 'pinned' : reffed ? 'referenced' : 'unreferenced'} pages added to a bio of ${bio.pinned ? 'pinned' : bio.reffed ? 'referenced' : 'unreferenced'} pages`);
    return -EINVAL;
  }
  if (pin) bio.pinned = true;
  else bio.reffed = reffed;
  let err = 0;
  while (iter.count > 0 && bio.vecs.length < bio.maxVecs) {
    const r = addIterPages(k, bio, iter, pin);
    if (r < 0) { err = r; break; }
    if (r === 0) break;
  }
  return bio.size > 0 ? 0 : err || -EFAULT;
}

/** __bio_iov_iter_get_pages(): one extraction into the free slots, added folio run by folio run. */
function addIterPages(k: Kernel, bio: Bio, iter: IovIter, pin: boolean): number {
  const free = bio.maxVecs - bio.vecs.length;
  const maxsize = Math.min(0xffffffff - bio.size, iter.count);
  const ex = pin || k.profile.iterExtractPages
    ? iov_iter_extract_pages(k, iter, maxsize, free, 0)
    : iov_iter_get_pages2(k, iter, maxsize, free);
  if (ex.bytes <= 0) return ex.bytes;
  let left = ex.bytes;
  let off = ex.offset0;
  let used = 0;
  for (let i = 0; i < ex.pages.length && left > 0; i++) {
    const len = Math.min(PAGE_SIZE - off, left);
    const before = bio.vecs.length;
    const added = bio_add_page(k, bio, ex.pages[i], len, off, user_backed_iter(iter));
    if (added === 0) break;
    // Pin fixup (R87.3): a page merged into the previous bvec at a non-zero offset already
    // holds a pin from the extraction that added its first part.
    if (bio.vecs.length === before && off > 0) bio_release_page(k, bio, ex.pages[i]);
    used = i + 1;
    left -= len;
    off = 0;
  }
  // Pages extracted but not added are released, and the iterator reverted by the unused bytes.
  for (let i = used; i < ex.pages.length; i++) bio_release_page(k, bio, ex.pages[i]);
  if (left > 0) iov_iter_revert(k, iter, left);
  return ex.bytes - left;
}

