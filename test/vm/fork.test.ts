// fork() and pinned pages: kernel/fork.c dup_mmap(), mm/memory.c copy_page_range(),
// copy_present_page(), copy_huge_pmd(); include/linux/rmap.h __folio_try_dup_anon_rmap().
// Spec R41/R42 (unshare after fork), R52–R57; tools/testing/selftests/mm/cow.c.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pin_user_pages, pin_user_pages_fast } from '../../src/gup/api.js';
import { unpin_user_pages } from '../../src/gup/unpin.js';
import { EFAULT, ENOMEM, HPAGE_PMD_NR, MADV_DONTFORK, MADV_WIPEONFORK, PAGE_SIZE } from '../../src/include/uapi.js';
import { findLeaks } from '../../src/check/leaks.js';
import type { Kernel } from '../../src/kernel.js';
import { GFP_KERNEL } from '../../src/mm/memory.js';
import { PG_anon_exclusive } from '../../src/mm/page-flags.js';
import { translate, userRead } from '../../src/vm/access.js';
import { do_fork } from '../../src/vm/fork.js';
import type { Task } from '../../src/vm/mm.js';
import { do_madvise } from '../../src/vm/mmap.js';
import {
  MiB, THP_SIZE, counters, delta, pagesArray, pfnAt, pteWritable, read, ref, setup, step, teardown, write,
} from '../helpers.js';
import { FOLL_LONGTERM, FOLL_WRITE } from '../../src/include/linux/mm.js';
import { folio_maybe_dma_pinned } from '../../src/mm/folio.js';
import { tasks } from '../../src/vm/mm.js';

function fork(k: Kernel, parent: Task, name = 'child'): Task {
  const c = step(k, parent, 'fork', () => do_fork(k, parent, name));
  assert.ok(typeof c !== 'number', `fork failed: ${String(c)}`);
  return c;
}

// R52/R53: without pins, fork shares anon pages read-only in both (COW), clearing AnonExclusive.
test('R52/R53 [current] fork without pins shares the pages read-only', () => {
  const { k, t, addr } = setup({ pages: 2, value: 5 });
  const p = pfnAt(t, addr);
  const c = fork(k, t);
  assert.equal(pfnAt(c, addr), p);
  assert.ok(!pteWritable(t, addr) && !pteWritable(c, addr));
  assert.equal(k.mem.flagsOf(p) & PG_anon_exclusive, 0);
  assert.equal(k.mem.mapcountOf(p), 2);
});

// ---- R/O pin after fork: the unshare (cow.c "R/O GUP pin on R/O-mapped shared page") ----------

for (const [name, pin] of [['pin_user_pages', pin_user_pages], ['pin_user_pages_fast', pin_user_pages_fast]] as const) {
  test(`R41/R42/R60 [current] ${name}: a R/O pin of a page shared with a child unshares it first`, () => {
    const { k, t, addr } = setup({ pages: 1, value: 7 });
    const shared = pfnAt(t, addr);
    const c = fork(k, t);
    assert.equal(pfnAt(c, addr), shared, 'precondition: parent and child share the page');
    const P = pagesArray(1);
    const d = delta(k, () => step(k, t, name, () => pin(k, t, addr, 1, 0, P)));
    assert.equal(d.r, 1);
    assert.notEqual(P[0], shared, 'the pinned page is not the page the child maps');
    assert.equal(pfnAt(t, addr), P[0], 'the parent maps the pinned page');
    assert.equal(pfnAt(c, addr), shared, 'the child keeps the original');
    assert.ok((k.mem.flagsOf(P[0]) & PG_anon_exclusive) !== 0, 'the pinned page is AnonExclusive (R44)');
    assert.ok(!pteWritable(t, addr), 'R42: unshare maps the copy read-only');
    assert.equal(read(k, t, addr), 7, 'the copy has the data');
    assert.equal(read(k, c, addr), 7, 'the child keeps its data');
    // R74.3: GUP-fast pins the R/O page, gup_must_unshare() says no and the undo is counted; the
    // slow path then pins the unshared copy. The slow path alone takes one pin.
    assert.deepEqual([d.acq, d.rel], name === 'pin_user_pages_fast' ? [2, 1] : [1, 0]);
    // The child writes: its page is the only mapping now, so it reuses it; the pin stays with the parent.
    write(k, c, addr, PAGE_SIZE, 8);
    k.mem.setContent(P[0], 99); // device writes through the pin
    assert.equal(read(k, t, addr), 99);
    assert.equal(read(k, c, addr), 8);
  });
}

