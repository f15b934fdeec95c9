// Writeback: mm/page-writeback.c folio_clear_dirty_for_io(), mm/rmap.c folio_mkclean(),
// fs/ext4/inode.c ext4_writepages() / mpage_prepare_extent_to_map() / ext4_dirty_folio(),
// fs/ext4/page-io.c. Spec R101, R110, R112 step 8.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inFlight } from '../../src/block/blkdev.js';
import { do_sys_open } from '../../src/fs/fdtable.js';
import { do_fsync } from '../../src/fs/read_write.js';
import {
  filemap_fdatawait_range, filemap_write_and_wait_range, folio_clear_dirty_for_io, folio_mkclean, writeback_file,
} from '../../src/fs/writeback.js';
import { truncate_setsize } from '../../src/fs/truncate.js';
import { pin_user_pages } from '../../src/gup/api.js';
import { set_page_dirty_lock, unpin_user_pages_dirty_lock } from '../../src/gup/unpin.js';
import { MAP_PRIVATE, PAGE_SIZE, PROT_READ, O_RDWR } from '../../src/include/uapi.js';
import { PG_dirty, PG_private, PG_writeback } from '../../src/mm/page-flags.js';
import { expectBug, mmap, pagesArray, pfnAt, pteWritable, read, ref, step, warnsDuring, write } from '../helpers.js';
import { cached, fileSetup } from './fs-helpers.js';
import { PTE_DIRTY, PTE_WRITE, FOLL_WRITE } from '../../src/include/linux/mm.js';
import { folio_maybe_dma_pinned } from '../../src/mm/folio.js';

function pteBits(env: ReturnType<typeof fileSetup>, addr: number): number {
  const v = env.t.mm.peekVma(addr)!;
  return v.peekPteBits(v.idx(addr));
}

// mm/page-writeback.c folio_clear_dirty_for_io() + fs/ext4/page-io.c: clean PTE and folio, then
// PG_writeback until the bio completes; only the completion puts the data on disk. The buffers
// stay attached (clean) after writeback.
test('writeback write-protects and cleans the PTE, clears dirty, sets PG_writeback; completion writes the disk', () => {
  const env = fileSetup({ pages: 1, value: 7 });
  const { k, f, addr } = env;
  const p = cached(f, 0);
  assert.ok(k.mem.test(p, PG_dirty) && k.mem.test(p, PG_private), 'precondition: page_mkwrite dirtied it and attached buffers');
  assert.ok(f.delalloc.has(0), 'ext4 delalloc: a reservation, no block yet');
  assert.equal(step(k, null, 'writeback', () => writeback_file(k, f, 'WB_SYNC_NONE')), 1);
  assert.equal(pteBits(env, addr) & (PTE_WRITE | PTE_DIRTY), 0);
  assert.ok(!k.mem.test(p, PG_dirty));
  assert.ok(k.mem.test(p, PG_writeback));
  assert.ok(!f.delalloc.has(0), 'the block is allocated at submission (mpage_map_and_submit_extent())');
  assert.equal(f.disk.get(0), undefined, 'nothing on disk before the I/O completes');
  assert.equal(step(k, null, 'complete', () => filemap_fdatawait_range(k, f)), 1);
  assert.equal(f.disk.get(0), 7);
  assert.ok(!k.mem.test(p, PG_writeback));
  assert.ok(k.mem.test(p, PG_private), 'clean buffers stay attached');
});

// seed 002 (Dave Chinner): ->page_mkwrite must run on every write to a clean file page. After
// writeback the PTE is read-only, so the next CPU store faults into ext4_page_mkwrite() again.
test('a CPU store after writeback faults and goes through ->page_mkwrite again', () => {
  const env = fileSetup({ pages: 1, value: 7 });
  const { k, t, f, addr } = env;
  step(k, null, 'writeback', () => { writeback_file(k, f, 'WB_SYNC_NONE'); filemap_fdatawait_range(k, f); });
  const p = cached(f, 0);
  k.mem.clear(p, PG_private); // as if reclaim had freed the clean buffers
  write(k, t, addr, PAGE_SIZE, 8);
  assert.ok(pteWritable(t, addr));
  assert.ok(k.mem.test(p, PG_dirty));
  assert.ok(k.mem.test(p, PG_private), 'ext4_page_mkwrite() attached buffers again');
});

