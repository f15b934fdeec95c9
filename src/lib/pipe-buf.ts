// Pipes as the page-pinning story sees them: a ring of pipe_buffers, each owning one reference on
// a page (include/linux/pipe_fs_i.h, fs/pipe.c, fs/splice.c). What vmsplice(), splice-read and an
// ITER_PIPE iterator (lib/iov_iter.c, ≤ v6.4) put into a pipe, and what reading or truncating the
// pipe gives back: every buffer release is a put_page(), so a page whose only reference was the
// pipe's goes back to the page allocator there (spec R81, R116).

import type { Kernel } from '../kernel.js';
import { put_page } from '../gup/unpin.js';
import { PipeBufOps, PipeBuffer, PIPE_DEF_BUFFERS } from '../include/linux/pipe_fs_i.js';

/**
 * struct pipe_inode_info: head and tail are free-running counters; slot n is ring[n & (size-1)]
 * (pipe_buf()). The pipe keeps its Kernel so iterator code without one (iov_iter_advance()) can
 * still release buffers. Its state is private: the accessors record a read or write of the pipe
 * ('pipe', its id) through the kernel's memory (nothing under k.peek()); a buffer changes only
 * through setSlot()/updateSlot(). Observers use peek*.
 */
export class Pipe {
  readonly id: number;
  private pipe_head = 0;
  private pipe_tail = 0;
  private readonly pipe_bufs: Array<PipeBuffer | null>;
  /** pipe->max_usage: how many slots may be in use (ring_size unless F_SETPIPE_SZ shrank it). */
  private max_usage: number;
  /** free_pipe_info() ran: the buffers are gone. */
  private is_freed = false;
  /** pipe->readers, pipe->writers: open files with FMODE_READ / FMODE_WRITE on the pipe (src/fs/pipe.ts). */
  private nr_readers = 0;
  private nr_writers = 0;
  /** pipe->files: the struct files that refer to the pipe; free_pipe_info() runs when it reaches 0. */
  private nr_files = 0;
  constructor(readonly k: Kernel, readonly ringSize = PIPE_DEF_BUFFERS) {
    this.id = k.ids.take('pipe');
    if (ringSize < 1 || (ringSize & (ringSize - 1)) !== 0) throw new RangeError('pipe ring size must be a power of two');
    this.pipe_bufs = new Array<PipeBuffer | null>(ringSize).fill(null);
    this.max_usage = ringSize;
  }

  private rd(): void {
    const fp = this.k.mem.fp;
    if (fp !== null) fp.read('pipe', this.id);
  }

  private wr(): void {
    const fp = this.k.mem.fp;
    if (fp !== null) fp.write('pipe', this.id);
  }

  get head(): number {
    this.rd();
    return this.pipe_head;
  }

  set head(v: number) {
    this.wr();
    this.pipe_head = v;
  }

  get tail(): number {
    this.rd();
    return this.pipe_tail;
  }

  set tail(v: number) {
    this.wr();
    this.pipe_tail = v;
  }

  get maxUsage(): number {
    this.rd();
    return this.max_usage;
  }

  set maxUsage(v: number) {
    this.wr();
    this.max_usage = v;
  }

  get freed(): boolean {
    this.rd();
    return this.is_freed;
  }

  set freed(v: boolean) {
    this.wr();
    this.is_freed = v;
  }

  get readers(): number {
    this.rd();
    return this.nr_readers;
  }

  set readers(v: number) {
    this.wr();
    this.nr_readers = v;
  }

  get writers(): number {
    this.rd();
    return this.nr_writers;
  }

  set writers(v: number) {
    this.wr();
    this.nr_writers = v;
  }

  get files(): number {
    this.rd();
    return this.nr_files;
  }

  set files(v: number) {
    this.wr();
    this.nr_files = v;
  }

  /** The buffer in slot n (n & (ring_size - 1)), or null (records a read). */
  slot(n: number): Readonly<PipeBuffer> | null {
    this.rd();
    return this.pipe_bufs[n & (this.ringSize - 1)];
  }

  /** Fill or empty slot n (records a write). */
  setSlot(n: number, b: PipeBuffer | null): void {
    this.wr();
    this.pipe_bufs[n & (this.ringSize - 1)] = b;
  }

  /** Move a buffer's offset or length (a read consumed it, an append grew it; records a write). */
  updateSlot(n: number, change: { offset?: number; len?: number }): void {
    this.wr();
    const b = this.pipe_bufs[n & (this.ringSize - 1)];
    if (!b) throw new RangeError(`pipe ${this.id}: slot ${n} holds no buffer`);
    if (change.offset !== undefined) b.offset = change.offset;
    if (change.len !== undefined) b.len = change.len;
  }

