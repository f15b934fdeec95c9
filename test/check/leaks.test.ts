// The leak check at teardown (src/check/leaks.ts) and the invariants (src/check/invariants.ts).
// A pin that is never released keeps its page allocated after every mapping is gone (R2: ref ≥ 1024;
// R8: a large folio cannot be freed while pinned).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkInvariants } from '../../src/check/invariants.js';
import { findLeaks } from '../../src/check/leaks.js';
import { get_user_pages, pin_user_pages_fast } from '../../src/gup/api.js';
import { put_page, unpin_user_page, unpin_user_pages } from '../../src/gup/unpin.js';
import { MAP_SHARED, PAGE_SIZE } from '../../src/include/uapi.js';
import { File } from '../../src/fs/file.js';
import {
  SHARED_ANON, THP_SIZE, counters, expectBug, kernel, mmap, pagesArray, pfnAt, read, setup, step, teardown, write,
} from '../helpers.js';
import { FOLL_WRITE } from '../../src/include/linux/mm.js';
import { createTask } from '../../src/vm/mm.js';
import { files, registerFile } from '../../src/mm/filemap.js';

for (const profile of ['5.7', 'current']) {
  test(`leaks [${profile}]: a page still pinned after every task exited is named, with its holder`, () => {
    const { k, t, addr } = setup({ profile, pages: 2 });
    const P = pagesArray(2);
    assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 2, FOLL_WRITE, P)), 2);
    step(k, t, 'unpin one', () => unpin_user_page(k, P[1]));
    teardown(k);
    assert.ok(k.mem.isFree(P[1]), 'the released page was freed with the mapping');
    assert.ok(!k.mem.isFree(P[0]));
    const leaks = findLeaks(k, [{ label: 'driver X', pfns: P }]);
    assert.equal(leaks.length, 1, JSON.stringify(leaks));
    assert.equal(leaks[0].pfn, P[0]);
    assert.equal(leaks[0].pins, 1);
    assert.equal(leaks[0].refcount, 1024, 'only the pin holds it: GUP_PIN_COUNTING_BIAS');
    assert.match(leaks[0].line, /1 pin\(s\)/);
    assert.match(leaks[0].line, /driver X/);
    step(k, null, 'late unpin', () => unpin_user_page(k, P[0]));
    assert.ok(k.mem.isFree(P[0]), 'R2: the last unpin drops the refcount to 0 and frees the page');
    assert.deepEqual(findLeaks(k), []);
  });

  test(`leaks [${profile}]: nothing is named when every pin was released`, () => {
    const { k, t, addr } = setup({ profile, pages: 3 });
    const P = pagesArray(3);
    assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 3, FOLL_WRITE, P)), 3);
    step(k, t, 'unpin', () => unpin_user_pages(k, P, 3));
    teardown(k);
    assert.deepEqual(findLeaks(k), []);
    const c = counters(k);
    assert.equal(c.acq, c.rel);
  });
}

test('leaks [current]: a pinned THP outlives its mapping and is named once, with its pincount', () => {
  const { k, t, addr } = setup({ machine: { thp: 'always' }, length: THP_SIZE, value: 1 });
  const head = k.mem.head(pfnAt(t, addr));
  const P = pagesArray(3);
  assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 3, FOLL_WRITE, P)), 3);
  teardown(k);
  const leaks = findLeaks(k);
  assert.equal(leaks.length, 1);
  assert.equal(leaks[0].pfn, head);
  assert.equal(leaks[0].pincount, 3);
  assert.equal(leaks[0].refcount, 3, 'R3: only the pins hold refs now');
  step(k, null, 'late unpin', () => unpin_user_pages(k, P, 3));
  assert.deepEqual(findLeaks(k), [], 'the late unpin frees it');
});

test('leaks [current]: a GET on the zero page that was never put is named', () => {
  const { k, t, addr } = setup({ pages: 1, value: null });
  read(k, t, addr);
  const G = pagesArray(1);
  assert.equal(step(k, t, 'get', () => get_user_pages(k, t, addr, 1, 0, G)), 1);
  teardown(k);
  const leaks = findLeaks(k);
  assert.deepEqual(leaks.map((l) => l.pfn), [G[0]]);
  step(k, null, 'put', () => put_page(k, G[0]));
  assert.deepEqual(findLeaks(k), []);
});

// Shared anonymous memory is a shmem file; the kernel frees its pages when the last mapping goes
// (the file's last reference → inode eviction → truncate). The helpers' teardown drops those caches.
test('leaks [current]: shared anonymous and file memory leave nothing after teardown', () => {
  const k = kernel('current');
  const t = createTask(k, 'app');
  const a = mmap(k, t, 2 * PAGE_SIZE, { flags: SHARED_ANON });
  write(k, t, a, 2 * PAGE_SIZE, 1);
  const f = new File('f', 'ext4', 2 * PAGE_SIZE);
  registerFile(k, f);
  files(k).set('f', f);
  const b = mmap(k, t, 2 * PAGE_SIZE, { flags: MAP_SHARED, file: f });
  write(k, t, b, 2 * PAGE_SIZE, 2);
  const P = pagesArray(2);
  assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, a, 2, FOLL_WRITE, P)), 2);
  step(k, t, 'unpin', () => unpin_user_pages(k, P, 2));
  teardown(k);
  assert.deepEqual(findLeaks(k), []);
});

test('invariants [current]: a consistent kernel has none broken; a wrong mapcount is caught', () => {
  const { k, t, addr } = setup({ pages: 2 });
  assert.deepEqual(checkInvariants(k), []);
  const p = pfnAt(t, addr);
  k.mem.mapcountAdd(p, 1);
  const broken = checkInvariants(k);
  assert.ok(broken.some((s) => s.includes(`pfn ${p}`) && /mapcount/.test(s)), JSON.stringify(broken));
  k.mem.mapcountAdd(p, -1);
  // Inside a step the broken invariant is a KernelBug that stops the run.
  expectBug(k, t, 'corrupt', () => { k.mem.mapcountAdd(p, 2); });
  assert.throws(() => step(k, t, 'anything', () => 0), /invariant/, 'no step runs after a BUG');
});
