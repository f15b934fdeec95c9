// Physical memory: buddy allocator, zones, bad-page checks at free, zero pages.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelBug } from '../../src/check/bug.js';
import { pin_user_pages } from '../../src/gup/api.js';
import { unpin_user_pages } from '../../src/gup/unpin.js';
import { PAGE_SIZE } from '../../src/include/uapi.js';
import {
  GFP_HIGHUSER_MOVABLE, GFP_KERNEL, MAX_PAGE_ORDER, PhysMem, RecordingPhysMem, ZONE_CMA, ZONE_MOVABLE, ZONE_NORMAL,
} from '../../src/mm/memory.js';
import { SNAPSHOT_SELF } from '../../src/include/snapshot.js';
import { counters, kernel, mmap, pagesArray, pfnAt, read, setup, step, write } from '../helpers.js';
import { is_zero_folio } from '../../src/mm/folio.js';
import { createTask } from '../../src/vm/mm.js';

const BLOCK = 1 << MAX_PAGE_ORDER;

function mem(normal: number, movable = 0, cma = 0, zeroPageColors = 1): PhysMem {
  return new PhysMem({ normal, movable, cma, zeroPageColors });
}

// mm/page_alloc.c: __rmqueue_smallest()/expand() hand out naturally aligned blocks of the zone.
test('buddy: allocations are naturally aligned blocks inside the zone and are accounted', () => {
  const m = mem(BLOCK);
  const z = m.zones[ZONE_NORMAL];
  for (const order of [0, 3, 1, 9, 2, 0]) {
    const before = m.freePages[ZONE_NORMAL];
    const pfn = m.allocFolio(GFP_KERNEL, order);
    assert.ok(pfn >= z.start && pfn + (1 << order) <= z.end, `order ${order} pfn ${pfn} outside the zone`);
    assert.equal(pfn % (1 << order), 0, `order ${order} block at ${pfn} is not aligned`);
    assert.equal(m.folioOrder(pfn), order);
    assert.equal(m.ref(pfn), 1, 'a new folio has refcount 1');
    assert.equal(m.freePages[ZONE_NORMAL], before - (1 << order));
  }
});

// mm/page_alloc.c: __free_one_page() merges a freed block with its free buddy, order by order.
test('buddy: freeing every order-0 page merges back into one MAX_PAGE_ORDER block', () => {
  const m = mem(BLOCK);
  const got: number[] = [];
  for (let i = 0; i < BLOCK; i++) got.push(m.allocFolio(GFP_KERNEL, 0));
  assert.equal(new Set(got).size, BLOCK);
  assert.ok(got.every((p) => p >= 0));
  assert.equal(m.allocFolio(GFP_KERNEL, 0), -1, 'the zone is exhausted');
  // Free in an interleaved order so merging has to wait for buddies.
  for (const p of got.filter((_, i) => i % 2 === 0)) m.putRefs(p, 1);
  assert.equal(m.allocFolio(GFP_KERNEL, 1), -1, 'no two free buddies yet: no order-1 block');
  for (const p of got.filter((_, i) => i % 2 === 1)) m.putRefs(p, 1);
  assert.equal(m.freePages[ZONE_NORMAL], BLOCK);
  const big = m.allocFolio(GFP_KERNEL, MAX_PAGE_ORDER);
  assert.ok(big >= 0, 'the whole zone merged back into one order-10 block');
  assert.equal(m.allocFolio(GFP_KERNEL, 0), -1);
});

test('buddy: a freed large folio can be split again into small pages', () => {
  const m = mem(BLOCK);
  const a = m.allocFolio(GFP_KERNEL, 9);
  const b = m.allocFolio(GFP_KERNEL, 9);
  assert.ok(a >= 0 && b >= 0);
  assert.equal(m.allocFolio(GFP_KERNEL, 0), -1);
  m.putRefs(a, 1);
  const small: number[] = [];
  for (let p = m.allocFolio(GFP_KERNEL, 0); p >= 0; p = m.allocFolio(GFP_KERNEL, 0)) small.push(p);
  assert.equal(small.length, 512);
  assert.ok(small.every((p) => p >= a && p < a + 512));
});

