// struct iov_iter (include/linux/uio.h, lib/iov_iter.c): the iterator types, position
// bookkeeping (advance / revert / truncate / reexpand), page extraction with the references or
// pins each type gives (iov_iter_extract_pages(), iov_iter_get_pages2(), the seed 001 RFC's
// iov_iter_pin_pages()), and content copies between pages and an iterator's memory.
//
// Spec §8 (R77–R82), R116.
//
// Representation. The kernel advances a pointer into the segment array and decrements nr_segs;
// the model keeps the array whole and an index `seg` into it (nr_segs = length - seg). iovOffset
// is, as in the kernel, the offset into the current segment's data (for a bvec or kvec: relative
// to its own offset). ITER_UBUF keeps its one buffer as iov[0] (seg stays 0). ITER_FOLIOQ is a
// flattened folio_queue: a list of folios, `seg` the slot; the chain of folio_queue segments is a
// container detail that moves no page. ITER_PIPE follows the v6.1–v6.4 code (Al Viro's
// rewrite: pages are appended on demand, i->last_offset); older kernels pushed buffers ahead of
// the data and truncated on advance, with the same references and frees for what the model does.
//
// The code is split at its seams, as lib/iov_iter.c and include/linux/uio.h are: uio.ts (the
// types and constructors), advance.ts (advance / revert), extract.ts (page extraction),
// copy.ts (content copies) and iter-pipe.ts (ITER_PIPE bookkeeping). This module re-exports the
// public names; callers import from it or from the part they use.

export { type IterType, type IterDir, type Iovec, type BvecSeg, type FolioqSlot, MAX_RW_COUNT, UIO_MAXIOV, ITER_ALLOW_P2PDMA, IovIter, access_ok, import_ubuf, import_iovec_checked, import_iovec, iov_iter_bvec, iov_iter_kvec, iov_iter_xarray, iov_iter_folio_queue, iov_iter_discard, iov_iter_pipe, user_backed_iter, iov_iter_count, iov_iter_truncate, iov_iter_reexpand } from './iov_iter/uio.js';
export { iov_iter_advance, iov_iter_revert } from './iov_iter/advance.js';
export { type Extracted, pin_page, iov_iter_extract_will_pin, iov_iter_extract_pages, iov_iter_pin_pages, iov_iter_get_pages2 } from './iov_iter/extract.js';
export { copy_page_to_iter, copy_page_from_iter, iov_iter_zero, copy_token_to_iter } from './iov_iter/copy.js';
