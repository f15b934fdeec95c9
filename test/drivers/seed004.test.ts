// The thin clients of the seed 004 FOLL_PIN conversions, each with its flags and release call per
// profile: drivers/platform/goldfish/goldfish_pipe.c, drivers/gpu/drm/via/via_dmablit.c,
// net/xdp/xdp_umem.c, drivers/media/v4l2-core/videobuf-dma-sg.c,
// arch/powerpc/mm/book3s64/iommu_api.c. Seed 004 (John Hubbard, "mm/gup: track dma-pinned pages:
// FOLL_PIN, FOLL_LONGTERM", v3), spec §15.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENOBUFS } from '../../src/drivers/common.js';
import { deviceDmaWrite } from '../../src/drivers/device.js';
import { via_dmablit } from '../../src/drivers/drm-via.js';
import { goldfish_pipe_read_write, MAX_BUFFERS_PER_COMMAND } from '../../src/drivers/goldfish-pipe.js';
import { memlock, set_cap_ipc_lock, setrlimit_memlock } from '../../src/drivers/memlock.js';
import { mm_iommu_new, mm_iommu_put } from '../../src/drivers/mm-iommu.js';
import { videobuf_dma_free, videobuf_dma_init_user, videobufState } from '../../src/drivers/videobuf.js';
import { xdp_umem_reg, xdp_umem_release, type XdpUmem } from '../../src/drivers/xdp-umem.js';
import { EFAULT, EINVAL, ENOENT, ENOMEM, PAGE_SIZE, PROT_READ } from '../../src/include/uapi.js';
import { PG_dirty } from '../../src/mm/page-flags.js';
import { delta, pfnAt, read, ref, setup, step, warnsDuring, type Env } from '../helpers.js';
import { exitAll, TRACKED } from './util.js';
import { GUP_PIN_COUNTING_BIAS } from '../../src/include/linux/mm.js';

const N = 4;

const dirty = (e: Env, i = 0) => e.k.mem.test(e.k.mem.head(pfnAt(e.t, e.addr + i * PAGE_SIZE)), PG_dirty);

// ---- goldfish pipe: pin_user_pages_fast(!is_write ? FOLL_WRITE : 0), unpin_user_pages_dirty_lock(
// pages, n, !is_write && consumed > 0); before v5.6 get_user_pages_fast() + set_page_dirty()/put_page().

for (const profile of ['5.1', ...TRACKED]) {
  test(`seed 004 [${profile}] goldfish pipe read: the host fills the pages, they are dirtied and released`, () => {
    const e = setup({ profile, pages: N });
    const d = delta(e.k, () => step(e.k, e.t, 'read', () => goldfish_pipe_read_write(e.k, e.t, e.addr, N * PAGE_SIZE, false, 9)));
    assert.equal(d.r, N * PAGE_SIZE);
    if (e.k.profile.pinTracking) assert.deepEqual([d.acq, d.rel], [N, N]);
    assert.equal(read(e.k, e.t, e.addr + PAGE_SIZE), 9);
    assert.equal(dirty(e), true);
    assert.equal(ref(e.k, pfnAt(e.t, e.addr)), 1);
  });
}

test('seed 004 [current] goldfish pipe write: read-only pins, nothing dirtied; more than 336 pages go in several commands', () => {
  const n = MAX_BUFFERS_PER_COMMAND + 10;
  const e = setup({ pages: n });
  const d = delta(e.k, () => step(e.k, e.t, 'write', () => goldfish_pipe_read_write(e.k, e.t, e.addr, n * PAGE_SIZE, true, 0)));
  assert.deepEqual([d.r, d.acq, d.rel], [n * PAGE_SIZE, n, n]);
  assert.equal(dirty(e), false);
  assert.equal(goldfish_pipe_read_write(e.k, e.t, e.addr + n * PAGE_SIZE, PAGE_SIZE, true, 0), -EFAULT);
});

// ---- drm/via: pin_user_pages_fast(FOLL_WRITE for DMA_FROM_DEVICE); via_free_sg_info():
// unpin_user_pages_dirty_lock(pages, num_pages, DMA_FROM_DEVICE) (v5.1: SetPageDirty + put_page()).

for (const profile of ['5.1', 'current']) {
  test(`seed 004 [${profile}] via DMA blit from the device: pages written, dirtied, released`, () => {
    const e = setup({ profile, pages: N });
    assert.equal(step(e.k, e.t, 'blit', () => via_dmablit(e.k, e.t, e.addr, N * PAGE_SIZE, 'DMA_FROM_DEVICE', 4)), 0);
    assert.equal(read(e.k, e.t, e.addr + 3 * PAGE_SIZE), 4);
    assert.equal(dirty(e), true);
    assert.equal(ref(e.k, pfnAt(e.t, e.addr)), 1);
  });
}

