// vmsplice() of user memory into a pipe: fs/splice.c vmsplice_to_pipe() / iter_to_pipe().
// The pipe buffers hold plain page references (GETs), taken by iov_iter_get_pages2() —
// get_user_pages_fast() without FOLL_WRITE for this ITER_SOURCE iterator (lib/iov_iter.c
// __iov_iter_get_pages_alloc()) — and dropped by the buffer's ->release (put_page()) when the
// data is read or the pipe is closed. No pins: the FOLL_PIN counters do not move (R75, R127).
// The pipe itself is src/block/pipe.ts; this module gives pipes file-descriptor-like ids.

import { import_iovec_checked, import_ubuf, iov_iter_count, iov_iter_get_pages2, iov_iter_revert } from '../block/iov-iter.js';
import { newPipe, pipe_full, pipeAppendPage, pipeBuffers, pipeRead, pipeRelease, type Pipe } from '../block/pipe.js';
import { put_page } from '../gup/unpin.js';
import { EAGAIN, PAGE_SIZE } from '../include/uapi.js';
import type { Kernel } from '../kernel.js';
import type { Task } from '../vm/mm.js';
import { EBADF, newId } from './common.js';
import type { Iovec } from './process-vm.js';

export { PIPE_DEF_BUFFERS } from '../block/pipe.js';

/** iter_to_pipe(): iov_iter_get_pages2(from, pages, ~0UL, 16, &start). */
const PAGES_PER_CALL = 16;

function pipes(k: Kernel): Map<number, Pipe> {
  return k.state('drivers:pipes', () => new Map<number, Pipe>());
}

/** pipe(): a new pipe (its buffers are released at teardown by src/block/pipe.ts); returns its fd. */
export function pipe_create(k: Kernel): number {
  const fd = newId(k);
  pipes(k).set(fd, newPipe(k));
  return fd;
}

export function findPipe(k: Kernel, fd: number): Pipe | undefined {
  const p = pipes(k).get(fd);
  return p && !p.freed ? p : undefined;
}

/**
 * vmsplice(fd, iov, nr, flags) towards a pipe: vmsplice_to_pipe(). Pages are referenced and linked
 * into 'user' pipe buffers until the pipe is full; returns the bytes spliced, -EAGAIN when the pipe
 * is full from the start (wait_for_space() as with SPLICE_F_NONBLOCK: the model never sleeps),
 * import_iovec()'s error for a bad vector, or GUP's error when nothing could be referenced.
 */
export function vmsplice_to_pipe(k: Kernel, current: Task, pipe: Pipe, iov: readonly Iovec[]): number {
  if (pipe.freed) return -EBADF;
  const from = import_iovec_checked('ITER_SOURCE', current.mm, [...iov], k);
  if (typeof from === 'number') return from;
  if (!iov_iter_count(from)) return 0;
  if (pipe_full(pipe.head, pipe.tail, pipe.maxUsage)) return -EAGAIN;
  let total = 0;
  let ret = 0;
  out: while (iov_iter_count(from) && !pipe_full(pipe.head, pipe.tail, pipe.maxUsage)) {
    const got = iov_iter_get_pages2(k, from, Number.MAX_SAFE_INTEGER, PAGES_PER_CALL);
    let left = got.bytes;
    if (left <= 0) { ret = left; break; }
    let start = got.offset0;
    const n = Math.ceil((left + start) / PAGE_SIZE);
    for (let i = 0; i < n; i++) {
      const size = Math.min(left, PAGE_SIZE - start);
      if (!pipeAppendPage(pipe, got.pages[i], start, size, 'user')) {
        // add_to_pipe() failed: give back the iterator and the pages not added.
        iov_iter_revert(k, from, left);
        for (; i < n; i++) put_page(k, got.pages[i]);
        break out;
      }
      total += size;
      left -= size;
      start = 0;
    }
  }
  return total ? total : ret;
}

/** read() from the pipe into the caller's memory: pipe_read(); emptied buffers release their page. */
export function pipe_read(k: Kernel, current: Task, pipe: Pipe, addr: number, len: number): number {
  if (pipe.freed) return -EBADF;
  return pipeRead(pipe, import_ubuf('ITER_DEST', current.mm, addr, len, k));
}

/** close() of the last fd: free_pipe_info() releases every buffer. */
export function pipe_close(k: Kernel, pipe: Pipe): number {
  if (pipe.freed) return -EBADF;
  pipeRelease(pipe);
  for (const [fd, p] of pipes(k)) if (p === pipe) pipes(k).delete(fd);
  return 0;
}

/** The pages the pipe's buffers reference, oldest first. */
export function pipePages(pipe: Pipe): number[] {
  return pipeBuffers(pipe).map((b) => b.pfn);
}
