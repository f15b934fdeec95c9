// lib/iov_iter.c: iov_iter_advance() and iov_iter_revert(), per iterator type.

import { IovIter, segArray, MAX_RW_COUNT } from './uio.js';
import { pipe_advance, pipeRevert } from './iter-pipe.js';
import type { Kernel } from '../../kernel.js';

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
