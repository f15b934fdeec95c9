// Truncate: mm/truncate.c truncate_pagecache(), truncate_inode_pages_range(),
// truncate_cleanup_folio(); mm/memory.c unmap_mapping_range(); fs/open.c do_sys_ftruncate().
// Spec R109.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inFlight } from '../../src/block/blkdev.js';
import { EBADF, do_sys_open } from '../../src/fs/fdtable.js';
import { do_sys_ftruncate } from '../../src/fs/read_write.js';
import { invalidate_inode_pages2_range, truncate_setsize } from '../../src/fs/truncate.js';
import { filemap_fdatawait_range, writeback_file } from '../../src/fs/writeback.js';
import { get_user_pages, pin_user_pages } from '../../src/gup/api.js';
import { put_page, set_page_dirty_lock, unpin_user_pages_dirty_lock } from '../../src/gup/unpin.js';
import { EBUSY, EFAULT, EINVAL, MAP_PRIVATE, PAGE_SIZE, O_RDONLY, O_RDWR } from '../../src/include/uapi.js';
import { PG_anon, PG_dirty, PG_private } from '../../src/mm/page-flags.js';
import { userRead } from '../../src/vm/access.js';
import { mmap, pagesArray, pfnAt, read, ref, step, warnsDuring, write } from '../helpers.js';
import { cached, fileSetup } from './fs-helpers.js';
import { FOLL_WRITE } from '../../src/include/linux/mm.js';

// truncate_pagecache(): unmap_mapping_range(even_cows = 1), then truncate_inode_pages(); ext4 frees the blocks.
test('truncate to 0 unmaps shared PTEs and private COW copies, frees the pages and the blocks; access past EOF faults', () => {
  const { k, t, f, addr } = fileSetup({ pages: 2, value: 1 });
  step(k, null, 'writeback', () => { writeback_file(k, f, 'WB_SYNC_NONE'); filemap_fdatawait_range(k, f); });
  const priv = mmap(k, t, 2 * PAGE_SIZE, { flags: MAP_PRIVATE, file: f });
  write(k, t, priv, PAGE_SIZE, 9); // a private COW copy of page 0
  const cow = pfnAt(t, priv);
  assert.ok(k.mem.test(cow, PG_anon));
  const pages = [cached(f, 0), cached(f, 1)];
  step(k, null, 'truncate', () => truncate_setsize(k, f, 0));
  assert.equal(f.size, 0);
  assert.equal(f.cache.size, 0);
  assert.equal(f.disk.size, 0);
  for (const p of [...pages, cow]) assert.ok(k.mem.isFree(p));
  for (const a of [addr, priv]) assert.equal(pfnAt(t, a), -1);
  assert.equal(step(k, t, 'read', () => userRead(k, t.mm, addr)), -EFAULT, 'SIGBUS past EOF');
});

// R109: the folio leaves the page cache, pinned or not: mapping cleared, buffers invalidated, dirty
// cancelled; the pin keeps it allocated. folio_mark_dirty() on it later is noop_dirty_folio(): the
// flag only, no ext4 warning; the data never reaches the file.
for (const profile of ['5.1', 'current']) {
  test(`R109 [${profile}] a pinned page survives truncate as an orphan; dirtying it later reaches nothing`, () => {
    const { k, t, f, addr } = fileSetup({ profile, pages: 2, value: 1 });
    const P = pagesArray(1);
    const got = profile === '5.1'
      ? step(k, t, 'gup', () => get_user_pages(k, t, addr + PAGE_SIZE, 1, FOLL_WRITE, P))
      : step(k, t, 'pin', () => pin_user_pages(k, t, addr + PAGE_SIZE, 1, FOLL_WRITE, P));
    assert.equal(got, 1);
    assert.ok(k.mem.test(P[0], PG_dirty) && k.mem.test(P[0], PG_private));
    step(k, null, 'truncate', () => truncate_setsize(k, f, PAGE_SIZE));
    assert.equal(f.cache.has(1), false);
    assert.equal(k.mem.mappingOf(P[0]), 0);
    assert.ok(!k.mem.test(P[0], PG_private) && !k.mem.test(P[0], PG_dirty));
    assert.ok(!k.mem.isFree(P[0]));
    assert.equal(ref(k, P[0]), profile === '5.1' ? 1 : 1024);
    assert.equal(pfnAt(t, addr + PAGE_SIZE), -1);
    assert.ok(f.cache.has(0), 'the page below the new size stays');
    k.mem.setContent(P[0], 5); // the device writes
    const w = warnsDuring(k, () => step(k, null, 'release', () => {
      if (profile === '5.1') {
        set_page_dirty_lock(k, P[0]);
        assert.ok(k.mem.test(P[0], PG_dirty));
        put_page(k, P[0]);
      } else {
        unpin_user_pages_dirty_lock(k, P, 1, true);
      }
    }));
    assert.deepEqual(w.warns, []);
    assert.ok(k.mem.isFree(P[0]));
    assert.equal(f.disk.has(1), false);
  });
}

