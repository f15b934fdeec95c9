// The release side: mm/gup.c unpin_user_page(s), unpin_user_pages_dirty_lock(),
// unpin_user_page_range_dirty_lock(), unpin_folio(s), gup_put_folio(). Spec R9, R28–R33, R70.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { File } from '../../src/fs/file.js';
import { get_user_pages_fast, pin_user_pages, pin_user_pages_fast } from '../../src/gup/api.js';
import {
  put_page, put_user_pages, put_user_pages_dirty_lock, unpin_folio, unpin_folios, unpin_user_page, unpin_user_page_range_dirty_lock, unpin_user_pages,
  unpin_user_pages_dirty_lock,
} from '../../src/gup/unpin.js';
import { EFAULT, MAP_SHARED, PAGE_SIZE } from '../../src/include/uapi.js';
import type { Kernel } from '../../src/kernel.js';
import { PG_dirty } from '../../src/mm/page-flags.js';
import {
  THP_SIZE, counters, delta, expectBug, kernel, mmap, pagesArray, pfnAt, read, ref, setup, step, warnsDuring, write,
} from '../helpers.js';
import { FOLL_WRITE, GUP_PIN_COUNTING_BIAS } from '../../src/include/linux/mm.js';
import { folio_maybe_dma_pinned } from '../../src/mm/folio.js';
import { createTask } from '../../src/vm/mm.js';
import { files, registerFile } from '../../src/mm/filemap.js';

const NOT_PINNED = 'pinlab:unpin-not-pinned';

// R29: runs of consecutive entries of one folio are released together; each folio loses exactly what
// its entries pinned; NULL entries are skipped; rel counts every page.
test('R29 [current] unpin_user_pages over a mixed array releases per folio, skipping NULL entries', () => {
  const { k, t, addr } = setup({ machine: { thp: 'always' }, length: THP_SIZE, value: 1 });
  const head = k.mem.head(pfnAt(t, addr));
  const small = mmap(k, t, 2 * PAGE_SIZE);
  write(k, t, small, 2 * PAGE_SIZE, 2);
  const s = [pfnAt(t, small), pfnAt(t, small + PAGE_SIZE)];
  const T = pagesArray(4);
  const S = pagesArray(2);
  assert.equal(step(k, t, 'pin thp', () => pin_user_pages_fast(k, t, addr, 4, FOLL_WRITE, T)), 4);
  assert.equal(step(k, t, 'pin small', () => pin_user_pages_fast(k, t, small, 2, FOLL_WRITE, S)), 2);
  const r0 = [k.mem.ref(head), ref(k, s[0]), ref(k, s[1])];
  // THP run of 2, small, NULL, THP run of 2 (same folio again, not adjacent), small.
  const arr = [T[0], T[1], S[0], -1, T[2], T[3], S[1]];
  const w = warnsDuring(k, () => delta(k, () => step(k, t, 'unpin', () => unpin_user_pages(k, arr, arr.length))));
  assert.deepEqual(w.warns, []);
  assert.deepEqual([w.r.acq, w.r.rel], [0, 6]);
  assert.equal(k.mem.ref(head), r0[0] - 4);
  assert.equal(k.mem.pincount(head), 0);
  assert.equal(ref(k, s[0]), r0[1] - GUP_PIN_COUNTING_BIAS);
  assert.equal(ref(k, s[1]), r0[2] - GUP_PIN_COUNTING_BIAS);
});

// R29: npages is really an error code → WARN, nothing released.
test('R29 [current] unpin_user_pages with a negative npages WARNs and does nothing', () => {
  const { k, t, addr } = setup({ pages: 2 });
  const P = pagesArray(2);
  assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, addr, 2, FOLL_WRITE, P)), 2);
  const r0 = P.map((p) => ref(k, p));
  const c0 = counters(k);
  const w = warnsDuring(k, () => step(k, t, 'unpin', () => unpin_user_pages(k, P, -EFAULT)));
  assert.equal(w.warns.length, 1);
  assert.deepEqual(P.map((p) => ref(k, p)), r0);
  assert.deepEqual(counters(k), c0);
});

