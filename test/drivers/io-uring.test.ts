// io_uring registered buffers: io_uring/rsrc.c io_sqe_buffers_register(), io_sqe_buffer_register(),
// io_check_coalesce_buffer(), io_coalesce_buffer(), io_buffer_account_pin(),
// headpage_already_acct(), io_buffer_unmap(), io_import_fixed(); io_uring/memmap.c io_pin_pages();
// fs/io_uring.c (v5.1) io_sqe_buffer_register(). Spec R51, R74.5, R123, R125, R136, and the host
// measurements of the brief (Linux 6.18).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { File } from '../../src/fs/file.js';
import { EBUSY, EFAULT, EINVAL, ENOMEM, EOPNOTSUPP, HPAGE_PMD_SIZE, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE } from '../../src/include/uapi.js';
import { ENXIO } from '../../src/drivers/common.js';
import { close_fd, EBADF } from '../../src/fs/fdtable.js';
import {
  io_sqe_buffers_register, io_sqe_buffers_unregister, io_uring_get_ring, io_uring_setup, ioUringFixedBvec,
  ioUringFixedDma, IO_MAX_BUFFER_LEN, type IoRing,
} from '../../src/drivers/io-uring.js';
import { memlock, set_cap_ipc_lock, setrlimit_memlock } from '../../src/drivers/memlock.js';
import { getProfile, type Profile } from '../../src/profile.js';
import { Kernel } from '../../src/kernel.js';
import { ZONE_NORMAL } from '../../src/mm/memory.js';
import { PG_anon } from '../../src/mm/page-flags.js';
import { do_fork } from '../../src/vm/fork.js';
import { translate } from '../../src/vm/access.js';
import {
  MiB, SHARED_ANON, delta, kernel, mmap, pfnAt, read, ref, setup, step, write, type Env,
} from '../helpers.js';
import { exitAll, TRACKED } from './util.js';
import { GUP_PIN_COUNTING_BIAS } from '../../src/include/linux/mm.js';
import { createTask, findTask } from '../../src/vm/mm.js';
import { files, registerFile } from '../../src/mm/filemap.js';
import { checkInvariants } from '../../src/check/invariants.js';

function ring(e: Env): IoRing {
  const r = io_uring_get_ring(e.k, e.t, step(e.k, e.t, 'io_uring_setup', () => io_uring_setup(e.k, e.t)));
  assert.ok(typeof r !== 'number');
  return r;
}

function register(e: Env, r: IoRing, iovs: Array<{ base: number; len: number }>) {
  return delta(e.k, () => step(e.k, e.t, 'IORING_REGISTER_BUFFERS', () => io_sqe_buffers_register(e.k, e.t, r, iovs)));
}

function unregister(e: Env, r: IoRing) {
  return delta(e.k, () => step(e.k, e.t, 'IORING_UNREGISTER_BUFFERS', () => io_sqe_buffers_unregister(e.k, r)));
}

const N = 8;
const THP = { normal: 64 * MiB, thp: 'always' as const };

for (const profile of TRACKED) {
  // Host fact (6.18) and R123: N small anonymous pages: acquired +N, released +0; unregister: released +N.
  test(`R123 [${profile}] registering an ${N}-page anonymous buffer pins each page once; unregister unpins them`, () => {
    const e = setup({ profile, pages: N });
    const r = ring(e);
    const reg = register(e, r, [{ base: e.addr, len: N * PAGE_SIZE }]);
    assert.deepEqual([reg.r, reg.acq, reg.rel], [0, N, 0]);
    for (let i = 0; i < N; i++) assert.equal(ref(e.k, pfnAt(e.t, e.addr + i * PAGE_SIZE)), 1 + GUP_PIN_COUNTING_BIAS);
    assert.equal(r.bufs![0]!.bvecs.length, N, 'one PAGE_SIZE bvec per small page');
    const un = unregister(e, r);
    assert.deepEqual([un.r, un.acq, un.rel], [0, 0, N]);
    assert.equal(ref(e.k, pfnAt(e.t, e.addr)), 1);
    assert.deepEqual(exitAll(e.k), []);
  });
}