test('seed 004 [current] via DMA blit to the device: read-only pins, no dirtying', () => {
  const e = setup({ pages: N });
  const d = delta(e.k, () => step(e.k, e.t, 'blit', () => via_dmablit(e.k, e.t, e.addr, N * PAGE_SIZE, 'DMA_TO_DEVICE', 0)));
  assert.deepEqual([d.r, d.acq, d.rel], [0, N, N]);
  assert.equal(dirty(e), false);
});

// via_lock_all_dma_pages(): ret != num_pages and ret >= 0 → state dr_via_pages_locked, -EINVAL; the
// release then walks all num_pages entries, the tail of them NULL.
for (const [profile, warns] of [['5.1', false], ['5.7', true]] as const) {
  test(`seed 004 [${profile}] a partially pinned via blit: -EINVAL, pins released${warns ? ', NULL entries flagged' : ''}`, () => {
    const e = setup({ profile, pages: 2 });
    const w = warnsDuring(e.k, () => step(e.k, e.t, 'blit', () => via_dmablit(e.k, e.t, e.addr, 4 * PAGE_SIZE, 'DMA_FROM_DEVICE', 4)));
    assert.equal(w.r, -EINVAL);
    assert.equal(w.warns.some((x) => x.startsWith('pinlab:via-null-page')), warns);
    assert.equal(ref(e.k, pfnAt(e.t, e.addr)), 1);
  });
}

// ---- AF_XDP UMEM: account (user->locked_vm, -ENOBUFS), pin_user_pages(FOLL_WRITE|FOLL_LONGTERM),
// release with unpin_user_pages_dirty_lock(pgs, npgs, true).

for (const profile of ['5.1', ...TRACKED]) {
  test(`seed 004 [${profile}] XDP UMEM: pinned for the socket's life, released dirty at close`, () => {
    const e = setup({ profile, pages: N });
    const d = delta(e.k, () => step(e.k, e.t, 'XDP_UMEM_REG', () => xdp_umem_reg(e.k, e.t, e.addr, N * PAGE_SIZE)));
    const u = d.r as XdpUmem;
    assert.equal(typeof u, 'object');
    if (e.k.profile.pinTracking) assert.deepEqual([d.acq, d.rel], [N, 0]);
    assert.equal(ref(e.k, pfnAt(e.t, e.addr)), e.k.profile.pinApi ? 1 + GUP_PIN_COUNTING_BIAS : 2);
    step(e.k, e.t, 'close', () => xdp_umem_release(e.k, u));
    assert.equal(ref(e.k, pfnAt(e.t, e.addr)), 1);
    assert.equal(dirty(e), true);
  });
}

test('seed 004 [current] XDP UMEM over RLIMIT_MEMLOCK without CAP_IPC_LOCK: -ENOBUFS before pinning', () => {
  const e = setup({ pages: N });
  set_cap_ipc_lock(e.k, e.t, false);
  setrlimit_memlock(e.k, e.t, PAGE_SIZE);
  const d = delta(e.k, () => xdp_umem_reg(e.k, e.t, e.addr, N * PAGE_SIZE));
  assert.deepEqual([d.r, d.acq], [-ENOBUFS, 0]);
  assert.equal(xdp_umem_reg(e.k, e.t, e.addr + 1, PAGE_SIZE), -EINVAL, 'not page aligned');
  assert.equal(xdp_umem_reg(e.k, e.t, e.addr, PAGE_SIZE, 1000), -EINVAL, 'chunk size below 2048');
});

// xdp_umem_pin_pages(): a short pin sets umem->npgs to what was pinned, unpins, fails -ENOMEM;
// xdp_umem_reg() then unaccounts umem->npgs — fewer pages than it charged [derived].
test('seed 004 [current] a partial XDP UMEM pin: -ENOMEM, pins released, and locked_vm keeps the unpinned remainder', () => {
  const e = setup({ pages: 2 });
  set_cap_ipc_lock(e.k, e.t, false);
  const d = delta(e.k, () => step(e.k, e.t, 'XDP_UMEM_REG', () => xdp_umem_reg(e.k, e.t, e.addr, 4 * PAGE_SIZE)));
  assert.deepEqual([d.r, d.acq, d.rel], [-ENOMEM, 2, 2]);
  assert.equal(memlock(e.k).userLockedVm, 2, '4 charged, 2 given back');
});

// ---- v4l2 videobuf: pin_user_pages(FOLL_WRITE for capture | FOLL_LONGTERM), held until freed;
// videobuf_dma_free(): unpin_user_pages_dirty_lock(..., DMA_FROM_DEVICE). Before v5.6 a bare
// put_page(): "this driver was just issuing a bare put_page() call, without any set_page_dirty*()".

