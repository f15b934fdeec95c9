// FOLL_LONGTERM: mm/gup.c __gup_longterm_locked(), check_and_migrate_movable_pages(),
// writable_file_mapping_allowed(), gup_fast_folio_allowed(); include/linux/mm.h
// folio_is_longterm_pinnable(). Spec R45–R50, R74.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { File } from '../../src/fs/file.js';
import { pin_user_pages, pin_user_pages_fast } from '../../src/gup/api.js';
import { unpin_user_pages } from '../../src/gup/unpin.js';
import { EFAULT, ENOMEM, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE } from '../../src/include/uapi.js';
import type { Kernel } from '../../src/kernel.js';
import { ZONE_CMA, ZONE_MOVABLE, ZONE_NORMAL } from '../../src/mm/memory.js';
import { PG_anon, PG_anon_exclusive, PG_isolated_block, PG_lru } from '../../src/mm/page-flags.js';
import {
  MiB, SHARED_ANON, delta, kernel, mmap, pagesArray, pfnAt, read, ref, setup, step, write,
} from '../helpers.js';
import { FOLL_LONGTERM, FOLL_WRITE } from '../../src/include/linux/mm.js';
import { createTask } from '../../src/vm/mm.js';
import { files, registerFile, fileById, shmem_mapping } from '../../src/mm/filemap.js';

type PinFn = typeof pin_user_pages_fast;
const PINS: Array<[string, PinFn]> = [['pin_user_pages_fast', pin_user_pages_fast], ['pin_user_pages', pin_user_pages]];
const N = 4;

for (const [zoneName, zone, machine] of [
  ['ZONE_MOVABLE', ZONE_MOVABLE, { normal: 8 * MiB, movable: 8 * MiB }],
  ['CMA', ZONE_CMA, { normal: 8 * MiB, cma: 8 * MiB }],
] as const) {
  for (const [name, pin] of PINS) {
    // R47 + R74.4: pin N (acq +N), unpin them (rel +N), migrate, pin the copies (acq +N).
    // R74.3: GUP-fast's not-long-term-pinnable rejection happens before the pin is complete: not counted.
    test(`R47/R74 [current] ${name}(FOLL_LONGTERM) on ${zoneName} pages migrates them: acq 2N, rel N; pages end in NORMAL`, () => {
      const { k, t, addr } = setup({ machine, pages: N, value: null });
      for (let i = 0; i < N; i++) write(k, t, addr + i * PAGE_SIZE, PAGE_SIZE, 100 + i);
      const old = Array.from({ length: N }, (_, i) => pfnAt(t, addr + i * PAGE_SIZE));
      for (const p of old) assert.equal(k.mem.zoneOf(p), zone, `precondition: user pages start in ${zoneName}`);
      const mig0 = k.vmstat.get('pgmigrate_success');
      const P = pagesArray(N);
      const d = delta(k, () => step(k, t, name, () => pin(k, t, addr, N, FOLL_WRITE | FOLL_LONGTERM, P)));
      assert.equal(d.r, N);
      assert.deepEqual([d.acq, d.rel], [2 * N, N]);
      assert.equal(k.vmstat.get('pgmigrate_success') - mig0, N);
      for (let i = 0; i < N; i++) {
        assert.equal(k.mem.zoneOf(P[i]), ZONE_NORMAL, `page ${i} migrated to NORMAL`);
        assert.equal(pfnAt(t, addr + i * PAGE_SIZE), P[i], 'the task maps the pinned copy');
        assert.notEqual(P[i], old[i]);
        assert.ok(k.mem.isFree(old[i]), 'the old page was freed');
        assert.equal(read(k, t, addr + i * PAGE_SIZE), 100 + i, 'contents moved with the page');
      }
      const u = delta(k, () => step(k, t, 'unpin', () => unpin_user_pages(k, P, N)));
      assert.deepEqual([u.acq, u.rel], [0, N]);
    });

    // R45 step 1: memalloc_pin_save(): pages faulted in by a long-term GUP never land in MOVABLE/CMA,
    // so no migration is needed.
    test(`R45 [current] ${name}(FOLL_WRITE|FOLL_LONGTERM) on untouched memory faults pages into NORMAL: no migration`, () => {
      const { k, t, addr } = setup({ machine, pages: N, value: null });
      const P = pagesArray(N);
      const d = delta(k, () => step(k, t, name, () => pin(k, t, addr, N, FOLL_WRITE | FOLL_LONGTERM, P)));
      assert.equal(d.r, N);
      assert.deepEqual([d.acq, d.rel], [N, 0]);
      for (const p of P) assert.equal(k.mem.zoneOf(p), ZONE_NORMAL);
      // The scope ends with the call: later user faults are movable again.
      const a2 = mmap(k, t, PAGE_SIZE);
      write(k, t, a2, PAGE_SIZE, 1);
      assert.equal(k.mem.zoneOf(pfnAt(t, a2)), zone);
    });

    // R47: a migration failure (here: an extra pin the migration cannot account for) → all pins of
    // the call dropped, -ENOMEM.
    test(`R47 [current] ${name}(FOLL_LONGTERM) with a second short-term pin holder on ${zoneName}: -ENOMEM, the call's pins all dropped`, () => {
      const { k, t, addr } = setup({ machine, pages: 2, value: 7 });
      const old = [pfnAt(t, addr), pfnAt(t, addr + PAGE_SIZE)];
      const S = pagesArray(2);
      assert.equal(step(k, t, 'short-term pin', () => pin_user_pages_fast(k, t, addr, 2, FOLL_WRITE, S)), 2);
      assert.deepEqual(S, old);
      const refs = old.map((p) => ref(k, p));
      const P = pagesArray(2);
      const d = delta(k, () => step(k, t, name, () => pin(k, t, addr, 2, FOLL_WRITE | FOLL_LONGTERM, P)));
      assert.equal(d.r, -ENOMEM);
      assert.equal(d.acq, d.rel, 'every pin the call took was released');
      assert.equal(d.acq, 2, 'the slow path pinned both pages once before migrating');
      assert.deepEqual(old.map((p) => ref(k, p)), refs, 'refcounts back to where they were');
      assert.deepEqual([pfnAt(t, addr), pfnAt(t, addr + PAGE_SIZE)], old, 'nothing moved');
      for (const p of old) assert.equal(k.mem.zoneOf(p), zone);
      step(k, t, 'unpin', () => unpin_user_pages(k, S, 2));
    });
  }
}