// Before v5.19 (a7f226604170) a R/O pin did not unshare: it pinned the page the child still maps.
test('R41 history [5.7] a R/O pin after fork pins the page still shared with the child', () => {
  const { k, t, addr } = setup({ profile: '5.7', pages: 1, value: 7 });
  const shared = pfnAt(t, addr);
  const c = fork(k, t);
  const P = pagesArray(1);
  assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, addr, 1, 0, P)), 1);
  assert.equal(P[0], shared);
  assert.equal(pfnAt(c, addr), shared);
});

// ---- Fork after pin ------------------------------------------------------------------------------

const COPY_PROFILES = ['5.9', '5.19', '6.2', '6.5', 'current'];
for (const profile of COPY_PROFILES) {
  // R53–R55, R125: the child gets a copy at fork; the parent keeps the pinned page writable; DMA into
  // the pinned page reaches the parent only; fork moves no counter (R75).
  test(`R53/R54/R55 [${profile}] fork after a write pin: the child gets copies, DMA is seen by the parent only`, () => {
    const { k, t, addr } = setup({ profile, pages: 2, value: 1 });
    const P = pagesArray(2);
    assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 2, FOLL_WRITE | FOLL_LONGTERM, P)), 2);
    const c0 = counters(k);
    const c = fork(k, t);
    assert.deepEqual(counters(k), c0, 'fork moves no pin counter');
    for (let i = 0; i < 2; i++) {
      const a = addr + i * PAGE_SIZE;
      assert.equal(pfnAt(t, a), P[i], 'the parent still maps the pinned page');
      assert.ok(pteWritable(t, a), 'R54: the parent keeps its page writable');
      const cp = pfnAt(c, a);
      assert.ok(cp >= 0 && cp !== P[i], 'the child has its own copy');
      assert.ok(pteWritable(c, a), 'R54: the copy is mapped writable in a writable VMA');
      assert.equal(read(k, c, a), 1, 'copied at fork time');
    }
    write(k, t, addr, 2 * PAGE_SIZE, 2);
    assert.deepEqual([pfnAt(t, addr), pfnAt(t, addr + PAGE_SIZE)], P, 'R58: the parent write does not COW the pinned page');
    for (const p of P) k.mem.setContent(p, 99); // DMA
    assert.equal(read(k, t, addr), 99);
    assert.equal(read(k, t, addr + PAGE_SIZE), 99);
    assert.equal(read(k, c, addr), 1);
    assert.equal(read(k, c, addr + PAGE_SIZE), 1);
  });
}

// R55 history: before v5.9 the pinned page became shared at fork, the parent's next write COW'd the
// parent away from it, and later DMA was lost to the parent.
test('R55 history [5.7] fork after pin: the parent write COWs away from the pinned page; DMA is lost to it', () => {
  const { k, t, addr } = setup({ profile: '5.7', pages: 1, value: 1 });
  const P = pagesArray(1);
  assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 1, FOLL_WRITE | FOLL_LONGTERM, P)), 1);
  const c = fork(k, t);
  assert.equal(pfnAt(c, addr), P[0], 'no copy at fork: the child shares the pinned page');
  write(k, t, addr, PAGE_SIZE, 2);
  assert.notEqual(pfnAt(t, addr), P[0], 'the parent was COWed onto a new page');
  k.mem.setContent(P[0], 99);
  assert.equal(read(k, t, addr), 2, 'the parent does not see the DMA');
  assert.equal(read(k, c, addr), 99, 'the child, which still maps the pinned page, does');
});

// R57: MADV_DONTFORK → VM_DONTCOPY: the child has no VMA there.
for (const profile of ['5.7', 'current']) {
  test(`R57 [${profile}] MADV_DONTFORK: the child has no mapping at the pinned range`, () => {
    const { k, t, addr } = setup({ profile, pages: 2, value: 3 });
    const P = pagesArray(2);
    assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 2, FOLL_WRITE, P)), 2);
    assert.equal(step(k, t, 'madvise', () => do_madvise(k, t.mm, addr, 2 * PAGE_SIZE, MADV_DONTFORK)), 0);
    const c = fork(k, t);
    assert.equal(c.mm.peekVma(addr), undefined);
    assert.equal(translate(c.mm, addr), -1);
    assert.equal(step(k, c, 'read', () => userRead(k, c.mm, addr)), -EFAULT, 'SIGSEGV in the child');
    assert.deepEqual([pfnAt(t, addr), pfnAt(t, addr + PAGE_SIZE)], P, 'the parent is unaffected');
    assert.ok(pteWritable(t, addr));
    step(k, t, 'unpin', () => unpin_user_pages(k, P, 2));
  });
}

