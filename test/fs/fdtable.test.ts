// One descriptor table per task for every open file: fs/file.c alloc_fd() / get_unused_fd_flags(),
// fd_install(), close_fd(), dup_fd(), put_files_struct(); fs/file_table.c fput() / __fput();
// kernel/fork.c copy_files(); kernel/exit.c exit_files(); io_uring/io_uring.c io_uring_create(),
// io_uring_release() → io_ring_ctx_free() → io_sqe_buffers_unregister(); io_uring/register.c
// io_uring_register_get_file(); fs/pipe.c do_pipe2(), pipe_release(), free_pipe_info();
// fs/splice.c vmsplice(); fs/read_write.c ksys_pread64(), vfs_read().

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pipe } from '../../src/lib/pipe-buf.js';
import { io_sqe_buffers_register, io_uring_get_ring, io_uring_setup, type IoRing } from '../../src/drivers/io-uring.js';
import { do_vmsplice, pipePages } from '../../src/drivers/vmsplice.js';
import { close_fd, do_sys_open, EBADF, fdget } from '../../src/fs/fdtable.js';
import { do_pipe2, get_pipe_info } from '../../src/fs/pipe.js';
import { do_fsync, do_sys_ftruncate, ksys_pread64, ksys_read, ksys_write } from '../../src/fs/read_write.js';
import { EAGAIN, EINVAL, EOPNOTSUPP, EPIPE, ESPIPE, PAGE_SIZE, O_CREAT, O_RDWR } from '../../src/include/uapi.js';
import { Kernel } from '../../src/kernel.js';
import { do_exit } from '../../src/vm/exit.js';
import { do_fork } from '../../src/vm/fork.js';
import type { Task } from '../../src/vm/mm.js';
import { delta, mmap, pfnAt, ref, setup, step, write, type Env } from '../helpers.js';
import { exitAll } from '../drivers/util.js';
import { createTask } from '../../src/vm/mm.js';
import { checkInvariants } from '../../src/check/invariants.js';

const N = 8;

function ringFd(e: Env, t: Task = e.t): number {
  return step(e.k, t, 'io_uring_setup', () => io_uring_setup(e.k, t));
}

function ringOf(e: Env, fd: number, t: Task = e.t): IoRing {
  const r = io_uring_get_ring(e.k, t, fd);
  assert.ok(typeof r !== 'number', `fd ${fd} is not a ring (${String(r)})`);
  return r;
}

/** IORING_REGISTER_BUFFERS of the env's N pages on the ring behind fd: must succeed. */
function registerAll(e: Env, fd: number): { acq: number; rel: number } {
  const d = delta(e.k, () => step(e.k, e.t, 'IORING_REGISTER_BUFFERS',
    () => io_sqe_buffers_register(e.k, e.t, ringOf(e, fd), [{ base: e.addr, len: N * PAGE_SIZE }])));
  assert.equal(d.r, 0);
  return d;
}

function pipe(k: Kernel, t: Task): { p: Pipe; r: number; w: number } {
  const [ret, fds] = step(k, t, 'pipe', () => do_pipe2(k, t));
  assert.equal(ret, 0);
  const [r, w] = fds!;
  return { p: get_pipe_info(fdget(k, t, r)!)!, r, w };
}

function close(k: Kernel, t: Task, fd: number): number {
  return step(k, t, 'close', () => close_fd(k, t, fd));
}

