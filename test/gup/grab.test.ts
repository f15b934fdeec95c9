// Grab/pin arithmetic per profile: mm/gup.c try_grab_folio(), try_grab_folio_fast(), gup_put_folio();
// include/linux/mm.h folio_maybe_dma_pinned(). Spec R1–R5, R12, R62, R63, R117–R119.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  folio_add_pin, folio_add_pins, get_user_pages, get_user_pages_fast, pin_user_pages, pin_user_pages_fast,
} from '../../src/gup/api.js';
import { put_page, unpin_user_page, unpin_user_pages } from '../../src/gup/unpin.js';
import { ENOMEM, HPAGE_PMD_ORDER, PAGE_SIZE } from '../../src/include/uapi.js';
import {
  PIN_PROFILES, THP_SIZE, delta, pagesArray, pfnAt, pincount, read, ref, setup, step, warnsDuring, write,
} from '../helpers.js';
import { FOLL_WRITE, GUP_PIN_COUNTING_BIAS } from '../../src/include/linux/mm.js';
import { folio_maybe_dma_pinned } from '../../src/mm/folio.js';

type PinFn = typeof pin_user_pages_fast;
const PIN_FNS: Array<[string, PinFn]> = [['pin_user_pages_fast', pin_user_pages_fast], ['pin_user_pages', pin_user_pages]];

for (const profile of PIN_PROFILES) {
  for (const [fname, pin] of PIN_FNS) {
    // R2: a small folio has no _pincount; each pin adds GUP_PIN_COUNTING_BIAS (try_grab_folio()).
    test(`R2 [${profile}] ${fname}: each pin of a small folio adds 1024 to refcount and 1 to acq; unpin undoes it`, () => {
      const { k, t, addr } = setup({ profile, pages: 2 });
      const pfn = pfnAt(t, addr);
      const r0 = ref(k, pfn);
      const P = pagesArray(2);
      const d = delta(k, () => step(k, t, 'pin', () => pin(k, t, addr, 2, FOLL_WRITE, P)));
      assert.equal(d.r, 2);
      assert.deepEqual(P, [pfn, pfnAt(t, addr + PAGE_SIZE)]);
      assert.equal(ref(k, pfn), r0 + GUP_PIN_COUNTING_BIAS);
      assert.equal(pincount(k, pfn), 0, 'a small folio has no _pincount');
      assert.deepEqual([d.acq, d.rel], [2, 0]);
      assert.ok(folio_maybe_dma_pinned(k, pfn));
      const Q = pagesArray(1);
      assert.equal(step(k, t, 'pin again', () => pin(k, t, addr, 1, 0, Q)), 1);
      assert.equal(ref(k, pfn), r0 + 2 * GUP_PIN_COUNTING_BIAS, 'a second pin adds another BIAS');
      const u = delta(k, () => step(k, t, 'unpin', () => { unpin_user_pages(k, P, 2); unpin_user_page(k, Q[0]); }));
      assert.deepEqual([u.acq, u.rel], [0, 3]);
      assert.equal(ref(k, pfn), r0);
      assert.ok(!folio_maybe_dma_pinned(k, pfn));
    });

    // R3, R12: a PMD-mapped THP has _pincount: k pages pinned → ref +k, pin +k, acq +k.
    test(`R3/R12 [${profile}] ${fname}: pinning k pages of a THP adds k to refcount, pincount and acq`, () => {
      const { k, t, addr } = setup({ profile, machine: { thp: 'always' }, length: THP_SIZE, value: null });
      assert.equal(addr % THP_SIZE, 0, 'a 2 MiB mapping is 2 MiB aligned (thp_get_unmapped_area())');
      // Write one byte: the fault allocates a PMD-mapped THP (do_huge_pmd_anonymous_page()).
      write(k, t, addr, 1, 42);
      const first = addr + 5 * PAGE_SIZE;
      const head = k.mem.head(pfnAt(t, addr));
      assert.equal(k.mem.folioOrder(head), HPAGE_PMD_ORDER);
      const r0 = k.mem.ref(head);
      const kk = 3;
      const P = pagesArray(kk);
      const d = delta(k, () => step(k, t, 'pin', () => pin(k, t, first, kk, FOLL_WRITE, P)));
      assert.equal(d.r, kk);
      assert.deepEqual(P, [head + 5, head + 6, head + 7]);
      assert.equal(k.mem.ref(head), r0 + kk);
      assert.equal(k.mem.pincount(head), kk);
      assert.deepEqual([d.acq, d.rel], [kk, 0]);
      // Unpin in two groupings: the same amounts come off (R12).
      const u = delta(k, () => step(k, t, 'unpin', () => { unpin_user_page(k, P[2]); unpin_user_pages(k, P, 2); }));
      assert.deepEqual([u.acq, u.rel], [0, kk]);
      assert.equal(k.mem.ref(head), r0);
      assert.equal(k.mem.pincount(head), 0);
      assert.ok(!folio_maybe_dma_pinned(k, head));
    });
  }

  // R12: the whole PMD in one call → 512 pins counted per page.
  test(`R12 [${profile}]: pinning all 512 pages of a THP counts 512 and adds 512 to ref and pincount`, () => {
    const { k, t, addr } = setup({ profile, machine: { thp: 'always' }, length: THP_SIZE, value: 9 });
    const head = k.mem.head(pfnAt(t, addr));
    assert.equal(k.mem.folioOrder(head), HPAGE_PMD_ORDER);
    const r0 = k.mem.ref(head);
    const P = pagesArray(512);
    const d = delta(k, () => step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 512, FOLL_WRITE, P)));
    assert.equal(d.r, 512);
    assert.deepEqual([d.acq, d.rel], [512, 0]);
    assert.equal(k.mem.ref(head), r0 + 512);
    assert.equal(k.mem.pincount(head), 512);
    assert.ok(P.every((p, i) => p === head + i));
    const u = delta(k, () => step(k, t, 'unpin', () => unpin_user_pages(k, P, 512)));
    assert.deepEqual([u.acq, u.rel], [0, 512]);
    assert.equal(k.mem.ref(head), r0);
  });

  // R1/R63: GET is ref += 1 and never counted, on any folio.
  test(`R1/R75 [${profile}]: a GET adds 1 to refcount and never moves the pin counters`, () => {
    const { k, t, addr } = setup({ profile, pages: 1 });
    const pfn = pfnAt(t, addr);
    const r0 = ref(k, pfn);
    const G = pagesArray(1);
    const d = delta(k, () => step(k, t, 'get', () => get_user_pages_fast(k, t, addr, 1, 0, G)));
    assert.equal(d.r, 1);
    assert.equal(ref(k, pfn), r0 + 1);
    assert.deepEqual([d.acq, d.rel], [0, 0]);
    assert.ok(!folio_maybe_dma_pinned(k, pfn));
    const u = delta(k, () => step(k, t, 'put', () => put_page(k, G[0])));
    assert.deepEqual([u.acq, u.rel], [0, 0]);
    assert.equal(ref(k, pfn), r0);
  });
}