// fs/io_uring.c v5.1: get_user_pages_longterm(FOLL_WRITE) and put_page() — plain references, no counters.
for (const profile of ['5.1', '5.2']) {
  test(`R123 [${profile}] before FOLL_PIN, registration takes one reference per page (GET) and unregister drops it`, () => {
    const e = setup({ profile, pages: N });
    const r = ring(e);
    assert.equal(step(e.k, e.t, 'register', () => io_sqe_buffers_register(e.k, e.t, r, [{ base: e.addr, len: N * PAGE_SIZE }])), 0);
    assert.equal(ref(e.k, pfnAt(e.t, e.addr)), 2);
    assert.equal(r.bufs![0]!.pinned, false);
    assert.equal(step(e.k, e.t, 'unregister', () => io_sqe_buffers_unregister(e.k, r)), 0);
    assert.equal(ref(e.k, pfnAt(e.t, e.addr)), 1);
    assert.deepEqual(exitAll(e.k), []);
  });
}

// Host fact (6.18): THP-backed buffers: acquired +N and released +(N − folios) at registration
// (io_coalesce_buffer() keeps one pin per folio), released +folios at unregistration (one
// unpin_user_page() per bvec in io_release_ubuf()).
test('R123/R74.5 [current] a buffer of two PMD THPs: +1024 acquired, +1022 released at once; 2 bvecs; unregister releases 2', () => {
  const e = setup({ machine: THP, length: 2 * HPAGE_PMD_SIZE, value: 5 });
  assert.equal(e.addr % HPAGE_PMD_SIZE, 0);
  assert.equal(e.k.mem.folioOrder(e.k.mem.head(pfnAt(e.t, e.addr))), 9, 'precondition: PMD THPs');
  const r = ring(e);
  const reg = register(e, r, [{ base: e.addr, len: 2 * HPAGE_PMD_SIZE }]);
  assert.deepEqual([reg.r, reg.acq, reg.rel], [0, 1024, 1022]);
  const b = r.bufs![0]!;
  assert.equal(b.bvecs.length, 2);
  assert.equal(b.folioShift, 21);
  assert.deepEqual(b.bvecs.map((v) => [v.offset, v.len]), [[0, HPAGE_PMD_SIZE], [0, HPAGE_PMD_SIZE]]);
  const head = e.k.mem.head(pfnAt(e.t, e.addr));
  assert.equal(e.k.mem.pincount(head), 1, 'one pin per folio remains');
  const un = unregister(e, r);
  assert.deepEqual([un.acq, un.rel], [0, 2]);
  assert.equal(e.k.mem.pincount(head), 0);
  assert.deepEqual(exitAll(e.k), []);
});

// io_check_coalesce_buffer(): the first folio may start part-way (it must run to its last page),
// the last may end part-way; io_coalesce_buffer() keeps the first page of each run.
test('R123 [current] a buffer from the middle of one THP into the next coalesces to 2 bvecs: +512 acquired, +510 released', () => {
  const e = setup({ machine: THP, length: 2 * HPAGE_PMD_SIZE, value: 5 });
  const r = ring(e);
  const base = e.addr + 256 * PAGE_SIZE;
  const reg = register(e, r, [{ base, len: 512 * PAGE_SIZE }]);
  assert.deepEqual([reg.r, reg.acq, reg.rel], [0, 512, 510]);
  const b = r.bufs![0]!;
  assert.deepEqual(b.bvecs.map((v) => [v.offset, v.len]), [[256 * PAGE_SIZE, 256 * PAGE_SIZE], [0, 256 * PAGE_SIZE]]);
  assert.equal(b.bvecs[0].pfn, e.k.mem.head(pfnAt(e.t, e.addr)), 'bv_page of the first bvec is the folio head');
  assert.deepEqual(unregister(e, r).rel, 2);
  assert.deepEqual(exitAll(e.k), []);
});

// 57bebf807e2a (v6.4, "io_uring/rsrc: optimise registered huge pages"): only a buffer inside one
// folio is coalesced; multi-folio coalescing is v6.11 (ioUringCoalesce).
test('R123 [6.5] one THP coalesces to a single bvec (+512/+511); two THPs stay per page (+1024/+0)', () => {
  const e = setup({ profile: '6.5', machine: THP, length: 2 * HPAGE_PMD_SIZE, value: 5 });
  const r1 = ring(e);
  const one = register(e, r1, [{ base: e.addr, len: HPAGE_PMD_SIZE }]);
  assert.deepEqual([one.r, one.acq, one.rel], [0, 512, 511]);
  assert.deepEqual(r1.bufs![0]!.bvecs.map((v) => [v.pfn, v.offset, v.len]), [[pfnAt(e.t, e.addr), 0, HPAGE_PMD_SIZE]]);
  const r2 = ring(e);
  const two = register(e, r2, [{ base: e.addr, len: 2 * HPAGE_PMD_SIZE }]);
  assert.deepEqual([two.r, two.acq, two.rel], [0, 1024, 0]);
  assert.equal(r2.bufs![0]!.bvecs.length, 1024);
  assert.deepEqual([unregister(e, r1).rel, unregister(e, r2).rel], [1, 1024]);
  assert.deepEqual(exitAll(e.k), []);
});