// R46: pages already in NORMAL are long-term pinnable: one clean pin, no noise.
test('R46/R74 [current] pin_user_pages_fast(FOLL_LONGTERM) of NORMAL pages: acq N, rel 0, no migration', () => {
  const { k, t, addr } = setup({ pages: N });
  const old = Array.from({ length: N }, (_, i) => pfnAt(t, addr + i * PAGE_SIZE));
  const P = pagesArray(N);
  const d = delta(k, () => step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, N, FOLL_WRITE | FOLL_LONGTERM, P)));
  assert.equal(d.r, N);
  assert.deepEqual([d.acq, d.rel], [N, 0]);
  assert.deepEqual(P, old);
  assert.equal(k.vmstat.get('pgmigrate_success'), 0);
});

// R46 history: before v5.13 (d1e153fea2a8) long-term pins migrated only out of CMA, not ZONE_MOVABLE.
test('R46 [5.7] pin_user_pages(FOLL_LONGTERM) leaves ZONE_MOVABLE pages where they are', () => {
  const { k, t, addr } = setup({ profile: '5.7', machine: { normal: 8 * MiB, movable: 8 * MiB }, pages: 2 });
  const old = [pfnAt(t, addr), pfnAt(t, addr + PAGE_SIZE)];
  const P = pagesArray(2);
  const d = delta(k, () => step(k, t, 'pin', () => pin_user_pages(k, t, addr, 2, FOLL_WRITE | FOLL_LONGTERM, P)));
  assert.equal(d.r, 2);
  assert.deepEqual([d.acq, d.rel], [2, 0]);
  assert.deepEqual(P, old);
  for (const p of P) assert.equal(k.mem.zoneOf(p), ZONE_MOVABLE);
});

// ---- R49: long-term write pins of dirty-tracked shared file mappings -------------------------

