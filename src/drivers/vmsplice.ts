// vmsplice() of user memory into a pipe: fs/splice.c vmsplice_to_pipe() / iter_to_pipe().
// The pipe buffers hold plain page references (GETs), taken by iov_iter_get_pages2() —
// get_user_pages_fast() without FOLL_WRITE for this ITER_SOURCE iterator (lib/iov_iter.c
// __iov_iter_get_pages_alloc()) — and dropped by the buffer's ->release (put_page()) when the
// data is read or the pipe is closed. No pins: the FOLL_PIN counters do not move (R75, R127).
//
// src/block/pipe.ts does not exist yet, so this module keeps a minimal pipe of its own: 16 slots
// (PIPE_DEF_BUFFERS) of {page, offset, len}.

import * as api from '../gup/api.js';
import { put_page } from '../gup/unpin.js';
import { EAGAIN, EFAULT, EINVAL, PAGE_SIZE } from '../include/uapi.js';
import type { Kernel } from '../kernel.js';
import { userWrite } from '../vm/access.js';
import type { Task } from '../vm/mm.js';
import { EBADF, newId, pageArray } from './common.js';
import type { Iovec } from './process-vm.js';

/** PIPE_DEF_BUFFERS */
export const PIPE_DEF_BUFFERS = 16;

export interface PipeBuffer {
  readonly pfn: number;
  offset: number;
  len: number;
}

export class SplicePipe {
  readonly bufs: PipeBuffer[] = [];
  closed = false;
  constructor(readonly fd: number, readonly maxUsage = PIPE_DEF_BUFFERS) {}

  get full(): boolean {
    return this.bufs.length >= this.maxUsage;
  }

  get bytes(): number {
    return this.bufs.reduce((n, b) => n + b.len, 0);
  }
}

export function pipeState(k: Kernel): Map<number, SplicePipe> {
  return k.state('drivers:pipes', () => {
    const m = new Map<number, SplicePipe>();
    k.onTeardown(() => {
      for (const p of [...m.values()]) pipe_close(k, p);
    });
    return m;
  });
}

/** pipe(): a new pipe; returns its id (the read and write ends share it in the model). */
export function pipe_create(k: Kernel): number {
  const p = new SplicePipe(newId(k));
  pipeState(k).set(p.fd, p);
  return p.fd;
}

export function findPipe(k: Kernel, fd: number): SplicePipe | undefined {
  const p = pipeState(k).get(fd);
  return p && !p.closed ? p : undefined;
}

/**
 * vmsplice(fd, iov, nr, flags) towards a pipe: vmsplice_to_pipe(). Pages are referenced and linked
 * into pipe buffers until the pipe is full; returns the bytes spliced, or -EAGAIN when it is full
 * from the start (the model never sleeps), -EFAULT when nothing could be referenced.
 */
export function vmsplice_to_pipe(k: Kernel, current: Task, pipe: SplicePipe, iov: readonly Iovec[]): number {
  if (pipe.closed) return -EBADF;
  for (const v of iov) if (v.len < 0) return -EINVAL;
  if (pipe.full) return -EAGAIN; // wait_for_space() with SPLICE_F_NONBLOCK semantics
  let total = 0;
  let ret = 0;
  out: for (const v of iov) {
    let addr = v.base;
    let left = v.len;
    while (left > 0 && !pipe.full) {
      // iov_iter_get_pages2(from, pages, ~0UL, 16, &start): one user segment, at most 16 pages.
      const start = addr % PAGE_SIZE;
      const want = Math.min(16, Math.ceil((start + left) / PAGE_SIZE));
      const pages = pageArray(want);
      const got = api.get_user_pages_fast(k, current, addr - start, want, 0, pages);
      if (got <= 0) { ret = got < 0 ? got : -EFAULT; break out; }
      let bytes = Math.min(got * PAGE_SIZE - start, left);
      let off = start;
      for (let i = 0; i < got; i++) {
        if (bytes <= 0) { put_page(k, pages[i]); continue; }
        const size = Math.min(bytes, PAGE_SIZE - off);
        if (pipe.full) {
          // add_to_pipe() failed: this page and the rest go back.
          for (let j = i; j < got; j++) put_page(k, pages[j]);
          break out;
        }
        pipe.bufs.push({ pfn: pages[i], offset: off, len: size });
        total += size;
        bytes -= size;
        left -= size;
        addr += size;
        off = 0;
      }
    }
    if (pipe.full) break;
  }
  return total ? total : ret;
}

/**
 * read() from the pipe into the caller's memory at addr: copies up to len bytes (content tokens,
 * per page) and releases every buffer emptied (anon_pipe_buf / user page ->release: put_page()).
 */
export function pipe_read(k: Kernel, current: Task, pipe: SplicePipe, addr: number, len: number): number {
  if (pipe.closed) return -EBADF;
  if (!pipe.bufs.length) return -EAGAIN;
  let done = 0;
  while (done < len && pipe.bufs.length) {
    const b = pipe.bufs[0];
    const n = Math.min(b.len, len - done);
    const r = userWrite(k, current.mm, addr + done, n, k.mem.content[b.pfn]);
    if (r < 0) return done ? done : r;
    done += n;
    b.offset += n;
    b.len -= n;
    if (b.len === 0) {
      pipe.bufs.shift();
      put_page(k, b.pfn);
    }
  }
  return done;
}

/** The content a reader would get from the first buffer, without consuming it (tee-like peek). */
export function pipe_peek(k: Kernel, pipe: SplicePipe): number | null {
  return pipe.bufs.length ? k.mem.content[pipe.bufs[0].pfn] : null;
}

/** close() of the last pipe fd: free_pipe_info() releases every buffer. */
export function pipe_close(k: Kernel, pipe: SplicePipe): number {
  if (pipe.closed) return -EBADF;
  for (const b of pipe.bufs.splice(0)) put_page(k, b.pfn);
  pipe.closed = true;
  pipeState(k).delete(pipe.fd);
  return 0;
}
