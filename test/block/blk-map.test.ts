// block/blk-map.c: passthrough mapping — pinned (v6.5+) or GET bios for aligned user buffers,
// bounce pages for misaligned ones, released by blk_rq_unmap_user() (spec R93).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blk_execute_rq, blk_rq_map_user_iov, blk_rq_unmap_user, type Request } from '../../src/block/blk-map.js';
import { import_ubuf, iov_iter_kvec } from '../../src/lib/iov-iter.js';
import { PAGE_SIZE } from '../../src/include/uapi.js';
import { GFP_KERNEL } from '../../src/mm/memory.js';
import { PG_dirty } from '../../src/mm/page-flags.js';
import { counters, kernel, mmap, pfnAt, read, ref, step, write, blockDev } from '../helpers.js';
import { createTask } from '../../src/vm/mm.js';

function env(profile: string) {
  const k = kernel(profile);
  const t = createTask(k, 't');
  const buf = mmap(k, t, 9 * PAGE_SIZE);
  write(k, t, buf, 9 * PAGE_SIZE, 1);
  const dev = blockDev();
  return { k, t, buf, dev, disk: dev.disk };
}

function mapped(r: Request | number): Request {
  assert.ok(typeof r !== 'number', `mapping failed: ${String(r)}`);
  return r;
}

test('an aligned read is mapped into PINNED bios on current: +8 while mapped, released and dirtied at unmap', () => {
  const { k, t, buf, dev, disk } = env('current');
  for (let i = 0; i < 8; i++) disk.set(i, 60 + i);
  const rq = mapped(step(k, t, 'map', () => blk_rq_map_user_iov(k, import_ubuf('ITER_DEST', t.mm, buf, 8 * PAGE_SIZE, k))));
  assert.equal(rq.copy, false);
  assert.ok(rq.bios.every((b) => b.bio.pinned && !b.bounce));
  assert.deepEqual(counters(k), { acq: 8, rel: 0 });
  assert.equal(step(k, t, 'exec', () => blk_execute_rq(k, rq, dev, 0)), 0);
  assert.equal(k.mem.test(pfnAt(t, buf), PG_dirty), false, 'no pre-dirtying');
  assert.equal(step(k, t, 'unmap', () => blk_rq_unmap_user(k, rq)), 0);
  assert.deepEqual(counters(k), { acq: 8, rel: 8 });
  assert.equal(k.mem.test(pfnAt(t, buf), PG_dirty), true, 'bio_data_dir(bio) == READ → mark_dirty');
  assert.equal(read(k, t, buf + 7 * PAGE_SIZE), 67);
  assert.equal(ref(k, pfnAt(t, buf)), 1);
});

test('on 6.2 the mapped bios hold GETs: refcount +1 while mapped, pin counters unchanged', () => {
  const { k, t, buf, dev, disk } = env('6.2');
  const rq = mapped(step(k, t, 'map', () => blk_rq_map_user_iov(k, import_ubuf('ITER_SOURCE', t.mm, buf, 8 * PAGE_SIZE, k))));
  assert.ok(rq.bios.every((b) => b.bio.reffed && !b.bio.pinned));
  assert.equal(ref(k, pfnAt(t, buf)), 2);
  step(k, t, 'exec', () => blk_execute_rq(k, rq, dev, 0));
  step(k, t, 'unmap', () => blk_rq_unmap_user(k, rq));
  assert.deepEqual(counters(k), { acq: 0, rel: 0 });
  assert.equal(ref(k, pfnAt(t, buf)), 1);
  assert.equal(disk.get(7), 1);
});

test('a misaligned buffer is bounced: no pin, no GET; a write copies in at map time, a read copies out at unmap', () => {
  for (const profile of ['6.2', 'current']) {
    const { k, t, buf, dev, disk } = env(profile);
    write(k, t, buf, 9 * PAGE_SIZE, 5);
    const w = mapped(step(k, t, 'map', () => blk_rq_map_user_iov(k, import_ubuf('ITER_SOURCE', t.mm, buf + 8, 4 * PAGE_SIZE, k))));
    assert.equal(w.copy, true);
    assert.ok(w.bios.every((b) => !b.bio.pinned && !b.bio.reffed && b.bounce));
    assert.equal(ref(k, pfnAt(t, buf)), 1);
    step(k, t, 'exec', () => blk_execute_rq(k, w, dev, 0));
    step(k, t, 'unmap', () => blk_rq_unmap_user(k, w));
    assert.equal(disk.get(3), 5);
    write(k, t, buf, 9 * PAGE_SIZE, 1);
    const r = mapped(step(k, t, 'map', () => blk_rq_map_user_iov(k, import_ubuf('ITER_DEST', t.mm, buf + 8, 4 * PAGE_SIZE, k))));
    step(k, t, 'exec', () => blk_execute_rq(k, r, dev, 0));
    assert.equal(read(k, t, buf + 2 * PAGE_SIZE), 1, 'nothing reaches user memory before unmap');
    step(k, t, 'unmap', () => blk_rq_unmap_user(k, r));
    assert.equal(read(k, t, buf + 2 * PAGE_SIZE), 5);
    assert.deepEqual(counters(k), { acq: 0, rel: 0 }, profile);
  }
});

test('a kernel-backed KVEC is bounced too (not user-backed)', () => {
  const k = kernel('current');
  const pfn = k.mem.allocFolio(GFP_KERNEL, 0);
  const rq = mapped(step(k, null, 'map', () => blk_rq_map_user_iov(k, iov_iter_kvec('ITER_DEST', [{ pfn, offset: 0, len: PAGE_SIZE }], PAGE_SIZE))));
  assert.equal(rq.copy, true);
  const dev = blockDev([[0, 77]]);
  step(k, null, 'exec', () => blk_execute_rq(k, rq, dev, 0));
  assert.equal(step(k, null, 'unmap', () => blk_rq_unmap_user(k, rq)), 0);
  assert.equal(k.mem.contentOf(pfn), 77, 'copied out to the kernel buffer at unmap');
  assert.deepEqual(counters(k), { acq: 0, rel: 0 });
  k.mem.putRefs(pfn, 1);
});
