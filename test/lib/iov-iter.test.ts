// lib/iov_iter.c and include/linux/uio.h: iterator bookkeeping, page extraction per type and per
// profile, and content copies. Expected values come from the kernel functions named above each test.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KernelBug, ApiUnavailable } from '../../src/check/bug.js';
import { File } from '../../src/fs/file.js';
import { unpin_user_pages } from '../../src/gup/unpin.js';
import { EFAULT, EINVAL, EREMOTEIO, PAGE_SIZE, PROT_READ, TASK_SIZE_MAX } from '../../src/include/uapi.js';
import { GFP_KERNEL } from '../../src/mm/memory.js';
import { PG_p2pdma } from '../../src/mm/page-flags.js';
import {
  ITER_ALLOW_P2PDMA, MAX_RW_COUNT, copy_page_from_iter, copy_page_to_iter, copy_token_to_iter, import_iovec,
  import_iovec_checked, import_ubuf, iov_iter_advance, iov_iter_bvec, iov_iter_discard, iov_iter_extract_pages,
  iov_iter_extract_will_pin, iov_iter_folio_queue, iov_iter_get_pages2, iov_iter_kvec, iov_iter_pin_pages,
  iov_iter_pipe, iov_iter_reexpand, iov_iter_revert, iov_iter_truncate, iov_iter_xarray, iov_iter_zero,
  user_backed_iter, type IovIter,
} from '../../src/lib/iov-iter.js';
import { newPipe, pipeBuffers } from '../../src/lib/pipe-buf.js';
import { userRead } from '../../src/vm/access.js';
import { counters, delta, kernel, pfnAt, ref, setup, step, warnsDuring } from '../helpers.js';
import type { Kernel } from '../../src/kernel.js';
import { filemap_fault } from '../../src/mm/filemap.js';

const P = PAGE_SIZE;

function pos(i: IovIter): { count: number; seg: number; off: number } {
  return { count: i.count, seg: i.seg, off: i.iovOffset };
}

/** n kernel pages (GFP_KERNEL), physically consecutive when the allocator gives them so. */
function kpages(k: Kernel, n: number): number[] {
  return Array.from({ length: n }, () => {
    const p = k.mem.allocFolio(GFP_KERNEL, 0);
    assert.ok(p >= 0);
    return p;
  });
}

// ---- bookkeeping ----------------------------------------------------------------------------------

// lib/iov_iter.c iov_iter_iovec_advance(): whole segments are consumed; the exact end of a segment
// is the start of the next; zero-length segments are stepped over; advance is clamped to count.
test('advance over an IOVEC: segment ends move to the next segment, empty segments are skipped, count clamps', () => {
  const { t } = setup();
  const i = import_iovec('ITER_SOURCE', t.mm, [{ base: 0x10000, len: 100 }, { base: 0x20000, len: 0 }, { base: 0x30000, len: 4096 }, { base: 0x40000, len: 50 }]);
  assert.equal(i.type, 'ITER_IOVEC');
  assert.equal(i.count, 4246);
  iov_iter_advance(i, 100);
  assert.deepEqual(pos(i), { count: 4146, seg: 2, off: 0 }, 'past the end of iov[0] and over the empty iov[1]');
  iov_iter_advance(i, 4000);
  assert.deepEqual(pos(i), { count: 146, seg: 2, off: 4000 });
  iov_iter_advance(i, 1 << 20);
  assert.deepEqual(pos(i), { count: 0, seg: 4, off: 0 }, 'clamped to count: the end of the array');
});

// lib/iov_iter.c iov_iter_revert(): within the segment only iov_offset moves; beyond it, whole
// segments are stepped back and the position lands `unroll` bytes before the end of one.
test('revert restores count and position exactly, within and across segments', () => {
  const { k, t } = setup();
  const i = import_iovec('ITER_DEST', t.mm, [{ base: 0x10000, len: 100 }, { base: 0x30000, len: 4096 }, { base: 0x40000, len: 50 }]);
  iov_iter_advance(i, 30);
  const saved = pos(i);
  iov_iter_advance(i, 4100);
  assert.deepEqual(pos(i), { count: 116, seg: 1, off: 4030 });
  iov_iter_revert(k, i, 4100);
  assert.deepEqual(pos(i), saved);
  iov_iter_advance(i, 70 + 4096 + 10); // (seg 2, 10)
  iov_iter_revert(k, i, 10);
  assert.deepEqual(pos(i), { count: 50, seg: 2, off: 0 }, 'unroll <= iov_offset: only the offset moves');
  iov_iter_revert(k, i, 4096);
  assert.deepEqual(pos(i), { count: 4146, seg: 1, off: 0 });
  iov_iter_revert(k, i, 0);
  assert.deepEqual(pos(i), { count: 4146, seg: 1, off: 0 }, 'revert(0) is a no-op');
});

