// splice() from an O_DIRECT file into a pipe (fs/splice.c): the old generic_file_splice_read()
// handed the file an ITER_PIPE destination; since v6.5 copy_splice_read() reads into private
// kernel pages through ITER_BVEC and gives them to the pipe only after the read (spec R81, R116).

import type { Kernel } from '../kernel.js';
import { PAGE_SIZE } from '../include/uapi.js';
import { directIOOf, FMODE_PREAD, FMODE_READ, FMODE_WRITE, type OpenFile, type RegularFile } from './fdtable.js';
import { get_pipe_info } from './pipe.js';
import { EAGAIN, EBADF, EINVAL, EPIPE } from '../include/uapi.js';
import { GFP_KERNEL } from '../mm/memory.js';
import type { Task } from '../vm/mm.js';
import { pipe_full, pipeAppendPage, type Pipe } from '../lib/pipe-buf.js';
import { iov_iter_bvec, iov_iter_pipe, type BvecSeg, type IovIter } from '../lib/iov_iter/uio.js';

/**
 * splice(fd_in, &off_in, fd_out, NULL, len, 0) from a file into a pipe (fs/splice.c do_splice()):
 * fd_in must be open for reading and fd_out for writing (-EBADF); fd_out must be a pipe (-EINVAL
 * when neither end is one); an offset needs FMODE_PREAD (-EINVAL); wait_for_space(): no reader left
 * is -EPIPE, a full pipe -EAGAIN (as with SPLICE_F_NONBLOCK: the model never sleeps). Returns the
 * pipe, or -errno.
 */
export function splice_check_file_to_pipe(k: Kernel, fileIn: OpenFile, out: OpenFile): Pipe | number {
  if (!(fileIn.mode & FMODE_READ) || !(out.mode & FMODE_WRITE)) return -EBADF;
  if (get_pipe_info(fileIn)) throw new RangeError('splice() out of a pipe is not modelled (only a file into a pipe)');
  const opipe = get_pipe_info(out);
  if (!opipe) return -EINVAL;
  if (!(fileIn.mode & FMODE_PREAD)) return -EINVAL;
  if (!opipe.readers) return -EPIPE;
  if (pipe_full(opipe.head, opipe.tail, opipe.maxUsage)) return -EAGAIN;
  return opipe;
}

/** Returns the read's result (bytes, -EIOCBQUEUED while its bios are in flight, or -errno) and the iterator. */
export function splice_read_direct(k: Kernel, task: Task, of: RegularFile, pipe: Pipe, len: number, pos: number):
  { ret: number; iter: IovIter } {
  const dio = directIOOf(of);
  if (!k.profile.spliceReadCopies) {
    // generic_file_splice_read(): the file reads straight into pages appended to the pipe; the
    // bios complete later, and a short read reverts the iterator (pipe_truncate()).
    const iter = iov_iter_pipe('ITER_DEST', pipe, len);
    return { ret: dio(k, of.file, iter, pos, { async: true }), iter };
  }
  // copy_splice_read(): private pages, a synchronous read, then the pages move into the pipe.
  const mem = k.mem;
  const npages = Math.ceil(len / PAGE_SIZE);
  const bvec: BvecSeg[] = [];
  for (let i = 0; i < npages; i++) {
    const pfn = mem.allocFolio(GFP_KERNEL, 0, 'copy_splice_read');
    if (pfn < 0) break;
    bvec.push({ pfn, offset: 0, len: Math.min(PAGE_SIZE, len - i * PAGE_SIZE) });
  }
  const iter = iov_iter_bvec('ITER_DEST', bvec, bvec.reduce((s, b) => s + b.len, 0));
  const ret = dio(k, of.file, iter, pos, { async: false });
  let left = Math.max(ret, 0);
  for (const b of bvec) {
    const n = Math.min(left, b.len);
    if (n > 0 && pipeAppendPage(pipe, b.pfn, 0, n, 'anon')) left -= n; // the pipe takes our reference
    else mem.putRefs(b.pfn, 1); // unused: freed
  }
  return { ret, iter };
}