// alloc_fd(): the lowest descriptor not in use, whatever kind of file takes it. Before, rings and
// pipes had numbers of their own, so a ring could be fd 3 while open() also returned 3.
test('fd table: rings, pipe ends and open() share one table and never collide; the lowest free fd is reused', () => {
  const e = setup({ pages: 1 });
  const { k, t } = e;
  const f = step(k, t, 'open', () => do_sys_open(k, t, 'data', O_RDWR | O_CREAT));
  assert.equal(f, 3, '0-2 are the standard streams');
  const ring = ringFd(e);
  assert.equal(ring, 4);
  const p = pipe(k, t);
  assert.deepEqual([p.r, p.w], [5, 6], 'pipe(2): the read end takes the lower descriptor');
  assert.equal(step(k, t, 'open', () => do_sys_open(k, t, 'data', O_RDWR)), 7);
  assert.equal(close(k, t, f), 0);
  assert.equal(ringFd(e), 3, 'a new ring takes the descriptor open() gave back');
  assert.equal(close(k, t, ring), 0);
  assert.equal(fdget(k, t, ring), null);
  assert.equal(step(k, t, 'open', () => do_sys_open(k, t, 'data', O_RDWR)), 4, "open() takes the old ring's descriptor");
  assert.equal(fdget(k, t, 4)?.f_op.name, 'ext4_file_operations');
  assert.equal(fdget(k, t, 3)?.f_op.name, 'io_uring_fops');
  assert.equal(fdget(k, t, 5)?.f_op.name, 'pipefifo_fops');
  assert.equal(close(k, t, 0), 0, 'the standard streams can be closed too');
  assert.equal(ringFd(e), 0);
  assert.deepEqual(exitAll(k), []);
});

// io_uring_release() at the last fput() → io_ring_ctx_free() → io_sqe_buffers_unregister():
// the registration's N pins are released at close, not before.
for (const profile of ['5.7', 'current']) {
  test(`fd table [${profile}] close(ring): +${N} acquired at register, nothing released until close, +${N} released at close`, () => {
    const e = setup({ profile, pages: N });
    const fd = ringFd(e);
    const ring = ringOf(e, fd);
    const reg = registerAll(e, fd);
    assert.deepEqual([reg.acq, reg.rel], [N, 0]);
    const pfn = pfnAt(e.t, e.addr);
    assert.ok(ref(e.k, pfn) > 1024);
    const d = delta(e.k, () => close(e.k, e.t, fd));
    assert.deepEqual([d.r, d.acq, d.rel], [0, 0, N]);
    assert.ok(ring.dead);
    assert.equal(ref(e.k, pfn), 1);
    assert.equal(close(e.k, e.t, fd), -EBADF, 'a second close');
    assert.deepEqual(exitAll(e.k), []);
  });
}

// dup_fd() at fork: the child's table refers to the same struct file (f_count 2); the parent's
// close() only drops its reference. The child's close (or exit) is the last fput().
for (const how of ['close', 'exit'] as const) {
  test(`fd table: fork, parent closes the ring: no release; the child's ${how} releases the ${N} pins`, () => {
    const e = setup({ pages: N });
    const fd = ringFd(e);
    registerAll(e, fd);
    const child = step(e.k, e.t, 'fork', () => do_fork(e.k, e.t, 'child'));
    assert.ok(typeof child !== 'number');
    assert.equal(fdget(e.k, child, fd), fdget(e.k, e.t, fd), 'the same open file in both tables');
    assert.equal(fdget(e.k, e.t, fd)!.count, 2);
    const parentClose = delta(e.k, () => close(e.k, e.t, fd));
    assert.deepEqual([parentClose.r, parentClose.rel], [0, 0], 'the child still holds the ring');
    assert.equal(ringOf(e, fd, child).bufs?.length, 1, 'and its buffers');
    assert.equal(io_uring_get_ring(e.k, e.t, fd), -EBADF, "the parent's descriptor is gone");
    const last = delta(e.k, () => how === 'close'
      ? close(e.k, child, fd)
      : step(e.k, child, 'exit', () => do_exit(e.k, child)));
    assert.equal(last.rel, N);
    assert.deepEqual(exitAll(e.k), []);
  });
}

// exit_files() after exit_mm(): every descriptor is closed — the ring's pins go, the pipe's page
// references go — even though the buffer's mapping went first.
test('fd table: exit closes every descriptor: ring pins released, pipe buffers freed, the table gone', () => {
  const e = setup({ pages: N });
  const fd = ringFd(e);
  registerAll(e, fd);
  const f = step(e.k, e.t, 'open', () => do_sys_open(e.k, e.t, 'log', O_RDWR | O_CREAT));
  const { p, w } = pipe(e.k, e.t);
  const src = mmap(e.k, e.t, PAGE_SIZE);
  write(e.k, e.t, src, PAGE_SIZE, 5);
  assert.equal(step(e.k, e.t, 'vmsplice', () => do_vmsplice(e.k, e.t, w, [{ base: src, len: PAGE_SIZE }])), PAGE_SIZE);
  const spliced = pipePages(p)[0];
  const pinned = pfnAt(e.t, e.addr);
  const d = delta(e.k, () => step(e.k, e.t, 'exit', () => do_exit(e.k, e.t)));
  assert.equal(d.rel, N);
  assert.ok(p.freed, 'free_pipe_info() ran');
  assert.ok(e.k.mem.isFree(spliced), "the pipe's reference was the page's last");
  assert.ok(e.k.mem.isFree(pinned), "the ring's pin was the page's last");
  assert.equal(fdget(e.k, e.t, f), null);
  assert.deepEqual(exitAll(e.k), []);
});

