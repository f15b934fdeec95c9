// block/bio.c: bvec merging, the cleanup modes and what release does with them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bio_add_folio, bio_add_page, bio_alloc, bio_check_pages_dirty, bio_dirty_fn, bio_iov_iter_get_pages, bio_release_pages, bioState,
} from '../../src/block/bio.js';
import { import_ubuf, iov_iter_kvec } from '../../src/lib/iov-iter.js';
import { GFP_KERNEL } from '../../src/mm/memory.js';
import { blk_complete_one, devState, submit_bio, submit_bio_wait } from '../../src/block/blkdev.js';
import { pin_user_pages } from '../../src/gup/api.js';
import { PAGE_SIZE } from '../../src/include/uapi.js';
import { PG_dirty } from '../../src/mm/page-flags.js';
import { do_munmap } from '../../src/vm/mmap.js';
import { kernel, mmap, step, write, blockDev } from '../helpers.js';
import { FOLL_WRITE } from '../../src/include/linux/mm.js';
import { createTask } from '../../src/vm/mm.js';

function pinned(profile = 'current', n = 2) {
  const k = kernel(profile);
  const t = createTask(k, 't');
  const addr = mmap(k, t, n * PAGE_SIZE);
  write(k, t, addr, n * PAGE_SIZE, 1);
  const pages = new Array<number>(n).fill(-1);
  assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, addr, n, FOLL_WRITE, pages)), n);
  return { k, t, addr, pages };
}

// block/bio.c bvec_try_merge_page(): merge only where the new data starts exactly where the last bvec ends physically.
test('bio_add_page merges physically contiguous data, appends otherwise, and returns 0 when full', () => {
  const { k, pages } = pinned();
  const [a, b] = pages;
  assert.equal(b, a + 1, 'the buddy allocator hands out consecutive pages here');
  const bio = bio_alloc(k, 'REQ_OP_WRITE', 2, null);
  assert.equal(bio_add_page(k, bio, a, 512, 0), 512);
  assert.equal(bio_add_page(k, bio, a, 3584, 512), 3584); // same page, contiguous → merged
  assert.equal(bio_add_page(k, bio, b, 4096, 0), 4096); // next physical page → a multi-page bvec
  assert.equal(bio.vecs.length, 1);
  assert.equal(bio.vecs[0].len, 8192);
  assert.equal(bio_add_page(k, bio, a, 512, 0), 512); // not contiguous → a second bvec
  assert.equal(bio.vecs.length, 2);
  assert.equal(bio_add_page(k, bio, b, 512, 2048), 0, 'no free bvec: the caller starts another bio');
});

// block/bio.c __bio_release_pages(): one pin per page a segment touches; the ~v6.8 fix
// ("block: Fix page refcounts for unaligned buffers") — before it, an unaligned segment spanning two
// pages released one pin and leaked the other (spec R85).
for (const [profile, released] of [['current', 2], ['6.5', 1]] as const) {
  test(`[${profile}] releasing an unaligned 4096-byte segment spanning two pages drops ${released} pin(s)`, () => {
    const { k, pages } = pinned(profile);
    const [a, b] = pages;
    const bio = bio_alloc(k, 'REQ_OP_WRITE', 4, null);
    bio.pinned = true;
    bio.addVec({ pfn: a, offset: 512, len: 4096 });
    const before = k.vmstat.get('nr_foll_pin_released');
    step(k, null, 'release', () => bio_release_pages(k, bio, false));
    assert.equal(k.vmstat.get('nr_foll_pin_released') - before, released);
    assert.equal(k.mem.ref(a), 1);
    assert.equal(k.mem.ref(b), released === 2 ? 1 : 1025);
  });
}

// block/bio.c bio_check_pages_dirty() / bio_dirty_fn(): a folio cleaned during the read defers the
// release to the worker, which re-dirties it first (spec R92).
test('bio_check_pages_dirty defers to bio_dirty_fn when writeback cleaned a page during the read', () => {
  const { k, pages } = pinned();
  const bio = bio_alloc(k, 'REQ_OP_READ', 4, null);
  bio.pinned = true;
  bio_add_page(k, bio, pages[0], PAGE_SIZE, 0);
  k.mem.set(pages[0], PG_dirty);
  k.mem.clear(pages[0], PG_dirty); // writeback cleaned it meanwhile
  step(k, null, 'end_io', () => bio_check_pages_dirty(k, bio));
  assert.equal(bioState(k).peekLength, 1);
  assert.equal(k.mem.ref(pages[0]), 1025, 'still pinned until the worker runs');
  assert.equal(step(k, null, 'bio_dirty_fn', () => bio_dirty_fn(k)), 1);
  assert.equal(k.mem.ref(pages[0]), 1);
  assert.ok(k.mem.test(pages[0], PG_dirty));
});

