// vmsplice() (fs/splice.c): user memory into a pipe (vmsplice_to_pipe() / iter_to_pipe()), or out
// of one (vmsplice_to_user()). The pipe buffers hold plain page references (GETs), taken by
// iov_iter_get_pages2() — get_user_pages_fast() without FOLL_WRITE for this ITER_SOURCE iterator
// (lib/iov_iter.c __iov_iter_get_pages_alloc()) — and dropped by the buffer's ->release
// (put_page()) when the data is read or the pipe is freed. No pins: the FOLL_PIN counters do not
// move (R75, R127). The pipe is src/lib/pipe-buf.ts, its files src/fs/pipe.ts.

import { pipe_empty, pipe_full, pipeAppendPage, pipeBuffers, type Pipe } from '../lib/pipe-buf.js';
import { EBADF, fdget, FMODE_READ, FMODE_WRITE } from '../fs/fdtable.js';
import { get_pipe_info, pipeRead } from '../fs/pipe.js';
import { put_page } from '../gup/unpin.js';
import { EAGAIN, EPIPE, PAGE_SIZE } from '../include/uapi.js';
import type { Kernel } from '../kernel.js';
import type { Task } from '../vm/mm.js';
import type { Iovec } from './process-vm.js';
import { import_iovec_checked, iov_iter_count, type IovIter } from '../lib/iov_iter/uio.js';
import { iov_iter_revert } from '../lib/iov_iter/advance.js';
import { iov_iter_get_pages2 } from '../lib/iov_iter/extract.js';

export { PIPE_DEF_BUFFERS } from '../include/linux/pipe_fs_i.js';

/** iter_to_pipe(): iov_iter_get_pages2(from, pages, ~0UL, 16, &start). */
const PAGES_PER_CALL = 16;

/**
 * vmsplice(fd, iov, nr_segs, flags) (fs/splice.c SYSCALL_DEFINE4(vmsplice); vmsplice_type() before
 * v6.12): no file is -EBADF; a file open for writing splices user memory into its pipe, one open
 * only for reading copies the pipe out into user memory, neither is -EBADF; then import_iovec()
 * (-EINVAL, -EFAULT); an empty vector is 0 without looking at the file; a file that is not a pipe
 * is -EBADF (get_pipe_info() in vmsplice_to_pipe() / vmsplice_to_user()).
 */
export function do_vmsplice(k: Kernel, current: Task, fd: number, iov: readonly Iovec[]): number {
  const filp = fdget(k, current, fd);
  if (!filp) return -EBADF;
  const type = filp.mode & FMODE_WRITE ? 'ITER_SOURCE' : filp.mode & FMODE_READ ? 'ITER_DEST' : null;
  if (!type) return -EBADF;
  const iter = import_iovec_checked(type, current.mm, [...iov], k);
  if (typeof iter === 'number') return iter;
  if (!iov_iter_count(iter)) return 0;
  const pipe = get_pipe_info(filp);
  if (!pipe) return -EBADF;
  return type === 'ITER_SOURCE' ? vmsplice_to_pipe(k, pipe, iter) : vmsplice_to_user(pipe, iter);
}

/**
 * vmsplice_to_pipe(): wait_for_space() — no reader left is -EPIPE (and SIGPIPE, not modelled), a
 * full pipe -EAGAIN (as with SPLICE_F_NONBLOCK: the model never sleeps) — then iter_to_pipe():
 * pages are referenced and linked into 'user' pipe buffers until the pipe is full. Returns the
 * bytes spliced, or GUP's error when nothing could be referenced.
 */
export function vmsplice_to_pipe(k: Kernel, pipe: Pipe, from: IovIter): number {
  k.fp.write('pipe', pipe.id);
  if (!pipe.readers) return -EPIPE;
  if (pipe_full(pipe.head, pipe.tail, pipe.maxUsage)) return -EAGAIN;
  let total = 0;
  let ret = 0;
  // fs/splice.c iter_to_pipe(): loops while the iterator has bytes, not while the pipe has room: once
  // it is full, the next batch is still referenced (GUP faults its pages in) before add_to_pipe()
  // fails and the batch is put back (fuzz: scenarios/fuzz/vmsplice-full-pipe-faults-next.yaml).
  out: while (iov_iter_count(from)) {
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

/**
 * vmsplice_to_user() → __splice_from_pipe(pipe_to_user): copy the oldest buffers out with
 * copy_page_to_iter() and release each one copied to its end (src/fs/pipe.ts pipeRead()). An
 * empty pipe with no writer is 0; one with a writer would sleep — -EAGAIN (the model never sleeps).
 */
export function vmsplice_to_user(pipe: Pipe, to: IovIter): number {
  pipe.k.fp.write('pipe', pipe.id);
  if (pipe_empty(pipe)) return pipe.writers ? -EAGAIN : 0;
  return pipeRead(pipe, to);
}

/** The pages the pipe's buffers reference, oldest first. */
export function pipePages(pipe: Pipe): number[] {
  return pipeBuffers(pipe).map((b) => b.pfn);
}