// lib/iov_iter.c iov_iter_revert(): the same walk for ITER_BVEC and ITER_KVEC ("same logics for iovec and kvec").
test('advance and revert over BVEC and KVEC segments', () => {
  const k = kernel();
  const pages = kpages(k, 3);
  for (const mk of [(s: Array<{ pfn: number; offset: number; len: number }>) => iov_iter_bvec('ITER_SOURCE', s, 5000),
    (s: Array<{ pfn: number; offset: number; len: number }>) => iov_iter_kvec('ITER_SOURCE', s, 5000)]) {
    const i = mk([{ pfn: pages[0], offset: 512, len: 1000 }, { pfn: pages[1], offset: 0, len: 4000 }]);
    iov_iter_advance(i, 1500);
    assert.deepEqual(pos(i), { count: 3500, seg: 1, off: 500 });
    iov_iter_revert(k, i, 700);
    assert.deepEqual(pos(i), { count: 4200, seg: 0, off: 800 });
  }
});

// lib/iov_iter.c iov_iter_revert(): ITER_UBUF and ITER_XARRAY BUG() when reverted before their start.
test('reverting a UBUF before its start is a BUG', () => {
  const { k, t } = setup();
  const i = import_ubuf('ITER_DEST', t.mm, 0x10000, 8192, k);
  iov_iter_advance(i, 100);
  iov_iter_revert(k, i, 100);
  assert.deepEqual(pos(i), { count: 8192, seg: 0, off: 0 });
  assert.throws(() => step(k, t, 'revert', () => iov_iter_revert(k, i, 1)), KernelBug);
});

// lib/iov_iter.c iov_iter_revert(): WARN_ON(unroll > MAX_RW_COUNT) and nothing changes; ITER_DISCARD only counts.
test('revert of more than MAX_RW_COUNT WARNs and does nothing; DISCARD only moves count', () => {
  const k = kernel();
  const d = iov_iter_discard('ITER_DEST', 1000);
  iov_iter_advance(d, 300);
  assert.equal(d.count, 700);
  const { warns } = warnsDuring(k, () => iov_iter_revert(k, d, MAX_RW_COUNT + 1));
  assert.equal(warns.length, 1);
  assert.equal(d.count, 700);
  iov_iter_revert(k, d, 300);
  assert.equal(d.count, 1000);
  assert.throws(() => iov_iter_discard('ITER_SOURCE', 1), /BUG_ON/);
});

// include/linux/uio.h iov_iter_truncate() / iov_iter_reexpand(): truncate only shrinks.
test('truncate only shrinks count; reexpand restores it', () => {
  const i = iov_iter_discard('ITER_DEST', 1000);
  iov_iter_truncate(i, 5000);
  assert.equal(i.count, 1000);
  iov_iter_truncate(i, 10);
  assert.equal(i.count, 10);
  iov_iter_reexpand(i, 1000);
  assert.equal(i.count, 1000);
});

// lib/iov_iter.c iov_iter_folioq_advance() / iov_iter_folioq_revert() (v6.12).
test('[current] FOLIOQ advance and revert move between folios; before v6.12 the type does not exist', () => {
  const k = kernel();
  const f = kpages(k, 2);
  const i = iov_iter_folio_queue(k, 'ITER_SOURCE', f, 0, 100, 8000);
  iov_iter_advance(i, 5000);
  assert.deepEqual(pos(i), { count: 3000, seg: 1, off: 1004 });
  iov_iter_revert(k, i, 2000);
  assert.deepEqual(pos(i), { count: 5000, seg: 0, off: 3100 });
  const old = kernel('6.5');
  assert.throws(() => iov_iter_folio_queue(old, 'ITER_SOURCE', kpages(old, 1), 0, 0, 10), ApiUnavailable);
});

// ---- constructors per profile ---------------------------------------------------------------------

// include/linux/uio.h iov_iter_ubuf() (v6.0, ITER_UBUF); before, import_single_range() built a
// one-element ITER_IOVEC. lib/iov_iter.c __import_iovec(): one segment → ITER_UBUF (~v6.4, spec R77).
for (const [profile, ubuf, single] of [['5.19', 'ITER_IOVEC', 'ITER_IOVEC'], ['6.2', 'ITER_UBUF', 'ITER_IOVEC'],
  ['6.5', 'ITER_UBUF', 'ITER_UBUF'], ['current', 'ITER_UBUF', 'ITER_UBUF']] as const) {
  test(`[${profile}] read(2)'s buffer is ${ubuf}; a one-segment readv() vector is ${single}`, () => {
    const { k, t } = setup({ profile });
    const a = import_ubuf('ITER_DEST', t.mm, 0x10000, 100, k);
    assert.equal(a.type, ubuf);
    assert.deepEqual(a.iov, [{ base: 0x10000, len: 100 }]);
    assert.ok(user_backed_iter(a));
    const b = import_iovec('ITER_DEST', t.mm, [{ base: 0x10000, len: 100 }], k);
    assert.equal(b.type, single);
    assert.equal(b.count, 100);
  });
}