// R32: unpin_folio(s) — adjacent identical entries grouped, NULLs skipped.
test('R32 [current] unpin_folio and unpin_folios release one pin per entry', () => {
  const { k, t, addr } = setup({ machine: { thp: 'always' }, length: THP_SIZE, value: 1 });
  const head = k.mem.head(pfnAt(t, addr));
  const r0 = k.mem.ref(head);
  const P = pagesArray(3);
  assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, addr, 3, FOLL_WRITE, P)), 3);
  const d = delta(k, () => step(k, t, 'unpin', () => {
    unpin_folio(k, head);
    unpin_folios(k, [head, -1, head], 3);
  }));
  assert.equal(d.rel, 3);
  assert.equal(k.mem.ref(head), r0);
  assert.equal(k.mem.pincount(head), 0);
});

// ---- dirtying on release (R30, R31) -----------------------------------------------------------

function ext4Shared(k: Kernel, pages: number) {
  const t = createTask(k, 'app');
  const f = new File('data', 'ext4', pages * PAGE_SIZE);
  registerFile(k, f);
  files(k).set(f.name, f);
  const addr = mmap(k, t, pages * PAGE_SIZE, { flags: MAP_SHARED, file: f });
  for (let i = 0; i < pages; i++) read(k, t, addr + i * PAGE_SIZE); // read faults: clean page-cache pages
  return { t, addr };
}

for (const makeDirty of [true, false]) {
  test(`R30 [current] unpin_user_pages_dirty_lock(make_dirty=${makeDirty}) ${makeDirty ? 'marks clean folios dirty' : 'leaves them clean'}`, () => {
    const k = kernel('current');
    const { t, addr } = ext4Shared(k, 2);
    const P = pagesArray(2);
    assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, addr, 2, 0, P)), 2);
    for (const p of P) assert.ok(!k.mem.test(k.mem.head(p), PG_dirty), 'precondition: clean after a read pin');
    const d = delta(k, () => step(k, t, 'unpin', () => unpin_user_pages_dirty_lock(k, P, 2, makeDirty)));
    assert.equal(d.rel, 2);
    for (const p of P) assert.equal(k.mem.test(k.mem.head(p), PG_dirty), makeDirty);
  });

  test(`R31 [current] unpin_user_page_range_dirty_lock(make_dirty=${makeDirty}) over a THP range`, () => {
    const { k, t, addr } = setup({ machine: { thp: 'always' }, length: THP_SIZE, value: 1 });
    const head = k.mem.head(pfnAt(t, addr));
    assert.ok(!k.mem.test(head, PG_dirty));
    const r0 = k.mem.ref(head);
    const P = pagesArray(8);
    assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr + 8 * PAGE_SIZE, 8, FOLL_WRITE, P)), 8);
    const d = delta(k, () => step(k, t, 'unpin', () => unpin_user_page_range_dirty_lock(k, P[0], 8, makeDirty)));
    assert.equal(d.rel, 8);
    assert.equal(k.mem.ref(head), r0);
    assert.equal(k.mem.pincount(head), 0);
    assert.equal(k.mem.test(head, PG_dirty), makeDirty);
  });
}

// R31: a physically contiguous range crossing folio boundaries is cut into per-folio runs.
test('R31 [current] unpin_user_page_range_dirty_lock across two small folios', () => {
  const { k, t, addr } = setup({ pages: 2 });
  const P = pagesArray(2);
  assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, addr, 2, FOLL_WRITE, P)), 2);
  assert.equal(P[1], P[0] + 1, 'precondition: the buddy allocator handed out contiguous pages');
  const r0 = P.map((p) => ref(k, p) - GUP_PIN_COUNTING_BIAS);
  step(k, t, 'unpin', () => unpin_user_page_range_dirty_lock(k, P[0], 2, true));
  assert.deepEqual(P.map((p) => ref(k, p)), r0);
});

