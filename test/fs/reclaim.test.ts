// Reclaim of page-cache folios: mm/vmscan.c shrink_folio_list(), __remove_mapping(); mm/rmap.c
// try_to_unmap(); fs/buffer.c try_to_free_buffers(); drop_caches: mm/truncate.c
// invalidate_inode_page() / mapping_evict_folio(). Spec R102, R103, R112 step 5.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drop_pagecache, shrink_file, shrink_file_folio } from '../../src/fs/reclaim.js';
import { filemap_fdatawait_range, writeback_file } from '../../src/fs/writeback.js';
import { get_user_pages, pin_user_pages } from '../../src/gup/api.js';
import { put_page, unpin_user_pages } from '../../src/gup/unpin.js';
import { PAGE_SIZE } from '../../src/include/uapi.js';
import { PG_active, PG_dirty, PG_lru, PG_private } from '../../src/mm/page-flags.js';
import { do_munmap } from '../../src/vm/mmap.js';
import { pagesArray, pfnAt, read, ref, step } from '../helpers.js';
import { cached, fileSetup } from './fs-helpers.js';
import { FOLL_WRITE } from '../../src/include/linux/mm.js';

/** A written, written-back (clean, buffers attached) file mapped MAP_SHARED. */
function cleanMapped(profile = 'current', pages = 1) {
  const env = fileSetup({ profile, pages, value: 3 });
  step(env.k, null, 'writeback', () => { writeback_file(env.k, env.f, 'WB_SYNC_NONE'); filemap_fdatawait_range(env.k, env.f); });
  return env;
}

// __remove_mapping(): a clean folio with only the page cache's (and reclaim's own) reference goes.
test('reclaim frees a clean, unused page-cache page', () => {
  const { k, t, f, addr } = fileSetup({ pages: 1, value: null });
  assert.equal(read(k, t, addr), 0);
  const p = cached(f, 0);
  step(k, t, 'munmap', () => do_munmap(k, t.mm, addr, PAGE_SIZE));
  assert.equal(step(k, null, 'reclaim', () => shrink_file(k, f)), 1);
  assert.equal(f.cache.size, 0);
  assert.ok(k.mem.isFree(p));
  assert.equal(k.vmstat.get('nr_isolated_file'), 0);
});

// try_to_unmap() first: a mapped clean page is unmapped and freed; the next access reads the disk again.
test('reclaim unmaps and frees a mapped clean page; the next access faults it back in from disk', () => {
  const { k, t, f, addr } = cleanMapped();
  const p = cached(f, 0);
  assert.equal(step(k, null, 'reclaim', () => shrink_file(k, f)), 1);
  assert.equal(pfnAt(t, addr), -1);
  assert.ok(k.mem.isFree(p));
  assert.equal(read(k, t, addr), 3);
  assert.ok(!k.mem.test(cached(f, 0), PG_private), 'read back without buffers (ext4_mpage_readpages())');
});

// shrink_folio_list(): file folios under writeback are kept before anything else; a dirty file
// folio is unmapped, then activated and left to the flusher, buffers and all.
test('reclaim keeps a folio under writeback (mapped) and a dirty one (unmapped, activated, buffers kept)', () => {
  const env = fileSetup({ pages: 2, value: 3 });
  const { k, t, f, addr } = env;
  step(k, null, 'writeback page 0', () => writeback_file(k, f, 'WB_SYNC_NONE', { first: 0, last: 0 }));
  const [p0, p1] = [cached(f, 0), cached(f, 1)];
  assert.equal(step(k, null, 'reclaim', () => shrink_file(k, f)), 0);
  assert.equal(pfnAt(t, addr), p0, 'the writeback check comes before unmapping');
  assert.equal(pfnAt(t, addr + PAGE_SIZE), -1, 'the dirty page was unmapped');
  assert.ok(k.mem.test(p1, PG_dirty) && k.mem.test(p1, PG_private) && k.mem.test(p1, PG_active));
  assert.ok(k.mem.test(p0, PG_lru) && k.mem.test(p1, PG_lru), 'both back on the LRU');
  assert.equal(k.vmstat.get('nr_isolated_file'), 0);
});