// lib/iov_iter.c __import_iovec(): > UIO_MAXIOV → -EINVAL; !access_ok() → -EFAULT; lengths clamped to MAX_RW_COUNT in total.
test('import_iovec: -EINVAL past UIO_MAXIOV, -EFAULT past TASK_SIZE_MAX, total clamped to MAX_RW_COUNT', () => {
  const { k, t } = setup();
  assert.equal(import_iovec_checked('ITER_DEST', t.mm, new Array(1025).fill({ base: 0x10000, len: 1 }), k), -EINVAL);
  assert.equal(import_iovec_checked('ITER_DEST', t.mm, [{ base: 0x10000, len: 1 }, { base: TASK_SIZE_MAX, len: 1 }], k), -EFAULT);
  const i = import_iovec('ITER_DEST', t.mm, [{ base: 0x10000, len: MAX_RW_COUNT - 10 }, { base: 0x20000, len: 100 }], k);
  assert.equal(i.count, MAX_RW_COUNT);
  assert.equal(i.iov[1].len, 10);
});

// ---- iov_iter_extract_pages() ----------------------------------------------------------------------

// lib/iov_iter.c iov_iter_extract_pages(): added in v6.3 (spec R78, §16).
for (const profile of ['5.7', '6.2'] as const) {
  test(`[${profile}] iov_iter_extract_pages() does not exist`, () => {
    const { k, t, addr } = setup({ profile });
    const i = import_ubuf('ITER_SOURCE', t.mm, addr, P, k);
    assert.throws(() => iov_iter_extract_pages(k, i, P, 1, 0), (e: unknown) =>
      e instanceof ApiUnavailable && /does not exist in profile/.test(e.message));
  });
}

// lib/iov_iter.c iov_iter_extract_user_pages(): one segment per call (first_iovec_segment() caps
// maxsize to it), pin_user_pages_fast(), the iterator advanced by the bytes returned (spec R78).
test('extracting from a 3-segment IOVEC stops at each segment boundary and pins exactly that segment', () => {
  const { k, t, addr } = setup({ pages: 8 });
  const i = import_iovec('ITER_SOURCE', t.mm, [{ base: addr, len: 2 * P }, { base: addr + 3 * P, len: 3 * P }, { base: addr + 7 * P, len: 100 }], k);
  const want = [[2 * P, 2, addr], [3 * P, 3, addr + 3 * P], [100, 1, addr + 7 * P]] as const;
  for (const [bytes, n, base] of want) {
    const { r, acq } = delta(k, () => step(k, t, 'extract', () => iov_iter_extract_pages(k, i, 1 << 20, 64, 0)));
    assert.equal(r.bytes, bytes);
    assert.equal(r.offset0, 0);
    assert.deepEqual(r.pages, Array.from({ length: n }, (_, j) => pfnAt(t, base + j * P)));
    assert.equal(acq, n, 'one FOLL_PIN per page');
    for (const p of r.pages) assert.equal(ref(k, p), 1 + 1024);
  }
  assert.equal(i.count, 0);
  assert.equal(step(k, t, 'extract', () => iov_iter_extract_pages(k, i, 1 << 20, 64, 0)).bytes, 0, 'nothing left: 0');
});

// lib/iov_iter.c iov_iter_extract_user_pages(): *offset0 = addr % PAGE_SIZE; maxpages caps the pages
// (want_pages_array()), and the bytes are what those pages cover.
test('extract: offset0 is the offset into the first page; maxpages and maxsize cap the result', () => {
  const { k, t, addr } = setup({ pages: 4 });
  const i = import_ubuf('ITER_DEST', t.mm, addr + 1000, 3 * P, k);
  const r = step(k, t, 'extract', () => iov_iter_extract_pages(k, i, 1 << 20, 2, 0));
  assert.equal(r.offset0, 1000);
  assert.equal(r.pages.length, 2);
  assert.equal(r.bytes, 2 * P - 1000);
  assert.deepEqual(pos(i), { count: 3 * P - (2 * P - 1000), seg: 0, off: 2 * P - 1000 });
  const s = step(k, t, 'extract', () => iov_iter_extract_pages(k, i, 10, 8, 0));
  assert.equal(s.bytes, 10);
  assert.equal(s.offset0, 0);
  assert.equal(s.pages.length, 1);
  unpin_user_pages(k, [...r.pages, ...s.pages], 3);
});

// lib/iov_iter.c iov_iter_extract_user_pages(): FOLL_WRITE iff ITER_DEST; mm/gup.c check_vma_flags()
// refuses a write to a read-only mapping (-EFAULT), so only the source iterator can be extracted.
test('ITER_DEST extraction asks for write access: a read-only buffer fails with -EFAULT, ITER_SOURCE pins it', () => {
  const { k, t, addr } = setup({ prot: PROT_READ, value: null });
  const dst = import_ubuf('ITER_DEST', t.mm, addr, P, k);
  const d = delta(k, () => step(k, t, 'extract', () => iov_iter_extract_pages(k, dst, P, 1, 0)));
  assert.equal(d.r.bytes, -EFAULT);
  assert.equal(d.acq, 0);
  assert.deepEqual(pos(dst), { count: P, seg: 0, off: 0 }, 'a failed extraction does not advance');
  const src = import_ubuf('ITER_SOURCE', t.mm, addr, P, k);
  assert.equal(step(k, t, 'extract', () => iov_iter_extract_pages(k, src, P, 1, 0)).bytes, P);
});

