// splice() from an O_DIRECT file into a pipe (fs/splice.c): the old generic_file_splice_read()
// handed the file an ITER_PIPE destination; since v6.5 copy_splice_read() reads into private
// kernel pages through ITER_BVEC and gives them to the pipe only after the read (spec R81, R116).

import type { Kernel } from '../kernel.js';
import { PAGE_SIZE } from '../include/uapi.js';
import { getDirectIO, type OpenFile } from '../fs/fdtable.js';
import { GFP_KERNEL } from '../mm/memory.js';
import type { Task } from '../vm/mm.js';
import { iov_iter_bvec, iov_iter_pipe, type BvecSeg, type IovIter } from './iov-iter.js';
import { pipeAppendPage, type Pipe } from './pipe.js';

/** Returns the read's result (bytes, -EIOCBQUEUED while its bios are in flight, or -errno) and the iterator. */
export function splice_read_direct(k: Kernel, task: Task, of: OpenFile, pipe: Pipe, len: number, pos: number):
  { ret: number; iter: IovIter } {
  const dio = getDirectIO()!;
  if (!k.profile.spliceReadCopies) {
    // generic_file_splice_read(): the file reads straight into pages appended to the pipe; the
    // bios complete later, and a short read reverts the iterator (pipe_truncate()).
    const iter = iov_iter_pipe('ITER_DEST', pipe, len);
    return { ret: dio(k, task, of, iter, pos, { async: true }), iter };
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
  const ret = dio(k, task, of, iter, pos, { async: false });
  let left = Math.max(ret, 0);
  for (const b of bvec) {
    const n = Math.min(left, b.len);
    if (n > 0 && pipeAppendPage(pipe, b.pfn, 0, n, 'anon')) left -= n; // the pipe takes our reference
    else mem.putRefs(b.pfn, 1); // unused: freed
  }
  return { ret, iter };
}