// R4/R62: before v6.5 the zero page was pinned like any small page (BIAS, counted); from v6.5
// (c8070b787519 "mm: Don't pin ZERO_PAGE in pin_user_pages()") a pin changes nothing.
const ZERO_PIN: Array<[string, boolean]> = [['5.7', true], ['6.2', true], ['6.5', false], ['current', false]];
for (const [profile, pinned] of ZERO_PIN) {
  for (const [fname, pin] of PIN_FNS) {
    test(`R4/R62 [${profile}] ${fname}: a R/O pin of the zero page ${pinned ? 'adds BIAS and counts' : 'changes nothing and counts nothing'}`, () => {
      const { k, t, addr } = setup({ profile, pages: 2, value: null });
      read(k, t, addr);
      read(k, t, addr + PAGE_SIZE);
      const z = pfnAt(t, addr);
      assert.ok(k.mem.isZeroPfn(z));
      const r0 = k.mem.ref(z);
      const P = pagesArray(2);
      const d = delta(k, () => step(k, t, 'pin', () => pin(k, t, addr, 2, 0, P)));
      assert.equal(d.r, 2);
      assert.deepEqual(P, [z, z], 'the pinned pages are the zero page itself');
      if (pinned) {
        assert.equal(k.mem.ref(z), r0 + 2 * GUP_PIN_COUNTING_BIAS);
        assert.deepEqual([d.acq, d.rel], [2, 0]);
        assert.ok(folio_maybe_dma_pinned(k, z));
      } else {
        assert.equal(k.mem.ref(z), r0);
        assert.deepEqual([d.acq, d.rel], [0, 0]);
        assert.ok(!folio_maybe_dma_pinned(k, z), 'R5: the zero page never reads as pinned on v6.5+');
      }
      const u = delta(k, () => step(k, t, 'unpin', () => unpin_user_pages(k, P, 2)));
      assert.deepEqual([u.acq, u.rel], pinned ? [0, 2] : [0, 0]);
      assert.equal(k.mem.ref(z), r0);
    });
  }

  // R63: a GET on the zero page is a real reference (+1), never counted, on every profile.
  test(`R63 [${profile}]: a GET on the zero page adds 1 and counts nothing`, () => {
    const { k, t, addr } = setup({ profile, pages: 1, value: null });
    read(k, t, addr);
    const z = pfnAt(t, addr);
    const r0 = k.mem.ref(z);
    const G = pagesArray(1);
    const d = delta(k, () => step(k, t, 'get', () => get_user_pages(k, t, addr, 1, 0, G)));
    assert.equal(d.r, 1);
    assert.equal(G[0], z);
    assert.equal(k.mem.ref(z), r0 + 1);
    assert.deepEqual([d.acq, d.rel], [0, 0]);
    step(k, t, 'put', () => put_page(k, z));
    assert.equal(k.mem.ref(z), r0);
  });
}