// R54: a PMD-mapped THP that may be pinned is split in the parent and copied page by page.
test('R54 [current] fork with a pinned THP: the PMD is split (thp_split_pmd +1) and the child gets small copies', () => {
  const { k, t, addr } = setup({ machine: { thp: 'always' }, length: THP_SIZE, value: 4 });
  const head = k.mem.head(pfnAt(t, addr));
  assert.equal(k.mem.folioOrder(head), 9);
  const P = pagesArray(1);
  assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr + 10 * PAGE_SIZE, 1, FOLL_WRITE, P)), 1);
  assert.equal(P[0], head + 10);
  const split0 = k.vmstat.get('thp_split_pmd');
  const c = fork(k, t);
  assert.equal(k.vmstat.get('thp_split_pmd') - split0, 1);
  assert.equal(t.mm.peekVma(addr)!.peekPmd(addr), undefined, 'the parent now maps the THP with PTEs');
  for (const i of [0, 10, 511]) {
    const a = addr + i * PAGE_SIZE;
    assert.equal(pfnAt(t, a), head + i, 'the parent keeps every page of its THP');
    const cp = pfnAt(c, a);
    assert.ok(cp >= 0 && (cp < head || cp >= head + HPAGE_PMD_NR), `child page ${i} is a copy`);
    assert.equal(k.mem.folioOrder(k.mem.head(cp)), 0, 'R54: each copy is a small folio');
    assert.equal(read(k, c, a), 4);
  }
  k.mem.setContent(P[0], 77);
  assert.equal(read(k, t, addr + 10 * PAGE_SIZE), 77);
  assert.equal(read(k, c, addr + 10 * PAGE_SIZE), 4);
  assert.ok(folio_maybe_dma_pinned(k, head));
});

test('R53 [current] fork with an unpinned THP keeps the PMD mapping shared (no split)', () => {
  const { k, t, addr } = setup({ machine: { thp: 'always' }, length: THP_SIZE, value: 4 });
  const head = k.mem.head(pfnAt(t, addr));
  const split0 = k.vmstat.get('thp_split_pmd');
  const c = fork(k, t);
  assert.equal(k.vmstat.get('thp_split_pmd'), split0);
  assert.equal(pfnAt(c, addr), head);
  assert.ok(c.mm.peekVma(addr)!.peekPmd(addr), 'the child maps it with a PMD too');
  assert.ok(!pteWritable(t, addr) && !pteWritable(c, addr));
});

// R55: a false positive (>= 1024 GET references) on an mm that has pinned is copied the same way.
test('R55 [current] a small folio with 1024 GETs in an mm with MMF_HAS_PINNED is copied at fork', () => {
  const { k, t, addr } = setup({ pages: 2, value: 6 });
  const P = pagesArray(1);
  assert.equal(step(k, t, 'pin other page', () => pin_user_pages(k, t, addr + PAGE_SIZE, 1, FOLL_WRITE, P)), 1);
  assert.ok(t.mm.hasPinned, 'R7: MMF_HAS_PINNED set by the pin');
  const p = pfnAt(t, addr);
  step(k, t, 'many gets', () => k.mem.refAdd(p, 1024));
  assert.ok(folio_maybe_dma_pinned(k, p));
  const c = fork(k, t);
  assert.notEqual(pfnAt(c, addr), p, 'copied');
  assert.equal(read(k, c, addr), 6);
  step(k, t, 'puts', () => k.mem.putRefs(p, 1024));
});

// R53/R6: folio_needs_cow_for_dma() needs MMF_HAS_PINNED: references alone (no pin ever) are shared.
test('R6 [current] 1024 GET references without any pin in the mm: fork shares the page', () => {
  const { k, t, addr } = setup({ pages: 1, value: 6 });
  const p = pfnAt(t, addr);
  step(k, t, 'many gets', () => k.mem.refAdd(p, 1024));
  assert.ok(!t.mm.hasPinned);
  const c = fork(k, t);
  assert.equal(pfnAt(c, addr), p);
  step(k, t, 'puts', () => k.mem.putRefs(p, 1024));
});

