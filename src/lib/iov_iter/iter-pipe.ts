// ITER_PIPE bookkeeping (lib/iov_iter.c v6.1–v6.4; removed in v6.5 "iov_iter: Kill ITER_PIPE"):
// appending pages, advancing and reverting, splicing a page into the pipe.

import type { PipeBuffer } from '../../include/linux/pipe_fs_i.js';
import { IovIter } from './uio.js';
import { pipe_truncate, pipe_buf, pipe_buf_release, pipe_full } from '../pipe-buf.js';
import { PAGE_SIZE } from '../../include/uapi.js';
import { GFP_KERNEL } from '../../mm/memory.js';
import type { Kernel } from '../../kernel.js';


/** last_offset() (lib/iov_iter.c v6.1–v6.4): what i->last_offset is after ending in buf. */
export function lastOffsetOf(buf: PipeBuffer): number {
  return buf.ops === 'anon' ? buf.len : -(buf.offset + buf.len);
}

/**
 * pipe_advance() (lib/iov_iter.c v6.1–v6.4). Its callers only use it with 0 bytes, to drop what an
 * aborted read put into the pipe (generic_file_splice_read()): nothing emitted yet → discard from
 * the start; else discard past the current buffer. With more bytes the kernel walks slots past the
 * pipe's head (its pages are appended as they are filled, so there is nothing to advance over);
 * the model WARNs and only lowers count.
 */
export function pipe_advance(i: IovIter, size: number): void {
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

/**
 * iov_iter_revert() for ITER_PIPE (lib/iov_iter.c v6.1–v6.4; ≤ v6.0 the same end state through
 * pipe_truncate()): walk back from the pipe's head, shortening the buffer the new position falls
 * in and releasing every buffer past it (put_page): R81. A page whose only reference was the
 * pipe's is freed here — under DMA, if nobody else holds it (R116).
 */
export function pipeRevert(i: IovIter, unroll: number): void {
  const pipe = i.pipe!;
  let head = pipe.head;
  while (head > i.startHead) {
    const b = pipe_buf(pipe, --head);
    if (unroll < b.len) {
      pipe.updateSlot(head, { len: b.len - unroll });
      i.lastOffset = lastOffsetOf(b);
      i.head = head;
      return;
    }
    unroll -= b.len;
    pipe.setSlot(head, null);
    pipe.head--;
    pipe_buf_release(pipe, b);
  }
  i.lastOffset = 0;
  i.head = head;
}

// ---- ITER_PIPE (≤ v6.4) -----------------------------------------------------------------------------

/** sanity() (lib/iov_iter.c, PIPE_PARANOIA): the iterator still sits at the pipe's head. */
export function pipeSane(i: IovIter): boolean {
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
export function append_pipe(i: IovIter, size: number): { pfn: number; off: number; size: number } | null {
  const pipe = i.pipe!;
  const k = pipe.k;
  const offset = i.lastOffset;
  if (offset > 0 && offset < PAGE_SIZE) {
    const buf = pipe_buf(pipe, pipe.head - 1);
    const n = Math.min(size, PAGE_SIZE - offset);
    pipe.updateSlot(pipe.head - 1, { len: buf.len + n });
    i.lastOffset += n;
    i.count -= n;
    return { pfn: buf.pfn, off: offset, size: n };
  }
  const n = Math.min(size, PAGE_SIZE);
  if (pipe_full(pipe.head, pipe.tail, pipe.maxUsage)) return null;
  const pfn = k.mem.allocFolio(GFP_KERNEL, 0, 'append_pipe');
  if (pfn < 0) return null;
  pipe.setSlot(pipe.head, { pfn, offset: 0, len: n, ops: 'anon' });
  pipe.head++;
  i.head = pipe.head - 1;
  i.lastOffset = n;
  i.count -= n;
  k.note(`pipe ${pipe.id}: new buffer pfn ${pfn} (${n} bytes)`);
  return { pfn, off: 0, size: n };
}

/**
 * copy_page_to_iter_pipe() (lib/iov_iter.c v6.1–v6.4): splice the page itself into the pipe
 * (push_page(): get_page(), page_cache_pipe_buf_ops), or grow the last buffer when it is the
 * same page and the data continues it; 0 when the pipe is full.
 */
export function copy_page_to_iter_pipe(k: Kernel, pfn: number, offset: number, bytes: number, i: IovIter): number {
  const pipe = i.pipe!;
  bytes = Math.min(bytes, i.count);
  if (!bytes) return 0;
  if (!pipeSane(i)) return 0;
  if (offset && i.lastOffset === -offset) {
    const buf = pipe_buf(pipe, pipe.head - 1);
    if (buf.pfn === pfn) {
      pipe.updateSlot(pipe.head - 1, { len: buf.len + bytes });
      i.lastOffset -= bytes;
      i.count -= bytes;
      return bytes;
    }
  }
  if (pipe_full(pipe.head, pipe.tail, pipe.maxUsage)) return 0;
  const head = pipe.head;
  k.mem.refAdd(k.mem.head(pfn), 1); // push_page(): get_page()
  pipe.setSlot(head, { pfn, offset, len: bytes, ops: 'page-cache' });
  pipe.head++;
  i.lastOffset = -(offset + bytes);
  i.head = head;
  i.count -= bytes;
  return bytes;
}

/** copy_pipe_to_iter() / pipe_zero() (lib/iov_iter.c v6.1–v6.4): append pages and fill them. */
export function fillPipe(k: Kernel, token: number, bytes: number, i: IovIter): number {
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
