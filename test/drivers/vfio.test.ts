// VFIO type1 DMA mappings: drivers/vfio/vfio_iommu_type1.c vfio_dma_do_map(),
// vfio_pin_pages_remote(), vaddr_get_pfns(), put_pfn(), vfio_dma_do_unmap(). Spec R51, R120, R138.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, vfio_dma_do_map, vfio_dma_do_unmap, vfioDeviceDmaWrite, vfioState,
} from '../../src/drivers/vfio.js';
import { memlock, set_cap_ipc_lock, setrlimit_memlock } from '../../src/drivers/memlock.js';
import { EEXIST, EFAULT, EINVAL, ENOMEM, PAGE_SIZE } from '../../src/include/uapi.js';
import { Kernel } from '../../src/kernel.js';
import { PG_anon, PG_dirty } from '../../src/mm/page-flags.js';
import { getProfile, type Profile } from '../../src/profile.js';
import { delta, mmap, pfnAt, read, ref, setup, step, write, type Env } from '../helpers.js';
import { exitAll, TRACKED } from './util.js';
import { GUP_PIN_COUNTING_BIAS } from '../../src/include/linux/mm.js';
import { createTask } from '../../src/vm/mm.js';
import { checkInvariants } from '../../src/check/invariants.js';

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
const IOVA = 0x100000;
const N = 8;

function map(e: Env, vaddr: number, size: number, iova: number, flags: number) {
  return delta(e.k, () => step(e.k, e.t, 'VFIO_IOMMU_MAP_DMA', () => vfio_dma_do_map(e.k, e.t, vaddr, size, iova, flags)));
}

function unmap(e: Env, iova: number, size: number) {
  return delta(e.k, () => step(e.k, e.t, 'VFIO_IOMMU_UNMAP_DMA', () => vfio_dma_do_unmap(e.k, iova, size)));
}

for (const profile of TRACKED) {
  // R138: pin_user_pages_remote(FOLL_LONGTERM|FOLL_WRITE), locked_vm charged; put_pfn() →
  // unpin_user_pages_dirty_lock(&page, 1, prot & IOMMU_WRITE).
  test(`R138 [${profile}] VFIO_IOMMU_MAP_DMA of ${N} written pages: +${N}, locked_vm +${N}; unmap: +${N} released, pages dirty`, () => {
    const e = setup({ profile, pages: N });
    const m = map(e, e.addr, N * PAGE_SIZE, IOVA, RW);
    assert.deepEqual([m.r, m.acq, m.rel], [0, N, 0]);
    assert.equal(memlock(e.k).lockedVm(e.t.mm), N);
    assert.equal(ref(e.k, pfnAt(e.t, e.addr)), 1 + GUP_PIN_COUNTING_BIAS);
    const u = unmap(e, IOVA, N * PAGE_SIZE);
    assert.deepEqual([u.r, u.acq, u.rel], [N * PAGE_SIZE, 0, N]);
    assert.equal(memlock(e.k).lockedVm(e.t.mm), 0);
    assert.equal(e.k.mem.test(e.k.mem.head(pfnAt(e.t, e.addr)), PG_dirty), true);
    assert.deepEqual(exitAll(e.k), []);
  });
}

// R120/Q-8: read-only long-term pins of untouched memory. 5.7 .. v6.1 pinned the zero page; it is
// PageReserved, so is_invalid_reserved_pfn() keeps put_pfn() from ever unpinning it: the pins leak
// (the refcount walk towards overflow that 873aefb376bb fixed in v6.0).
for (const profile of ['5.7', '5.9', '5.19']) {
  test(`R120 [${profile}] a read-only VFIO map of untouched memory pins the zero page and never unpins it`, () => {
    const e = setup({ profile, pages: N, value: null });
    const zero = e.k.mem.zeroPfns[0];
    const m = map(e, e.addr, N * PAGE_SIZE, IOVA, VFIO_DMA_MAP_FLAG_READ);
    assert.deepEqual([m.r, m.acq, m.rel], [0, N, 0]);
    assert.equal(e.k.mem.ref(zero), 1 + N * GUP_PIN_COUNTING_BIAS);
    assert.equal(memlock(e.k).lockedVm(e.t.mm), 0, 'reserved pages are not charged');
    const u = unmap(e, IOVA, N * PAGE_SIZE);
    assert.deepEqual([u.r, u.rel], [N * PAGE_SIZE, 0]);
    const leaks = exitAll(e.k);
    assert.equal(leaks.length, 1);
    assert.match(leaks[0], new RegExp(`pfn ${zero} .*${N} pin\\(s\\)`));
  });
}

// 873aefb376bb "vfio/type1: Unpin zero pages" (v6.0, reverted ~v6.9): no profile of the model has
// both the zero-page pin and the workaround, so the test builds a v6.0/6.1-like one.
test('R120 [6.0-like] with the workaround, zero pages are unpinned right after GUP: +N/+N at map, nothing leaks', () => {
  const p: Profile & { vfioUnpinZeroPages: boolean } = { ...getProfile('5.19')!, name: '6.0-like', vfioUnpinZeroPages: true };
  const k = new Kernel({ profile: p, trace: false, check: checkInvariants });
  const t = createTask(k, 'vm');
  const addr = mmap(k, t, N * PAGE_SIZE);
  const e = { k, t, addr };
  const m = map(e, addr, N * PAGE_SIZE, IOVA, VFIO_DMA_MAP_FLAG_READ);
  assert.deepEqual([m.r, m.acq, m.rel], [0, N, N]);
  assert.equal(k.mem.ref(k.mem.zeroPfns[0]), 1);
  assert.equal(unmap(e, IOVA, N * PAGE_SIZE).rel, 0);
  assert.deepEqual(exitAll(k), []);
});