// R66: fork copies a huge-zero PMD as a plain shared mapping before any pinned-folio test
// (mm/huge_memory.c copy_huge_pmd(): is_huge_zero_pmd() → mm_get_huge_zero_folio(), goto out_zero_page).
// The VMA has an anon_vma (do_huge_pmd_anonymous_page() calls anon_vma_prepare() before the zero-page
// branch), so vma_needs_copy() is true and the child gets the PMD.
test('R66 [current] fork with a pinned huge zero folio: the child maps the huge zero PMD too; nothing split or copied', () => {
  const { k, t, addr } = setup({ machine: { thp: 'always' }, length: THP_SIZE, value: null });
  read(k, t, addr);
  const hz = pfnAt(t, addr);
  assert.ok(k.mem.isHugeZero(hz));
  const P = pagesArray(4);
  assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, addr, 4, 0, P)), 4);
  const split0 = k.vmstat.get('thp_split_pmd');
  const c = fork(k, t);
  assert.equal(k.vmstat.get('thp_split_pmd'), split0, 'no split');
  assert.equal(pfnAt(t, addr), hz);
  assert.equal(pfnAt(c, addr), hz, 'the child maps the huge zero folio by PMD');
  assert.ok(c.mm.peekVma(addr)!.peekPmd(addr));
  step(k, t, 'unpin', () => unpin_user_pages(k, P, 4));
});

// R57: MADV_WIPEONFORK gives the child an empty (zero-fill) anonymous VMA.
test('R57 [current] MADV_WIPEONFORK: the child has the VMA but none of the pages; it reads zeros', () => {
  const { k, t, addr } = setup({ pages: 2, value: 3 });
  assert.equal(step(k, t, 'madvise', () => do_madvise(k, t.mm, addr, 2 * PAGE_SIZE, MADV_WIPEONFORK)), 0);
  const c = fork(k, t);
  assert.ok(c.mm.peekVma(addr));
  assert.equal(pfnAt(c, addr), -1);
  assert.equal(read(k, c, addr), 0);
  assert.equal(read(k, t, addr), 3);
});

// R7: MMF_HAS_PINNED is not in MMF_INIT_MASK: a child does not inherit it.
test('R7 [current] the child of a process that pinned does not inherit MMF_HAS_PINNED', () => {
  const { k, t, addr } = setup({ pages: 1 });
  assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 1, FOLL_WRITE, pagesArray(1))), 1);
  assert.ok(t.mm.hasPinned);
  const c = fork(k, t);
  assert.equal(c.mm.hasPinned, false);
});

// R54: if the copy of a maybe-pinned page cannot be allocated, fork fails with -ENOMEM and the
// parent is left as it was.
test('R54 [current] fork that cannot allocate the copy of a pinned page fails with -ENOMEM', () => {
  const { k, t, addr } = setup({ machine: { normal: 4 * MiB }, pages: 2, value: 3 });
  const P = pagesArray(2);
  assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 2, FOLL_WRITE, P)), 2);
  const hog: number[] = [];
  step(k, null, 'exhaust', () => {
    for (let p = k.mem.allocFolio(GFP_KERNEL, 0); p >= 0; p = k.mem.allocFolio(GFP_KERNEL, 0)) hog.push(p);
  });
  const refs = P.map((p) => ref(k, p));
  const r = step(k, t, 'fork', () => do_fork(k, t, 'child'));
  assert.equal(r, -ENOMEM);
  assert.equal(tasks(k).has('child'), false);
  assert.deepEqual(P.map((p) => ref(k, p)), refs, 'no reference left behind');
  assert.deepEqual([pfnAt(t, addr), pfnAt(t, addr + PAGE_SIZE)], P);
  assert.ok(pteWritable(t, addr));
  step(k, null, 'free', () => { for (const p of hog) k.mem.putRefs(p, 1); });
  step(k, t, 'unpin', () => unpin_user_pages(k, P, 2));
  teardown(k);
  assert.deepEqual(findLeaks(k), []);
});

// R53/R54: for a PTE-mapped large folio (mTHP) that may be pinned, duplication fails for every page
// that is AnonExclusive; each becomes a separate small anon folio in the child.
test('R54 [current] fork with one pinned page of a PTE-mapped mTHP copies every page of that folio', () => {
  const { k, t, addr } = setup({ machine: { thp: 'always', mthpOrders: [2] }, pages: 4, value: 8 });
  const head = k.mem.head(pfnAt(t, addr));
  assert.equal(k.mem.folioOrder(head), 2, 'precondition: an order-2 mTHP');
  const P = pagesArray(1);
  assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr + PAGE_SIZE, 1, FOLL_WRITE, P)), 1);
  const c = fork(k, t);
  for (let i = 0; i < 4; i++) {
    const a = addr + i * PAGE_SIZE;
    assert.equal(pfnAt(t, a), head + i);
    const cp = pfnAt(c, a);
    assert.ok(cp < head || cp >= head + 4, `child page ${i} is a copy`);
    assert.equal(k.mem.folioOrder(k.mem.head(cp)), 0);
    assert.equal(read(k, c, a), 8);
  }
});
