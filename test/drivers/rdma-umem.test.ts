// RDMA memory registration: drivers/infiniband/core/umem.c ib_umem_get(), __ib_umem_release(),
// ib_umem_release(). Spec R50, R51, R129, R139.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IB_ACCESS_LOCAL_WRITE, IB_ACCESS_ON_DEMAND, IB_ACCESS_REMOTE_READ, ib_umem_get, ib_umem_release, type IbUmem,
} from '../../src/drivers/rdma-umem.js';
import { memlock, set_cap_ipc_lock, setrlimit_memlock } from '../../src/drivers/memlock.js';
import { deviceDmaWrite } from '../../src/drivers/device.js';
import { EFAULT, EINVAL, ENOMEM, EOPNOTSUPP, EPERM, PAGE_SIZE, PROT_READ } from '../../src/include/uapi.js';
import { PG_dirty } from '../../src/mm/page-flags.js';
import { do_fork } from '../../src/vm/fork.js';
import { delta, mmap, pfnAt, read, ref, setup, step, write, type Env } from '../helpers.js';
import { exitAll, TRACKED } from './util.js';
import { GUP_PIN_COUNTING_BIAS } from '../../src/include/linux/mm.js';
import { findTask } from '../../src/vm/mm.js';

const N = 8;

function reg(e: Env, addr: number, len: number, access: number) {
  return delta(e.k, () => step(e.k, e.t, 'ib_reg_mr', () => ib_umem_get(e.k, e.t, addr, len, access)));
}

for (const profile of TRACKED) {
  // R129 (T9): +N at registration, +N released at deregistration.
  test(`R129 [${profile}] ibv_reg_mr of ${N} pages: +${N} acquired; ibv_dereg_mr: +${N} released`, () => {
    const e = setup({ profile, pages: N });
    const d = reg(e, e.addr, N * PAGE_SIZE, IB_ACCESS_LOCAL_WRITE);
    const u = d.r as IbUmem;
    assert.equal(typeof u, 'object');
    assert.deepEqual([d.acq, d.rel], [N, 0]);
    assert.equal(ref(e.k, pfnAt(e.t, e.addr)), 1 + GUP_PIN_COUNTING_BIAS);
    assert.equal(memlock(e.k).pinnedVm(e.t.mm), N, 'charged to mm->pinned_vm');
    const r = delta(e.k, () => step(e.k, e.t, 'ib_dereg_mr', () => ib_umem_release(e.k, u)));
    assert.deepEqual([r.acq, r.rel], [0, N]);
    assert.equal(memlock(e.k).pinnedVm(e.t.mm), 0);
    assert.deepEqual(exitAll(e.k), []);
  });
}

// sg_alloc_append_table_from_pages(): physically contiguous pages share one scatterlist entry;
// __ib_umem_release() calls unpin_user_page_range_dirty_lock() once per entry.
test('R139 [current] contiguous pages are merged into one scatterlist entry; a gap starts a new one', () => {
  const e = setup({ pages: 4 });
  const pfns = [0, 1, 2, 3].map((i) => pfnAt(e.t, e.addr + i * PAGE_SIZE));
  assert.deepEqual(pfns.map((p) => p - pfns[0]), [0, 1, 2, 3], 'precondition: the buffer is physically contiguous');
  const u = reg(e, e.addr, 4 * PAGE_SIZE, IB_ACCESS_LOCAL_WRITE).r as IbUmem;
  assert.deepEqual(u.sg, [{ pfn: pfns[0], npages: 4 }]);
  // Fault page 1 first, another mapping next, page 0 last: pages 0 and 1 are not neighbours.
  const f = setup({ pages: 2, value: null });
  write(f.k, f.t, f.addr + PAGE_SIZE, PAGE_SIZE, 1);
  const other = mmap(f.k, f.t, PAGE_SIZE);
  write(f.k, f.t, other, PAGE_SIZE, 1);
  write(f.k, f.t, f.addr, PAGE_SIZE, 1);
  const v = reg(f, f.addr, 2 * PAGE_SIZE, IB_ACCESS_LOCAL_WRITE).r as IbUmem;
  assert.notEqual(pfnAt(f.t, f.addr) + 1, pfnAt(f.t, f.addr + PAGE_SIZE));
  assert.deepEqual(v.sg.map((x) => x.npages), [1, 1]);
  const d = delta(f.k, () => step(f.k, f.t, 'dereg', () => ib_umem_release(f.k, v)));
  assert.equal(d.rel, 2, 'one unpin_user_page_range_dirty_lock() per entry, one page each');
});

// __ib_umem_release(): make_dirty = umem->writable && dirty — a writable MR's pages end dirty at
// deregistration; a read-only MR's do not.
for (const [access, dirty] of [[IB_ACCESS_LOCAL_WRITE, true], [IB_ACCESS_REMOTE_READ, false]] as const) {
  test(`R139 [current] deregistering a ${dirty ? 'writable' : 'read-only'} MR ${dirty ? 'dirties' : 'does not dirty'} its pages`, () => {
    const e = setup({ pages: 2 });
    const u = reg(e, e.addr, 2 * PAGE_SIZE, access).r as IbUmem;
    step(e.k, e.t, 'dereg', () => ib_umem_release(e.k, u));
    assert.equal(e.k.mem.test(e.k.mem.head(pfnAt(e.t, e.addr)), PG_dirty), dirty);
  });
}