// pipe_release(): readers/writers drop per end; free_pipe_info() only when pipe->files reaches 0.
test('fd table: a pipe keeps its buffers until both ends are closed; EOF, -EAGAIN and -EPIPE follow the ends', () => {
  const e = setup({ pages: 2 });
  const { k, t } = e;
  const { p, r, w } = pipe(k, t);
  const dst = mmap(k, t, 2 * PAGE_SIZE);
  assert.equal(step(k, t, 'read', () => ksys_read(k, t, r, dst, PAGE_SIZE)), -EAGAIN, 'empty, a writer left: would sleep');
  assert.equal(step(k, t, 'vmsplice', () => do_vmsplice(k, t, w, [{ base: e.addr, len: 2 * PAGE_SIZE }])), 2 * PAGE_SIZE);
  const pfn = pfnAt(t, e.addr);
  assert.equal(ref(k, pfn), 2);
  assert.equal(close(k, t, w), 0);
  assert.deepEqual([p.readers, p.writers, p.freed], [1, 0, false]);
  assert.equal(ref(k, pfn), 2, 'closing the write end frees nothing');
  assert.equal(step(k, t, 'read', () => ksys_read(k, t, r, dst, PAGE_SIZE)), PAGE_SIZE, 'data written before the close is still read');
  assert.equal(ref(k, pfn), 1);
  assert.equal(close(k, t, r), 0);
  assert.ok(p.freed, 'both ends closed: free_pipe_info()');
  assert.equal(ref(k, pfnAt(t, e.addr + PAGE_SIZE)), 1, 'the unread buffer was released');

  const q = pipe(k, t);
  assert.equal(close(k, t, q.w), 0);
  assert.equal(step(k, t, 'read', () => ksys_read(k, t, q.r, dst, PAGE_SIZE)), 0, 'no writer and empty: end of file');
  const q2 = pipe(k, t);
  assert.equal(close(k, t, q2.r), 0);
  assert.equal(step(k, t, 'vmsplice', () => do_vmsplice(k, t, q2.w, [{ base: e.addr, len: PAGE_SIZE }])), -EPIPE, 'no reader left');
  assert.equal(ref(k, pfn), 1, 'nothing referenced');
  assert.deepEqual(exitAll(k), []);
});

// A forked child holds both ends too: the parent closing its ends does not free the pipe.
test('fd table: after fork the pipe lives until every end in both tasks is closed', () => {
  const e = setup({ pages: 1 });
  const { k, t } = e;
  const { p, r, w } = pipe(k, t);
  step(k, t, 'vmsplice', () => do_vmsplice(k, t, w, [{ base: e.addr, len: PAGE_SIZE }]));
  const child = step(k, t, 'fork', () => do_fork(k, t, 'child')) as Task;
  close(k, t, r);
  close(k, t, w);
  assert.deepEqual([p.readers, p.writers, p.freed], [1, 1, false], "the child's struct files are the same ones: counts per file, not per fd");
  close(k, child, w);
  assert.equal(p.freed, false);
  const pfn = pfnAt(t, e.addr);
  assert.equal(ref(k, pfn), 3, 'two mappings (COW-shared after fork) and the pipe buffer');
  close(k, child, r);
  assert.ok(p.freed);
  assert.equal(ref(k, pfn), 2, "the pipe's reference is gone with the last end");
  assert.deepEqual(exitAll(k), []);
});

