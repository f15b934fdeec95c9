// The yield points of issue 12: GUP-fast between its PTE read and its grab (`before_grab`), and
// THP collapse between its isolation and its copy (`after_isolate`); the races they open
// (c24d37322548 against split_huge_page(), 70cbc3cc78a9 against collapse) and their fixes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pin_user_pages_fast_gen } from '../../src/gup/api.js';
import { HPAGE_PMD_SIZE, MADV_HUGEPAGE, O_DIRECT, O_RDWR, PAGE_SIZE } from '../../src/include/uapi.js';
import { armed, runSegment, runToEnd } from '../../src/preempt.js';
import { collapse_huge_page } from '../../src/vm/khugepaged.js';
import { split_huge_page } from '../../src/vm/thp-split.js';
import { do_madvise, do_munmap } from '../../src/vm/mmap.js';
import { translate } from '../../src/vm/access.js';
import { kernel, mmap, read, write } from '../helpers.js';
import { fileSetup } from '../fs/fs-helpers.js';
import { do_sys_open } from '../../src/fs/fdtable.js';
import { ksys_pread64 } from '../../src/fs/read_write.js';
import { blk_wait_bios, deferBioWaits, inFlight, takeDeferredBioWaits } from '../../src/block/blkdev.js';
import { FOLL_WRITE } from '../../src/include/linux/mm.js';
import { createTask } from '../../src/vm/mm.js';
import type { Kernel } from '../../src/kernel.js';
import type { KernelGen } from '../../src/preempt.js';
import { io_sqe_buffers_register_gen, io_uring_get_ring, io_uring_setup } from '../../src/drivers/io-uring.js';
import { memlock } from '../../src/drivers/memlock.js';

const BEFORE_GRAB = new Set(['before_grab']);

/** Run a step of g up to its next stop, with `stop` armed as the explorer's session arms it. */
function seg<T>(k: Kernel, name: string, g: KernelGen<T>, stop: ReadonlySet<string>) {
  k.preemptArmed = stop;
  try {
    return k.step('t', name, {}, () => runSegment(g, stop));
  } finally {
    k.preemptArmed = null;
  }
}

/** A THP mapped by 511 PTEs (its last page unmapped), and GUP-fast stopped before grabbing page 1. */
function pteMappedThp(profile: string) {
  const k = kernel(profile, { normal: 8 << 20, thp: 'always' });
  const t = createTask(k, 't');
  const buf = mmap(k, t, HPAGE_PMD_SIZE);
  write(k, t, buf, HPAGE_PMD_SIZE, 7);
  k.step('t', 'munmap', {}, () => do_munmap(k, t.mm, buf + HPAGE_PMD_SIZE - PAGE_SIZE, PAGE_SIZE));
  const pages = [-1];
  const gup = pin_user_pages_fast_gen(k, t, buf + PAGE_SIZE, 1, FOLL_WRITE, pages);
  const s = seg(k, 'pin_user_pages_fast', gup, BEFORE_GRAB);
  assert.equal(!s.done && s.at.point, 'before_grab');
  const page = translate(t.mm, buf + PAGE_SIZE);
  const head = k.mem.head(page);
  assert.notEqual(head, page, 'a page of a THP');
  assert.equal(split_huge_page(k, page), 0, 'nothing holds the THP yet: the split succeeds');
  return { k, t, buf, pages, gup, page, head };
}

test('before_grab is yielded only where a step armed it: an unarmed walk runs without a stop per page', () => {
  const k = kernel('current', { normal: 8 << 20 });
  const t = createTask(k, 't');
  const buf = mmap(k, t, 64 * PAGE_SIZE);
  write(k, t, buf, 64 * PAGE_SIZE, 1);
  assert.equal(armed(k, 'before_grab'), false);
  const pages = new Array<number>(64).fill(-1);
  const g = pin_user_pages_fast_gen(k, t, buf, 64, FOLL_WRITE, pages);
  const points: string[] = [];
  for (let r = g.next(); !r.done; r = g.next()) points.push(r.value.point);
  assert.deepEqual(points, ['after_grab'], 'one stop after the walk, none per page');
  const armedPages = new Array<number>(64).fill(-1);
  const g2 = pin_user_pages_fast_gen(k, t, buf, 64, FOLL_WRITE, armedPages);
  k.preemptArmed = BEFORE_GRAB;
  const points2: string[] = [];
  for (let r = g2.next(); !r.done; r = g2.next()) points2.push(r.value.point);
  k.preemptArmed = null;
  assert.equal(points2.filter((p) => p === 'before_grab').length, 64);
});

test('5.13: split_huge_page() between the PTE read and the grab: the reference lands on the old head (c24d37322548 not applied)', () => {
  const { k, pages, gup, page, head } = pteMappedThp('5.13');
  const refHead = k.mem.ref(head);
  const r = seg(k, 'pin_user_pages_fast:resume', gup, BEFORE_GRAB);
  assert.deepEqual(r, { done: true, value: 1 });
  assert.equal(pages[0], page, 'the pages array names the page');
  assert.equal(k.mem.ref(page), 1, 'which holds only its mapping');
  assert.ok(k.mem.ref(head) > refHead, 'the pin went to the old head, now a small folio of its own');
});