// R5: without _pincount, folio_maybe_dma_pinned() is "refcount >= 1024": many GETs are a false positive.
for (const profile of ['5.7', 'current']) {
  test(`R5 [${profile}]: folio_maybe_dma_pinned() turns true once a small folio holds 1024 plain references`, () => {
    const { k, t, addr } = setup({ profile, pages: 1 });
    const pfn = pfnAt(t, addr);
    const G: number[] = [];
    const one = pagesArray(1);
    step(k, t, 'gets', () => {
      while (k.mem.ref(pfn) < GUP_PIN_COUNTING_BIAS - 1) {
        assert.equal(get_user_pages_fast(k, t, addr, 1, 0, one), 1);
        G.push(one[0]);
      }
    });
    assert.equal(k.mem.ref(pfn), 1023);
    assert.ok(!folio_maybe_dma_pinned(k, pfn), '1023 references: not pinned');
    step(k, t, 'get', () => { assert.equal(get_user_pages_fast(k, t, addr, 1, 0, one), 1); G.push(one[0]); });
    assert.ok(folio_maybe_dma_pinned(k, pfn), '1024 references read as pinned (false positive)');
    assert.equal(k.vmstat.get('nr_foll_pin_acquired'), 0, 'no pin was ever taken');
    step(k, t, 'put', () => { for (const p of G) put_page(k, p); });
    assert.ok(!folio_maybe_dma_pinned(k, pfn));
  });

  test(`R5 [${profile}]: a THP's folio_maybe_dma_pinned() is exact: 1024 GETs are not a pin`, () => {
    const { k, t, addr } = setup({ profile, machine: { thp: 'always' }, length: THP_SIZE, value: 1 });
    const head = k.mem.head(pfnAt(t, addr));
    const G = pagesArray(1024);
    step(k, t, 'gets', () => { for (let i = 0; i < 4; i++) assert.equal(get_user_pages_fast(k, t, addr, 256, 0, G.slice(i * 256)), 256); });
    assert.ok(k.mem.ref(head) >= GUP_PIN_COUNTING_BIAS);
    assert.ok(!folio_maybe_dma_pinned(k, head));
    const P = pagesArray(1);
    step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 1, 0, P));
    assert.ok(folio_maybe_dma_pinned(k, head));
  });
}

// R3 history: v5.7's hpage_pinned_refcount lived in page[2], so order-1 folios used BIAS; since
// v5.18 (5232c63f46fd) every large folio on 64-bit has _pincount.
for (const [profile, bias] of [['5.7', true], ['current', false]] as const) {
  test(`R3 [${profile}]: a pin of an order-1 folio ${bias ? 'uses GUP_PIN_COUNTING_BIAS' : 'uses _pincount'}`, () => {
    const { k, t, addr } = setup({ profile, machine: { thp: 'always', mthpOrders: [1] }, pages: 2 });
    const head = k.mem.head(pfnAt(t, addr));
    assert.equal(k.mem.folioOrder(head), 1, 'the write fault allocated an order-1 mTHP');
    const r0 = k.mem.ref(head);
    const P = pagesArray(2);
    const d = delta(k, () => step(k, t, 'pin', () => pin_user_pages(k, t, addr, 2, FOLL_WRITE, P)));
    assert.equal(d.r, 2);
    assert.equal(d.acq, 2);
    if (bias) {
      assert.equal(k.mem.ref(head), r0 + 2 * GUP_PIN_COUNTING_BIAS);
    } else {
      assert.equal(k.mem.ref(head), r0 + 2);
      assert.equal(k.mem.pincount(head), 2);
    }
    step(k, t, 'unpin', () => unpin_user_pages(k, P, 2));
    assert.equal(k.mem.ref(head), r0);
  });
}