test('buddy: exhausting a zone returns -1 and other zones are untouched for GFP_KERNEL', () => {
  const m = mem(BLOCK, BLOCK, BLOCK);
  let n = 0;
  while (m.allocFolio(GFP_KERNEL, 2) >= 0) n++;
  assert.equal(n, BLOCK / 4);
  assert.equal(m.allocFolio(GFP_KERNEL, 0), -1);
  assert.equal(m.freePages[ZONE_NORMAL], 0);
  assert.equal(m.freePages[ZONE_MOVABLE], BLOCK);
  assert.equal(m.freePages[ZONE_CMA], BLOCK);
});

test('buddy: an order larger than any free block fails even with enough free pages', () => {
  const m = mem(BLOCK);
  const p = m.allocFolio(GFP_KERNEL, 0);
  assert.ok(p >= 0);
  assert.equal(m.allocFolio(GFP_KERNEL, MAX_PAGE_ORDER), -1);
  assert.equal(m.freePages[ZONE_NORMAL], BLOCK - 1);
});

// Zonelist order for __GFP_MOVABLE (docs/architecture.md "Zones"; mm/page_alloc.c
// get_page_from_freelist): MOVABLE, then CMA, then NORMAL. GFP_KERNEL: NORMAL only.
test('zones: movable allocations prefer MOVABLE, then CMA, then NORMAL', () => {
  const m = mem(BLOCK, BLOCK, BLOCK);
  const zoneOf = (p: number) => m.zoneOf(p);
  const first = m.allocFolio(GFP_HIGHUSER_MOVABLE, 0);
  assert.equal(zoneOf(first), ZONE_MOVABLE);
  for (let i = 1; i < BLOCK; i++) assert.equal(zoneOf(m.allocFolio(GFP_HIGHUSER_MOVABLE, 0)), ZONE_MOVABLE);
  assert.equal(zoneOf(m.allocFolio(GFP_HIGHUSER_MOVABLE, 0)), ZONE_CMA, 'MOVABLE full: CMA next');
  for (let i = 1; i < BLOCK; i++) m.allocFolio(GFP_HIGHUSER_MOVABLE, 0);
  assert.equal(zoneOf(m.allocFolio(GFP_HIGHUSER_MOVABLE, 0)), ZONE_NORMAL, 'CMA full: NORMAL last');
  assert.equal(zoneOf(m.allocFolio(GFP_KERNEL, 0)), ZONE_NORMAL);
});

test('zones: GFP_KERNEL never takes MOVABLE or CMA pages', () => {
  const m = mem(BLOCK, BLOCK, BLOCK);
  for (let p = m.allocFolio(GFP_KERNEL, 0); p >= 0; p = m.allocFolio(GFP_KERNEL, 0)) assert.equal(m.zoneOf(p), ZONE_NORMAL);
  assert.equal(m.freePages[ZONE_MOVABLE] + m.freePages[ZONE_CMA], 2 * BLOCK);
});