  /** Observers (queries, tests): record nothing. */
  peekHead(): number {
    return this.pipe_head;
  }

  peekCounts(): { readers: number; writers: number; files: number; freed: boolean } {
    return { readers: this.nr_readers, writers: this.nr_writers, files: this.nr_files, freed: this.is_freed };
  }
}

/** pipe(2) / alloc_pipe_info(): an empty pipe. Whatever it still holds is released at teardown (free_pipe_info()). */
export function newPipe(k: Kernel, ringSize = PIPE_DEF_BUFFERS): Pipe {
  const pipe = new Pipe(k, ringSize);
  k.onTeardown(() => free_pipe_info(pipe));
  return pipe;
}

/** pipe_buf(): the buffer in slot n. */
export function pipe_buf(pipe: Pipe, slot: number): Readonly<PipeBuffer> {
  const b = pipe.slot(slot);
  if (!b) throw new RangeError(`pipe ${pipe.id}: slot ${slot} holds no buffer (head ${pipe.head}, tail ${pipe.tail})`);
  return b;
}

/** pipe_occupancy() */
export function pipe_occupancy(head: number, tail: number): number {
  return head - tail;
}

/** pipe_full(): no free slot below limit. */
export function pipe_full(head: number, tail: number, limit: number): boolean {
  return pipe_occupancy(head, tail) >= limit;
}

/** pipe_empty() */
export function pipe_empty(pipe: Pipe): boolean {
  return pipe.head === pipe.tail;
}

/**
 * Put a buffer at the head of the pipe. The pipe takes over one reference on pfn that the caller
 * holds (alloc_page() for 'anon', iov_iter_get_pages2()'s GET for 'user', get_page() for
 * 'page-cache'). Returns false, taking nothing, when the pipe is full (pipe_full() on max_usage).
 */
export function pipeAppendPage(pipe: Pipe, pfn: number, offset: number, len: number, ops: PipeBufOps): boolean {
  if (pipe.freed) throw new RangeError(`pipe ${pipe.id} was released`);
  if (pipe_full(pipe.head, pipe.tail, pipe.maxUsage)) return false;
  pipe.setSlot(pipe.head, { pfn, offset, len, ops });
  pipe.head++;
  return true;
}

/** pipe_buf_release(): ->release of every buffer type here is generic_pipe_buf_release(), a put_page(). */
export function pipe_buf_release(pipe: Pipe, buf: Readonly<PipeBuffer>): void {
  const k = pipe.k;
  k.note(`pipe ${pipe.id}: release buffer (pfn ${buf.pfn}, ${buf.ops}): put_page`);
  put_page(k, buf.pfn);
}

/**
 * pipe_discard_from(pipe, head) (include/linux/pipe_fs_i.h, v6.1+; ≤ v6.0 lib/iov_iter.c
 * pipe_truncate()): release every buffer from slot `head` to the pipe's head, newest first.
 * Returns how many buffers were released.
 */
export function pipe_truncate(pipe: Pipe, head: number): number {
  pipe.k.fp.write('pipe', pipe.id); // also when there is nothing to discard: the caller's head moved past it
  let n = 0;
  while (pipe.head > head && pipe.head > pipe.tail) {
    const slot = --pipe.head;
    const b = pipe_buf(pipe, slot);
    pipe.setSlot(slot, null);
    pipe_buf_release(pipe, b);
    n++;
  }
  return n;
}

/** free_pipe_info() (fs/pipe.c): the last close releases every buffer still in the pipe. */
export function free_pipe_info(pipe: Pipe): void {
  if (pipe.freed) return;
  while (pipe.tail !== pipe.head) {
    const slot = pipe.tail++;
    const b = pipe_buf(pipe, slot);
    pipe.setSlot(slot, null);
    pipe_buf_release(pipe, b);
  }
  pipe.freed = true;
}

/** The buffers from tail to head (a snapshot: offset, length, page, ops). */
export function pipeBuffers(pipe: Pipe): readonly PipeBuffer[] {
  const out: PipeBuffer[] = [];
  for (let s = pipe.tail; s !== pipe.head; s++) out.push({ ...pipe_buf(pipe, s) });
  return out;
}

/** Bytes waiting in the pipe. */
export function pipeBytes(pipe: Pipe): number {
  let n = 0;
  for (let s = pipe.tail; s !== pipe.head; s++) n += pipe_buf(pipe, s).len;
  return n;
}