// mm/page-writeback.c folio_clear_dirty_for_io(): "if (folio_mkclean(folio)) folio_mark_dirty(folio)"
// — a dirty PTE counts even when the folio's flag is clear; mm/rmap.c page_mkclean_one() only
// touches VM_SHARED mappings.
test('folio_clear_dirty_for_io() takes a dirty PTE as dirty data; folio_mkclean() leaves private mappings alone', () => {
  const env = fileSetup({ pages: 1, value: 7 });
  const { k, t, f, addr } = env;
  const priv = mmap(k, t, PAGE_SIZE, { prot: PROT_READ, flags: MAP_PRIVATE, file: f });
  assert.equal(read(k, t, priv), 7);
  const p = cached(f, 0);
  assert.equal(pfnAt(t, priv), p, 'the private mapping maps the page-cache page read-only');
  const privBits = pteBits(env, priv);
  k.mem.clear(p, PG_dirty);
  assert.equal(step(k, null, 'clear', () => folio_clear_dirty_for_io(k, f, p)), true);
  assert.ok(!k.mem.test(p, PG_dirty));
  assert.equal(pteBits(env, addr) & (PTE_WRITE | PTE_DIRTY), 0);
  assert.equal(pteBits(env, priv), privBits, 'the private PTE is untouched');
  assert.equal(step(k, null, 'mkclean', () => folio_mkclean(k, f, p)), 0, 'nothing left to clean');
  assert.equal(step(k, null, 'clear', () => folio_clear_dirty_for_io(k, f, p)), false, 'a clean folio is not written');
});

// ext4_writepages() with WB_SYNC_NONE skips a folio already under writeback; WB_SYNC_ALL
// (filemap_write_and_wait_range(), fsync) waits for it and writes the redirtied folio again.
test('the flusher skips a folio under writeback; data-integrity writeback waits and writes it again', () => {
  const env = fileSetup({ pages: 1, value: 1 });
  const { k, t, f, addr } = env;
  step(k, null, 'writeback', () => writeback_file(k, f, 'WB_SYNC_NONE'));
  write(k, t, addr, PAGE_SIZE, 2); // faults (the PTE is read-only), page_mkwrite redirties it
  const p = cached(f, 0);
  assert.ok(k.mem.test(p, PG_dirty) && k.mem.test(p, PG_writeback), 'dirty while under writeback');
  assert.equal(step(k, null, 'writeback', () => writeback_file(k, f, 'WB_SYNC_NONE')), 0);
  step(k, null, 'sync', () => filemap_write_and_wait_range(k, f, 0, PAGE_SIZE - 1));
  assert.equal(f.disk.get(0), 2);
  assert.ok(!k.mem.test(p, PG_dirty) && !k.mem.test(p, PG_writeback));
  assert.equal(inFlight(k), 0);
});

// Spec R101: writeback cleans and writes a pinned page like any other; the pin is untouched, and
// the device's later write stays in the page cache until the holder dirties the page on unpin.
for (const profile of ['5.7', 'current']) {
  test(`R101 [${profile}] writeback cleans a pinned page; unpin_user_pages_dirty_lock() makes the next writeback write the device's data`, () => {
    const env = fileSetup({ profile, pages: 1, value: 1 });
    const { k, t, f, addr } = env;
    const P = pagesArray(1);
    assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, addr, 1, FOLL_WRITE, P)), 1);
    const before = ref(k, P[0]);
    step(k, null, 'writeback', () => { writeback_file(k, f, 'WB_SYNC_NONE'); filemap_fdatawait_range(k, f); });
    assert.equal(f.disk.get(0), 1);
    assert.ok(!k.mem.test(P[0], PG_dirty));
    assert.ok(folio_maybe_dma_pinned(k, P[0]));
    assert.equal(ref(k, P[0]), before);
    assert.equal(pteBits(env, addr) & PTE_WRITE, 0);
    k.mem.setContent(P[0], 2); // the device writes: no fault, no page_mkwrite
    assert.equal(step(k, null, 'writeback', () => writeback_file(k, f, 'WB_SYNC_NONE')), 0, 'the page is clean');
    step(k, null, 'unpin', () => unpin_user_pages_dirty_lock(k, P, 1, true));
    step(k, null, 'writeback', () => { writeback_file(k, f, 'WB_SYNC_NONE'); filemap_fdatawait_range(k, f); });
    assert.equal(f.disk.get(0), 2);
  });
}

/** A cached ext4 page that never went through ->page_mkwrite (read fault only): no buffers. */
function bufferlessDirty(profile: string) {
  const env = fileSetup({ profile, pages: 1, value: null });
  const { k, t, f, addr } = env;
  assert.equal(read(k, t, addr), 0);
  const p = cached(f, 0);
  assert.ok(!k.mem.test(p, PG_private));
  const w = warnsDuring(k, () => step(k, null, 'set_page_dirty_lock', () => set_page_dirty_lock(k, p)));
  return { ...env, p, warns: w.warns };
}

