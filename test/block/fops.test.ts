// block/fops.c blkdev_direct_IO(): the three paths and their pin accounting (spec R97).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { devState, inFlight, blk_complete_one } from '../../src/block/blkdev.js';
import { BIO_MAX_VECS } from '../../src/block/bio.js';
import { bio_iov_vecs_to_alloc, blkdev_direct_IO, blkdevDioPath } from '../../src/block/fops.js';
import { import_iovec, import_ubuf, iov_iter_bvec } from '../../src/lib/iov-iter.js';
import { File } from '../../src/fs/file.js';
import { EINVAL, EIOCBQUEUED, PAGE_SIZE } from '../../src/include/uapi.js';
import { PG_dirty } from '../../src/mm/page-flags.js';
import { delta, kernel, mmap, pfnAt, read, ref, step, write } from '../helpers.js';
import { createTask } from '../../src/vm/mm.js';
import { files, registerFile } from '../../src/mm/filemap.js';

function dev(profile = 'current', pages = 8) {
  const k = kernel(profile);
  const t = createTask(k, 't');
  const f = new File('sda', 'blkdev', 1024 * PAGE_SIZE);
  files(k).set('sda', f);
  registerFile(k, f);
  const buf = mmap(k, t, pages * PAGE_SIZE);
  write(k, t, buf, pages * PAGE_SIZE, 1);
  return { k, t, f, buf };
}

// __blkdev_direct_IO_simple(): released by the submitter after submit_bio_wait(), mark_dirty = should_dirty.
test('a sync 8-page read on current pins +8 and releases +8 before returning; the release dirties the pages', () => {
  const { k, t, f, buf } = dev();
  for (let i = 0; i < 8; i++) f.disk.set(i, 40 + i);
  const pfn = pfnAt(t, buf);
  assert.equal(k.mem.test(pfn, PG_dirty), false);
  const d = delta(k, () => step(k, t, 'dio', () =>
    blkdev_direct_IO(k, f, import_ubuf('ITER_DEST', t.mm, buf, 8 * PAGE_SIZE, k), 0, { async: false })));
  assert.deepEqual(d, { r: 8 * PAGE_SIZE, acq: 8, rel: 8 });
  assert.equal(inFlight(k), 0);
  assert.equal(k.mem.test(pfn, PG_dirty), true);
  assert.equal(ref(k, pfn), 1);
  assert.equal(read(k, t, buf + 7 * PAGE_SIZE), 47);
});

test('on 6.2 the same read takes GETs: the pin counters do not move and the references are dropped', () => {
  const { k, t, f, buf } = dev('6.2');
  const d = delta(k, () => step(k, t, 'dio', () =>
    blkdev_direct_IO(k, f, import_ubuf('ITER_DEST', t.mm, buf, 8 * PAGE_SIZE, k), 0, { async: false })));
  assert.deepEqual(d, { r: 8 * PAGE_SIZE, acq: 0, rel: 0 });
  assert.equal(ref(k, pfnAt(t, buf)), 1);
  assert.equal(k.mem.test(pfnAt(t, buf), PG_dirty), true);
});

test('path selection: ≤ BIO_MAX_VECS pages simple (sync) or async, more → several bios; a BVEC needs no vecs', () => {
  const { k, t, buf } = dev();
  assert.equal(bio_iov_vecs_to_alloc(import_ubuf('ITER_DEST', t.mm, buf + 1, 2 * PAGE_SIZE, k), 300), 3);
  assert.equal(bio_iov_vecs_to_alloc(iov_iter_bvec('ITER_DEST', [{ pfn: 5, offset: 0, len: PAGE_SIZE }], PAGE_SIZE), 300), 0);
  assert.equal(blkdevDioPath(BIO_MAX_VECS, false), 'simple');
  assert.equal(blkdevDioPath(BIO_MAX_VECS, true), 'async');
  assert.equal(blkdevDioPath(BIO_MAX_VECS + 1, false), 'multi');
});

// __blkdev_direct_IO_async(): pre-dirtied, released at end_io by bio_check_pages_dirty().
test('an async read holds its pins while in flight, pre-dirtied, and releases them at completion', () => {
  const { k, t, f, buf } = dev();
  const d = delta(k, () => step(k, t, 'aio', () =>
    blkdev_direct_IO(k, f, import_ubuf('ITER_DEST', t.mm, buf, 4 * PAGE_SIZE, k), 0, { async: true })));
  assert.deepEqual(d, { r: -EIOCBQUEUED, acq: 4, rel: 0 });
  assert.equal(inFlight(k), 1);
  assert.equal(k.mem.test(pfnAt(t, buf), PG_dirty), true, 'bio_set_pages_dirty() before submission');
  const c = delta(k, () => step(k, null, 'irq', () => blk_complete_one(k)));
  assert.deepEqual(c, { r: true, acq: 0, rel: 4 });
  assert.equal(ref(k, pfnAt(t, buf)), 1);
});

// __blkdev_direct_IO(): physically scattered pages need one bvec each, so 300 pages take two bios.
test('a sync read of 300 scattered pages goes out in two bios and is settled when it returns', () => {
  const { k, t, f, buf } = dev('current', 600);
  const iov = Array.from({ length: 300 }, (_, i) => ({ base: buf + 2 * i * PAGE_SIZE, len: PAGE_SIZE }));
  const before = devState(k).completed;
  const d = delta(k, () => step(k, t, 'dio', () =>
    blkdev_direct_IO(k, f, import_iovec('ITER_DEST', t.mm, iov, k), 0, { async: false })));
  assert.deepEqual(d, { r: 300 * PAGE_SIZE, acq: 300, rel: 300 });
  assert.equal(devState(k).completed - before, 2);
  assert.equal(k.mem.test(pfnAt(t, buf + 598 * PAGE_SIZE), PG_dirty), true);
});

// blkdev_dio_invalid(): position/length to the logical block size; the buffer before submission on 6.2 only.
test('misaligned position or length fails before any pin; a misaligned buffer pins and releases on current', () => {
  for (const profile of ['6.2', 'current']) {
    const { k, t, f, buf } = dev(profile, 9);
    const dio = (addr: number, len: number, pos: number) => delta(k, () => step(k, t, 'dio', () =>
      blkdev_direct_IO(k, f, import_ubuf('ITER_DEST', t.mm, addr, len, k), pos, { async: false })));
    assert.deepEqual(dio(buf, 8 * PAGE_SIZE, 100), { r: -EINVAL, acq: 0, rel: 0 });
    assert.deepEqual(dio(buf, 8 * PAGE_SIZE - 1, 0), { r: -EINVAL, acq: 0, rel: 0 });
    const n = profile === 'current' ? 9 : 0;
    assert.deepEqual(dio(buf + 1, 8 * PAGE_SIZE, 0), { r: -EINVAL, acq: n, rel: n }, profile);
    assert.equal(ref(k, pfnAt(t, buf)), 1);
  }
});