// A bio that holds no reference on its pages (the seed 003 ITER_PIPE case): the page can be freed
// while the I/O is in flight and the device then writes into a free page.
test('the device reports DMA into a page freed while its bio was in flight', () => {
  const { k, t, addr, pages } = pinned('current', 1);
  const bio = bio_alloc(k, 'REQ_OP_READ', 1, { file: blockDev([[0, 77]]), index: 0 });
  bio_add_page(k, bio, pages[0], PAGE_SIZE, 0); // no cleanup flag: the bio owns no reference
  step(k, t, 'submit', () => submit_bio(k, bio));
  step(k, t, 'unpin', () => {
    k.mem.putRefs(pages[0], 1024);
    do_munmap(k, t.mm, addr, PAGE_SIZE);
  });
  assert.ok(k.mem.isFree(pages[0]));
  step(k, null, 'complete', () => blk_complete_one(k));
  assert.equal(devState(k).dmaIntoFreed.length, 1);
  assert.ok(k.warnings.list.some((w) => w.id === 'pinlab:dma-use-after-free'));
});

// block/blk-merge.c bio_split_rw() on current: a misaligned segment fails the bio at submission;
// submit_bio_wait() then returns that error instead of waiting for a completion that never comes.
test('[current] submit_bio_wait() returns -EINVAL for a bio failed at submission', () => {
  const { k, pages } = pinned('current', 1);
  const bio = bio_alloc(k, 'REQ_OP_READ', 1, { file: blockDev(), index: 0 });
  bio.pinned = true;
  bio_add_page(k, bio, pages[0], 100, 1);
  let ended = 0;
  bio.endIo = (kk, b) => { ended++; bio_release_pages(kk, b, false); };
  assert.equal(step(k, null, 'submit_bio_wait', () => submit_bio_wait(k, bio)), -22);
  assert.equal(ended, 1);
  assert.equal(k.mem.ref(pages[0]), 1, 'the failed bio released its pin');
});

// Spec R90: a bio has one cleanup mode; user pages (pinned) cannot join kernel pages (no reference)
// in the same bio — the model refuses the call that would mix them (pinlab:bio-mixed-cleanup).
test('[current] a bio of kernel pages refuses user pages that would be pinned', () => {
  const { k, t, addr } = pinned('current', 2);
  const bio = bio_alloc(k, 'REQ_OP_READ', 8, null);
  const kpage = k.mem.allocFolio(GFP_KERNEL, 0);
  assert.equal(step(k, null, 'bvec', () => bio_iov_iter_get_pages(k, bio, iov_iter_kvec('ITER_DEST', [{ pfn: kpage, offset: 0, len: PAGE_SIZE }], PAGE_SIZE))), 0);
  assert.equal(bio.pinned, false);
  const before = k.vmstat.get('nr_foll_pin_acquired');
  assert.equal(step(k, t, 'user', () => bio_iov_iter_get_pages(k, bio, import_ubuf('ITER_DEST', t.mm, addr, PAGE_SIZE, k))), -22);
  assert.equal(k.vmstat.get('nr_foll_pin_acquired'), before, 'nothing was pinned');
  assert.ok(k.warnings.list.some((w) => w.id === 'pinlab:bio-mixed-cleanup'));
  k.mem.putRefs(kpage, 1);
});

// block/bio.c bio_add_folio(): an offset within the folio selects the page.
test('bio_add_folio() adds at an offset inside a large folio', () => {
  const { k } = pinned('current', 1);
  const head = k.mem.allocFolio(GFP_KERNEL, 2);
  const bio = bio_alloc(k, 'REQ_OP_WRITE', 2, null);
  assert.ok(bio_add_folio(k, bio, head, 512, 2 * PAGE_SIZE + 512));
  assert.deepEqual(bio.vecs[0], { pfn: head + 2, offset: 512, len: 512 });
  k.mem.putRefs(head, 1);
});