test('R123 [6.2] before v6.4 nothing is coalesced: one THP is 512 PAGE_SIZE bvecs (+512/+0)', () => {
  const e = setup({ profile: '6.2', machine: THP, length: HPAGE_PMD_SIZE, value: 5 });
  const r = ring(e);
  const reg = register(e, r, [{ base: e.addr, len: HPAGE_PMD_SIZE }]);
  assert.deepEqual([reg.r, reg.acq, reg.rel], [0, 512, 0]);
  assert.equal(r.bufs![0]!.bvecs.length, 512);
  assert.equal(unregister(e, r).rel, 512);
});

// io_pin_pages(): a partial pin is unpinned and reported as -EFAULT; io_sqe_buffers_register() then
// unregisters what the call registered before.
for (const profile of ['5.7', 'current']) {
  test(`R136 [${profile}] a buffer running past its VMA: partial pin undone, -EFAULT, earlier buffers of the call released`, () => {
    const e = setup({ profile, pages: 4 });
    const r = ring(e);
    const reg = register(e, r, [{ base: e.addr, len: PAGE_SIZE }, { base: e.addr + 2 * PAGE_SIZE, len: 4 * PAGE_SIZE }]);
    assert.equal(reg.r, -EFAULT);
    assert.equal(reg.acq, reg.rel, 'every pin taken was released');
    assert.ok(reg.acq >= 3, 'the first buffer and the two mapped pages of the second were pinned');
    assert.equal(r.bufs, null, 'no buffer table is left');
    for (let i = 0; i < 4; i++) assert.equal(ref(e.k, pfnAt(e.t, e.addr + i * PAGE_SIZE)), 1);
  });
}

// io_buffer_validate(): "arbitrary limit, but we need something": iov_len > SZ_1G → -EFAULT (also in v5.1).
for (const profile of ['5.1', 'current']) {
  test(`R123 [${profile}] a buffer longer than 1 GiB is refused with -EFAULT before anything is pinned`, () => {
    const e = setup({ profile, pages: 1 });
    const r = ring(e);
    const reg = register(e, r, [{ base: e.addr, len: IO_MAX_BUFFER_LEN + 1 }]);
    assert.equal(reg.r, -EFAULT);
    assert.equal(ref(e.k, pfnAt(e.t, e.addr)), 1);
    assert.equal(IO_MAX_BUFFER_LEN, 1 << 30);
  });
}

test('R136 [current] register twice: -EBUSY; unregister with nothing registered: -ENXIO; no buffers: -EINVAL', () => {
  const e = setup({ pages: 1 });
  const r = ring(e);
  assert.equal(register(e, r, []).r, -EINVAL);
  assert.equal(register(e, r, [{ base: e.addr, len: PAGE_SIZE }]).r, 0);
  assert.equal(register(e, r, [{ base: e.addr, len: PAGE_SIZE }]).r, -EBUSY);
  assert.equal(unregister(e, r).r, 0);
  assert.equal(unregister(e, r).r, -ENXIO);
});

// R51/R136: RLIMIT_MEMLOCK through user->locked_vm when the task lacks CAP_IPC_LOCK.
// Current: io_buffer_account_pin() runs after io_pin_pages(), and a failure unpins (acq = rel).
// v5.1 .. v5.9: io_account_mem() ran before pinning: nothing is pinned.
for (const [profile, pinnedFirst] of [['current', true], ['5.7', false]] as const) {
  test(`R51 [${profile}] over RLIMIT_MEMLOCK without CAP_IPC_LOCK: -ENOMEM; ${pinnedFirst ? 'pinned, then unpinned' : 'nothing pinned'}`, () => {
    const e = setup({ profile, pages: N });
    set_cap_ipc_lock(e.k, e.t, false);
    setrlimit_memlock(e.k, e.t, 4 * PAGE_SIZE);
    const r = ring(e);
    const reg = register(e, r, [{ base: e.addr, len: N * PAGE_SIZE }]);
    assert.equal(reg.r, -ENOMEM);
    assert.deepEqual([reg.acq, reg.rel], pinnedFirst ? [N, N] : [0, 0]);
    assert.equal(memlock(e.k).userLockedVm, 0);
    setrlimit_memlock(e.k, e.t, N * PAGE_SIZE);
    assert.equal(register(e, r, [{ base: e.addr, len: N * PAGE_SIZE }]).r, 0);
    assert.equal(memlock(e.k).userLockedVm, N);
    unregister(e, r);
    assert.equal(memlock(e.k).userLockedVm, 0);
  });
}