// fs/ext4/inode.c ext4_dirty_folio() (ext4_set_page_dirty() before v5.18): WARN_ON_ONCE(!folio_buffers())
// since 6dcc693bc57f (v4.10) — in every profile; block_dirty_folio() still dirties the folio.
for (const profile of ['5.1', 'current']) {
  test(`[${profile}] ext4_dirty_folio() warns when a page without buffers is dirtied, and dirties it`, () => {
    const { k, p, warns } = bufferlessDirty(profile);
    assert.equal(warns.length, 1);
    assert.match(warns[0], /^fs\/ext4\/inode\.c:ext4_dirty_folio:!folio_buffers/);
    assert.ok(k.mem.test(p, PG_dirty));
    assert.ok(!k.mem.test(p, PG_private), 'dirtying never creates buffers');
  });
}

// mm/page-writeback.c folio_mark_dirty(): a folio with no mapping (truncated while held) goes to
// noop_dirty_folio(): the flag only, ext4 is not involved (spec R109). tmpfs has no buffers to miss.
test('no ext4 warning for a truncated (orphan) folio or a tmpfs folio', () => {
  const env = fileSetup({ pages: 1, value: null });
  const { k, t, f, addr } = env;
  read(k, t, addr);
  const p = cached(f, 0);
  k.mem.refAdd(p, 1); // someone holds it
  step(k, null, 'truncate', () => truncate_setsize(k, f, 0));
  assert.equal(k.mem.mappingOf(p), 0);
  const w = warnsDuring(k, () => step(k, null, 'set_page_dirty_lock', () => set_page_dirty_lock(k, p)));
  assert.deepEqual(w.warns, []);
  assert.ok(k.mem.test(p, PG_dirty));
  k.mem.putRefs(p, 1);
  const s = fileSetup({ pages: 1, value: 3, fs: 'tmpfs' });
  const w2 = warnsDuring(s.k, () => step(s.k, null, 'set_page_dirty_lock', () => set_page_dirty_lock(s.k, cached(s.f, 0))));
  assert.deepEqual(w2.warns, []);
});

// fs/ext4/inode.c mpage_prepare_extent_to_map(): page_buffers() → BUG_ON(!PagePrivate) before
// v5.18 (spec R112 step 8); since cc5095747edf (v5.18) a warning, the dirty flag cleared and the
// data not written (R110).
test('R112 step 8 [5.1] writeback of a dirty ext4 page without buffers: kernel BUG at fs/ext4/inode.c', () => {
  const { k, f } = bufferlessDirty('5.1');
  const bug = expectBug(k, null, 'writeback', () => writeback_file(k, f, 'WB_SYNC_NONE'));
  assert.match(bug.message, /^kernel BUG at fs\/ext4\/inode\.c: mpage_prepare_extent_to_map\(\)/);
});

for (const profile of ['5.19', 'current']) {
  test(`R110 [${profile}] writeback of a dirty ext4 page without buffers warns, cleans it and writes nothing`, () => {
    const { k, f, p } = bufferlessDirty(profile);
    k.mem.setContent(p, 9);
    const w = warnsDuring(k, () => step(k, null, 'writeback', () => writeback_file(k, f, 'WB_SYNC_ALL')));
    assert.equal(w.r, 0);
    assert.equal(w.warns.length, 1);
    assert.match(w.warns[0], /mpage_prepare_extent_to_map:no-buffers: .*page 0 does not have buffers attached/);
    assert.ok(!k.mem.test(p, PG_dirty));
    assert.equal(inFlight(k), 0);
    assert.equal(f.disk.get(0), undefined, 'the data never reached the disk');
  });
}

// mm/page-writeback.c: shmem's mapping cannot write back (mapping_can_writeback() is false).
test('tmpfs pages are never written back; fsync returns 0', () => {
  const { k, t, f } = fileSetup({ pages: 2, value: 5, fs: 'tmpfs' });
  assert.equal(step(k, null, 'writeback', () => writeback_file(k, f, 'WB_SYNC_ALL')), 0);
  const fd = step(k, t, 'open', () => do_sys_open(k, t, 'data', O_RDWR));
  assert.equal(step(k, t, 'fsync', () => do_fsync(k, t, fd)), 0);
  assert.equal(f.disk.size, 0);
  assert.equal(inFlight(k), 0);
});

// fs/sync.c do_fsync() → file_write_and_wait_range(): WB_SYNC_ALL and wait — nothing in flight after.
test('fsync writes every dirty page and waits for the I/O', () => {
  const { k, t, f } = fileSetup({ pages: 3, value: 4 });
  const fd = step(k, t, 'open', () => do_sys_open(k, t, 'data', O_RDWR));
  assert.equal(step(k, t, 'fsync', () => do_fsync(k, t, fd)), 0);
  assert.deepEqual([...f.disk.entries()].sort(), [[0, 4], [1, 4], [2, 4]]);
  assert.equal(inFlight(k), 0);
  assert.equal(f.delalloc.size, 0);
  for (const p of f.cache.values()) assert.ok(!k.mem.test(p, PG_dirty) && !k.mem.test(p, PG_writeback));
});
