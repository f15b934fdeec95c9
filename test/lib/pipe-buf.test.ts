// Pipe buffers (include/linux/pipe_fs_i.h, fs/pipe.c, fs/splice.c) and the ITER_PIPE race of
// spec R116: every buffer release is a put_page(), so a page whose only owner is the pipe is freed
// when the pipe lets it go — even while a device is still writing into it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bio_alloc, bio_iov_iter_get_pages, bio_release_pages } from '../../src/block/bio.js';
import { blk_complete_one, devState, submit_bio } from '../../src/block/blkdev.js';
import { import_ubuf, iov_iter_get_pages2, iov_iter_pipe, iov_iter_revert } from '../../src/lib/iov-iter.js';
import { newPipe, pipeAppendPage, pipeBuffers, pipeBytes, free_pipe_info, pipe_truncate } from '../../src/lib/pipe-buf.js';
import { put_page } from '../../src/gup/unpin.js';
import { PAGE_SIZE } from '../../src/include/uapi.js';
import { GFP_KERNEL } from '../../src/mm/memory.js';
import { userRead } from '../../src/vm/access.js';
import { kernel, mmap, pfnAt, ref, setup, step, warnsDuring, write, blockDev } from '../helpers.js';
import { createTask } from '../../src/vm/mm.js';
import { pipeRead } from '../../src/fs/pipe.js';
import { PIPE_DEF_BUFFERS } from '../../src/include/linux/pipe_fs_i.js';

const P = PAGE_SIZE;

// include/linux/pipe_fs_i.h pipe_full(): at most max_usage (PIPE_DEF_BUFFERS = 16) buffers.
test('a pipe takes 16 buffers; the 17th append is refused and the caller keeps its reference', () => {
  const k = kernel();
  const pipe = newPipe(k);
  const pages: number[] = [];
  for (let n = 0; n < PIPE_DEF_BUFFERS; n++) {
    const p = k.mem.allocFolio(GFP_KERNEL, 0);
    pages.push(p);
    assert.equal(pipeAppendPage(pipe, p, 0, 100, 'anon'), true);
  }
  const extra = k.mem.allocFolio(GFP_KERNEL, 0);
  assert.equal(pipeAppendPage(pipe, extra, 0, 100, 'anon'), false);
  assert.equal(ref(k, extra), 1);
  assert.equal(pipeBuffers(pipe).length, 16);
  assert.equal(pipeBytes(pipe), 1600);
  free_pipe_info(pipe);
  for (const p of pages) assert.ok(k.mem.isFree(p), 'free_pipe_info(): every buffer is put');
});

// fs/splice.c iter_to_pipe() (vmsplice): iov_iter_get_pages2() takes a GET per user page and hands
// it to a user_page_pipe_buf_ops buffer (spec R80); fs/pipe.c pipe_read() copies out with
// copy_page_to_iter() and releases a buffer read to its end.
test('vmsplice-style buffers hold a GET on the user page until a read consumes them', () => {
  const { k, t, addr } = setup({ pages: 2, value: 11 });
  write(k, t, addr + P, P, 12);
  const pipe = newPipe(k);
  const src = import_ubuf('ITER_SOURCE', t.mm, addr, 2 * P, k);
  const g = step(k, t, 'get_pages', () => iov_iter_get_pages2(k, src, 2 * P, 16));
  assert.equal(g.bytes, 2 * P);
  for (const p of g.pages) assert.equal(pipeAppendPage(pipe, p, 0, P, 'user'), true);
  for (const p of g.pages) assert.equal(ref(k, p), 2, 'mapped + the pipe buffer\'s GET');

  const reader = createTask(k, 'reader');
  const dst = mmap(k, reader, 2 * P);
  const to = import_ubuf('ITER_DEST', reader.mm, dst, P + 100, k);
  assert.equal(step(k, reader, 'read', () => pipeRead(pipe, to)), P + 100);
  assert.equal(userRead(k, reader.mm, dst), 11);
  assert.equal(userRead(k, reader.mm, dst + P), 12);
  assert.equal(ref(k, g.pages[0]), 1, 'the first buffer was read to its end: released');
  assert.equal(ref(k, g.pages[1]), 2, 'the second is partly read: still held');
  assert.deepEqual(pipeBuffers(pipe).map((b) => [b.offset, b.len]), [[100, P - 100]]);
  assert.equal(pfnAt(t, addr + P), g.pages[1]);
  const rest = import_ubuf('ITER_DEST', reader.mm, dst, P, k);
  assert.equal(step(k, reader, 'read', () => pipeRead(pipe, rest)), P - 100);
  assert.equal(ref(k, g.pages[1]), 1);
  assert.equal(step(k, reader, 'read', () => pipeRead(pipe, rest)), 0, 'empty pipe');
});