test('R51 [current] with CAP_IPC_LOCK (root, the default) nothing is charged to the user; mm->pinned_vm still grows', () => {
  const e = setup({ pages: N });
  setrlimit_memlock(e.k, e.t, 0);
  const r = ring(e);
  assert.equal(register(e, r, [{ base: e.addr, len: N * PAGE_SIZE }]).r, 0);
  assert.equal(memlock(e.k).userLockedVm, 0);
  assert.equal(memlock(e.k).pinnedVm(e.t.mm), N);
  unregister(e, r);
  assert.equal(memlock(e.k).pinnedVm(e.t.mm), 0);
});

// headpage_already_acct() / io_buffer_account_pin() (de2939388be5, v5.10): a compound page is charged at
// its full size, once. Before: the buffer's own page count.
for (const [profile, charged] of [['current', 512], ['6.2', 512], ['5.9', 4]] as const) {
  test(`R51 [${profile}] 4 pages inside a THP charge ${charged} pages to RLIMIT_MEMLOCK`, () => {
    const e = setup({ profile, machine: THP, length: HPAGE_PMD_SIZE, value: 5 });
    set_cap_ipc_lock(e.k, e.t, false);
    const r = ring(e);
    assert.equal(register(e, r, [{ base: e.addr, len: 4 * PAGE_SIZE }, { base: e.addr + 8 * PAGE_SIZE, len: 4 * PAGE_SIZE }]).r, 0);
    assert.equal(memlock(e.k).userLockedVm, profile === '5.9' ? 8 : charged, 'the second buffer shares the THP');
    unregister(e, r);
    assert.equal(memlock(e.k).userLockedVm, 0);
  });
}

// Which memory may be registered, per profile:
// - v5.1 .. v5.13: "don't support file backed memory": vm_file && !is_file_hugepages() → -EOPNOTSUPP
//   (shared anonymous memory has a shmem vm_file, so it is refused too);
// - v5.14 .. v6.4: vma_is_shmem() allowed;
// - v6.5+: the check is GUP's: FOLL_LONGTERM|FOLL_WRITE of dirty-tracked file memory → -EFAULT;
//   shmem and private file mappings are fine (R49, R123).
const CASES: Array<[string, (k: Kernel) => { file: File | null; flags: number }, Record<string, number>]> = [
  ['MAP_SHARED ext4', (k) => ({ file: newFile(k, 'ext4'), flags: MAP_SHARED }), { '5.9': -EOPNOTSUPP, '6.2': -EOPNOTSUPP, current: -EFAULT }],
  ['MAP_SHARED tmpfs', (k) => ({ file: newFile(k, 'tmpfs'), flags: MAP_SHARED }), { '5.9': -EOPNOTSUPP, '6.2': 0, current: 0 }],
  ['MAP_SHARED|MAP_ANONYMOUS', () => ({ file: null, flags: SHARED_ANON }), { '5.9': -EOPNOTSUPP, '5.19': 0, current: 0 }],
  ['MAP_PRIVATE ext4', (k) => ({ file: newFile(k, 'ext4'), flags: MAP_PRIVATE }), { '6.2': -EOPNOTSUPP, '6.5': 0, current: 0 }],
];

function newFile(k: Kernel, fs: 'ext4' | 'tmpfs'): File {
  const f = new File(`f-${fs}`, fs, 16 * PAGE_SIZE);
  files(k).set(f.name, f);
  registerFile(k, f);
  return f;
}

for (const [what, make, expected] of CASES) {
  for (const [profile, want] of Object.entries(expected)) {
    test(`R123/R136 [${profile}] registering ${what} memory: ${want === 0 ? 'accepted' : want === -EFAULT ? '-EFAULT' : '-EOPNOTSUPP'}`, () => {
      const k = kernel(profile);
      const t = createTask(k, 'app');
      const m = make(k);
      const addr = mmap(k, t, 4 * PAGE_SIZE, { flags: m.flags, file: m.file });
      write(k, t, addr, 4 * PAGE_SIZE, 7);
      const e = { k, t, addr };
      const r = ring(e);
      const reg = register(e, r, [{ base: addr, len: 4 * PAGE_SIZE }]);
      assert.equal(reg.r, want);
      if (want) assert.equal(reg.acq, reg.rel, 'a refusal leaves no pin behind');
      assert.deepEqual(exitAll(k), []);
    });
  }
}