// R45 step 1: memalloc_pin_save() (include/linux/sched/mm.h current_gfp_context()) drops __GFP_MOVABLE.
test('R45: inside a memalloc_pin scope user allocations come from NORMAL only', () => {
  const k = kernel('current', { normal: 4 << 20, movable: 4 << 20, cma: 4 << 20 });
  const t = createTask(k, 'app');
  const outside = k.mem.allocFolio(k.gfpUser(), 0);
  assert.equal(k.mem.zoneOf(outside), ZONE_MOVABLE);
  k.memallocPin++;
  try {
    for (let i = 0; i < 8; i++) assert.equal(k.mem.zoneOf(k.mem.allocFolio(k.gfpUser(), 0)), ZONE_NORMAL);
    // A user fault inside the scope (what a FOLL_LONGTERM GUP faults in) lands in NORMAL too.
    const addr = mmap(k, t, 2 * PAGE_SIZE);
    write(k, t, addr, 2 * PAGE_SIZE, 5);
    assert.equal(k.mem.zoneOf(pfnAt(t, addr)), ZONE_NORMAL);
    assert.equal(k.mem.zoneOf(pfnAt(t, addr + PAGE_SIZE)), ZONE_NORMAL);
  } finally {
    k.memallocPin--;
  }
  const addr2 = mmap(k, t, PAGE_SIZE);
  write(k, t, addr2, PAGE_SIZE, 6);
  assert.equal(k.mem.zoneOf(pfnAt(t, addr2)), ZONE_MOVABLE, 'outside the scope user pages are movable again');
});

// R8, mm/page_alloc.c free_tail_page_prepare(): bad_page("nonzero pincount").
test('R8: freeing a large folio with a nonzero pincount is "Bad page state"', () => {
  const m = mem(BLOCK);
  const f = m.allocFolio(GFP_KERNEL, 2);
  m.pincountAdd(f, 1);
  assert.throws(() => m.putRefs(f, 1), (e: unknown) =>
    e instanceof KernelBug && /Bad page state/.test(e.message) && /pincount/.test(e.message));
});

// mm/page_alloc.c free_page_is_bad(): page_mapcount() != 0 → bad_page("nonzero mapcount").
test('freeing a folio that is still mapped (mapcount) is "Bad page state"', () => {
  const m = mem(BLOCK);
  const f = m.allocFolio(GFP_KERNEL, 0);
  m.setMapcount(f, 1);
  assert.throws(() => m.putRefs(f, 1), (e: unknown) =>
    e instanceof KernelBug && /Bad page state/.test(e.message) && /mapcount/.test(e.message));
});

test('freeing a healthy folio is not a bug and returns its pages', () => {
  const m = mem(BLOCK);
  const f = m.allocFolio(GFP_KERNEL, 3);
  m.putRefs(f, 1);
  assert.ok(m.isFree(f));
  assert.equal(m.freePages[ZONE_NORMAL], BLOCK);
});

// R61: my_zero_pfn(addr) picks the color by virtual address (MIPS ZERO_PAGE(vaddr): vaddr & zero_page_mask).
test('R61: zeroPfnFor() picks the zero page color by virtual address', () => {
  const m = mem(BLOCK, 0, 0, 8);
  assert.equal(m.zeroPfns.length, 8);
  const base = 0x7f0000000000;
  const seen = new Set<number>();
  for (let i = 0; i < 8; i++) {
    const z = m.zeroPfnFor(base + i * PAGE_SIZE);
    assert.ok(m.isZeroPfn(z));
    seen.add(z);
    assert.equal(m.zeroPfnFor(base + i * PAGE_SIZE + 123), z, 'same page, same color');
    assert.equal(m.zeroPfnFor(base + (i + 8) * PAGE_SIZE), z, 'colors repeat every 8 pages');
  }
  assert.equal(seen.size, 8, 'eight consecutive pages use eight different zero pages');
  const one = mem(BLOCK);
  assert.equal(one.zeroPfnFor(base), one.zeroPfnFor(base + 5 * PAGE_SIZE), 'x86: one zero page');
});

test('R61/R39: read faults map the colored zero page of each address; all are is_zero_folio', () => {
  const { k, t, addr } = setup({ machine: { zeroPageColors: 4 }, pages: 8, value: null });
  const zs = new Set<number>();
  for (let i = 0; i < 8; i++) {
    assert.equal(read(k, t, addr + i * PAGE_SIZE), 0);
    const p = pfnAt(t, addr + i * PAGE_SIZE);
    assert.equal(p, k.mem.zeroPfnFor(addr + i * PAGE_SIZE));
    assert.ok(is_zero_folio(k, p));
    zs.add(p);
  }
  assert.equal(zs.size, 4);
});