// R10/R117/R119 (try_grab_folio(): WARN_ON_ONCE(folio_ref_count(folio) <= 0) → -ENOMEM; the check
// is made before adding, so one grab wraps ref negative and the next fails; unpins still work).
for (const profile of ['5.7', '6.2', 'current']) {
  test(`R119 [${profile}]: near 2^31 one pin wraps the refcount negative, the next grab is -ENOMEM, unpin still works`, () => {
    const { k, t, addr } = setup({ profile, pages: 1 });
    const pfn = pfnAt(t, addr);
    const r0 = ref(k, pfn);
    const high = 2 ** 31 - 100;
    step(k, t, 'folio_ref_add', () => k.mem.refAdd(pfn, high - r0));
    assert.equal(ref(k, pfn), high);
    const P = pagesArray(1);
    const d = delta(k, () => step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 1, FOLL_WRITE, P)));
    assert.equal(d.r, 1);
    assert.equal(d.acq, 1);
    assert.equal(ref(k, pfn), high + GUP_PIN_COUNTING_BIAS - 2 ** 32, 'signed 32-bit wrap');
    assert.ok(ref(k, pfn) < 0);
    assert.ok(folio_maybe_dma_pinned(k, pfn), 'R5: unsigned compare: a wrapped refcount reads as pinned');
    for (const [name, fn] of [
      ['pin_user_pages', () => pin_user_pages(k, t, addr, 1, FOLL_WRITE, pagesArray(1))],
      ['pin_user_pages_fast', () => pin_user_pages_fast(k, t, addr, 1, FOLL_WRITE, pagesArray(1))],
      ['get_user_pages', () => get_user_pages(k, t, addr, 1, FOLL_WRITE, pagesArray(1))],
    ] as const) {
      const before = ref(k, pfn);
      const w = warnsDuring(k, () => delta(k, () => step(k, t, name, fn)));
      assert.equal(w.r.r, -ENOMEM, `${name} on a wrapped folio`);
      assert.deepEqual([w.r.acq, w.r.rel], [0, 0]);
      assert.equal(ref(k, pfn), before, `${name} must not change the refcount`);
    }
    assert.ok(k.warnings.list.some((x) => /refcount/.test(x.message)), 'the guard WARNs');
    const u = delta(k, () => step(k, t, 'unpin', () => unpin_user_page(k, P[0])));
    assert.equal(u.rel, 1);
    assert.equal(ref(k, pfn), high);
    // Back below the edge, pins work again.
    step(k, t, 'folio_put_refs', () => k.mem.putRefs(pfn, high - r0));
    const Q = pagesArray(1);
    assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, addr, 1, FOLL_WRITE, Q)), 1);
    step(k, t, 'unpin', () => unpin_user_page(k, Q[0]));
    assert.equal(ref(k, pfn), r0);
  });
}

// R71: folio_add_pin() (v6.5) adds a pin without counting acq; its unpin counts rel. No-op on the zero page.
for (const profile of ['6.5', 'current']) {
  test(`R71 [${profile}] folio_add_pin adds a pin (BIAS on a small folio) without counting nr_foll_pin_acquired`, () => {
    const { k, t, addr } = setup({ profile, pages: 1 });
    const P = pagesArray(1);
    assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, addr, 1, FOLL_WRITE, P)), 1);
    const r0 = ref(k, P[0]);
    const d = delta(k, () => step(k, t, 'folio_add_pin', () => folio_add_pin(k, P[0])));
    assert.equal(ref(k, P[0]), r0 + GUP_PIN_COUNTING_BIAS);
    assert.deepEqual([d.acq, d.rel], [0, 0]);
    const u = delta(k, () => step(k, t, 'unpin x2', () => { unpin_user_page(k, P[0]); unpin_user_page(k, P[0]); }));
    assert.deepEqual([u.acq, u.rel], [0, 2], 'R76: folio_add_pin + its unpin is 0 / +1');
  });

  test(`R71 [${profile}] folio_add_pin on a THP adds 1 to refcount and pincount; on the zero page nothing`, () => {
    const { k, t, addr } = setup({ profile, machine: { thp: 'always' }, length: THP_SIZE, value: 1 });
    const head = k.mem.head(pfnAt(t, addr));
    const P = pagesArray(1);
    assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 1, FOLL_WRITE, P)), 1);
    const r0 = k.mem.ref(head);
    step(k, t, 'folio_add_pin', () => folio_add_pin(k, head));
    assert.deepEqual([k.mem.ref(head), k.mem.pincount(head)], [r0 + 1, 2]);
    const z = k.mem.zeroPfns[0];
    const zr = k.mem.ref(z);
    const d = delta(k, () => step(k, t, 'folio_add_pin zero', () => folio_add_pin(k, z)));
    assert.equal(k.mem.ref(z), zr);
    assert.deepEqual([d.acq, d.rel], [0, 0]);
  });
}