// A long-term pin migrates buffers out of ZONE_MOVABLE first (R47): +2N/+N at registration (R123).
test('R123 [current] a buffer in ZONE_MOVABLE: +2N acquired, +N released at registration; pages end in NORMAL', () => {
  const e = setup({ machine: { normal: 16 * MiB, movable: 16 * MiB }, pages: N });
  const r = ring(e);
  const reg = register(e, r, [{ base: e.addr, len: N * PAGE_SIZE }]);
  assert.deepEqual([reg.r, reg.acq, reg.rel], [0, 2 * N, N]);
  for (const v of r.bufs![0]!.bvecs) assert.equal(e.k.mem.zoneOf(v.pfn), ZONE_NORMAL);
  assert.equal(read(e.k, e.t, e.addr), 1, 'contents moved with the pages');
});

// io_import_fixed(): validate_fixed_range() → -EFAULT outside the buffer; the iterator starts in the
// bvec holding addr, with iov_offset into it. Fixed I/O takes no pins (R75, R136).
test('R136 [current] ioUringFixedBvec: segments of a sub-range, -EFAULT outside, no pins taken', () => {
  const e = setup({ pages: N });
  const r = ring(e);
  const base = e.addr + 100;
  register(e, r, [{ base, len: 4 * PAGE_SIZE }]);
  const d = delta(e.k, () => ioUringFixedBvec(e.k, r, 0, base + PAGE_SIZE, 2 * PAGE_SIZE));
  assert.deepEqual([d.acq, d.rel], [0, 0]);
  const segs = d.r as Array<{ pfn: number; offset: number; len: number }>;
  const p = (i: number) => pfnAt(e.t, e.addr + i * PAGE_SIZE);
  assert.deepEqual(segs, [
    { pfn: p(1), offset: 100, len: PAGE_SIZE - 100 },
    { pfn: p(2), offset: 0, len: PAGE_SIZE },
    { pfn: p(3), offset: 0, len: 100 },
  ]);
  assert.equal(ioUringFixedBvec(e.k, r, 0, base - 1, 10), -EFAULT);
  assert.equal(ioUringFixedBvec(e.k, r, 0, base, 4 * PAGE_SIZE + 1), -EFAULT);
  assert.equal(ioUringFixedBvec(e.k, r, 1, base, 1), -EFAULT, 'no buffer at index 1');
});

test('R136 [current] ioUringFixedBvec on a coalesced THP buffer skips whole folios arithmetically', () => {
  const e = setup({ machine: THP, length: 2 * HPAGE_PMD_SIZE, value: 5 });
  const r = ring(e);
  register(e, r, [{ base: e.addr, len: 2 * HPAGE_PMD_SIZE }]);
  const segs = ioUringFixedBvec(e.k, r, 0, e.addr + HPAGE_PMD_SIZE + 3 * PAGE_SIZE, PAGE_SIZE) as Array<{ pfn: number; offset: number; len: number }>;
  const head2 = e.k.mem.head(pfnAt(e.t, e.addr + HPAGE_PMD_SIZE));
  assert.deepEqual(segs, [{ pfn: head2, offset: 3 * PAGE_SIZE, len: PAGE_SIZE }]);
});

// R125: fork with a registered buffer. Since v5.9 fork copies maybe-pinned anonymous pages for the
// child, so a later READ_FIXED lands in the parent's pages only; 5.7 shares them, and the parent's
// next write COWs it away from the pinned page.
for (const [profile, parentSees, childSees] of [['current', 99, 1], ['5.7', 2, 99]] as const) {
  test(`R125 [${profile}] fork, parent writes, device fills the registered buffer: parent sees ${parentSees}, child ${childSees}`, () => {
    const e = setup({ profile, pages: 4, value: 1 });
    const r = ring(e);
    register(e, r, [{ base: e.addr, len: 4 * PAGE_SIZE }]);
    const d = delta(e.k, () => step(e.k, e.t, 'fork', () => do_fork(e.k, e.t, 'child')));
    assert.deepEqual([d.acq, d.rel], [0, 0], 'fork does not touch the counters');
    const child = findTask(e.k, 'child');
    write(e.k, e.t, e.addr, 4 * PAGE_SIZE, 2);
    const segs = ioUringFixedBvec(e.k, r, 0, e.addr, 4 * PAGE_SIZE);
    assert.ok(Array.isArray(segs));
    step(e.k, null, 'READ_FIXED completes', () => ioUringFixedDma(e.k, segs, 99));
    assert.equal(e.k.mem.contentOf(translate(e.t.mm, e.addr)), parentSees);
    assert.equal(e.k.mem.contentOf(translate(child.mm, e.addr)), childSees);
    assert.deepEqual(exitAll(e.k), []);
  });
}