// ---- misuse (R9) --------------------------------------------------------------------------------

// R9: unpin of a GET on a small folio subtracts 1024 where 1 was added: the refcount underflows
// (VM_BUG_ON under CONFIG_DEBUG_VM). The model warns at the unpin, then BUGs.
test('R9 [current] unpin_user_page of a never-pinned small page WARNs pinlab:unpin-not-pinned and underflows', () => {
  const { k, t, addr } = setup({ pages: 1 });
  const G = pagesArray(1);
  assert.equal(step(k, t, 'get', () => get_user_pages_fast(k, t, addr, 1, 0, G)), 1);
  const before = k.warnings.list.length;
  const bug = expectBug(k, t, 'unpin', () => unpin_user_page(k, G[0]));
  assert.match(bug.message, /underflow/);
  assert.ok(k.warnings.list.slice(before).some((w) => w.id === NOT_PINNED));
});

// R9: on a large folio, unpinning a GET drives _pincount negative.
test('R9 [current] unpin_user_page of a never-pinned THP page WARNs and leaves a negative pincount (invariant)', () => {
  const { k, t, addr } = setup({ machine: { thp: 'always' }, length: THP_SIZE, value: 1 });
  const G = pagesArray(1);
  assert.equal(step(k, t, 'get', () => get_user_pages_fast(k, t, addr, 1, 0, G)), 1);
  const before = k.warnings.list.length;
  const bug = expectBug(k, t, 'unpin', () => unpin_user_page(k, G[0]));
  assert.match(bug.message, /pincount/);
  assert.ok(k.warnings.list.slice(before).some((w) => w.id === NOT_PINNED));
});

test('R9 [current] unpinning exactly what was pinned raises no pinlab:unpin-not-pinned', () => {
  const { k, t, addr } = setup({ pages: 3 });
  const P = pagesArray(3);
  assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 3, 0, P)), 3);
  const w = warnsDuring(k, () => step(k, t, 'unpin', () => unpin_user_pages(k, P, 3)));
  assert.deepEqual(w.warns, []);
});

// R9: put_page() on a PIN of a small folio removes 1 instead of 1024: the folio keeps reading as pinned.
test('R9 [current] put_page on a pinned small page leaves it looking pinned', () => {
  const { k, t, addr } = setup({ pages: 1 });
  const P = pagesArray(1);
  assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 1, FOLL_WRITE, P)), 1);
  const r = ref(k, P[0]);
  const d = delta(k, () => step(k, t, 'put', () => put_page(k, P[0])));
  assert.equal(ref(k, P[0]), r - 1);
  assert.deepEqual([d.acq, d.rel], [0, 0], 'a GET release counts nothing');
  assert.ok(folio_maybe_dma_pinned(k, P[0]));
});

// R34: the v5.2 put_user_page*() placeholders were aliases of put_page(): they track nothing.
test('R34 [5.2] put_user_pages and put_user_pages_dirty_lock release GET references; no pin counters move', () => {
  const { k, t, addr } = setup({ profile: '5.2', pages: 2 });
  const G = pagesArray(2);
  const r0 = [ref(k, pfnAt(t, addr)), ref(k, pfnAt(t, addr + PAGE_SIZE))];
  assert.equal(step(k, t, 'gup', () => get_user_pages_fast(k, t, addr, 2, FOLL_WRITE, G)), 2);
  assert.deepEqual(G.map((p) => ref(k, p)), r0.map((r) => r + 1));
  step(k, t, 'put', () => put_user_pages(k, G.slice(0, 1), 1));
  step(k, t, 'put dirty', () => put_user_pages_dirty_lock(k, G.slice(1), 1, true));
  assert.deepEqual(G.map((p) => ref(k, p)), r0);
  assert.ok(k.mem.test(k.mem.head(G[1]), PG_dirty), 'the dirty variant dirtied the clean page');
  assert.deepEqual(counters(k), { acq: 0, rel: 0 });
});