test('5.14 and current: the grab sees the page left its folio, drops the reference, and the slow path pins the page', () => {
  for (const p of ['5.14', 'current']) {
    const { k, pages, gup, page, head } = pteMappedThp(p);
    const refHead = k.mem.ref(head);
    const r = runToEnd(k, gup);
    assert.equal(r, 1, p);
    assert.equal(pages[0], page, p);
    assert.equal(k.mem.ref(head), refHead, `${p}: the old head holds nothing more`);
    assert.ok(k.mem.ref(page) > 1, `${p}: the page itself is pinned`);
  }
});

/** Small pages in a THP-eligible range; GUP-fast stopped before its grab, the collapse after its isolation. */
function collapseRace(profile: string) {
  const k = kernel(profile, { normal: 8 << 20, thp: 'madvise' });
  const t = createTask(k, 't');
  const buf = mmap(k, t, HPAGE_PMD_SIZE);
  write(k, t, buf, 2 * PAGE_SIZE, 7);
  assert.equal(k.step('t', 'madvise', {}, () => do_madvise(k, t.mm, buf, HPAGE_PMD_SIZE, MADV_HUGEPAGE)), 0);
  const old = translate(t.mm, buf);
  const pages = [-1];
  const gup = pin_user_pages_fast_gen(k, t, buf, 1, FOLL_WRITE, pages);
  assert.equal((seg(k, 'pin_user_pages_fast', gup, BEFORE_GRAB) as { at?: { point: string } }).at?.point, 'before_grab');
  const col = collapse_huge_page(k, t.mm, buf);
  const c = seg(k, 'collapse_huge_page', col, new Set(['after_isolate']));
  assert.equal(!c.done && c.at.point, 'after_isolate');
  assert.equal(t.mm.mmapWriteLocked, true, 'the collapse holds mmap_lock for writing');
  return { k, t, buf, pages, gup, col, old };
}

test('5.19: GUP-fast pins a page the collapse has isolated and then replaces (70cbc3cc78a9 not applied)', () => {
  const { k, t, buf, pages, gup, col, old } = collapseRace('5.19');
  assert.deepEqual(seg(k, 'pin_user_pages_fast:resume', gup, BEFORE_GRAB), { done: true, value: 1 });
  assert.equal(pages[0], old);
  assert.deepEqual(seg(k, 'collapse_huge_page:resume', col, new Set()), { done: true, value: 0 });
  assert.notEqual(translate(t.mm, buf), old, 'the task maps the new THP; the pinned page is mapped by nobody');
  assert.ok(k.mem.ref(old) > 0, 'the pin keeps the stale page alive');
});

test('6.0: GUP-fast finds the PMD changed after its grab, backs off, and its slow path waits for the collapse', () => {
  const { k, t, buf, pages, gup, col } = collapseRace('6.0');
  const r = seg(k, 'pin_user_pages_fast:resume', gup, BEFORE_GRAB);
  assert.equal(!r.done && r.at.point, 'mmap_lock', 'the slow path waits for the collapse');
  assert.deepEqual(seg(k, 'collapse_huge_page:resume', col, new Set()), { done: true, value: 0 });
  assert.deepEqual(k.step('t', 'resume', {}, () => runSegment(gup, new Set(), !r.done ? r.at : null)), { done: true, value: 1 });
  assert.equal(pages[0], translate(t.mm, buf), 'the pin is of the page the task maps');
});

test('collapse_huge_page() refuses a range with a pinned page (-EAGAIN) and leaves the page table as it was', () => {
  const k = kernel('current', { normal: 8 << 20, thp: 'madvise' });
  const t = createTask(k, 't');
  const buf = mmap(k, t, HPAGE_PMD_SIZE);
  write(k, t, buf, PAGE_SIZE, 7);
  do_madvise(k, t.mm, buf, HPAGE_PMD_SIZE, MADV_HUGEPAGE);
  const pages = [-1];
  assert.equal(runToEnd(k, pin_user_pages_fast_gen(k, t, buf, 1, FOLL_WRITE, pages)), 1);
  assert.equal(k.step('t', 'collapse', {}, () => runToEnd(k, collapse_huge_page(k, t.mm, buf))), -11);
  assert.equal(translate(t.mm, buf), pages[0]);
  assert.equal(t.mm.mmapWriteLocked, false);
});

