// include/linux/pipe_fs_i.h: the pipe buffer shape and the ring size, shared by the pipe ring
// (src/lib/pipe-buf.ts), lib/iov_iter ITER_PIPE and fs/pipe.c, fs/splice.c. Types and constants only.

/**
 * Which pipe_buf_operations a buffer has. All three release with put_page()
 * (generic_pipe_buf_release()); the name says where the reference came from:
 * - 'anon': a page the pipe allocated (lib/iov_iter.c push_anon(): default_pipe_buf_ops);
 *   the allocation's reference is the buffer's.
 * - 'user': a user page from vmsplice() (fs/splice.c iter_to_pipe(): user_page_pipe_buf_ops),
 *   a GET taken by iov_iter_get_pages2().
 * - 'page-cache': a page-cache page spliced by reference (lib/iov_iter.c push_page() /
 *   mm/filemap.c splice_folio_into_pipe(): page_cache_pipe_buf_ops), a get_page() of its own.
 */
export type PipeBufOps = 'anon' | 'user' | 'page-cache';

/** struct pipe_buffer: page, offset and length of the data, and the ops that release it. */
export interface PipeBuffer {
  pfn: number;
  offset: number;
  len: number;
  ops: PipeBufOps;
}

/** PIPE_DEF_BUFFERS (include/linux/pipe_fs_i.h): a new pipe has 16 slots. */
export const PIPE_DEF_BUFFERS = 16;