// R112 step 5 / R102: a GET is not a pin. In every version reclaim unmaps the clean page, frees
// its buffers and then fails __remove_mapping() on the extra reference.
for (const profile of ['5.1', 'current']) {
  test(`R112 step 5 [${profile}] a clean page held by get_user_pages() loses its buffers and stays in the page cache`, () => {
    const { k, t, f, addr } = cleanMapped(profile);
    const P = pagesArray(1);
    assert.equal(step(k, t, 'gup', () => get_user_pages(k, t, addr, 1, 0, P)), 1);
    assert.equal(step(k, null, 'reclaim', () => shrink_file_folio(k, f, P[0])), 'held');
    assert.equal(pfnAt(t, addr), -1);
    assert.equal(cached(f, 0), P[0]);
    assert.ok(!k.mem.test(P[0], PG_private));
    assert.equal(ref(k, P[0]), 2, 'page cache + GUP');
    step(k, null, 'put_page', () => put_page(k, P[0]));
  });
}

// R102 step 2 (d824ec2a1546, v6.4): after unmapping, a maybe-pinned folio is activated with its
// private data; before, its buffers were freed. Step 3 in every version: a pinned folio is never freed.
for (const [profile, keeps] of [['5.7', false], ['6.2', false], ['6.5', true], ['current', true]] as const) {
  test(`R102 [${profile}] reclaim of a clean pinned page ${keeps ? 'keeps its buffers' : 'frees its buffers'}; it is never freed`, () => {
    const { k, t, f, addr } = cleanMapped(profile);
    const P = pagesArray(1);
    assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, addr, 1, FOLL_WRITE, P)), 1);
    step(k, null, 'writeback', () => { writeback_file(k, f, 'WB_SYNC_NONE'); filemap_fdatawait_range(k, f); });
    const r = step(k, null, 'reclaim', () => shrink_file_folio(k, f, P[0]));
    assert.equal(r, keeps ? 'pinned' : 'held');
    assert.equal(pfnAt(t, addr), -1, 'unmapped regardless of the pin (R103: page-cache folios)');
    assert.equal(cached(f, 0), P[0]);
    assert.equal(k.mem.test(P[0], PG_private), keeps);
    assert.equal(k.mem.test(P[0], PG_active), keeps);
    assert.equal(ref(k, P[0]), 1 + 1024);
    step(k, null, 'unpin', () => unpin_user_pages(k, P, 1));
  });
}

// drop_caches: invalidate_inode_page() asked only page_mapped() before e41c81d0d30e (v5.18), so it
// freed the buffers of an unmapped page held by GUP and then failed remove_mapping();
// mapping_evict_folio() checks the refcount first. Mapped pages are never dropped; unused ones are.
for (const [profile, strips] of [['5.1', true], ['5.19', false], ['current', false]] as const) {
  test(`R112 step 5 [${profile}] drop_caches ${strips ? 'strips' : 'keeps'} the buffers of an unmapped page held by GUP`, () => {
    const { k, t, f, addr } = cleanMapped(profile, 3);
    const P = pagesArray(1);
    assert.equal(step(k, t, 'gup', () => get_user_pages(k, t, addr, 1, 0, P)), 1);
    step(k, t, 'munmap', () => do_munmap(k, t.mm, addr, 2 * PAGE_SIZE)); // pages 0 and 1; page 2 stays mapped
    const mapped = cached(f, 2);
    assert.equal(step(k, null, 'drop_caches', () => drop_pagecache(k, [f])), 1, 'only page 1 is dropped');
    assert.deepEqual([...f.cache.keys()].sort(), [0, 2]);
    assert.equal(k.mem.test(P[0], PG_private), !strips);
    assert.ok(k.mem.test(mapped, PG_private), 'a mapped page is left alone');
    step(k, null, 'put_page', () => put_page(k, P[0]));
  });
}

// shmem folios need swap to be reclaimed; the model has none, so reclaim leaves tmpfs alone.
test('reclaim and drop_caches leave tmpfs pages alone', () => {
  const { k, t, f, addr } = fileSetup({ pages: 1, value: 2, fs: 'tmpfs' });
  step(k, t, 'munmap', () => do_munmap(k, t.mm, addr, PAGE_SIZE));
  assert.equal(step(k, null, 'reclaim', () => shrink_file(k, f)), 0);
  assert.equal(step(k, null, 'drop_caches', () => drop_pagecache(k, [f])), 0);
  assert.equal(f.cache.size, 1);
});
