// mmap/munmap/madvise and what they do to page lifetimes (mm/mmap.c, mm/madvise.c, mm/shmem.c).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findLeaks } from '../../src/check/leaks.js';
import { pin_user_pages_fast } from '../../src/gup/api.js';
import { unpin_user_pages } from '../../src/gup/unpin.js';
import { HPAGE_PMD_SIZE, MADV_DONTNEED, PAGE_SIZE } from '../../src/include/uapi.js';
import { do_exit } from '../../src/vm/exit.js';
import { do_fork } from '../../src/vm/fork.js';
import { do_madvise, do_munmap } from '../../src/vm/mmap.js';
import {
  MiB, SHARED_ANON, mmap, pagesArray, pfnAt, read, ref, setup, step, write,
} from '../helpers.js';
import { FOLL_WRITE } from '../../src/include/linux/mm.js';

// thp_get_unmapped_area(): anonymous mappings of at least PMD size are PMD aligned.
test('mmap: mappings of 2 MiB or more are 2 MiB aligned; smaller ones page aligned and do not overlap', () => {
  const { k, t } = setup({ pages: 1, value: null });
  const a = mmap(k, t, 3 * PAGE_SIZE);
  const b = mmap(k, t, 2 * MiB);
  const c = mmap(k, t, 5 * MiB);
  assert.equal(a % PAGE_SIZE, 0);
  assert.equal(b % HPAGE_PMD_SIZE, 0);
  assert.equal(c % HPAGE_PMD_SIZE, 0);
  const vmas = t.mm.peekVmas();
  for (let i = 1; i < vmas.length; i++) assert.ok(vmas[i - 1].end <= vmas[i].start, 'VMAs are sorted and disjoint');
});

// R2/R8: munmap and MADV_DONTNEED drop the mapping's reference; a pinned page survives until its unpin.
for (const how of ['munmap', 'MADV_DONTNEED'] as const) {
  test(`[current] ${how} of a pinned page unmaps it; the page is freed only at the unpin`, () => {
    const { k, t, addr } = setup({ pages: 2, value: 5 });
    const P = pagesArray(2);
    assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 2, FOLL_WRITE, P)), 2);
    const r = step(k, t, how, () => how === 'munmap'
      ? do_munmap(k, t.mm, addr, 2 * PAGE_SIZE)
      : do_madvise(k, t.mm, addr, 2 * PAGE_SIZE, MADV_DONTNEED));
    assert.equal(r, 0);
    assert.equal(pfnAt(t, addr), -1);
    for (const p of P) {
      assert.ok(!k.mem.isFree(p));
      assert.equal(ref(k, p), 1024, 'only the pin holds it');
      assert.equal(k.mem.mapcountOf(p), 0);
    }
    if (how === 'MADV_DONTNEED') assert.equal(read(k, t, addr), 0, 'the next read sees a fresh zero page');
    step(k, t, 'unpin', () => unpin_user_pages(k, P, 2));
    for (const p of P) assert.ok(k.mem.isFree(p));
  });
}

// Shared anonymous memory is a shmem file (mm/shmem.c shmem_zero_setup()); each VMA holds a reference
// to it (mm/mmap.c remove_vma() → fput()), and when the last one goes the inode is evicted and its
// pages truncated (shmem_evict_inode() → shmem_truncate_range()).
test('[current] shared anonymous pages are freed when the last mapping goes', () => {
  const { k, t, addr } = setup({ flags: SHARED_ANON, pages: 2, value: 3 });
  const pages = [pfnAt(t, addr), pfnAt(t, addr + PAGE_SIZE)];
  const c = step(k, t, 'fork', () => do_fork(k, t, 'child'));
  assert.ok(typeof c !== 'number');
  assert.equal(step(k, t, 'munmap', () => do_munmap(k, t.mm, addr, 2 * PAGE_SIZE)), 0);
  assert.equal(read(k, c, addr), 3, 'the child still maps the shared memory');
  for (const p of pages) assert.ok(!k.mem.isFree(p));
  step(k, c, 'exit', () => do_exit(k, c));
  for (const p of pages) assert.ok(k.mem.isFree(p), `pfn ${p} freed with the last mapping`);
  step(k, t, 'exit', () => do_exit(k, t));
  assert.deepEqual(findLeaks(k).map((l) => l.line), []);
});

test('[current] a shared anonymous write in the child is seen by the parent (same shmem page)', () => {
  const { k, t, addr } = setup({ flags: SHARED_ANON, pages: 1, value: 3 });
  const c = step(k, t, 'fork', () => do_fork(k, t, 'child'));
  assert.ok(typeof c !== 'number');
  write(k, c, addr, PAGE_SIZE, 4);
  assert.equal(read(k, t, addr), 4);
  assert.equal(pfnAt(c, addr), pfnAt(t, addr));
});