// R50/R120: since v6.2 a read-only FOLL_LONGTERM pin in a COW mapping unshares the zero page into a
// private anonymous page, so there is nothing to work around (and v6.5 never pins the zero page).
for (const profile of ['6.2', 'current']) {
  test(`R120 [${profile}] a read-only VFIO map of untouched memory pins fresh anonymous pages, not the zero page`, () => {
    const e = setup({ profile, pages: N, value: null });
    const m = map(e, e.addr, N * PAGE_SIZE, IOVA, VFIO_DMA_MAP_FLAG_READ);
    assert.deepEqual([m.r, m.acq], [0, N]);
    const d = vfioState(e.k).dmas[0];
    assert.ok(d.pfns.every((p) => !e.k.mem.isZeroPfn(p) && e.k.mem.test(e.k.mem.head(p), PG_anon)));
    assert.equal(memlock(e.k).lockedVm(e.t.mm), N);
    assert.equal(unmap(e, IOVA, N * PAGE_SIZE).rel, N);
    assert.deepEqual(exitAll(e.k), []);
  });
}

// Before v5.6: get_user_pages(FOLL_LONGTERM) one page at a time, put_pfn(): SetPageDirty() when
// writable, put_page(). The zero page was already skipped as reserved: its references leaked.
test('R120 [5.1] a read-only VFIO map of untouched memory takes zero-page references that unmap never drops', () => {
  const e = setup({ profile: '5.1', pages: N, value: null });
  const zero = e.k.mem.zeroPfns[0];
  assert.equal(map(e, e.addr, N * PAGE_SIZE, IOVA, VFIO_DMA_MAP_FLAG_READ).r, 0);
  assert.equal(e.k.mem.ref(zero), 1 + N);
  unmap(e, IOVA, N * PAGE_SIZE);
  assert.equal(e.k.mem.ref(zero), 1 + N);
});

// vfio_pin_pages_remote(): mm->locked_vm + lock_acct + 1 > limit without CAP_IPC_LOCK → -ENOMEM; the
// batch is unpinned (vfio_batch_unpin()) along with what was consumed.
test('R138 [current] over RLIMIT_MEMLOCK: -ENOMEM, every pin of the batch released, nothing charged', () => {
  const e = setup({ pages: N });
  set_cap_ipc_lock(e.k, e.t, false);
  setrlimit_memlock(e.k, e.t, 4 * PAGE_SIZE);
  const m = map(e, e.addr, N * PAGE_SIZE, IOVA, RW);
  assert.deepEqual([m.r, m.acq, m.rel], [-ENOMEM, N, N]);
  assert.equal(memlock(e.k).lockedVm(e.t.mm), 0);
  assert.equal(vfioState(e.k).dmas.length, 0);
});

// vfio_dma_do_map()/vfio_dma_do_unmap() argument rules.
test('R138 [current] no permission / unaligned: -EINVAL; IOVA overlap: -EEXIST; unmapping part of a mapping: -EINVAL', () => {
  const e = setup({ pages: N });
  assert.equal(map(e, e.addr, N * PAGE_SIZE, IOVA, 0).r, -EINVAL);
  assert.equal(map(e, e.addr + 1, PAGE_SIZE, IOVA, RW).r, -EINVAL);
  assert.equal(map(e, e.addr, 4 * PAGE_SIZE, IOVA, RW).r, 0);
  assert.equal(map(e, e.addr, PAGE_SIZE, IOVA + 3 * PAGE_SIZE, RW).r, -EEXIST);
  assert.equal(unmap(e, IOVA, PAGE_SIZE).r, -EINVAL);
  assert.equal(unmap(e, IOVA, 4 * PAGE_SIZE).r, 4 * PAGE_SIZE);
});

test('R138 [current] the device writes through the IOMMU into the pinned pages; a read-only mapping faults', () => {
  const e = setup({ pages: 2, value: 1 });
  assert.equal(map(e, e.addr, PAGE_SIZE, IOVA, RW).r, 0);
  assert.equal(map(e, e.addr + PAGE_SIZE, PAGE_SIZE, IOVA + PAGE_SIZE, VFIO_DMA_MAP_FLAG_READ).r, 0);
  assert.equal(vfioDeviceDmaWrite(e.k, IOVA, PAGE_SIZE, 55), 0);
  assert.equal(read(e.k, e.t, e.addr), 55);
  assert.equal(vfioDeviceDmaWrite(e.k, IOVA + PAGE_SIZE, PAGE_SIZE, 56), -EFAULT);
  assert.equal(vfioDeviceDmaWrite(e.k, IOVA + 4 * PAGE_SIZE, PAGE_SIZE, 57), -EFAULT, 'unmapped iova');
  write(e.k, e.t, e.addr, PAGE_SIZE, 3);
  assert.deepEqual(exitAll(e.k), [], 'closing the container at exit unmaps everything');
});
