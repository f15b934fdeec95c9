// Argument validation of the public API: mm/gup.c is_valid_gup_args() (v6.3+) and
// gup_fast_fallback(). Spec R15, R16, R26, R35.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get_user_pages, get_user_pages_fast, get_user_pages_fast_only, get_user_pages_remote, get_user_pages_unlocked, pin_user_pages, pin_user_pages_fast, pin_user_pages_remote, pin_user_pages_unlocked } from '../../src/gup/api.js';
import type { PageArray } from '../../src/gup/gup.js';
import { EFAULT, EINVAL, EOVERFLOW, PAGE_SIZE, TASK_SIZE_MAX } from '../../src/include/uapi.js';
import type { Kernel } from '../../src/kernel.js';
import type { Task } from '../../src/vm/mm.js';
import { counters, delta, pagesArray, pfnAt, ref, setup, step, warnsDuring } from '../helpers.js';
import { FOLL_ANON, FOLL_DUMP, FOLL_FAST_ONLY, FOLL_FORCE, FOLL_GET, FOLL_HONOR_NUMA_FAULT, FOLL_HWPOISON, FOLL_INTERRUPTIBLE, FOLL_LONGTERM, FOLL_MADV_POPULATE, FOLL_NOFAULT, FOLL_NOWAIT, FOLL_PCI_P2PDMA, FOLL_PIN, FOLL_REMOTE, FOLL_SPLIT_PMD, FOLL_TOUCH, FOLL_TRIED, FOLL_UNLOCKABLE, FOLL_WRITE, GUP_PIN_COUNTING_BIAS, INTERNAL_GUP_FLAGS } from '../../src/include/linux/mm.js';
import { ApiUnavailable } from '../../src/check/bug.js';

type Call = (k: Kernel, t: Task, addr: number, n: number, flags: number, pages: PageArray | null) => number;

/** Every acquire function, with the value R16 says it returns for invalid arguments. */
const CALLS: Array<[string, Call, number]> = [
  ['get_user_pages', (k, t, a, n, f, p) => get_user_pages(k, t, a, n, f, p), -EINVAL],
  ['get_user_pages_remote', (k, t, a, n, f, p) => get_user_pages_remote(k, t.mm, a, n, f, p), -EINVAL],
  ['get_user_pages_unlocked', (k, t, a, n, f, p) => get_user_pages_unlocked(k, t, a, n, p, f), -EINVAL],
  ['get_user_pages_fast', (k, t, a, n, f, p) => get_user_pages_fast(k, t, a, n, f, p as PageArray), -EINVAL],
  ['get_user_pages_fast_only', (k, t, a, n, f, p) => get_user_pages_fast_only(k, t, a, n, f, p as PageArray), -EINVAL],
  ['pin_user_pages', (k, t, a, n, f, p) => pin_user_pages(k, t, a, n, f, p), 0],
  ['pin_user_pages_remote', (k, t, a, n, f, p) => pin_user_pages_remote(k, t.mm, a, n, f, p), 0],
  ['pin_user_pages_unlocked', (k, t, a, n, f, p) => pin_user_pages_unlocked(k, t, a, n, p, f), 0],
  ['pin_user_pages_fast', (k, t, a, n, f, p) => pin_user_pages_fast(k, t, a, n, f, p), -EINVAL],
];
const GETS = CALLS.filter(([n]) => n.startsWith('get_'));

/** Call on a fresh kernel (WARN_ON_ONCE records only the first hit of a site) and check: the
 *  return value, one WARN, nothing grabbed, no counter moved. */
function expectInvalid(name: string, call: Call, flags: number, expected: number, pages: PageArray | null = pagesArray(2)): void {
  const { k, t, addr } = setup({ pages: 2 });
  const pfn = pfnAt(t, addr);
  const r0 = ref(k, pfn);
  const c0 = counters(k);
  const w = warnsDuring(k, () => step(k, t, name, () => call(k, t, addr, 2, flags, pages)));
  assert.equal(w.r, expected, `${name} returns ${expected}`);
  assert.equal(w.warns.length, 1, `${name}: exactly one WARN, got ${JSON.stringify(w.warns)}`);
  assert.equal(ref(k, pfn), r0, 'nothing grabbed');
  assert.deepEqual(counters(k), c0, 'no counter moved');
  if (pages) assert.ok([...pages].every((p) => p === -1), 'the pages array is untouched');
}

// R15.1: INTERNAL_GUP_FLAGS from a caller are invalid; R16: pin_user_pages{,_remote,_unlocked} return 0.
for (const [name, call, inval] of CALLS) {
  for (const [fname, flag] of [['FOLL_TOUCH', FOLL_TOUCH], ['FOLL_TRIED', FOLL_TRIED], ['FOLL_REMOTE', FOLL_REMOTE],
    ['FOLL_UNLOCKABLE', FOLL_UNLOCKABLE], ['FOLL_FAST_ONLY', FOLL_FAST_ONLY]] as const) {
    test(`R15.1/R16 [current] ${name}(${fname}): internal flag → ${inval} with a WARN`, () => {
      expectInvalid(name, call, flag, inval);
    });
  }
}