// io_ring_ctx_free(): closing the ring (or exiting) unregisters the buffers.
test('R123 [current] closing the ring releases its buffers; pages whose task exited are freed then', () => {
  const e = setup({ pages: N });
  const fd = step(e.k, e.t, 'io_uring_setup', () => io_uring_setup(e.k, e.t));
  const r = io_uring_get_ring(e.k, e.t, fd) as IoRing;
  register(e, r, [{ base: e.addr, len: N * PAGE_SIZE }]);
  const pfn = pfnAt(e.t, e.addr);
  const d = delta(e.k, () => step(e.k, e.t, 'close', () => close_fd(e.k, e.t, fd)));
  assert.equal(d.rel, N);
  assert.equal(ref(e.k, pfn), 1);
  assert.ok(r.dead);
  assert.equal(io_uring_get_ring(e.k, e.t, fd), -EBADF);
  const e2 = setup({ pages: N });
  const r2 = ring(e2);
  register(e2, r2, [{ base: e2.addr, len: N * PAGE_SIZE }]);
  const p2 = pfnAt(e2.t, e2.addr);
  assert.deepEqual(exitAll(e2.k), [], 'teardown closes the ring: nothing leaks');
  assert.ok(e2.k.mem.isFree(p2));
});

// The anonymous pages a write pin faults in are exclusive and anonymous; the zero page is never
// involved because registration pins FOLL_WRITE (R123: "pages are faulted writable first").
test('R123 [current] registering untouched memory faults in private anonymous pages (never the zero page)', () => {
  const e = setup({ pages: N, value: null });
  const r = ring(e);
  const reg = register(e, r, [{ base: e.addr, len: N * PAGE_SIZE }]);
  assert.deepEqual([reg.acq, reg.rel], [N, 0]);
  for (const v of r.bufs![0]!.bvecs) {
    assert.equal(e.k.mem.isZeroPfn(v.pfn), false);
    assert.ok(e.k.mem.test(e.k.mem.head(v.pfn), PG_anon));
  }
});

test('R123 [current] a profile object can switch multi-folio coalescing off (the explicit switch wins over the derived one)', () => {
  const base = getProfile('current')!;
  const p: Profile & { ioUringMultiFolioCoalesce: boolean; ioUringFolioCoalesce: boolean } = {
    ...base, name: 'current-nocoalesce', ioUringMultiFolioCoalesce: false, ioUringFolioCoalesce: false,
  };
  const k = new Kernel({ profile: p, machine: THP, trace: false, check: checkInvariants });
  const t = createTask(k, 'app');
  const addr = mmap(k, t, HPAGE_PMD_SIZE);
  write(k, t, addr, HPAGE_PMD_SIZE, 1);
  const e = { k, t, addr };
  const r = ring(e);
  assert.deepEqual([register(e, r, [{ base: addr, len: HPAGE_PMD_SIZE }]).rel, r.bufs![0]!.bvecs.length], [0, 512]);
});

// io_uring_create(): "if (!capable(CAP_IPC_LOCK)) ctx->user = get_uid(current_user())" — whether a
// ring charges user->locked_vm is fixed when the ring is created.
test('R51 [current] a ring created with CAP_IPC_LOCK never charges the user, even after the capability is dropped', () => {
  const e = setup({ pages: N });
  const r = ring(e);
  set_cap_ipc_lock(e.k, e.t, false);
  setrlimit_memlock(e.k, e.t, PAGE_SIZE);
  assert.equal(register(e, r, [{ base: e.addr, len: N * PAGE_SIZE }]).r, 0);
  assert.equal(memlock(e.k).userLockedVm, 0);
  assert.equal(register(e, ring(e), [{ base: e.addr, len: N * PAGE_SIZE }]).r, -ENOMEM, 'a ring created now does charge');
});