// lib/iov_iter.c iov_iter_extract_user_pages(): a partial pin shortens the byte count to what was pinned.
test('a partial pin returns fewer bytes and advances by only those', () => {
  const { k, t, addr } = setup({ pages: 2 });
  const i = import_ubuf('ITER_SOURCE', t.mm, addr + 512, 4 * P, k); // runs past the 2-page mapping
  const { r, acq } = delta(k, () => step(k, t, 'extract', () => iov_iter_extract_pages(k, i, 4 * P, 8, 0)));
  assert.equal(acq, 2);
  assert.equal(r.pages.length, 2);
  assert.equal(r.bytes, 2 * P - 512);
  assert.equal(i.count, 4 * P - (2 * P - 512));
  const again = delta(k, () => step(k, t, 'extract', () => iov_iter_extract_pages(k, i, 4 * P, 8, 0)));
  assert.equal(again.r.bytes, -EFAULT, 'nothing pinned: the errno');
  assert.equal(again.acq, 0);
});

// lib/iov_iter.c iov_iter_extract_user_pages(): FOLL_NOFAULT when i->nofault; mm/gup.c faultin_page() then refuses.
test('a nofault iterator does not fault pages in', () => {
  const { k, t, addr } = setup({ value: null });
  const i = import_ubuf('ITER_SOURCE', t.mm, addr, P, k);
  i.nofault = true;
  assert.equal(step(k, t, 'extract', () => iov_iter_extract_pages(k, i, P, 1, 0)).bytes, -EFAULT);
  i.nofault = false;
  assert.equal(step(k, t, 'extract', () => iov_iter_extract_pages(k, i, P, 1, 0)).bytes, P);
});

// lib/iov_iter.c iov_iter_extract_user_pages(): ITER_ALLOW_P2PDMA → FOLL_PCI_P2PDMA; mm/gup.c
// try_grab_folio() refuses P2PDMA pages without it (-EREMOTEIO, v6.2+).
test('ITER_ALLOW_P2PDMA lets P2PDMA pages be pinned', () => {
  const { k, t, addr } = setup({ pages: 1 });
  k.mem.set(pfnAt(t, addr), PG_p2pdma);
  const a = import_ubuf('ITER_SOURCE', t.mm, addr, P, k);
  assert.equal(step(k, t, 'extract', () => iov_iter_extract_pages(k, a, P, 1, 0)).bytes, -EREMOTEIO);
  const r = step(k, t, 'extract', () => iov_iter_extract_pages(k, a, P, 1, ITER_ALLOW_P2PDMA));
  assert.equal(r.bytes, P);
});

// spec R82; lib/iov_iter.c iov_iter_revert() only moves the position of a user-backed iterator.
test('reverting after an extraction keeps the pins: the caller must unpin what it does not use', () => {
  const { k, t, addr } = setup({ pages: 2 });
  const i = import_ubuf('ITER_SOURCE', t.mm, addr, 2 * P, k);
  const r = step(k, t, 'extract', () => iov_iter_extract_pages(k, i, 2 * P, 2, 0));
  const before = counters(k);
  step(k, t, 'revert', () => iov_iter_revert(k, i, r.bytes));
  assert.deepEqual(counters(k), before);
  assert.deepEqual(pos(i), { count: 2 * P, seg: 0, off: 0 });
  for (const p of r.pages) assert.equal(ref(k, p), 1 + 1024, 'still pinned');
  unpin_user_pages(k, r.pages, r.pages.length);
});

// lib/iov_iter.c iov_iter_extract_kvec_pages(): virt_to_page() per page, no references (spec R78, R79).
test('KVEC extraction lists the linear-map pages of the current kvec with no reference', () => {
  const k = kernel();
  const [a, b] = kpages(k, 2);
  assert.equal(b, a + 1);
  const i = iov_iter_kvec('ITER_SOURCE', [{ pfn: a, offset: 100, len: P }, { pfn: a, offset: 0, len: 50 }], P + 50);
  const { r, acq } = delta(k, () => iov_iter_extract_pages(k, i, 1 << 20, 16, 0));
  assert.deepEqual(r, { bytes: P, pages: [a, a + 1], offset0: 100 });
  assert.equal(acq, 0);
  assert.equal(ref(k, a), 1);
  assert.equal(ref(k, b), 1);
  assert.equal(iov_iter_extract_will_pin(i), false);
  assert.deepEqual(iov_iter_extract_pages(k, i, 1 << 20, 16, 0), { bytes: 50, pages: [a], offset0: 0 });
});