function fileMapping(k: Kernel, fs: 'ext4' | 'tmpfs', pages: number) {
  const t = createTask(k, 'app');
  const f = new File(`data.${fs}`, fs, pages * PAGE_SIZE);
  registerFile(k, f);
  files(k).set(f.name, f);
  const addr = mmap(k, t, pages * PAGE_SIZE, { flags: MAP_SHARED, file: f });
  return { t, addr, f };
}

for (const [profile, refused] of [['current', true], ['6.5', true], ['6.2', false]] as const) {
  for (const [name, pin] of PINS) {
    for (const touched of [false, true]) {
      test(`R49 [${profile}] ${name}(FOLL_WRITE|FOLL_LONGTERM) of a ${touched ? 'written' : 'untouched'} MAP_SHARED ext4 mapping → ${refused ? '-EFAULT' : 'pinned'}`, () => {
        const k = kernel(profile);
        const { t, addr } = fileMapping(k, 'ext4', 2);
        if (touched) write(k, t, addr, 2 * PAGE_SIZE, 3);
        const P = pagesArray(2);
        const d = delta(k, () => step(k, t, name, () => pin(k, t, addr, 2, FOLL_WRITE | FOLL_LONGTERM, P)));
        if (refused) {
          assert.equal(d.r, -EFAULT);
          assert.equal(d.acq, d.rel, 'no pin survives');
          // R49/R74.3: GUP-fast grabs the first present page, gup_fast_folio_allowed() refuses it and
          // the undo is counted; the slow path then refuses in check_vma_flags() before grabbing.
          const fastNoise = name === 'pin_user_pages_fast' && touched ? 1 : 0;
          assert.equal(d.acq, fastNoise);
        } else {
          assert.equal(d.r, 2);
          assert.deepEqual([d.acq, d.rel], [2, 0]);
          assert.deepEqual(P, [pfnAt(t, addr), pfnAt(t, addr + PAGE_SIZE)]);
        }
      });
    }
  }
}

for (const [name, pin] of PINS) {
  // R49: shmem does not need dirty tracking → allowed.
  test(`R49 [current] ${name}(FOLL_WRITE|FOLL_LONGTERM) of a MAP_SHARED tmpfs file is allowed`, () => {
    const k = kernel('current');
    const { t, addr } = fileMapping(k, 'tmpfs', 2);
    write(k, t, addr, 2 * PAGE_SIZE, 3);
    const P = pagesArray(2);
    const d = delta(k, () => step(k, t, name, () => pin(k, t, addr, 2, FOLL_WRITE | FOLL_LONGTERM, P)));
    assert.equal(d.r, 2);
    assert.deepEqual([d.acq, d.rel], [2, 0]);
  });

  test(`R49 [current] ${name}(FOLL_WRITE|FOLL_LONGTERM) of MAP_SHARED|MAP_ANONYMOUS (shmem) is allowed`, () => {
    const { k, t, addr } = setup({ flags: SHARED_ANON, pages: 2 });
    const P = pagesArray(2);
    assert.equal(step(k, t, name, () => pin(k, t, addr, 2, FOLL_WRITE | FOLL_LONGTERM, P)), 2);
  });

  // R49 last bullet: short-term pins (O_DIRECT) of shared file mappings remain allowed.
  test(`R49 [current] ${name}(FOLL_WRITE) short-term of a MAP_SHARED ext4 mapping is allowed`, () => {
    const k = kernel('current');
    const { t, addr } = fileMapping(k, 'ext4', 2);
    const P = pagesArray(2);
    const d = delta(k, () => step(k, t, name, () => pin(k, t, addr, 2, FOLL_WRITE, P)));
    assert.equal(d.r, 2);
    assert.deepEqual([d.acq, d.rel], [2, 0]);
  });

  // R49: only writes are refused; a R/O long-term pin of a shared file mapping is fine.
  test(`R49 [current] ${name}(FOLL_LONGTERM) read-only of a MAP_SHARED ext4 mapping is allowed`, () => {
    const k = kernel('current');
    const { t, addr } = fileMapping(k, 'ext4', 2);
    const P = pagesArray(2);
    assert.equal(step(k, t, name, () => pin(k, t, addr, 2, FOLL_LONGTERM, P)), 2);
  });
}