for (const [profile, dirtied] of [['5.1', false], ['5.2', false], ['5.7', true], ['current', true]] as const) {
  test(`seed 004 [${profile}] videobuf capture: the device fills the buffer; freeing it ${dirtied ? 'dirties' : 'does NOT dirty'} the pages`, () => {
    const e = setup({ profile, pages: N });
    assert.equal(step(e.k, e.t, 'QBUF', () => videobuf_dma_init_user(e.k, e.t, 0, 'DMA_FROM_DEVICE', e.addr, N * PAGE_SIZE)), 0);
    assert.equal(deviceDmaWrite(e.k, 'videobuf', 0, 31), 0);
    step(e.k, e.t, 'free', () => videobuf_dma_free(e.k, videobufState(e.k).get(0)!));
    assert.equal(read(e.k, e.t, e.addr), 31);
    assert.equal(dirty(e), dirtied);
    assert.equal(ref(e.k, pfnAt(e.t, e.addr)), 1);
  });
}

// videobuf_dma_init_user_locked(): err != nr_pages → dma->nr_pages = err (the pinned ones stay held
// until the buffer is freed), -EINVAL.
test('seed 004 [current] a partially pinned videobuf: -EINVAL, the pinned pages stay held until videobuf_dma_free', () => {
  const e = setup({ pages: 2 });
  const d = delta(e.k, () => step(e.k, e.t, 'QBUF', () => videobuf_dma_init_user(e.k, e.t, 1, 'DMA_TO_DEVICE', e.addr, 4 * PAGE_SIZE)));
  assert.deepEqual([d.r, d.acq, d.rel], [-EINVAL, 2, 0]);
  assert.equal(videobufState(e.k).get(1)!.nrPages, 2);
  const f = delta(e.k, () => videobuf_dma_free(e.k, videobufState(e.k).get(1)!));
  assert.equal(f.rel, 2);
  assert.equal(dirty(e), false, 'an output buffer is not dirtied');
});

// ---- powerpc mm_iommu: account_locked_vm(), pin_user_pages(FOLL_WRITE|FOLL_LONGTERM) in chunks;
// mm_iommu_unpin(): SetPageDirty() only where a TCE let the device write, unpin_user_page().

for (const profile of ['5.1', 'current']) {
  test(`seed 004 [${profile}] mm_iommu: register pins and charges locked_vm; unregister dirties only what the device wrote`, () => {
    const e = setup({ profile, pages: N });
    assert.equal(step(e.k, e.t, 'REGISTER_MEMORY', () => mm_iommu_new(e.k, e.t, e.addr, N)), 0);
    assert.equal(memlock(e.k).lockedVm(e.t.mm), N);
    assert.equal(deviceDmaWrite(e.k, 'mm_iommu', e.addr, 8, 2), 0);
    assert.equal(step(e.k, e.t, 'UNREGISTER_MEMORY', () => mm_iommu_put(e.k, e.t, e.addr, N)), 0);
    assert.deepEqual([dirty(e, 0), dirty(e, 2)], [false, true]);
    assert.equal(read(e.k, e.t, e.addr + 2 * PAGE_SIZE), 8);
    assert.equal(memlock(e.k).lockedVm(e.t.mm), 0);
    assert.equal(ref(e.k, pfnAt(e.t, e.addr)), 1);
    assert.equal(mm_iommu_put(e.k, e.t, e.addr, N), -ENOENT);
  });
}

test('seed 004 [current] mm_iommu: overlap -EINVAL, over RLIMIT_MEMLOCK -ENOMEM, a read-only range -EFAULT with pins undone', () => {
  const e = setup({ pages: N });
  assert.equal(mm_iommu_new(e.k, e.t, e.addr, 2), 0);
  assert.equal(mm_iommu_new(e.k, e.t, e.addr + PAGE_SIZE, 2), -EINVAL);
  set_cap_ipc_lock(e.k, e.t, false);
  setrlimit_memlock(e.k, e.t, 3 * PAGE_SIZE);
  assert.equal(mm_iommu_new(e.k, e.t, e.addr + 2 * PAGE_SIZE, 2), -ENOMEM);
  set_cap_ipc_lock(e.k, e.t, true);
  const ro = setup({ pages: 2, prot: PROT_READ, value: null });
  const d = delta(ro.k, () => step(ro.k, ro.t, 'REGISTER_MEMORY', () => mm_iommu_new(ro.k, ro.t, ro.addr, 2)));
  assert.deepEqual([d.r, d.acq, d.rel], [-EFAULT, 0, 0]);
  assert.equal(memlock(ro.k).lockedVm(ro.t.mm), 0);
  assert.deepEqual(exitAll(e.k), []);
});