// fs/pipe.c pipe_read(): nothing copied because the destination faults → -EFAULT, the buffer stays.
test('a read into unmapped memory fails with -EFAULT and consumes nothing', () => {
  const k = kernel();
  const t = createTask(k, 't');
  const pipe = newPipe(k);
  const p = k.mem.allocFolio(GFP_KERNEL, 0);
  pipeAppendPage(pipe, p, 0, 100, 'anon');
  const to = import_ubuf('ITER_DEST', t.mm, 0x100000, 100, k);
  assert.equal(step(k, t, 'read', () => pipeRead(pipe, to)), -14);
  assert.equal(pipeBuffers(pipe).length, 1);
});

// include/linux/pipe_fs_i.h pipe_discard_from() (≤ v6.0: lib/iov_iter.c pipe_truncate()): the
// buffers from a slot to the head are released newest first; pages only the pipe held are freed.
test('pipe_truncate releases the buffers past a slot and frees pages only the pipe held', () => {
  const k = kernel('6.2');
  const pipe = newPipe(k);
  const i = iov_iter_pipe('ITER_DEST', pipe, 4 * P);
  const g = step(k, null, 'get_pages', () => iov_iter_get_pages2(k, i, 4 * P, 16));
  step(k, null, 'put', () => { for (const p of g.pages.slice(0, 3)) put_page(k, p); }); // the caller is done with 3 of them
  assert.equal(step(k, null, 'truncate', () => pipe_truncate(pipe, 1)), 3);
  assert.deepEqual(pipeBuffers(pipe).map((b) => b.pfn), [g.pages[0]]);
  assert.equal(k.mem.isFree(g.pages[1]), true);
  assert.equal(k.mem.isFree(g.pages[2]), true);
  assert.equal(ref(k, g.pages[3]), 1, 'the caller still holds the fourth');
});

// free_pipe_info() at the last close; the model runs it at teardown for pipes still open.
test('a pipe still open at teardown releases its buffers', () => {
  const k = kernel();
  const pipe = newPipe(k);
  const p = k.mem.allocFolio(GFP_KERNEL, 0);
  pipeAppendPage(pipe, p, 0, 10, 'anon');
  k.runTeardownHooks();
  assert.ok(k.mem.isFree(p));
  assert.ok(pipe.freed);
});

// Spec R116 (seed 003): splice() from an O_DIRECT file builds an ITER_PIPE destination; the bio is
// built over pages appended to the pipe; a short read reverts the iterator, which releases the
// pipe buffers past the new position (lib/iov_iter.c iov_iter_revert()). Whether the pages survive
// the DMA depends on who else holds them:
// - ≤ v6.4 (6.2): iov_iter_get_pages2() gave the bio a GET of its own (pipe_get_pages());
// - the seed 001 RFC: iov_iter_pin_pages() pinned them (pin_page());
// - block-pinning-dev: iov_iter_extract_pages() took nothing (iov_iter_extract_pipe_pages()), the
//   bio held nothing (no BIO_PAGE_PINNED) — the revert frees the page and the device writes into it.
for (const [profile, uaf] of [['6.2', false], ['rfc-2020-bio-pin', false], ['block-pinning-dev', true]] as const) {
  test(`[${profile}] a short DIO read into ITER_PIPE ${uaf ? 'frees a page under DMA (R116)' : 'keeps its pages until the I/O completes'}`, () => {
    const k = kernel(profile);
    const pipe = newPipe(k);
    const iter = iov_iter_pipe('ITER_DEST', pipe, 2 * P);
    const bio = bio_alloc(k, 'REQ_OP_READ', 4, { file: blockDev([[0, 70], [1, 71]]), index: 0 });
    assert.equal(step(k, null, 'bio_iov_iter_get_pages', () => bio_iov_iter_get_pages(k, bio, iter)), 0);
    assert.equal(bio.size, 2 * P);
    const pages = pipeBuffers(pipe).map((b) => b.pfn);
    bio.endIo = (kk, b) => bio_release_pages(kk, b, false); // iomap_dio_bio_end_io(): not user-backed, no dirtying
    step(k, null, 'submit', () => submit_bio(k, bio));
    // The file ended after the first page: the DIO code reverts the unread part.
    step(k, null, 'revert', () => iov_iter_revert(k, iter, P));
    assert.equal(pipeBuffers(pipe).length, 1);
    assert.equal(k.mem.isFree(pages[1]), uaf);
    const { warns } = warnsDuring(k, () => step(k, null, 'complete', () => blk_complete_one(k)));
    assert.equal(devState(k).dmaIntoFreed.length, uaf ? 1 : 0);
    assert.equal(warns.some((w) => w.startsWith('pinlab:dma-use-after-free')), uaf);
    if (!uaf) {
      assert.ok(k.mem.isFree(pages[1]), 'the bio\'s release dropped the last reference after the DMA');
      assert.equal(k.mem.contentOf(pages[0]), 70, 'the data reached the page still in the pipe');
      assert.equal(ref(k, pages[0]), 1, 'only the pipe holds it now');
    }
  });
}