// R27: folio_add_pins() goes through try_grab_folio(), so it does count acq.
test('R27 [current] folio_add_pins(n) counts n in nr_foll_pin_acquired', () => {
  const { k, t, addr } = setup({ machine: { thp: 'always' }, length: THP_SIZE, value: 1 });
  const head = k.mem.head(pfnAt(t, addr));
  const P = pagesArray(1);
  assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 1, FOLL_WRITE, P)), 1);
  const d = delta(k, () => step(k, t, 'folio_add_pins', () => folio_add_pins(k, head, 3)));
  assert.equal(d.r, 0);
  assert.deepEqual([d.acq, d.rel], [3, 0]);
  assert.equal(k.mem.pincount(head), 4);
});

// R66: the huge zero folio is not is_zero_folio(): a pin takes real pins and counts them
// (v6.5–v6.17 [derived]; measured on the 6.18 host: ΔA = ΔR = +512, spec header / Q-3).
for (const profile of ['6.5', 'current']) {
  for (const [fname, pin] of PIN_FNS) {
    test(`R66 [${profile}] ${fname}: a R/O pin of 512 pages of the huge zero folio counts 512 and raises its pincount`, () => {
      const { k, t, addr } = setup({ profile, machine: { thp: 'always' }, length: THP_SIZE, value: null });
      read(k, t, addr);
      const hz = pfnAt(t, addr);
      assert.ok(k.mem.isHugeZero(hz), 'precondition: a read fault mapped the huge zero folio');
      const r0 = k.mem.ref(hz);
      const P = pagesArray(512);
      const d = delta(k, () => step(k, t, fname, () => pin(k, t, addr, 512, 0, P)));
      assert.equal(d.r, 512);
      assert.ok(P.every((p, i) => p === hz + i));
      assert.deepEqual([d.acq, d.rel], [512, 0]);
      assert.equal(k.mem.ref(hz), r0 + 512);
      assert.equal(k.mem.pincount(hz), 512);
      const u = delta(k, () => step(k, t, 'unpin', () => unpin_user_pages(k, P, 512)));
      assert.deepEqual([u.acq, u.rel], [0, 512]);
      assert.equal(k.mem.ref(hz), r0);
    });
  }
}

// R7: MMF_HAS_PINNED is set by the first FOLL_PIN attempt — before any page is looked at, so even a
// failing or zero-page-only pin sets it — by both paths; GETs never set it.
test('R7 [current] MMF_HAS_PINNED: set by a zero-page-only pin and by a failing pin, not by GETs', () => {
  const { k, t, addr } = setup({ pages: 1, value: null });
  step(k, t, 'get', () => get_user_pages_fast(k, t, addr, 1, 0, pagesArray(1)));
  assert.equal(t.mm.hasPinned, false, 'GET does not set it');
  assert.equal(step(k, t, 'pin zero', () => pin_user_pages_fast(k, t, addr, 1, 0, pagesArray(1))), 1);
  assert.equal(t.mm.hasPinned, true, 'a pin that only found the zero page sets it');
  const k2 = setup({ pages: 1 });
  const hole = k2.addr - 64 * PAGE_SIZE;
  assert.ok(step(k2.k, k2.t, 'pin hole', () => pin_user_pages(k2.k, k2.t, hole, 1, 0, pagesArray(1))) < 0);
  assert.equal(k2.t.mm.hasPinned, true, 'a pin that failed (no VMA) sets it too');
});