// truncate_inode_pages_range(): folio_wait_writeback() before the folio is removed.
test('truncate waits for writeback in flight', () => {
  const { k, f } = fileSetup({ pages: 1, value: 4 });
  step(k, null, 'writeback', () => writeback_file(k, f, 'WB_SYNC_NONE'));
  const p = cached(f, 0);
  assert.equal(inFlight(k), 1);
  step(k, null, 'truncate', () => truncate_setsize(k, f, 0));
  assert.equal(inFlight(k), 0);
  assert.ok(k.mem.isFree(p));
});

// truncate_inode_pages_range(): only pages wholly past the new size go; the partial one stays with
// its block (its tail is zeroed in the kernel). Growing only sets i_size.
test('a partial truncate keeps the page that holds the new end of file; growing changes no page', () => {
  const { k, t, f, addr } = fileSetup({ pages: 3, value: 2 });
  step(k, null, 'writeback', () => { writeback_file(k, f, 'WB_SYNC_NONE'); filemap_fdatawait_range(k, f); });
  step(k, null, 'truncate', () => truncate_setsize(k, f, PAGE_SIZE + 100));
  assert.deepEqual([...f.cache.keys()].sort(), [0, 1]);
  assert.deepEqual([...f.disk.keys()].sort(), [0, 1]);
  assert.equal(read(k, t, addr + PAGE_SIZE), 2);
  step(k, null, 'grow', () => truncate_setsize(k, f, 8 * PAGE_SIZE));
  assert.equal(f.size, 8 * PAGE_SIZE);
  assert.deepEqual([...f.cache.keys()].sort(), [0, 1]);
  assert.equal(read(k, t, addr + 2 * PAGE_SIZE), 0, 'a hole reads as zeros');
});

// fs/open.c do_sys_ftruncate(): -EINVAL for a negative length (checked first), -EBADF for a bad
// descriptor, -EINVAL when the file is not open for writing.
test('ftruncate() errors: negative length, bad descriptor, read-only descriptor', () => {
  const { k, t, f } = fileSetup({ pages: 1, value: 1 });
  const ro = step(k, t, 'open', () => do_sys_open(k, t, 'data', O_RDONLY));
  const rw = step(k, t, 'open', () => do_sys_open(k, t, 'data', O_RDWR));
  assert.equal(do_sys_ftruncate(k, t, 99, -1), -EINVAL);
  assert.equal(do_sys_ftruncate(k, t, 99, 0), -EBADF);
  assert.equal(do_sys_ftruncate(k, t, ro, 0), -EINVAL);
  assert.equal(f.size, PAGE_SIZE);
  assert.equal(step(k, t, 'ftruncate', () => do_sys_ftruncate(k, t, rw, 0)), 0);
  assert.equal(f.size, 0);
});

// mm/truncate.c invalidate_inode_pages2_range() (after a direct write): unmap_mapping_folio() (not
// private COW copies), folio_wait_writeback(), then invalidate_complete_folio2(), which ignores the
// refcount but needs releasable buffers and a clean folio: a pinned clean page leaves the cache as
// an orphan; a dirty one stays and the result is -EBUSY.
test('invalidate_inode_pages2_range() drops clean pages, pinned or mapped; a dirty one stays with -EBUSY', () => {
  const { k, t, f, addr } = fileSetup({ pages: 3, value: 1 });
  step(k, null, 'writeback', () => { writeback_file(k, f, 'WB_SYNC_NONE'); filemap_fdatawait_range(k, f); });
  const priv = mmap(k, t, PAGE_SIZE, { flags: MAP_PRIVATE, file: f });
  write(k, t, priv, PAGE_SIZE, 9);
  const cow = pfnAt(t, priv);
  const P = pagesArray(1);
  assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, addr + PAGE_SIZE, 1, 0, P)), 1);
  write(k, t, addr + 2 * PAGE_SIZE, PAGE_SIZE, 2); // page 2 dirty again
  const [p0, p2] = [cached(f, 0), cached(f, 2)];
  assert.equal(step(k, null, 'invalidate', () => invalidate_inode_pages2_range(k, f, 0, 2)), -EBUSY);
  assert.ok(k.mem.isFree(p0), 'clean and mapped: unmapped and freed');
  assert.equal(pfnAt(t, addr), -1);
  assert.equal(f.cache.has(1), false);
  assert.equal(k.mem.mappingOf(P[0]), 0, 'the pinned page is an orphan now');
  assert.ok(!k.mem.isFree(P[0]) && !k.mem.test(P[0], PG_private));
  assert.equal(cached(f, 2), p2, 'the dirty page stays');
  assert.ok(k.mem.test(p2, PG_dirty) && k.mem.test(p2, PG_private));
  assert.equal(pfnAt(t, priv), cow, 'the private COW copy is untouched');
  step(k, null, 'unpin', () => unpin_user_pages_dirty_lock(k, P, 1, false));
  assert.ok(k.mem.isFree(P[0]));
});