// lib/iov_iter.c iov_iter_extract_bvec_pages(): v6.3–v6.12 the current bvec only; v6.13 ("don't
// require contiguous pages", Ming Lei) continues across bvecs while each piece ends at a page end and
// the next starts at offset 0 — with the page array sized by want_pages_array(maxsize, iov_offset),
// i.e. from the offset into the bvec, not into the first page, so a bvec starting mid-page gets one
// page fewer than its bytes need. No references either way (spec R78, R79).
test('[6.5] BVEC extraction returns the pages of the current bvec only, with no references', () => {
  const k = kernel('6.5');
  const p = kpages(k, 4);
  const i = iov_iter_bvec('ITER_DEST', [{ pfn: p[0], offset: 2048, len: 2048 }, { pfn: p[2], offset: 0, len: P }], 2048 + P);
  const { r, acq } = delta(k, () => iov_iter_extract_pages(k, i, 1 << 20, 16, 0));
  assert.deepEqual(r, { bytes: 2048, pages: [p[0]], offset0: 2048 });
  assert.equal(acq, 0);
  for (const x of p) assert.equal(ref(k, x), 1);
  assert.deepEqual(pos(i), { count: P, seg: 1, off: 0 });
});

test('[current] BVEC extraction continues over page-aligned bvecs and stops where a hole would open', () => {
  const k = kernel('current');
  const p = kpages(k, 4);
  const bv = [{ pfn: p[0], offset: 2048, len: 2048 }, { pfn: p[2], offset: 0, len: P }, { pfn: p[3], offset: 0, len: 100 },
    { pfn: p[1], offset: 0, len: 10 }];
  const i = iov_iter_bvec('ITER_DEST', bv, 2048 + P + 100 + 10);
  const { r, acq } = delta(k, () => iov_iter_extract_pages(k, i, 1 << 20, 16, 0));
  // want_pages_array(6254 bytes, skip 0) = 2 pages: p[3] does not fit although the data continues.
  assert.deepEqual(r, { bytes: 2048 + P, pages: [p[0], p[2]], offset0: 2048 });
  assert.equal(acq, 0);
  for (const x of p) assert.equal(ref(k, x), 1);
  assert.deepEqual(pos(i), { count: 110, seg: 2, off: 0 });
  // p[3]'s data ends before its page end: the call stops after it.
  assert.deepEqual(iov_iter_extract_pages(k, i, 1 << 20, 16, 0), { bytes: 100, pages: [p[3]], offset0: 0 });
  assert.deepEqual(pos(i), { count: 10, seg: 3, off: 0 });
});

// lib/iov_iter.c iov_iter_extract_xarray_pages(): the page-cache pages from the position, no references.
test('XARRAY extraction lists page-cache pages without taking references; get_pages2 takes one each', () => {
  const k = kernel();
  const f = new File('data', 'ext4', 4 * P);
  const pages = [0, 1, 2].map((x) => filemap_fault(k, f, x).pfn);
  const i = iov_iter_xarray('ITER_SOURCE', f, 100, 3 * P - 100);
  const r = iov_iter_extract_pages(k, i, 1 << 20, 16, 0);
  assert.deepEqual(r, { bytes: 3 * P - 100, pages, offset0: 100 });
  for (const p of pages) assert.equal(ref(k, p), 1, 'only the page cache holds it');
  iov_iter_revert(k, i, 3 * P - 100);
  const g = iov_iter_get_pages2(k, i, 1 << 20, 16);
  assert.deepEqual(g, { bytes: 3 * P - 100, pages, offset0: 100 });
  for (const p of pages) assert.equal(ref(k, p), 2, 'iter_xarray_get_pages(): folio_get()');
  // iter_xarray_get_pages(): nothing cached at the position → 0.
  const hole = iov_iter_xarray('ITER_SOURCE', f, 3 * P, P);
  assert.equal(iov_iter_get_pages2(k, hole, P, 1).bytes, 0);
});

// lib/iov_iter.c iov_iter_extract_folioq_pages() (v6.12): page by page, no references.
test('[current] FOLIOQ extraction walks the folios page by page with no reference', () => {
  const k = kernel();
  const f = kpages(k, 3);
  const i = iov_iter_folio_queue(k, 'ITER_SOURCE', f, 0, 3000, 3 * P - 3000);
  const r = iov_iter_extract_pages(k, i, 1 << 20, 2, 0);
  assert.deepEqual(r, { bytes: P - 3000 + P, pages: [f[0], f[1]], offset0: 3000 });
  for (const p of f) assert.equal(ref(k, p), 1);
  assert.deepEqual(pos(i), { count: P, seg: 1, off: P }, 'stops at the end of folio 1 without moving to folio 2');
  assert.deepEqual(iov_iter_extract_pages(k, i, 1 << 20, 2, 0), { bytes: P, pages: [f[2]], offset0: 0 });
});

// lib/iov_iter.c iov_iter_extract_pages(): ITER_DISCARD (and anything unhandled) → -EFAULT;
// __iov_iter_get_pages_alloc(): ITER_KVEC and ITER_DISCARD → -EFAULT (spec R78, R80).
test('DISCARD cannot be extracted; KVEC and DISCARD give -EFAULT to iov_iter_get_pages2', () => {
  const k = kernel();
  assert.equal(iov_iter_extract_pages(k, iov_iter_discard('ITER_DEST', 100), 100, 1, 0).bytes, -EFAULT);
  assert.equal(iov_iter_get_pages2(k, iov_iter_discard('ITER_DEST', 100), 100, 1).bytes, -EFAULT);
  const [a] = kpages(k, 1);
  assert.equal(iov_iter_get_pages2(k, iov_iter_kvec('ITER_SOURCE', [{ pfn: a, offset: 0, len: 100 }], 100), 100, 1).bytes, -EFAULT);
});