// R15.3: FOLL_GET with FOLL_PIN. pin_* callers pass FOLL_GET; get_* callers can only pass FOLL_PIN,
// which is internal (R15.1), so both are refused.
for (const [name, call, inval] of CALLS) {
  const flag = name.startsWith('pin_') ? FOLL_GET : FOLL_PIN;
  test(`R15/R16 [current] ${name}(${name.startsWith('pin_') ? 'FOLL_GET' : 'FOLL_PIN'}): GET|PIN → ${inval} with a WARN`, () => {
    expectInvalid(name, call, flag | FOLL_WRITE, inval);
  });
}

// R15.4: FOLL_LONGTERM without FOLL_PIN ("mm/gup: remove support for gup(FOLL_LONGTERM)").
for (const [name, call] of GETS) {
  test(`R15.4/R16 [current] ${name}(FOLL_LONGTERM) → -EINVAL with a WARN`, () => {
    expectInvalid(name, call, FOLL_LONGTERM | FOLL_WRITE, -EINVAL);
  });
}

// R15.5: FOLL_PIN (or FOLL_GET) with pages == NULL.
for (const [name, call, inval] of CALLS.filter(([n]) => n.startsWith('pin_') || n.startsWith('get_user_pages_fast'))) {
  test(`R15.5/R16 [current] ${name}(pages = NULL) → ${inval} with a WARN`, () => {
    expectInvalid(name, call, FOLL_WRITE, inval, null);
  });
}

// R15.6: FOLL_LONGTERM with FOLL_PCI_P2PDMA.
for (const [name, call, inval] of CALLS.filter(([n]) => n.startsWith('pin_'))) {
  test(`R15.6/R16 [current] ${name}(FOLL_LONGTERM|FOLL_PCI_P2PDMA) → ${inval} with a WARN`, () => {
    expectInvalid(name, call, FOLL_LONGTERM | FOLL_PCI_P2PDMA, inval);
  });
}

// R17: get_user_pages() with pages == NULL only faults in (no FOLL_GET implied): valid.
test('R17 [current] get_user_pages(pages = NULL) faults the range in and grabs nothing', () => {
  const { k, t, addr } = setup({ pages: 3, value: null });
  const w = warnsDuring(k, () => step(k, t, 'gup', () => get_user_pages(k, t, addr, 3, FOLL_WRITE, null)));
  assert.equal(w.r, 3);
  assert.deepEqual(w.warns, []);
  for (let i = 0; i < 3; i++) {
    const p = pfnAt(t, addr + i * PAGE_SIZE);
    assert.ok(p >= 0 && !k.mem.isZeroPfn(p), 'a write fault-in maps a real page');
    assert.equal(ref(k, p), 1, 'only the mapping holds it');
  }
});

// R26: gup_fast_fallback() accepts only WRITE|LONGTERM|FORCE|PIN|GET|FAST_ONLY|NOFAULT|PCI_P2PDMA|HONOR_NUMA_FAULT.
for (const [name, call] of CALLS.filter(([n]) => n.includes('_fast'))) {
  test(`R26 [current] ${name}(FOLL_DUMP): unsupported by GUP-fast → -EINVAL with a WARN`, () => {
    expectInvalid(name, call, FOLL_DUMP, -EINVAL);
  });
}

// R26: end above TASK_SIZE_MAX → -EFAULT; start + len overflowing → -EOVERFLOW (check_add_overflow()).
for (const [name, call] of CALLS.filter(([n]) => n.includes('_fast'))) {
  test(`R26 [current] ${name}: a range ending above TASK_SIZE_MAX → -EFAULT`, () => {
    const { k, t } = setup({ pages: 1 });
    const d = delta(k, () => step(k, t, name, () => call(k, t, TASK_SIZE_MAX - PAGE_SIZE, 2, 0, pagesArray(2))));
    assert.equal(d.r, -EFAULT);
    assert.deepEqual([d.acq, d.rel], [0, 0]);
  });

  test(`R26 [current] ${name}: start + nr_pages * PAGE_SIZE overflowing → -EOVERFLOW`, () => {
    const { k, t } = setup({ pages: 1 });
    assert.equal(step(k, t, name, () => call(k, t, 2 ** 64 - PAGE_SIZE, 2, 0, pagesArray(2))), -EOVERFLOW);
  });
}

