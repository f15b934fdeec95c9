// pipe(2) and the files of a pipe (fs/pipe.c): do_pipe2() → __do_pipe_flags() →
// create_pipe_files() gives two struct files on one pipe inode — the read end (O_RDONLY) and the
// write end (O_WRONLY) — and get_unused_fd_flags() a descriptor for each; pipe_release() runs at
// the last fput() of either end, and the pipe's buffers go (free_pipe_info()) when no file refers
// to it any more. The ring of buffers itself is src/lib/pipe-buf.ts.

import type { Kernel } from '../kernel.js';
import { newPipe, pipe_empty, free_pipe_info, pipe_buf, pipe_buf_release, type Pipe } from '../lib/pipe-buf.js';
import { EAGAIN, EINVAL, O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_RDONLY, O_WRONLY } from '../include/uapi.js';
import type { Task } from '../vm/mm.js';
import { alloc_file_pseudo, fd_install, FMODE_READ, FMODE_WRITE, fput, get_unused_fd_flags, put_unused_fd, type FileOperations, type OpenFile } from './fdtable.js';
import { iov_iter_count, type IovIter } from '../lib/iov_iter/uio.js';
import { copy_page_to_iter } from '../lib/iov_iter/copy.js';

/**
 * pipe_read() (fs/pipe.c) minus sleeping: copy from the oldest buffers, releasing each one read to
 * its end (src/fs/pipe.ts pipeRead()). An empty pipe with no writer left is end of file (0); an
 * empty pipe that still has a writer would make the reader sleep — -EAGAIN, as with O_NONBLOCK:
 * the model never sleeps.
 */
function pipe_read(k: Kernel, _task: Task, filp: OpenFile, to: IovIter): number {
  const pipe = filp.private_data as Pipe;
  if (iov_iter_count(to) === 0) return 0;
  if (pipe_empty(pipe)) return pipe.writers ? -EAGAIN : 0;
  return pipeRead(pipe, to);
}

/** pipe_write(): not modelled (the model's pipes are filled by vmsplice() and splice()). */
function pipe_write(): number {
  throw new RangeError('write() to a pipe is not modelled (vmsplice() and splice() fill pipes)');
}

/**
 * pipe_release() (fs/pipe.c), the ->release of both ends: the file's FMODE_READ/FMODE_WRITE drops
 * pipe->readers/writers, and put_pipe_info() frees the pipe — free_pipe_info() releases every
 * buffer still in it (put_page() of the pages vmsplice or splice put there) — when pipe->files,
 * the struct files on the pipe, reaches 0: both ends closed in every task.
 */
function pipe_release(k: Kernel, filp: OpenFile): void {
  const pipe = filp.private_data as Pipe;
  if (filp.mode & FMODE_READ) pipe.readers--;
  if (filp.mode & FMODE_WRITE) pipe.writers--;
  if (--pipe.files === 0) free_pipe_info(pipe);
}

/** pipefifo_fops (fs/pipe.c). */
export const pipefifo_fops: FileOperations = { name: 'pipefifo_fops', read_iter: pipe_read, write_iter: pipe_write, fsync: false, release: pipe_release };

/**
 * get_pipe_info(file, for_splice) (fs/pipe.c): the pipe behind an open file, or null when it is not
 * a pipe (f_op != &pipefifo_fops).
 */
export function get_pipe_info(filp: OpenFile): Pipe | null {
  return filp.f_op === pipefifo_fops ? (filp.private_data as Pipe) : null;
}

/**
 * pipe2(fds, flags) → do_pipe2() (fs/pipe.c): -EINVAL for flags other than O_CLOEXEC, O_NONBLOCK
 * and O_DIRECT (packet mode, not modelled: refused); create_pipe_files() makes a pipe of 16 buffers
 * (PIPE_DEF_BUFFERS) with readers = writers = 1 and files = 2, the write end (O_WRONLY) and the
 * read end (O_RDONLY); get_unused_fd_flags() gives the read end's descriptor first, then the write
 * end's; fd_install() both. Returns [0, [read fd, write fd]], or [-errno, null].
 */
export function do_pipe2(k: Kernel, task: Task, flags = 0): [number, [number, number] | null] {
  if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT)) return [-EINVAL, null];
  if (flags & O_DIRECT) throw new RangeError('pipe2(O_DIRECT) (packet mode) is not modelled');
  const pipe = newPipe(k);
  pipe.readers = pipe.writers = 1;
  pipe.files = 2;
  const w = alloc_file_pseudo(k, pipefifo_fops, O_WRONLY | (flags & O_NONBLOCK), pipe);
  const r = alloc_file_pseudo(k, pipefifo_fops, O_RDONLY | (flags & O_NONBLOCK), pipe);
  const fdr = get_unused_fd_flags(k, task);
  if (fdr < 0) {
    fput(k, r);
    fput(k, w);
    return [fdr, null];
  }
  const fdw = get_unused_fd_flags(k, task);
  if (fdw < 0) {
    put_unused_fd(k, task, fdr);
    fput(k, r);
    fput(k, w);
    return [fdw, null];
  }
  fd_install(k, task, fdr, r);
  fd_install(k, task, fdw, w);
  return [0, [fdr, fdw]];
}

/**
 * pipe_read() (fs/pipe.c), minus waiting: copy from the oldest buffers into `to` with
 * copy_page_to_iter(); a buffer read to its end is released (put_page) and the tail moves on.
 * Returns the bytes read, 0 when the pipe is empty, or -EFAULT if nothing could be copied.
 */
export function pipeRead(pipe: Pipe, to: IovIter): number {
  const k = pipe.k;
  pipe.k.fp.write('pipe', pipe.id); // the read takes the pipe's lock and consumes: a write also when it finds nothing
  let total = to.count;
  let ret = 0;
  while (total > 0 && pipe.tail !== pipe.head) {
    const buf = pipe_buf(pipe, pipe.tail);
    const chars = Math.min(total, buf.len);
    const written = copy_page_to_iter(k, buf.pfn, buf.offset, chars, to);
    if (written < chars) {
      if (!ret) ret = -14; // -EFAULT
      break;
    }
    ret += chars;
    pipe.updateSlot(pipe.tail, { offset: buf.offset + chars, len: buf.len - chars });
    if (!buf.len) {
      pipe.setSlot(pipe.tail, null);
      pipe.tail++;
      pipe_buf_release(pipe, buf);
    }
    total -= chars;
  }
  return ret;
}