// R45/R47 apply to shmem too: its folios are on the LRU and migrate like anonymous ones.
test('R47 [current] pin_user_pages_fast(FOLL_LONGTERM) on shmem pages in ZONE_MOVABLE migrates them and the page cache', () => {
  const { k, t, addr } = setup({ machine: { normal: 8 * MiB, movable: 8 * MiB }, flags: SHARED_ANON, pages: 2, value: 6 });
  const old = [pfnAt(t, addr), pfnAt(t, addr + PAGE_SIZE)];
  for (const p of old) assert.equal(k.mem.zoneOf(p), ZONE_MOVABLE);
  const f = fileById(k, k.mem.mappingOf(old[0]))!;
  assert.ok(shmem_mapping(f));
  const P = pagesArray(2);
  const d = delta(k, () => step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 2, FOLL_WRITE | FOLL_LONGTERM, P)));
  assert.equal(d.r, 2);
  assert.deepEqual([d.acq, d.rel], [4, 2]);
  for (let i = 0; i < 2; i++) {
    assert.equal(k.mem.zoneOf(P[i]), ZONE_NORMAL);
    assert.equal(f.cache.get(i), P[i], 'the page cache points at the new folio');
    assert.equal(pfnAt(t, addr + i * PAGE_SIZE), P[i]);
    assert.equal(read(k, t, addr + i * PAGE_SIZE), 6);
  }
});

// R47 / Q-4 [derived]: an unpinnable folio that cannot be isolated from the LRU is skipped; with an
// empty move list check_and_migrate_movable_pages() returns 0 and the pin stays in ZONE_MOVABLE.
test('R47 [current] a ZONE_MOVABLE page that cannot be isolated stays pinned where it is', () => {
  const { k, t, addr } = setup({ machine: { normal: 8 * MiB, movable: 8 * MiB }, pages: 1, value: 2 });
  const p = pfnAt(t, addr);
  k.mem.clear(p, PG_lru); // someone else (compaction, reclaim) has it isolated
  const P = pagesArray(1);
  const d = delta(k, () => step(k, t, 'pin', () => pin_user_pages(k, t, addr, 1, FOLL_WRITE | FOLL_LONGTERM, P)));
  assert.equal(d.r, 1);
  assert.deepEqual([d.acq, d.rel], [1, 0]);
  assert.equal(P[0], p);
  assert.equal(k.mem.zoneOf(p), ZONE_MOVABLE);
  k.mem.set(p, PG_lru);
});

// R46: a page in a MIGRATE_ISOLATE pageblock is not long-term pinnable, wherever it is.
test('R46 [current] FOLL_LONGTERM migrates a page out of an isolated pageblock', () => {
  const { k, t, addr } = setup({ pages: 1, value: 2 });
  const p = pfnAt(t, addr);
  k.mem.set(p, PG_isolated_block);
  const P = pagesArray(1);
  const d = delta(k, () => step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 1, FOLL_WRITE | FOLL_LONGTERM, P)));
  assert.equal(d.r, 1);
  assert.notEqual(P[0], p);
  assert.deepEqual([d.acq, d.rel], [2, 1]);
  assert.equal(read(k, t, addr), 2);
});

// R66: a FOLL_LONGTERM read pin in a COW mapping unshares the huge zero folio (non-anon page in a COW
// mapping, R41): the pinned page is a fresh exclusive anonymous page (a THP or a small page [derived]).
for (const [name, pin] of PINS) {
  test(`R66/R50 [current] ${name}(FOLL_LONGTERM) read-only over the huge zero folio pins an exclusive anon page`, () => {
    const { k, t, addr } = setup({ machine: { thp: 'always' }, length: 2 * MiB, value: null });
    read(k, t, addr);
    const hz = pfnAt(t, addr);
    assert.ok(k.mem.isHugeZero(hz));
    const P = pagesArray(2);
    const d = delta(k, () => step(k, t, name, () => pin(k, t, addr, 2, FOLL_LONGTERM, P)));
    assert.equal(d.r, 2);
    for (let i = 0; i < 2; i++) {
      assert.ok(!k.mem.isHugeZero(k.mem.head(P[i])), 'not the huge zero folio');
      assert.ok(k.mem.test(k.mem.head(P[i]), PG_anon));
      // A PMD mapping keeps AnonExclusive on the head page only (folio_add_new_anon_rmap()).
      const pmdMapped = t.mm.peekVma(addr)!.peekPmd(addr) !== undefined;
      assert.ok((k.mem.flagsOf(pmdMapped ? k.mem.head(P[i]) : P[i]) & PG_anon_exclusive) !== 0, 'AnonExclusive');
      assert.equal(pfnAt(t, addr + i * PAGE_SIZE), P[i]);
    }
    assert.equal(k.mem.pincount(hz), 0, 'the huge zero folio holds no pin');
    assert.equal(d.acq - d.rel, 2);
  });
}