// include/linux/uio.h iov_iter_extract_will_pin(): user_backed_iter() (spec R79).
test('iov_iter_extract_will_pin is true exactly for user-backed iterators', () => {
  const { k, t } = setup();
  const [a] = kpages(k, 1);
  assert.equal(iov_iter_extract_will_pin(import_ubuf('ITER_DEST', t.mm, 0x10000, 1, k)), true);
  assert.equal(iov_iter_extract_will_pin(import_iovec('ITER_DEST', t.mm, [{ base: 0x10000, len: 1 }, { base: 0x20000, len: 1 }], k)), true);
  assert.equal(iov_iter_extract_will_pin(iov_iter_bvec('ITER_DEST', [{ pfn: a, offset: 0, len: 1 }], 1)), false);
  assert.equal(iov_iter_extract_will_pin(iov_iter_kvec('ITER_DEST', [{ pfn: a, offset: 0, len: 1 }], 1)), false);
  assert.equal(iov_iter_extract_will_pin(iov_iter_discard('ITER_DEST', 1)), false);
});

// ---- iov_iter_get_pages2() -------------------------------------------------------------------------

// lib/iov_iter.c __iov_iter_get_pages_alloc(): get_user_pages_fast() (FOLL_GET; FOLL_WRITE for a
// destination), the current segment only, advancing (spec R80).
for (const profile of ['5.1', '5.7', 'current'] as const) {
  test(`[${profile}] iov_iter_get_pages2 takes a GET per user page and no pin`, () => {
    const { k, t, addr } = setup({ profile, pages: 3 });
    const i = import_iovec('ITER_DEST', t.mm, [{ base: addr + 100, len: 2 * P }, { base: addr, len: 10 }], k);
    const { r, acq } = delta(k, () => step(k, t, 'get_pages', () => iov_iter_get_pages2(k, i, 1 << 20, 8)));
    assert.equal(acq, 0);
    assert.equal(r.bytes, 2 * P);
    assert.equal(r.offset0, 100);
    assert.deepEqual(r.pages, [0, 1, 2].map((j) => pfnAt(t, addr + j * P)));
    for (const p of r.pages) assert.equal(ref(k, p), 2);
    assert.deepEqual(pos(i), { count: 10, seg: 1, off: 0 });
  });
}

// lib/iov_iter.c __iov_iter_get_pages_alloc() ITER_BVEC: first_bvec_segment(): pages of the current
// bvec, folio_get() each; on reaching its end the iterator moves to the next bvec.
test('iov_iter_get_pages2 on a BVEC takes a reference on each page of the current bvec', () => {
  const k = kernel();
  const [a, b, c] = kpages(k, 3);
  assert.equal(b, a + 1);
  const i = iov_iter_bvec('ITER_SOURCE', [{ pfn: a, offset: 2048, len: P }, { pfn: c, offset: 0, len: 10 }], P + 10);
  const r = iov_iter_get_pages2(k, i, 1 << 20, 8);
  assert.deepEqual(r, { bytes: P, pages: [a, b], offset0: 2048 });
  assert.equal(ref(k, a), 2);
  assert.equal(ref(k, b), 2);
  assert.deepEqual(pos(i), { count: 10, seg: 1, off: 0 });
  assert.equal(iov_iter_get_pages2(k, i, 1 << 20, 0).bytes, 0, 'maxpages 0: 0');
});

// ---- ITER_PIPE ------------------------------------------------------------------------------------

// lib/iov_iter.c pipe_get_pages() (≤ v6.4): fresh pages appended to the pipe, each with a reference
// for the caller besides the pipe's (spec R81).
test('[6.2] iov_iter_get_pages2 on ITER_PIPE appends pages and gives the caller a reference on each', () => {
  const k = kernel('6.2');
  const pipe = newPipe(k);
  const i = iov_iter_pipe('ITER_DEST', pipe, 3 * P);
  const r = step(k, null, 'get_pages', () => iov_iter_get_pages2(k, i, 10000, 16));
  assert.equal(r.bytes, 10000);
  assert.equal(r.offset0, 0);
  assert.equal(r.pages.length, 3);
  for (const p of r.pages) assert.equal(ref(k, p), 2, 'the pipe buffer and the caller');
  assert.deepEqual(pipeBuffers(pipe).map((b) => [b.pfn, b.len, b.ops]), [[r.pages[0], P, 'anon'], [r.pages[1], P, 'anon'], [r.pages[2], 10000 - 2 * P, 'anon']]);
  assert.equal(i.count, 3 * P - 10000);
  // append_pipe(): the partly filled last page is used first (offset0 = its fill).
  const s = step(k, null, 'get_pages', () => iov_iter_get_pages2(k, i, 100, 16));
  assert.deepEqual(s, { bytes: 100, pages: [r.pages[2]], offset0: 10000 - 2 * P });
  assert.equal(ref(k, r.pages[2]), 3);
});