// The kernel's errno for a descriptor that is closed, or of the wrong kind.
test('fd table: -EBADF for closed descriptors; -EOPNOTSUPP for a ring op on a non-ring; -EBADF for vmsplice on a non-pipe', () => {
  const e = setup({ pages: 1 });
  const { k, t } = e;
  const f = step(k, t, 'open', () => do_sys_open(k, t, 'data', O_RDWR | O_CREAT));
  const ring = ringFd(e);
  const { r, w } = pipe(k, t);
  const iov = [{ base: e.addr, len: PAGE_SIZE }];
  // io_uring_register_get_file(): fget() fails → -EBADF; !io_is_uring_fops() → -EOPNOTSUPP.
  assert.equal(io_uring_get_ring(k, t, 42), -EBADF);
  assert.equal(io_uring_get_ring(k, t, f), -EOPNOTSUPP);
  assert.equal(io_uring_get_ring(k, t, w), -EOPNOTSUPP);
  // vmsplice(): no file → -EBADF; not a pipe → get_pipe_info() NULL → -EBADF; an empty vector is 0 first.
  assert.equal(do_vmsplice(k, t, 42, iov), -EBADF);
  assert.equal(do_vmsplice(k, t, f, iov), -EBADF);
  assert.equal(do_vmsplice(k, t, ring, iov), -EBADF);
  assert.equal(do_vmsplice(k, t, f, []), 0);
  // vfs_read(): a ring has FMODE_READ but no ->read_iter → -EINVAL; a pipe's write end has no FMODE_READ → -EBADF.
  assert.equal(ksys_read(k, t, ring, e.addr, 1), -EINVAL);
  assert.equal(ksys_read(k, t, w, e.addr, 1), -EBADF);
  assert.equal(ksys_write(k, t, r, e.addr, 1), -EBADF);
  // ksys_pread64(): no FMODE_PREAD on pipes and anonymous inodes → -ESPIPE.
  assert.equal(ksys_pread64(k, t, r, e.addr, 1, 0), -ESPIPE);
  assert.equal(ksys_pread64(k, t, ring, e.addr, 1, 0), -ESPIPE);
  // vfs_fsync_range(): no ->fsync; do_sys_ftruncate(): not S_ISREG.
  assert.equal(do_fsync(k, t, r), -EINVAL);
  assert.equal(do_sys_ftruncate(k, t, ring, 0), -EINVAL);
  for (const fd of [f, ring, r, w]) assert.equal(close(k, t, fd), 0);
  for (const fd of [f, ring, r, w]) assert.equal(close(k, t, fd), -EBADF);
  assert.equal(io_uring_get_ring(k, t, ring), -EBADF);
  assert.equal(do_vmsplice(k, t, w, iov), -EBADF);
  assert.equal(ksys_read(k, t, r, e.addr, 1), -EBADF);
  assert.deepEqual(exitAll(k), []);
});

// The explorer's dependence relation needs every table and open-file change in the footprint.
test('fd table: open, close and fork record the task tables and the open files they touch', () => {
  const k = new Kernel({ trace: false, footprints: true, check: checkInvariants });
  const t = createTask(k, 'app');
  const fd = step(k, t, 'open', () => do_sys_open(k, t, 'f', O_RDWR | O_CREAT));
  const filp = fdget(k, t, fd)!;
  k.takeFootprint();
  const child = step(k, t, 'fork', () => do_fork(k, t, 'child')) as Task;
  const fork = k.takeFootprint();
  assert.ok(fork.reads.fdtable?.some(([lo, hi]) => lo <= t.pid && t.pid <= hi), 'fork reads the parent table');
  assert.ok(fork.writes.fdtable?.some(([lo, hi]) => lo <= child.pid && child.pid <= hi), 'and writes the child table');
  assert.ok(fork.writes.filp?.some(([lo, hi]) => lo <= filp.id && filp.id <= hi), 'and the shared file (get_file())');
  close(k, child, fd);
  const c = k.takeFootprint();
  assert.ok(c.writes.fdtable?.some(([lo, hi]) => lo <= child.pid && child.pid <= hi));
  assert.ok(c.writes.filp?.some(([lo, hi]) => lo <= filp.id && filp.id <= hi), 'close drops the reference (fput())');
  assert.ok(!c.writes.fdtable?.some(([lo, hi]) => lo <= t.pid && t.pid <= hi), "the parent's table is not touched");
});