// R50: since v6.2 a read-only MR is pinned FOLL_LONGTERM alone, which unshares COW-shared pages, so
// the device keeps seeing the process's page after the process writes. Before v6.2 ib_umem_get()
// pinned read-only MRs FOLL_WRITE|FOLL_FORCE to get the same effect by breaking COW.
for (const profile of ['5.19', 'current']) {
  test(`R50 [${profile}] a read-only MR over pages shared with a child: the device reads what the parent writes later`, () => {
    const e = setup({ profile, pages: 1, value: 1 });
    step(e.k, e.t, 'fork', () => do_fork(e.k, e.t, 'child'));
    const u = reg(e, e.addr, PAGE_SIZE, IB_ACCESS_REMOTE_READ).r as IbUmem;
    write(e.k, e.t, e.addr, PAGE_SIZE, 2);
    assert.equal(e.k.mem.contentOf(u.pages()[0]), 2);
    assert.equal(read(e.k, findTask(e.k, 'child'), e.addr), 1);
  });
}

// FOLL_FORCE lets the old read-only MR pin a PROT_READ private mapping (a COW copy); from v6.2 the
// FOLL_LONGTERM read pin needs no write access at all.
for (const profile of ['5.19', 'current']) {
  test(`R50 [${profile}] a read-only MR over a PROT_READ private mapping is accepted`, () => {
    const e = setup({ profile, pages: 1, prot: PROT_READ, value: null });
    const d = reg(e, e.addr, PAGE_SIZE, IB_ACCESS_REMOTE_READ);
    assert.equal(typeof d.r, 'object');
  });
}

test('R139 [current] a writable MR over a PROT_READ mapping: GUP refuses the write pin (-EFAULT); nothing stays pinned', () => {
  const e = setup({ pages: 2, prot: PROT_READ, value: null });
  const d = reg(e, e.addr, 2 * PAGE_SIZE, IB_ACCESS_LOCAL_WRITE);
  assert.equal(d.r, -EFAULT);
  assert.equal(d.acq, d.rel);
  assert.equal(memlock(e.k).pinnedVm(e.t.mm), 0);
});

// ib_umem_get(): can_do_mlock() (-EPERM), IB_ACCESS_ON_DEMAND (-EOPNOTSUPP), empty (-EINVAL), and
// pinned_vm over RLIMIT_MEMLOCK without CAP_IPC_LOCK (-ENOMEM), all before pinning.
test('R139 [current] -EPERM, -EOPNOTSUPP, -EINVAL and -ENOMEM refusals pin nothing', () => {
  const e = setup({ pages: N });
  assert.equal(reg(e, e.addr, 0, IB_ACCESS_LOCAL_WRITE).r, -EINVAL);
  assert.equal(reg(e, e.addr, PAGE_SIZE, IB_ACCESS_ON_DEMAND).r, -EOPNOTSUPP);
  set_cap_ipc_lock(e.k, e.t, false);
  setrlimit_memlock(e.k, e.t, 0);
  assert.equal(reg(e, e.addr, PAGE_SIZE, IB_ACCESS_LOCAL_WRITE).r, -EPERM);
  setrlimit_memlock(e.k, e.t, 4 * PAGE_SIZE);
  const d = reg(e, e.addr, N * PAGE_SIZE, IB_ACCESS_LOCAL_WRITE);
  assert.deepEqual([d.r, d.acq, d.rel], [-ENOMEM, 0, 0]);
  assert.equal(memlock(e.k).pinnedVm(e.t.mm), 0);
  assert.equal(typeof reg(e, e.addr, 4 * PAGE_SIZE, IB_ACCESS_LOCAL_WRITE).r, 'object');
});

// ib_umem_get() before v5.6: get_user_pages_longterm() (5.1) / get_user_pages(FOLL_LONGTERM) (5.2),
// released with set_page_dirty_lock() + put_page().
for (const profile of ['5.1', '5.2']) {
  test(`R139 [${profile}] before FOLL_PIN the MR holds one reference per page; deregistration dirties and drops them`, () => {
    const e = setup({ profile, pages: 2 });
    const u = reg(e, e.addr, 2 * PAGE_SIZE, IB_ACCESS_LOCAL_WRITE).r as IbUmem;
    assert.equal(ref(e.k, pfnAt(e.t, e.addr)), 2);
    step(e.k, e.t, 'dereg', () => ib_umem_release(e.k, u));
    assert.equal(ref(e.k, pfnAt(e.t, e.addr)), 1);
    assert.equal(e.k.mem.test(e.k.mem.head(pfnAt(e.t, e.addr)), PG_dirty), true);
  });
}

test('R139 [current] an RDMA write from the peer lands in the registered pages; a read-only MR refuses it', () => {
  const e = setup({ pages: 2, value: 1 });
  const w = reg(e, e.addr, 2 * PAGE_SIZE, IB_ACCESS_LOCAL_WRITE).r as IbUmem;
  assert.equal(deviceDmaWrite(e.k, 'rdma', w.id, 77), 0);
  assert.equal(read(e.k, e.t, e.addr + PAGE_SIZE), 77);
  const ro = reg(e, e.addr, PAGE_SIZE, IB_ACCESS_REMOTE_READ).r as IbUmem;
  assert.equal(deviceDmaWrite(e.k, 'rdma', ro.id, 78), -EFAULT);
  assert.deepEqual(exitAll(e.k), [], 'closing the uverbs file at exit deregisters both MRs');
});