// lib/iov_iter.c iov_iter_extract_pipe_pages() (v6.3/v6.4): no reference for the caller; the
// block-pinning series extracted ITER_PIPE this way (seed 003, spec R116).
test('[block-pinning-dev] extracting ITER_PIPE pages gives the caller no reference: the pipe owns them alone', () => {
  const k = kernel('block-pinning-dev');
  const pipe = newPipe(k);
  const i = iov_iter_pipe('ITER_DEST', pipe, 2 * P);
  assert.equal(iov_iter_extract_will_pin(i), false);
  const { r, acq } = delta(k, () => step(k, null, 'extract', () => iov_iter_extract_pages(k, i, 2 * P, 16, 0)));
  assert.equal(acq, 0);
  assert.equal(r.bytes, 2 * P);
  for (const p of r.pages) assert.equal(ref(k, p), 1);
  // iov_iter_get_pages2() under nonUserIterNoRef: the model gives no reference either.
  const j = iov_iter_pipe('ITER_DEST', pipe, P);
  const g = step(k, null, 'get_pages', () => iov_iter_get_pages2(k, j, P, 16));
  assert.equal(ref(k, g.pages[0]), 1);
});

// lib/iov_iter.c iov_iter_revert() on ITER_PIPE (v6.1–v6.4; pipe_truncate() before): the buffers
// past the new position are released with put_page() (spec R81); a page whose only reference was
// the pipe's is freed (R116).
for (const [profile, freed] of [['6.2', false], ['block-pinning-dev', true], ['rfc-2020-bio-pin', false]] as const) {
  test(`[${profile}] reverting an ITER_PIPE iterator truncates the pipe; the pages are ${freed ? 'freed' : 'kept by the caller'}`, () => {
    const k = kernel(profile);
    const pipe = newPipe(k);
    const i = iov_iter_pipe('ITER_DEST', pipe, 3 * P);
    const r = step(k, null, 'extract', () => profile === '6.2'
      ? iov_iter_get_pages2(k, i, 3 * P, 16) : iov_iter_extract_pages(k, i, 3 * P, 16, 0));
    assert.equal(r.bytes, 3 * P);
    const c0 = counters(k);
    step(k, null, 'revert', () => iov_iter_revert(k, i, P + 100));
    assert.equal(i.count, P + 100);
    const bufs = pipeBuffers(pipe);
    assert.deepEqual(bufs.map((b) => b.len), [P, P - 100], 'the third buffer is released, the second shortened');
    assert.equal(i.lastOffset, P - 100);
    assert.equal(k.mem.isFree(r.pages[2]), freed);
    assert.deepEqual(counters(k), c0, 'revert releases no pin');
    if (profile === 'rfc-2020-bio-pin') assert.equal(ref(k, r.pages[2]), 1024, 'only the caller\'s pin_page() is left');
    // Back to the start: every buffer goes.
    step(k, null, 'revert', () => iov_iter_revert(k, i, 2 * P - 100));
    assert.equal(pipeBuffers(pipe).length, 0);
    assert.equal(i.count, 3 * P);
    assert.equal(k.mem.isFree(r.pages[0]), freed);
  });
}

// The seed 001 RFC: iov_iter_pin_pages() — pipe_get_pages(use_pup) → pin_page(); ITER_IOVEC →
// pin_user_pages_fast(); anything else WARNs (-EFAULT). Its bio code used it where the model's
// callers call iov_iter_extract_pages().
test('[rfc-2020-bio-pin] ITER_PIPE pages are pinned with pin_page(); IOVEC pinned; BVEC refused with a WARN', () => {
  const { k, t, addr } = setup({ profile: 'rfc-2020-bio-pin', pages: 2 });
  const pipe = newPipe(k);
  const i = iov_iter_pipe('ITER_DEST', pipe, 2 * P);
  assert.equal(iov_iter_extract_will_pin(i), true);
  const { r, acq } = delta(k, () => step(k, null, 'pin_pages', () => iov_iter_extract_pages(k, i, 2 * P, 16, 0)));
  assert.equal(acq, 2);
  for (const p of r.pages) assert.equal(ref(k, p), 1 + 1024);
  // iov_iter_get_pages() stays a GET in the RFC (use_pup = false).
  const j = iov_iter_pipe('ITER_DEST', pipe, P);
  const g = delta(k, () => step(k, null, 'get_pages', () => iov_iter_get_pages2(k, j, P, 16)));
  assert.equal(g.acq, 0);
  assert.equal(ref(k, g.r.pages[0]), 2);
  const u = import_ubuf('ITER_DEST', t.mm, addr, 2 * P, k);
  assert.equal(u.type, 'ITER_IOVEC');
  assert.equal(delta(k, () => step(k, t, 'pin_pages', () => iov_iter_pin_pages(k, u, 2 * P, 16))).acq, 2);
  const [a] = kpages(k, 1);
  const b = iov_iter_bvec('ITER_DEST', [{ pfn: a, offset: 0, len: 10 }], 10);
  const w = warnsDuring(k, () => iov_iter_pin_pages(k, b, 10, 1));
  assert.equal(w.r.bytes, -EFAULT);
  assert.equal(w.warns.length, 1);
  assert.throws(() => iov_iter_pin_pages(kernel('current'), b, 10, 1), ApiUnavailable);
});

