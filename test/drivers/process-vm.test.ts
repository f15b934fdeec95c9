// process_vm_readv()/process_vm_writev(): mm/process_vm_access.c process_vm_rw_core(),
// process_vm_rw_single_vec(), process_vm_rw_pages(). Spec R124, R137; seed 004
// ("mm/process_vm_access: set FOLL_PIN via pin_user_pages_remote()", v5.7 per R137).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESRCH } from '../../src/drivers/common.js';
import { process_vm_readv, process_vm_rw, process_vm_writev, PVM_MAX_PAGES_PER_LOOP } from '../../src/drivers/process-vm.js';
import { EFAULT, EINVAL, PAGE_SIZE, PROT_READ } from '../../src/include/uapi.js';
import { PG_dirty } from '../../src/mm/page-flags.js';
import { do_exit } from '../../src/vm/exit.js';
import { do_fork } from '../../src/vm/fork.js';
import { kernel, delta, mmap, pfnAt, read, ref, step, write } from '../helpers.js';
import { exitAll, TRACKED } from './util.js';
import { createTask, findTask } from '../../src/vm/mm.js';

const N = 8;

function two(profile: string, opts: { remoteValue?: number | null; localProt?: number } = {}) {
  const k = kernel(profile);
  const me = createTask(k, 'me');
  const peer = createTask(k, 'peer');
  const local = mmap(k, me, N * PAGE_SIZE, opts.localProt === undefined ? {} : { prot: opts.localProt });
  const remote = mmap(k, peer, N * PAGE_SIZE);
  if (opts.remoteValue !== null) for (let i = 0; i < N; i++) write(k, peer, remote + i * PAGE_SIZE, PAGE_SIZE, (opts.remoteValue ?? 100) + i);
  return { k, me, peer, local, remote };
}

for (const profile of TRACKED) {
  // R124 (T4): remote pages written before → +N/+N; the data arrives in the caller's pages.
  test(`R124 [${profile}] process_vm_readv of ${N} written remote pages: +${N}/+${N}, data copied`, () => {
    const s = two(profile);
    const d = delta(s.k, () => step(s.k, s.me, 'process_vm_readv', () =>
      process_vm_readv(s.k, s.me, s.peer, [{ base: s.local, len: N * PAGE_SIZE }], [{ base: s.remote, len: N * PAGE_SIZE }])));
    assert.deepEqual([d.r, d.acq, d.rel], [N * PAGE_SIZE, N, N]);
    for (let i = 0; i < N; i++) assert.equal(read(s.k, s.me, s.local + i * PAGE_SIZE), 100 + i);
    // R137: unpin_user_pages_dirty_lock(pages, n, vm_write = 0): a read leaves the remote pages clean.
    assert.equal(s.k.mem.test(s.k.mem.head(pfnAt(s.peer, s.remote)), PG_dirty), false);
    assert.deepEqual(exitAll(s.k), []);
  });

  // R124: process_vm_writev pins FOLL_WRITE; the pages are dirtied at unpin.
  test(`R124 [${profile}] process_vm_writev: +${N}/+${N}, remote pages written and dirtied at unpin`, () => {
    const s = two(profile);
    write(s.k, s.me, s.local, N * PAGE_SIZE, 7);
    const d = delta(s.k, () => step(s.k, s.me, 'process_vm_writev', () =>
      process_vm_writev(s.k, s.me, s.peer, [{ base: s.local, len: N * PAGE_SIZE }], [{ base: s.remote, len: N * PAGE_SIZE }])));
    assert.deepEqual([d.r, d.acq, d.rel], [N * PAGE_SIZE, N, N]);
    assert.equal(read(s.k, s.peer, s.remote + 3 * PAGE_SIZE), 7);
    assert.equal(s.k.mem.test(s.k.mem.head(pfnAt(s.peer, s.remote)), PG_dirty), true);
  });
}