test('6.1+: the collapse\'s IPI waits for a GUP-fast walk stopped with interrupts off (2ba99c5e0881); 6.0 does not wait', () => {
  for (const [profile, waits] of [['6.0', false], ['6.1', true], ['current', true]] as const) {
    const k = kernel(profile, { normal: 8 << 20, thp: 'madvise' });
    const t = createTask(k, 't');
    const buf = mmap(k, t, HPAGE_PMD_SIZE);
    write(k, t, buf, 2 * PAGE_SIZE, 7);
    do_madvise(k, t.mm, buf, HPAGE_PMD_SIZE, MADV_HUGEPAGE);
    const pages = [-1];
    const gup = pin_user_pages_fast_gen(k, t, buf, 1, FOLL_WRITE, pages);
    assert.equal((seg(k, 'pin_user_pages_fast', gup, BEFORE_GRAB) as { at?: { point: string } }).at?.point, 'before_grab');
    const col = collapse_huge_page(k, t.mm, buf);
    const c = seg(k, 'collapse_huge_page', col, new Set(['after_isolate']));
    assert.equal(!c.done && c.at.point, waits ? 'tlb_remove_table_sync_one' : 'after_isolate', profile);
    if (!waits) continue;
    // GUP-fast finds the PMD cleared after its grab, backs off and leaves its walk; its slow path
    // waits for the collapse's mmap_lock, and the collapse's IPI now returns.
    const g = seg(k, 'pin_user_pages_fast:resume', gup, BEFORE_GRAB);
    assert.equal(!g.done && g.at.point, 'mmap_lock', profile);
    assert.deepEqual(k.step('t', 'collapse', {}, () => runSegment(col, new Set(), !c.done ? c.at : null)), { done: true, value: 0 });
    assert.deepEqual(k.step('t', 'gup', {}, () => runSegment(gup, new Set(), !g.done ? g.at : null)), { done: true, value: 1 });
    assert.equal(pages[0], translate(t.mm, buf), `${profile}: the pin is of the THP the task maps`);
  }
});

test('bio_wait defers only the direct read\'s own wait: the writeback it starts with (kiocb_write_and_wait()) is waited for in place', () => {
  // A dirty cached page in the range, then an O_DIRECT pread with the wait deferred.
  const { k, t, addr } = fileSetup({ pages: 1, value: 3 });
  const buf = mmap(k, t, PAGE_SIZE);
  const fd = do_sys_open(k, t, 'data', O_RDWR | O_DIRECT);
  assert.ok(fd >= 0);
  assert.ok(addr > 0);
  deferBioWaits(k);
  const r = ksys_pread64(k, t, fd, buf, PAGE_SIZE, 0);
  const bios = takeDeferredBioWaits(k);
  assert.equal(r, PAGE_SIZE);
  assert.equal(bios.length, 1, 'the read\'s bio, not the writeback\'s');
  assert.equal(bios[0].op, 'REQ_OP_READ');
  assert.equal(inFlight(k), 1, 'the writeback completed before the read was submitted');
  blk_wait_bios(k, bios);
  assert.equal(inFlight(k), 0);
  assert.equal(read(k, t, buf), 3, 'the read saw the data the writeback put on disk');
});

test('after_pin_pages: IORING_REGISTER_BUFFERS stops with the THP\'s pages pinned and nothing charged; an munmap meanwhile leaves the folio whole and the charge the same', () => {
  for (const profile of ['5.7', 'current']) {
    const k = kernel(profile, { normal: 8 << 20, thp: 'always' });
    const t = createTask(k, 't');
    const buf = mmap(k, t, HPAGE_PMD_SIZE);
    write(k, t, buf, 2 * PAGE_SIZE, 7);
    const ring = io_uring_get_ring(k, t, k.step('t', 'io_uring_setup', {}, () => io_uring_setup(k, t)));
    assert.ok(typeof ring !== 'number');
    const head = k.mem.head(translate(t.mm, buf));
    const g = io_sqe_buffers_register_gen(k, t, ring, [{ base: buf, len: 2 * PAGE_SIZE }]);
    const s = seg(k, 'io_uring_register', g, new Set(['after_pin_pages']));
    assert.equal(!s.done && s.at.point, 'after_pin_pages', profile);
    assert.equal(k.mem.pincount(head), 2, `${profile}: both pages pinned before the stop`);
    // 5.7 charges nr_pages to mm->pinned_vm only at the end (5.7 has no pinned_vm charge);
    // v5.10+ charges the whole THP after the stop (io_buffer_account_pin()).
    assert.equal(memlock(k).pinnedVm(t.mm), 0, `${profile}: nothing charged yet`);
    assert.equal(k.step('t', 'munmap', {}, () => do_munmap(k, t.mm, buf, HPAGE_PMD_SIZE)), 0);
    assert.equal(k.mem.folioNrPages(head), 512, `${profile}: the pinned THP stays whole`);
    const r = k.step('t', 'io_uring_register', {}, () => runToEnd(k, g));
    assert.equal(r, 0);
    assert.equal(memlock(k).pinnedVm(t.mm), profile === '5.7' ? 0 : 512, `${profile}: the charge after the stop`);
  }
});