// R35 + R47: GUP-fast pins the pinnable head of the range, the slow path's migration of the rest
// fails: the caller gets the fast part's count (never an error once pages were grabbed).
test('R35/R47 [current] pin_user_pages_fast(FOLL_LONGTERM): fast part pinned, slow part migration fails → returns the fast count', () => {
  const k = kernel('current', { normal: 8 * MiB, movable: 8 * MiB });
  const t = createTask(k, 'app');
  const addr = mmap(k, t, 4 * PAGE_SIZE);
  k.memallocPin++;
  write(k, t, addr, 2 * PAGE_SIZE, 1); // first two pages in NORMAL
  k.memallocPin--;
  write(k, t, addr + 2 * PAGE_SIZE, 2 * PAGE_SIZE, 2); // last two in MOVABLE
  assert.deepEqual([0, 1, 2, 3].map((i) => k.mem.zoneOf(pfnAt(t, addr + i * PAGE_SIZE))),
    [ZONE_NORMAL, ZONE_NORMAL, ZONE_MOVABLE, ZONE_MOVABLE]);
  const S = pagesArray(1);
  assert.equal(step(k, t, 'other pin', () => pin_user_pages_fast(k, t, addr + 3 * PAGE_SIZE, 1, FOLL_WRITE, S)), 1);
  const P = pagesArray(4);
  const d = delta(k, () => step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 4, FOLL_WRITE | FOLL_LONGTERM, P)));
  assert.equal(d.r, 2);
  assert.deepEqual(P.slice(0, 2), [pfnAt(t, addr), pfnAt(t, addr + PAGE_SIZE)]);
  assert.equal(d.acq - d.rel, 2, 'only the two returned pins are outstanding');
});

// R49: private file mappings are not shared → a long-term write pin COWs to anonymous pages: allowed.
test('R49 [current] pin_user_pages_fast(FOLL_WRITE|FOLL_LONGTERM) of a MAP_PRIVATE ext4 mapping pins anon copies', () => {
  const k = kernel('current');
  const t = createTask(k, 'app');
  const f = new File('priv', 'ext4', 2 * PAGE_SIZE);
  registerFile(k, f);
  files(k).set('priv', f);
  const addr = mmap(k, t, 2 * PAGE_SIZE, { flags: MAP_PRIVATE, file: f });
  read(k, t, addr);
  const P = pagesArray(2);
  assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 2, FOLL_WRITE | FOLL_LONGTERM, P)), 2);
  for (const p of P) assert.ok(k.mem.test(k.mem.head(p), PG_anon));
  assert.notEqual(P[0], f.cache.get(0));
});

// R41 (GUP-fast has no VMA: a R/O long-term pin of a non-anon page answers "unshare" and falls back,
// undoing a counted pin, R74.3); the slow path sees a shared (non-COW) mapping and pins the page itself.
test('R41/R74 [current] pin_user_pages_fast(FOLL_LONGTERM) R/O of a MAP_SHARED ext4 page: +1/+1 noise, then the page-cache page', () => {
  const k = kernel('current');
  const t = createTask(k, 'app');
  const f = new File('shared', 'ext4', PAGE_SIZE);
  registerFile(k, f);
  files(k).set('shared', f);
  const addr = mmap(k, t, PAGE_SIZE, { flags: MAP_SHARED, file: f });
  read(k, t, addr);
  const P = pagesArray(1);
  const d = delta(k, () => step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 1, FOLL_LONGTERM, P)));
  assert.equal(d.r, 1);
  assert.equal(P[0], f.cache.get(0));
  assert.deepEqual([d.acq, d.rel], [2, 1]);
});