// lib/iov_iter.c iov_iter_pipe(): ITER_PIPE exists until v6.5 ("iov_iter: Kill ITER_PIPE").
test('[6.5] ITER_PIPE does not exist', () => {
  const k = kernel('6.5');
  assert.throws(() => iov_iter_pipe('ITER_DEST', newPipe(k), P), ApiUnavailable);
});

// lib/iov_iter.c copy_page_to_iter_pipe() (≤ v6.4): the page itself goes into the pipe with
// get_page() (page_cache_pipe_buf_ops); data continuing the last buffer's page grows it.
test('[6.2] copy_page_to_iter into a pipe splices the page by reference', () => {
  const k = kernel('6.2');
  const [a] = kpages(k, 1);
  const pipe = newPipe(k);
  const i = iov_iter_pipe('ITER_DEST', pipe, 2500);
  assert.equal(copy_page_to_iter(k, a, 100, 1000, i), 1000);
  assert.equal(copy_page_to_iter(k, a, 1100, 2000, i), 1500, 'capped at count, merged into the same buffer');
  assert.deepEqual(pipeBuffers(pipe).map((b) => [b.pfn, b.offset, b.len, b.ops]), [[a, 100, 2500, 'page-cache']]);
  assert.equal(ref(k, a), 2);
  assert.equal(i.count, 0);
  // pipe_zero(): a zeroed anon page appended
  const j = iov_iter_pipe('ITER_DEST', pipe, 100);
  assert.equal(iov_iter_zero(k, 100, j), 100);
  assert.equal(pipeBuffers(pipe)[1].ops, 'anon');
});

// ---- copies ---------------------------------------------------------------------------------------

// lib/iov_iter.c copy_page_to_iter() → _copy_to_iter() → copy_to_user(): a fault makes the copy short.
test('copy_page_to_iter writes into the task\'s pages and stops short at a fault', () => {
  const { k, t, addr } = setup({ pages: 2, value: null });
  const [a] = kpages(k, 1);
  k.mem.setContent(a, 42);
  const i = import_iovec('ITER_DEST', t.mm, [{ base: addr + P, len: 100 }, { base: addr + 2 * P, len: 100 }], k);
  assert.equal(step(k, t, 'copy', () => copy_page_to_iter(k, a, 0, 200, i)), 100, 'the second segment is unmapped');
  assert.equal(userRead(k, t.mm, addr + P), 42);
  assert.deepEqual(pos(i), { count: 100, seg: 1, off: 0 });
  // A source iterator cannot be copied to: WARN, 0.
  const src = import_ubuf('ITER_SOURCE', t.mm, addr, 10, k);
  const w = warnsDuring(k, () => copy_page_to_iter(k, a, 0, 10, src));
  assert.equal(w.r, 0);
  assert.equal(w.warns.length, 1);
});

// lib/iov_iter.c copy_page_from_iter() → _copy_from_iter(): the page takes what the user memory holds.
test('copy_page_from_iter reads the task\'s memory into the page', () => {
  const { k, t, addr } = setup({ pages: 1, value: 7 });
  const [a] = kpages(k, 1);
  const i = import_ubuf('ITER_SOURCE', t.mm, addr, P, k);
  assert.equal(step(k, t, 'copy', () => copy_page_from_iter(k, a, 0, P, i)), P);
  assert.equal(k.mem.contentOf(a), 7);
  assert.equal(i.count, 0);
  const dst = import_ubuf('ITER_DEST', t.mm, addr, 10, k);
  assert.equal(warnsDuring(k, () => copy_page_from_iter(k, a, 0, 10, dst)).r, 0);
});

// lib/iov_iter.c _copy_to_iter(): kernel-backed iterators are memcpy()d; DISCARD just advances.
test('copies into BVEC and DISCARD iterators', () => {
  const k = kernel();
  const [a, b] = kpages(k, 2);
  const i = iov_iter_bvec('ITER_DEST', [{ pfn: b, offset: 0, len: 100 }], 100);
  assert.equal(copy_token_to_iter(k, 9, 500, i), 100);
  assert.equal(k.mem.contentOf(b), 9);
  const d = iov_iter_discard('ITER_DEST', 50);
  assert.equal(copy_page_to_iter(k, a, 0, 100, d), 50);
  assert.equal(d.count, 0);
});

// lib/iov_iter.c iov_iter_zero(): clear_user() into user memory.
test('iov_iter_zero clears user memory', () => {
  const { k, t, addr } = setup({ pages: 1, value: 5 });
  const i = import_ubuf('ITER_DEST', t.mm, addr, P, k);
  assert.equal(step(k, t, 'zero', () => iov_iter_zero(k, P, i)), P);
  assert.equal(userRead(k, t.mm, addr), 0);
});