// R35: nr_pages == 0 → 0 for every acquire function.
for (const [name, call] of CALLS) {
  test(`R35 [current] ${name}(nr_pages = 0) → 0, nothing grabbed`, () => {
    const { k, t, addr } = setup({ pages: 1 });
    const r0 = ref(k, pfnAt(t, addr));
    const w = warnsDuring(k, () => delta(k, () => step(k, t, name, () => call(k, t, addr, 0, 0, pagesArray(0)))));
    assert.equal(w.r.r, 0);
    assert.deepEqual(w.warns, []);
    assert.deepEqual([w.r.acq, w.r.rel], [0, 0]);
    assert.equal(ref(k, pfnAt(t, addr)), r0);
  });
}

// Valid calls for contrast: no WARN.
for (const [name, call] of CALLS) {
  test(`R16 [current] ${name} with valid flags grabs and WARNs nothing`, () => {
    const { k, t, addr } = setup({ pages: 2 });
    const P = pagesArray(2);
    const w = warnsDuring(k, () => step(k, t, name, () => call(k, t, addr, 2, FOLL_WRITE, P)));
    assert.equal(w.r, 2);
    assert.deepEqual(w.warns, []);
    assert.deepEqual(P, [pfnAt(t, addr), pfnAt(t, addr + PAGE_SIZE)]);
  });
}

// Before is_valid_gup_args() (v5.7 mm/gup.c pin_user_pages(): "FOLL_GET and FOLL_PIN are mutually
// exclusive", WARN_ON_ONCE(gup_flags & FOLL_GET) → -EINVAL; docs/profiles.md "Invalid-flag returns").
for (const name of ['pin_user_pages', 'pin_user_pages_fast']) {
  test(`[5.7] ${name}(FOLL_GET) → -EINVAL with a WARN (no is_valid_gup_args yet)`, () => {
    const { k, t, addr } = setup({ profile: '5.7', pages: 1 });
    const call = CALLS.find(([n]) => n === name)![1];
    const w = warnsDuring(k, () => step(k, t, name, () => call(k, t, addr, 1, FOLL_GET, pagesArray(1))));
    assert.equal(w.r, -EINVAL);
    assert.equal(w.warns.length, 1);
  });
}

// pin_user_pages*() arrived in v5.6 (eddb1c228f79): profiles 5.1 and 5.2 do not have them.
for (const profile of ['5.1', '5.2']) {
  test(`[${profile}] pin_user_pages() does not exist`, () => {
    const { k, t, addr } = setup({ profile, pages: 1 });
    assert.throws(() => pin_user_pages(k, t, addr, 1, 0, pagesArray(1)), ApiUnavailable);
  });
}

// R15 step 2: a non-NULL *locked must be 1.
for (const [name, inval] of [['get_user_pages_remote', -EINVAL], ['pin_user_pages_remote', 0]] as const) {
  test(`R15.2/R16 [current] ${name} with *locked == 0 → ${inval} with a WARN`, () => {
    const { k, t, addr } = setup({ pages: 1 });
    const fn = name === 'get_user_pages_remote' ? get_user_pages_remote : pin_user_pages_remote;
    const w = warnsDuring(k, () => step(k, t, name, () => fn(k, t.mm, addr, 1, 0, pagesArray(1), [0])));
    assert.equal(w.r, inval);
    assert.equal(w.warns.length, 1);
    const ok = step(k, t, name, () => fn(k, t.mm, addr, 1, 0, pagesArray(1), [1]));
    assert.equal(ok, 1, '*locked == 1 is fine');
  });
}

// R13, R14: flag values (include/linux/mm_types.h enum; mm/internal.h), GUP_PIN_COUNTING_BIAS
// (include/linux/page_ref.h) and x86-64 TASK_SIZE_MAX with 4-level paging.
test('R13/R14 FOLL_* values, INTERNAL_GUP_FLAGS, GUP_PIN_COUNTING_BIAS, TASK_SIZE_MAX', () => {
  assert.deepEqual(
    [FOLL_WRITE, FOLL_GET, FOLL_DUMP, FOLL_FORCE, FOLL_NOWAIT, FOLL_NOFAULT, FOLL_HWPOISON, FOLL_ANON, FOLL_LONGTERM,
      FOLL_SPLIT_PMD, FOLL_PCI_P2PDMA, FOLL_INTERRUPTIBLE, FOLL_HONOR_NUMA_FAULT],
    Array.from({ length: 13 }, (_, i) => 1 << i));
  assert.deepEqual([FOLL_TOUCH, FOLL_TRIED, FOLL_REMOTE, FOLL_PIN, FOLL_FAST_ONLY, FOLL_UNLOCKABLE, FOLL_MADV_POPULATE],
    Array.from({ length: 7 }, (_, i) => 1 << (16 + i)));
  assert.equal(INTERNAL_GUP_FLAGS, 0x7f << 16);
  assert.equal(GUP_PIN_COUNTING_BIAS, 1024);
  assert.equal(TASK_SIZE_MAX, 2 ** 47 - PAGE_SIZE);
});