// R124: "≤ v5.6 → 0/0": get_user_pages_remote() + put_page(); the page references are back afterwards.
for (const profile of ['5.1', '5.2']) {
  test(`R124 [${profile}] process_vm_readv takes plain references (no counters) and drops them`, () => {
    const s = two(profile);
    const r = step(s.k, s.me, 'process_vm_readv', () =>
      process_vm_readv(s.k, s.me, s.peer, [{ base: s.local, len: N * PAGE_SIZE }], [{ base: s.remote, len: N * PAGE_SIZE }]));
    assert.equal(r, N * PAGE_SIZE);
    assert.equal(read(s.k, s.me, s.local + 5 * PAGE_SIZE), 105);
    assert.equal(ref(s.k, pfnAt(s.peer, s.remote)), 1);
    assert.deepEqual(exitAll(s.k), []);
  });

  // Before v5.7 process_vm_rw_pages() called set_page_dirty_lock() itself for vm_write.
  test(`R137 [${profile}] process_vm_writev dirties the remote pages while copying`, () => {
    const s = two(profile);
    write(s.k, s.me, s.local, PAGE_SIZE, 9);
    step(s.k, s.me, 'process_vm_writev', () =>
      process_vm_writev(s.k, s.me, s.peer, [{ base: s.local, len: PAGE_SIZE }], [{ base: s.remote, len: PAGE_SIZE }]));
    assert.equal(s.k.mem.test(s.k.mem.head(pfnAt(s.peer, s.remote)), PG_dirty), true);
    assert.equal(read(s.k, s.peer, s.remote), 9);
  });
}

// R124: remote untouched anonymous memory → 0/0 (read faults map the zero page, which takes no
// pins since v6.5); RSS unchanged. On 5.7 the zero page is pinned with the bias and unpinned.
for (const [profile, counted] of [['current', 0], ['6.5', 0], ['5.7', N]] as const) {
  test(`R124 [${profile}] reading untouched remote memory: counters +${counted}/+${counted}; the remote maps the zero page`, () => {
    const s = two(profile, { remoteValue: null });
    const d = delta(s.k, () => step(s.k, s.me, 'process_vm_readv', () =>
      process_vm_readv(s.k, s.me, s.peer, [{ base: s.local, len: N * PAGE_SIZE }], [{ base: s.remote, len: N * PAGE_SIZE }])));
    assert.deepEqual([d.r, d.acq, d.rel], [N * PAGE_SIZE, counted, counted]);
    for (let i = 0; i < N; i++) assert.ok(s.k.mem.isZeroPfn(pfnAt(s.peer, s.remote + i * PAGE_SIZE)));
    assert.equal(read(s.k, s.me, s.local), 0);
  });
}

// R124: remote pages still COW-shared with the remote's child: a read-only FOLL_PIN unshares them
// (R41/R42, v5.19+): +N/+N and the remote now has private copies [derived in the spec].
for (const [profile, unshared] of [['current', true], ['5.19', true], ['5.9', false]] as const) {
  test(`R124 [${profile}] reading COW-shared remote pages ${unshared ? 'unshares them (private copies)' : 'leaves them shared'}`, () => {
    const s = two(profile);
    step(s.k, s.peer, 'fork', () => do_fork(s.k, s.peer, 'peerchild'));
    const before = pfnAt(s.peer, s.remote);
    const d = delta(s.k, () => step(s.k, s.me, 'process_vm_readv', () =>
      process_vm_readv(s.k, s.me, s.peer, [{ base: s.local, len: N * PAGE_SIZE }], [{ base: s.remote, len: N * PAGE_SIZE }])));
    assert.deepEqual([d.acq, d.rel], [N, N]);
    assert.equal(pfnAt(s.peer, s.remote) !== before, unshared);
    assert.equal(pfnAt(findTask(s.k, 'peerchild'), s.remote), before, 'the child keeps the original page');
    assert.equal(read(s.k, s.me, s.local), 100);
  });
}

// process_vm_rw_single_vec(): nothing pinned → -EFAULT; process_vm_rw_core(): "If we have managed
// to copy any data at all then we return the number of bytes copied".
test('R137 [current] a remote range with a hole: the bytes before it, or -EFAULT when it starts in the hole', () => {
  const s = two('current');
  const d = delta(s.k, () => step(s.k, s.me, 'readv', () =>
    process_vm_readv(s.k, s.me, s.peer, [{ base: s.local, len: N * PAGE_SIZE }], [{ base: s.remote + (N - 2) * PAGE_SIZE, len: 4 * PAGE_SIZE }])));
  assert.deepEqual([d.r, d.acq, d.rel], [2 * PAGE_SIZE, 2, 2]);
  assert.equal(step(s.k, s.me, 'readv', () =>
    process_vm_readv(s.k, s.me, s.peer, [{ base: s.local, len: PAGE_SIZE }], [{ base: s.remote + N * PAGE_SIZE, len: PAGE_SIZE }])), -EFAULT);
});

// process_vm_rw_pages(): a fault on the local side (copy_page_to_iter() short) → -EFAULT; the remote
// pages are unpinned all the same.
test('R137 [current] a read-only local buffer: -EFAULT, and the remote pins are released', () => {
  const s = two('current', { localProt: PROT_READ });
  const d = delta(s.k, () => step(s.k, s.me, 'readv', () =>
    process_vm_readv(s.k, s.me, s.peer, [{ base: s.local, len: PAGE_SIZE }], [{ base: s.remote, len: PAGE_SIZE }])));
  assert.deepEqual([d.r, d.acq, d.rel], [-EFAULT, 1, 1]);
  assert.equal(ref(s.k, pfnAt(s.peer, s.remote)), 1);
});