// R61/R62: is_zero_pfn() accepts every color, so no color is pinned on v6.5+.
test('R61/R62: a pin on a non-first zero page color is not taken or counted (current)', () => {
  const { k, t, addr } = setup({ machine: { zeroPageColors: 4 }, pages: 4, value: null });
  for (let i = 0; i < 4; i++) read(k, t, addr + i * PAGE_SIZE);
  const refs = k.mem.zeroPfns.map((z) => k.mem.ref(z));
  const c0 = counters(k);
  const P = pagesArray(4);
  assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, addr, 4, 0, P)), 4);
  assert.deepEqual(new Set(P), new Set(k.mem.zeroPfns));
  assert.deepEqual(k.mem.zeroPfns.map((z) => k.mem.ref(z)), refs);
  assert.deepEqual(counters(k), c0);
  step(k, t, 'unpin', () => unpin_user_pages(k, P, 4));
  assert.deepEqual(k.mem.zeroPfns.map((z) => k.mem.ref(z)), refs);
  assert.deepEqual(counters(k), c0);
});

test('PhysMem.BYTES_PER_PAGE is at most 32 bytes', () => {
  assert.ok(PhysMem.BYTES_PER_PAGE <= 32, `${PhysMem.BYTES_PER_PAGE} bytes per page`);
  // The arrays it counts really are that size per page.
  const m = mem(BLOCK);
  const arrays = m.arrayLayout();
  const bytes = arrays.reduce((s, a) => s + a.bytes, 0);
  assert.equal(bytes, PhysMem.BYTES_PER_PAGE);
  for (const a of arrays) assert.equal(a.length, m.nrPages);
});

// The explorer's snapshot of the folio table (PhysMem[SNAPSHOT_SELF]): a restore after any mix of
// allocations, frees, splits of the free lists, references and flags gives back every array, for
// the recording table (dirty runs only) and the plain one (whole copy).
test('snapshot: restoring the folio table gives back every page, dirty runs or whole copy', () => {
  for (const recording of [true, false]) {
    const cfg = { normal: 2 * BLOCK, movable: BLOCK, cma: 0, zeroPageColors: 1 };
    const m = recording ? new RecordingPhysMem(cfg) : new PhysMem(cfg);
    const keep = [m.allocFolio(GFP_KERNEL, 0), m.allocFolio(GFP_HIGHUSER_MOVABLE, 9), m.allocFolio(GFP_KERNEL, 2)];
    const text = () => { const a: string[] = []; for (let p = 0; p < m.nrPages; p++) a.push(m.describe(p).join(' ') + ` ${m.mappingOf(p)} ${m.indexOf(p)} ${m.contentOf(p)}`); return a.join('\n'); };
    const snap = m[SNAPSHOT_SELF]();
    const before = text();
    const freeBefore = [...m.freePages];
    for (let round = 0; round < 3; round++) {
      const got = [0, 3, 0, 1, 9, 0].map((o) => m.allocFolio(GFP_HIGHUSER_MOVABLE, o));
      m.refAdd(keep[0], 5);
      m.set(keep[1], 1 << 3);
      m.setContent(keep[2] + 1, 77);
      m.pincountAdd(keep[1], 2);
      m.putRefs(got[0], 1);
      m.setMapping(got[2], 9);
      m.setIndex(got[2], 4);
      assert.notEqual(text(), before);
      snap.restore();
      // The free counts and list heads are ordinary fields that the graph snapshot restores (here
      // the counts only, so that later rounds still find pages).
      for (let z = 0; z < freeBefore.length; z++) m.freePages[z] = freeBefore[z];
      assert.equal(text(), before, `${recording ? 'recording' : 'plain'} table, round ${round}`);
    }
  }
});
