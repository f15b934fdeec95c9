// vmsplice() of user memory: fs/splice.c vmsplice_to_pipe(), iter_to_pipe(); lib/iov_iter.c
// iov_iter_get_pages2() (get_user_pages_fast() for user iterators); fs/pipe.c pipe_read(),
// free_pipe_info(). Spec R75, R127 (vmsplice: GETs, counters 0/0).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { do_vmsplice, pipePages, PIPE_DEF_BUFFERS } from '../../src/drivers/vmsplice.js';
import type { Pipe } from '../../src/lib/pipe-buf.js';
import { close_fd, fdget } from '../../src/fs/fdtable.js';
import { do_pipe2, get_pipe_info } from '../../src/fs/pipe.js';
import { ksys_read } from '../../src/fs/read_write.js';
import { EAGAIN, PAGE_SIZE } from '../../src/include/uapi.js';
import type { Kernel } from '../../src/kernel.js';
import type { Task } from '../../src/vm/mm.js';
import { do_fork } from '../../src/vm/fork.js';
import { do_munmap } from '../../src/vm/mmap.js';
import { delta, kernel, mmap, pfnAt, read, ref, setup, step, write } from '../helpers.js';
import { exitAll } from './util.js';
import { createTask, findTask } from '../../src/vm/mm.js';

/** pipe(2) in task t: the pipe and its [read, write] descriptors. */
function newPipe(k: Kernel, t: Task): { p: Pipe; r: number; w: number } {
  const [ret, fds] = step(k, t, 'pipe', () => do_pipe2(k, t));
  assert.equal(ret, 0);
  const [r, w] = fds!;
  return { p: get_pipe_info(fdget(k, t, r)!)!, r, w };
}

for (const profile of ['5.1', '5.7', 'current']) {
  // R127 (T7): vmsplice() of user memory → 0/0; one page reference per pipe buffer.
  test(`R127 [${profile}] vmsplice of 4 pages: 4 pipe buffers, one reference each, no FOLL_PIN counters`, () => {
    const e = setup({ profile, pages: 4 });
    const { p, r, w } = newPipe(e.k, e.t);
    const d = delta(e.k, () => step(e.k, e.t, 'vmsplice', () => do_vmsplice(e.k, e.t, w, [{ base: e.addr, len: 4 * PAGE_SIZE }])));
    assert.equal(d.r, 4 * PAGE_SIZE);
    if (e.k.profile.pinTracking) assert.deepEqual([d.acq, d.rel], [0, 0]);
    assert.equal(pipePages(p).length, 4);
    assert.equal(ref(e.k, pfnAt(e.t, e.addr)), 2);
    // pipe_read(): an emptied buffer is released (put_page()).
    const buf = mmap(e.k, e.t, 4 * PAGE_SIZE);
    assert.equal(step(e.k, e.t, 'read', () => ksys_read(e.k, e.t, r, buf, PAGE_SIZE)), PAGE_SIZE);
    assert.equal(ref(e.k, pfnAt(e.t, e.addr)), 1);
    assert.equal(read(e.k, e.t, buf), 1);
    assert.deepEqual(exitAll(e.k), [], 'closing the pipe at exit drops the other three references');
  });
}

// vmsplice_to_pipe(): wait_for_space(); iter_to_pipe() stops when the pipe is full and puts back
// the pages it could not add. A full pipe with SPLICE_F_NONBLOCK: -EAGAIN (the model never sleeps).
test('R127 [current] a pipe holds 16 buffers: the rest of a 20-page vmsplice is not referenced; a full pipe gives -EAGAIN', () => {
  const e = setup({ pages: 20 });
  const { r, w } = newPipe(e.k, e.t);
  const n = step(e.k, e.t, 'vmsplice', () => do_vmsplice(e.k, e.t, w, [{ base: e.addr, len: 20 * PAGE_SIZE }]));
  assert.equal(n, PIPE_DEF_BUFFERS * PAGE_SIZE);
  assert.equal(ref(e.k, pfnAt(e.t, e.addr + 15 * PAGE_SIZE)), 2);
  assert.equal(ref(e.k, pfnAt(e.t, e.addr + 16 * PAGE_SIZE)), 1);
  assert.equal(step(e.k, e.t, 'vmsplice', () => do_vmsplice(e.k, e.t, w, [{ base: e.addr, len: PAGE_SIZE }])), -EAGAIN);
  step(e.k, e.t, 'close', () => close_fd(e.k, e.t, w));
  assert.equal(ref(e.k, pfnAt(e.t, e.addr)), 2, 'the read end still holds the pipe');
  step(e.k, e.t, 'close', () => close_fd(e.k, e.t, r));
  assert.equal(ref(e.k, pfnAt(e.t, e.addr)), 1);
});

// R75/R127: GETs of untouched memory reference the shared zero page (GUP read faults map it);
// GETs always count on it, on every profile.
test('R127 [current] vmsplice of untouched memory references the zero page', () => {
  const e = setup({ pages: 2, value: null });
  const { p, w } = newPipe(e.k, e.t);
  const zero = e.k.mem.zeroPfns[0];
  const before = e.k.mem.ref(zero);
  step(e.k, e.t, 'vmsplice', () => do_vmsplice(e.k, e.t, w, [{ base: e.addr, len: 2 * PAGE_SIZE }]));
  assert.equal(e.k.mem.ref(zero), before + 2);
  assert.ok(pipePages(p).every((pfn) => pfn === zero));
  assert.deepEqual(exitAll(e.k), []);
});

// The vmsplice/COW problem that motivated the 5.8/5.9 COW rework (CVE-2020-29374): a child
// vmsplices a page it shares with its parent (a read GET), unmaps it, and the parent writes its
// secret. v5.1 reuses the page by mapcount (it is mapped once again) — the pipe reads the secret.
// v5.9+ reuses only at refcount 1: the pipe's reference forces a copy and the pipe keeps the old data.
for (const [profile, pipeSees] of [['5.1', 42], ['5.7', 42], ['5.9', 1], ['current', 1]] as const) {
  test(`R115 [${profile}] child vmsplices a COW-shared page, unmaps it, parent writes 42: the pipe reads ${pipeSees}`, () => {
    const k = kernel(profile);
    const parent = createTask(k, 'parent');
    const addr = mmap(k, parent, PAGE_SIZE);
    write(k, parent, addr, PAGE_SIZE, 1);
    step(k, parent, 'fork', () => do_fork(k, parent, 'child'));
    const child = findTask(k, 'child');
    const { p, w } = newPipe(k, child);
    assert.equal(step(k, child, 'vmsplice', () => do_vmsplice(k, child, w, [{ base: addr, len: PAGE_SIZE }])), PAGE_SIZE);
    step(k, child, 'munmap', () => do_munmap(k, child.mm, addr, PAGE_SIZE));
    write(k, parent, addr, PAGE_SIZE, 42);
    assert.equal(k.mem.contentOf(pipePages(p)[0]), pipeSees);
    assert.deepEqual(exitAll(k), []);
  });
}