test('R137 [current] several iovecs on both sides: bytes are consumed in order', () => {
  const s = two('current');
  const r = step(s.k, s.me, 'readv', () => process_vm_readv(s.k, s.me, s.peer,
    [{ base: s.local + 4 * PAGE_SIZE, len: PAGE_SIZE }, { base: s.local, len: PAGE_SIZE }],
    [{ base: s.remote + 2 * PAGE_SIZE, len: PAGE_SIZE }, { base: s.remote + 6 * PAGE_SIZE, len: PAGE_SIZE }]));
  assert.equal(r, 2 * PAGE_SIZE);
  assert.equal(read(s.k, s.me, s.local + 4 * PAGE_SIZE), 102);
  assert.equal(read(s.k, s.me, s.local), 106);
});

test('R137 [current] a task that exited has no mm: -ESRCH; a zero-length request copies nothing', () => {
  const s = two('current');
  step(s.k, s.peer, 'exit', () => do_exit(s.k, s.peer));
  assert.equal(process_vm_readv(s.k, s.me, s.peer, [{ base: s.local, len: PAGE_SIZE }], [{ base: s.remote, len: PAGE_SIZE }]), -ESRCH);
  assert.equal(process_vm_readv(s.k, s.me, s.peer, [{ base: s.local, len: 0 }], [{ base: s.remote, len: PAGE_SIZE }]), 0);
});

// PVM_MAX_KMALLOC_PAGES / sizeof(struct pages *) = 2 * 4096 / 8: the per-loop chunk (R137's "16"
// is the on-stack array used only when no iovec needs more).
test('R137 [current] a 2000-page read: chunks of at most 1024 pages, every page pinned once and unpinned', () => {
  assert.equal(PVM_MAX_PAGES_PER_LOOP, 1024);
  const k = kernel('current');
  const me = createTask(k, 'me');
  const peer = createTask(k, 'peer');
  const n = 2000;
  const local = mmap(k, me, n * PAGE_SIZE);
  const remote = mmap(k, peer, n * PAGE_SIZE);
  write(k, peer, remote, n * PAGE_SIZE, 3);
  const d = delta(k, () => step(k, me, 'readv', () => process_vm_readv(k, me, peer, [{ base: local, len: n * PAGE_SIZE }], [{ base: remote, len: n * PAGE_SIZE }])));
  assert.deepEqual([d.r, d.acq, d.rel], [n * PAGE_SIZE, n, n]);
  assert.equal(ref(k, pfnAt(peer, remote + (n - 1) * PAGE_SIZE)), 1, 'no pin left behind');
});

// Argument edges, each as the host (Linux 6.18) answered process_vm_readv() on itself: flags 1
// EINVAL; a local (ssize_t) -1 EINVAL; a remote -1 EINVAL, but 0 when there is nothing to copy
// locally (the remote vector is never read); more than UIO_MAXIOV remote iovecs EINVAL; a remote
// base above TASK_SIZE EFAULT; a huge remote length copies what the local side holds.
test('process_vm_readv argument edges answer as the host does', () => {
  const s = two('current');
  const rv = (l: Array<{ base: number; len: number }>, r: Array<{ base: number; len: number }>) =>
    step(s.k, s.me, 'readv', () => process_vm_readv(s.k, s.me, s.peer, l, r));
  const L = [{ base: s.local, len: PAGE_SIZE }];
  const R = [{ base: s.remote, len: PAGE_SIZE }];
  assert.equal(process_vm_rw(s.k, s.me, s.peer, L, R, false, 1), -EINVAL);
  assert.equal(rv([{ base: s.local, len: -1 }], R), -EINVAL);
  assert.equal(rv(L, [{ base: s.remote, len: -1 }]), -EINVAL);
  assert.equal(rv([{ base: s.local, len: 0 }], [{ base: s.remote, len: -1 }]), 0); // the model said EINVAL
  assert.equal(rv([], [{ base: s.remote, len: -1 }]), 0);
  assert.equal(rv(L, new Array(1025).fill(R[0])), -EINVAL); // the model copied
  assert.equal(rv(L, []), 0);
  assert.equal(rv(L, [{ base: 0x800000000000, len: PAGE_SIZE }]), -EFAULT);
  assert.equal(rv(L, [{ base: s.remote, len: 2 ** 40 }]), PAGE_SIZE);
});
