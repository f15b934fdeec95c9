// The GUP slow path and faults: mm/gup.c __get_user_pages(), check_vma_flags(), faultin_page(),
// follow_page_pte(); mm/memory.c do_anonymous_page(), do_wp_page(). Spec R35–R44.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { File } from '../../src/fs/file.js';
import {
  get_user_pages, get_user_pages_fast, get_user_pages_fast_only, pin_user_pages, pin_user_pages_fast,
} from '../../src/gup/api.js';
import { EFAULT, EREMOTEIO, MAP_PRIVATE, PAGE_SIZE, PROT_READ } from '../../src/include/uapi.js';
import { PG_anon, PG_anon_exclusive, PG_p2pdma } from '../../src/mm/page-flags.js';
import { userWrite } from '../../src/vm/access.js';
import { do_exit } from '../../src/vm/exit.js';
import { do_fork } from '../../src/vm/fork.js';
import {
  PRIVATE_ANON, SHARED_ANON, delta, kernel, mmap, pagesArray, pfnAt, pteWritable, read, ref, setup, step, write,
} from '../helpers.js';
import { VM_IO, VM_PFNMAP, FOLL_ANON, FOLL_DUMP, FOLL_FORCE, FOLL_LONGTERM, FOLL_NOFAULT, FOLL_NOWAIT, FOLL_PCI_P2PDMA, FOLL_WRITE } from '../../src/include/linux/mm.js';
import { folio_maybe_dma_pinned } from '../../src/mm/folio.js';
import { createTask } from '../../src/vm/mm.js';
import { files, registerFile } from '../../src/mm/filemap.js';

type PinFn = typeof pin_user_pages_fast;
const FNS: Array<[string, PinFn]> = [
  ['pin_user_pages', pin_user_pages], ['pin_user_pages_fast', pin_user_pages_fast],
  ['get_user_pages', (k, t, a, n, f, p) => get_user_pages(k, t, a, n, f, p)],
  ['get_user_pages_fast', (k, t, a, n, f, p) => get_user_pages_fast(k, t, a, n, f, p!)],
];

// R36: gup_vma_lookup() finds nothing → -EFAULT (nothing grabbed → error, R35).
for (const [name, fn] of FNS) {
  test(`R35/R36 [current] ${name}: no VMA at start → -EFAULT`, () => {
    const { k, t, addr } = setup({ pages: 1 });
    const hole = addr - 16 * PAGE_SIZE;
    assert.equal(t.mm.peekVma(hole), undefined);
    const d = delta(k, () => step(k, t, name, () => fn(k, t, hole, 2, FOLL_WRITE, pagesArray(2))));
    assert.equal(d.r, -EFAULT);
    assert.deepEqual([d.acq, d.rel], [0, 0]);
  });

  // R35: partial success: the count grabbed from the start of the range, the caller owns exactly those.
  test(`R35 [current] ${name}: a range running off the end of the VMA returns the pages grabbed`, () => {
    const { k, t, addr } = setup({ pages: 4 });
    assert.equal(t.mm.peekVma(addr + 4 * PAGE_SIZE), undefined, 'nothing mapped after the VMA');
    const P = pagesArray(6);
    const d = delta(k, () => step(k, t, name, () => fn(k, t, addr, 6, FOLL_WRITE, P)));
    assert.equal(d.r, 4);
    for (let i = 0; i < 4; i++) assert.equal(P[i], pfnAt(t, addr + i * PAGE_SIZE));
    assert.deepEqual(P.slice(4), [-1, -1]);
    assert.equal(d.acq, name.startsWith('pin') ? 4 : 0);
    assert.equal(d.rel, 0);
  });
}

// R40 step 5: FOLL_WRITE on a VMA without VM_WRITE needs FOLL_FORCE.
for (const [name, fn] of FNS) {
  test(`R40 [current] ${name}: FOLL_WRITE on a read-only private mapping without FOLL_FORCE → -EFAULT`, () => {
    const { k, t, addr } = setup({ pages: 1, prot: PROT_READ, value: null });
    read(k, t, addr);
    assert.equal(step(k, t, name, () => fn(k, t, addr, 1, FOLL_WRITE, pagesArray(1))), -EFAULT);
  });
}

// R38/R40/R42: FOLL_WRITE|FOLL_FORCE on a R/O private mapping (ptrace poke): check_vma_flags() allows it
// for a COW mapping; the write fault COWs the zero page into an exclusive anon page that stays R/O in
// the page table; can_follow_write_pte() then follows it because it is anon and AnonExclusive.
for (const name of ['pin_user_pages', 'get_user_pages']) {
  const fn = FNS.find(([n]) => n === name)![1];
  test(`R38/R40 [current] ${name}: FOLL_WRITE|FOLL_FORCE on a read-only private mapping gets a COW'd anon page`, () => {
    const { k, t, addr } = setup({ pages: 1, prot: PROT_READ, value: null });
    read(k, t, addr);
    const z = pfnAt(t, addr);
    assert.ok(k.mem.isZeroPfn(z));
    const P = pagesArray(1);
    assert.equal(step(k, t, name, () => fn(k, t, addr, 1, FOLL_WRITE | FOLL_FORCE, P)), 1);
    const p = P[0];
    assert.ok(!k.mem.isZeroPfn(p), 'not the zero page');
    assert.equal(pfnAt(t, addr), p, 'the COW copy is what the task maps now');
    assert.ok(k.mem.test(k.mem.head(p), PG_anon));
    assert.ok((k.mem.flagsOf(p) & PG_anon_exclusive) !== 0, 'AnonExclusive');
    assert.ok(!pteWritable(t, addr), 'FOLL_FORCE does not make the PTE writable (maybe_mkwrite: !VM_WRITE)');
    assert.equal(step(k, t, 'user write', () => userWrite(k, t.mm, addr, 1, 7)), -EFAULT, 'the user still cannot write');
  });
}

// R40 step 5: FOLL_WRITE on a read-only *shared* mapping always fails, FOLL_FORCE or not.
for (const [name, fn] of FNS) {
  test(`R40 [current] ${name}: FOLL_WRITE|FOLL_FORCE on a read-only shared mapping → -EFAULT`, () => {
    const { k, t, addr } = setup({ pages: 1, prot: PROT_READ, flags: SHARED_ANON, value: null });
    read(k, t, addr);
    const d = delta(k, () => step(k, t, name, () => fn(k, t, addr, 1, FOLL_WRITE | FOLL_FORCE, pagesArray(1))));
    assert.equal(d.r, -EFAULT);
    assert.deepEqual([d.acq, d.rel], [0, 0]);
  });
}

// R40 step 6: a read of a PROT_NONE VMA needs FOLL_FORCE.
test('R40 [current] pin_user_pages: a read pin of a PROT_NONE mapping → -EFAULT', () => {
  const { k, t, addr } = setup({ pages: 1, prot: 0, value: null });
  assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, addr, 1, 0, pagesArray(1))), -EFAULT);
});

// R36/R37: FOLL_NOFAULT and a range that needs a fault → -EFAULT (faultin_page()).
for (const [name, fn] of FNS) {
  test(`R36 [current] ${name}(FOLL_NOFAULT) on an untouched range → -EFAULT and nothing gets mapped`, () => {
    const { k, t, addr } = setup({ pages: 2, value: null });
    assert.equal(step(k, t, name, () => fn(k, t, addr, 2, FOLL_NOFAULT, pagesArray(2))), -EFAULT);
    assert.equal(pfnAt(t, addr), -1, 'no fault was taken');
  });

  test(`R36 [current] ${name}(FOLL_NOFAULT) on present pages succeeds`, () => {
    const { k, t, addr } = setup({ pages: 2 });
    assert.equal(step(k, t, name, () => fn(k, t, addr, 2, FOLL_NOFAULT, pagesArray(2))), 2);
  });
}

// R39: a non-write fault on private anon memory maps the zero page; a pin then returns it (R67).
// R4: on current the pin takes and counts nothing.
for (const name of ['pin_user_pages', 'pin_user_pages_fast']) {
  const fn = FNS.find(([n]) => n === name)![1];
  test(`R39 [current] ${name}: a read pin of untouched private anon memory maps and returns zero pages`, () => {
    const { k, t, addr } = setup({ pages: 3, value: null });
    const P = pagesArray(3);
    const d = delta(k, () => step(k, t, name, () => fn(k, t, addr, 3, 0, P)));
    assert.equal(d.r, 3);
    for (let i = 0; i < 3; i++) {
      const p = pfnAt(t, addr + i * PAGE_SIZE);
      assert.ok(k.mem.isZeroPfn(p), `page ${i} maps the zero page`);
      assert.equal(P[i], p);
    }
    assert.deepEqual([d.acq, d.rel], [0, 0]);
  });

  test(`R39/R67 [current] ${name}: a write pin of untouched private anon memory allocates exclusive pages`, () => {
    const { k, t, addr } = setup({ pages: 3, value: null });
    const P = pagesArray(3);
    const d = delta(k, () => step(k, t, name, () => fn(k, t, addr, 3, FOLL_WRITE, P)));
    assert.equal(d.r, 3);
    assert.equal(new Set(P).size, 3);
    for (let i = 0; i < 3; i++) {
      const p = P[i];
      assert.equal(pfnAt(t, addr + i * PAGE_SIZE), p);
      assert.ok(!k.mem.isZeroPfn(p));
      assert.ok(k.mem.test(p, PG_anon) && (k.mem.flagsOf(p) & PG_anon_exclusive) !== 0);
      assert.ok(pteWritable(t, addr + i * PAGE_SIZE));
      assert.ok(folio_maybe_dma_pinned(k, p));
    }
    assert.equal(d.acq, 3);
  });
}

// R39/R67: a write pin never returns the zero page: a read-faulted page is COW'd first.
test('R67 [current] pin_user_pages(FOLL_WRITE) over zero-page PTEs replaces them with real pages', () => {
  const { k, t, addr } = setup({ pages: 2, value: null });
  read(k, t, addr);
  read(k, t, addr + PAGE_SIZE);
  const z = pfnAt(t, addr);
  const zr = k.mem.ref(z);
  const P = pagesArray(2);
  assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, addr, 2, FOLL_WRITE, P)), 2);
  assert.ok(P.every((p) => !k.mem.isZeroPfn(p)));
  assert.equal(k.mem.ref(z), zr, 'the zero page lost no reference (special PTEs hold none)');
  assert.equal(read(k, t, addr), 0, 'the new page is zero-filled');
});

// R44: every FOLL_PIN of an anonymous page returns an AnonExclusive page (R/O or R/W).
for (const [flags, what] of [[0, 'R/O'], [FOLL_WRITE, 'R/W'], [FOLL_LONGTERM, 'R/O long-term']] as const) {
  test(`R44 [current] a ${what} pin of written private anon memory returns AnonExclusive pages`, () => {
    const { k, t, addr } = setup({ pages: 2 });
    const P = pagesArray(2);
    assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 2, flags, P)), 2);
    for (const p of P) assert.ok((k.mem.flagsOf(p) & PG_anon_exclusive) !== 0);
  });
}

// R35: the walk continues across VMAs; a gap in the middle stops it with a partial count.
test('R35 [current] pin_user_pages across two adjacent VMAs, then over a gap', () => {
  const { k, t, addr } = setup({ pages: 2 });
  const low = mmap(k, t, 2 * PAGE_SIZE, { flags: PRIVATE_ANON });
  assert.equal(low + 2 * PAGE_SIZE, addr, 'top-down: the second mapping sits right below the first');
  const P = pagesArray(4);
  assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, low, 4, FOLL_WRITE, P)), 4);
  const gap = mmap(k, t, PAGE_SIZE, { flags: PRIVATE_ANON });
  assert.equal(gap + PAGE_SIZE, low);
  // Leave a hole below `gap` and pin from below it: nothing at start → error, not a count.
  assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, gap - 2 * PAGE_SIZE, 3, FOLL_WRITE, pagesArray(3))), -EFAULT);
  assert.ok(ref(k, P[0]) > 1024);
});

// R40 step 2: FOLL_ANON on a non-anonymous VMA (shmem counts as non-anonymous: it has vm_ops).
test('R40 [current] get_user_pages(FOLL_ANON) on a MAP_SHARED|MAP_ANONYMOUS (shmem) mapping → -EFAULT', () => {
  const { k, t, addr } = setup({ pages: 1, flags: SHARED_ANON });
  assert.equal(step(k, t, 'gup', () => get_user_pages(k, t, addr, 1, FOLL_ANON, pagesArray(1))), -EFAULT);
  const p = setup({ pages: 1 });
  assert.equal(step(p.k, p.t, 'gup', () => get_user_pages(p.k, p.t, p.addr, 1, FOLL_ANON, pagesArray(1))), 1,
    'private anonymous memory is fine');
});

// R40 step 1: VM_IO|VM_PFNMAP VMAs are rejected (mainline; spec §0).
for (const [fname, flag] of [['VM_IO', VM_IO], ['VM_PFNMAP', VM_PFNMAP]] as const) {
  test(`R40 [current] pin_user_pages on a ${fname} VMA → -EFAULT`, () => {
    const { k, t, addr } = setup({ pages: 1 });
    t.mm.peekVma(addr)!.flags |= flag;
    assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, addr, 1, 0, pagesArray(1))), -EFAULT);
  });
}

// R21: get_user_pages_fast_only() never falls back and never faults: the pages present at the
// start of the range, possibly 0.
test('R21 [current] get_user_pages_fast_only returns only what is already mapped from the start', () => {
  const { k, t, addr } = setup({ pages: 4, value: null });
  const P = pagesArray(4);
  assert.equal(step(k, t, 'gup', () => get_user_pages_fast_only(k, t, addr, 4, FOLL_WRITE, P)), 0);
  assert.equal(pfnAt(t, addr), -1, 'no fault was taken');
  write(k, t, addr, 2 * PAGE_SIZE, 1);
  assert.equal(step(k, t, 'gup', () => get_user_pages_fast_only(k, t, addr, 4, FOLL_WRITE, P)), 2);
  assert.deepEqual(P.slice(0, 2), [pfnAt(t, addr), pfnAt(t, addr + PAGE_SIZE)]);
  assert.equal(pfnAt(t, addr + 2 * PAGE_SIZE), -1);
});

// R41: only R/O pins unshare; GETs never do (they return the page shared with the child).
test('R41 [current] a R/O GET after fork returns the page still shared with the child', () => {
  const { k, t, addr } = setup({ pages: 1, value: 3 });
  const shared = pfnAt(t, addr);
  const c = step(k, t, 'fork', () => do_fork(k, t, 'child'));
  assert.ok(typeof c !== 'number');
  const G = pagesArray(1);
  assert.equal(step(k, t, 'get', () => get_user_pages(k, t, addr, 1, 0, G)), 1);
  assert.equal(G[0], shared);
  assert.equal(pfnAt(t, addr), shared);
  assert.equal(pfnAt(c, addr), shared);
});

// R60/R43: a write pin of a page shared with the child takes a normal COW fault.
test('R60 [current] a write pin after fork COWs: the parent gets a new exclusive page, the child keeps the old', () => {
  const { k, t, addr } = setup({ pages: 1, value: 3 });
  const shared = pfnAt(t, addr);
  const c = step(k, t, 'fork', () => do_fork(k, t, 'child'));
  assert.ok(typeof c !== 'number');
  const P = pagesArray(1);
  assert.equal(step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 1, FOLL_WRITE, P)), 1);
  assert.notEqual(P[0], shared);
  assert.equal(pfnAt(t, addr), P[0]);
  assert.ok(pteWritable(t, addr));
  assert.ok((k.mem.flagsOf(P[0]) & PG_anon_exclusive) !== 0);
  assert.equal(pfnAt(c, addr), shared);
  assert.equal(read(k, t, addr), 3);
});

// R42: an unshare fault on an anon page nobody else maps any more reuses it: AnonExclusive is set,
// the PTE stays read-only (unshare never grants write), nothing is copied.
test('R42 [current] a R/O pin after the child exited reuses the page: no copy, PTE stays read-only', () => {
  const { k, t, addr } = setup({ pages: 1, value: 3 });
  const p = pfnAt(t, addr);
  const c = step(k, t, 'fork', () => do_fork(k, t, 'child'));
  assert.ok(typeof c !== 'number');
  step(k, c, 'exit', () => do_exit(k, c));
  assert.equal(k.mem.flagsOf(p) & PG_anon_exclusive, 0, 'precondition: fork cleared AnonExclusive');
  const P = pagesArray(1);
  assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, addr, 1, 0, P)), 1);
  assert.equal(P[0], p, 'reused, not copied');
  assert.ok((k.mem.flagsOf(p) & PG_anon_exclusive) !== 0);
  assert.ok(!pteWritable(t, addr));
});

// R50/R65: since v6.2 a FOLL_LONGTERM R/O pin in a COW mapping never pins the zero page: it unshares
// into a fresh exclusive anon page first (84209e87c696). Before (5.19), it pinned the zero page.
for (const [profile, unshares] of [['current', true], ['6.2', true], ['5.19', false]] as const) {
  for (const name of ['pin_user_pages', 'pin_user_pages_fast']) {
    const fn = FNS.find(([n]) => n === name)![1];
    test(`R50 [${profile}] ${name}(FOLL_LONGTERM) read-only over zero-page PTEs ${unshares ? 'unshares into a real page' : 'pins the zero page'}`, () => {
      const { k, t, addr } = setup({ profile, pages: 1, value: null });
      read(k, t, addr);
      const z = pfnAt(t, addr);
      assert.ok(k.mem.isZeroPfn(z));
      const P = pagesArray(1);
      const d = delta(k, () => step(k, t, name, () => fn(k, t, addr, 1, FOLL_LONGTERM, P)));
      assert.equal(d.r, 1);
      if (unshares) {
        assert.ok(!k.mem.isZeroPfn(P[0]));
        assert.equal(pfnAt(t, addr), P[0]);
        assert.ok(k.mem.test(P[0], PG_anon) && (k.mem.flagsOf(P[0]) & PG_anon_exclusive) !== 0);
        assert.ok(!pteWritable(t, addr), 'R42: the unshared copy is mapped read-only');
        assert.equal(read(k, t, addr), 0, 'zero-filled');
        assert.deepEqual([d.acq, d.rel], [1, 0]);
      } else {
        assert.equal(P[0], z);
      }
    });
  }
}

// R50/R41: a R/O long-term pin of a MAP_PRIVATE file page unshares it into an anonymous copy; a
// short-term R/O pin pins the page-cache page itself.
for (const longterm of [true, false]) {
  test(`R41/R50 [current] a R/O ${longterm ? 'long-term' : 'short-term'} pin of a MAP_PRIVATE ext4 page ${longterm ? 'pins an anonymous copy' : 'pins the page-cache page'}`, () => {
    const k = kernel('current');
    const t = createTask(k, 'app');
    const f = new File('lib', 'ext4', PAGE_SIZE);
    f.disk.set(0, 55);
    registerFile(k, f);
    files(k).set('lib', f);
    const addr = mmap(k, t, PAGE_SIZE, { flags: MAP_PRIVATE, file: f });
    assert.equal(read(k, t, addr), 55);
    const cached = f.cache.get(0)!;
    assert.equal(pfnAt(t, addr), cached);
    const P = pagesArray(1);
    assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, addr, 1, longterm ? FOLL_LONGTERM : 0, P)), 1);
    if (longterm) {
      assert.notEqual(P[0], cached);
      assert.ok(k.mem.test(P[0], PG_anon));
      assert.equal(pfnAt(t, addr), P[0]);
      assert.equal(read(k, t, addr), 55, 'the copy has the file data');
      assert.ok(!folio_maybe_dma_pinned(k, cached), 'the page cache page is not pinned');
    } else {
      assert.equal(P[0], cached);
      assert.ok(folio_maybe_dma_pinned(k, cached));
    }
  });
}

// R37/R67 (follow_page_pte(), no_page_table()): FOLL_DUMP turns zero pages and anonymous holes into
// -EFAULT (get_dump_page() leaves a hole in the core dump) instead of faulting.
test('R37/R67 [current] get_user_pages(FOLL_DUMP): zero page → -EFAULT, anon hole → -EFAULT (no fault), real page → 1', () => {
  const { k, t, addr } = setup({ pages: 3, value: null });
  read(k, t, addr);
  write(k, t, addr + 2 * PAGE_SIZE, PAGE_SIZE, 4);
  const G = pagesArray(1);
  assert.equal(step(k, t, 'dump zero', () => get_user_pages(k, t, addr, 1, FOLL_DUMP | FOLL_FORCE, G)), -EFAULT);
  assert.equal(step(k, t, 'dump hole', () => get_user_pages(k, t, addr + PAGE_SIZE, 1, FOLL_DUMP | FOLL_FORCE, G)), -EFAULT);
  assert.equal(pfnAt(t, addr + PAGE_SIZE), -1, 'no fault for the hole');
  assert.equal(step(k, t, 'dump page', () => get_user_pages(k, t, addr + 2 * PAGE_SIZE, 1, FOLL_DUMP | FOLL_FORCE, G)), 1);
  assert.equal(G[0], pfnAt(t, addr + 2 * PAGE_SIZE));
});

// R11: a P2PDMA page needs FOLL_PCI_P2PDMA: -EREMOTEIO from the slow path; GUP-fast falls back to it.
for (const name of ['pin_user_pages', 'pin_user_pages_fast']) {
  const fn = FNS.find(([n]) => n === name)![1];
  test(`R11 [current] ${name} of a P2PDMA page without FOLL_PCI_P2PDMA → -EREMOTEIO; with it → pinned`, () => {
    const { k, t, addr } = setup({ pages: 1 });
    const p = pfnAt(t, addr);
    k.mem.set(p, PG_p2pdma);
    const r0 = ref(k, p);
    const d = delta(k, () => step(k, t, name, () => fn(k, t, addr, 1, FOLL_WRITE, pagesArray(1))));
    assert.equal(d.r, -EREMOTEIO);
    assert.deepEqual([d.acq, d.rel], [0, 0]);
    assert.equal(ref(k, p), r0);
    const P = pagesArray(1);
    assert.equal(step(k, t, name, () => fn(k, t, addr, 1, FOLL_WRITE | FOLL_PCI_P2PDMA, P)), 1);
    assert.equal(P[0], p);
  });
}

// R38 (pre-v6.0 FOLL_COW): FOLL_FORCE writes to a R/O private mapping also worked on old kernels.
test('R38 [5.7] FOLL_WRITE|FOLL_FORCE on a read-only private mapping gets a COW\'d anon page (FOLL_COW)', () => {
  const { k, t, addr } = setup({ profile: '5.7', pages: 1, prot: PROT_READ, value: null });
  read(k, t, addr);
  const P = pagesArray(1);
  assert.equal(step(k, t, 'pin', () => pin_user_pages(k, t, addr, 1, FOLL_WRITE | FOLL_FORCE, P)), 1);
  assert.ok(!k.mem.isZeroPfn(P[0]));
  assert.equal(pfnAt(t, addr), P[0]);
  assert.ok(!pteWritable(t, addr));
});

// R35: a walk that grabbed nothing returns -EFAULT (WARN) — except with FOLL_NOWAIT, which may
// legitimately return 0 when a fault would have to wait for I/O (VM_FAULT_RETRY → -EBUSY → 0).
test('R35 [current] get_user_pages(FOLL_NOWAIT) on an uncached ext4 page returns 0', () => {
  const k = kernel('current');
  const t = createTask(k, 'app');
  const f = new File('data', 'ext4', PAGE_SIZE);
  registerFile(k, f);
  files(k).set('data', f);
  const addr = mmap(k, t, PAGE_SIZE, { flags: MAP_PRIVATE, file: f });
  const d = delta(k, () => step(k, t, 'gup', () => get_user_pages(k, t, addr, 1, FOLL_NOWAIT, pagesArray(1))));
  assert.equal(d.r, 0);
  assert.equal(pfnAt(t, addr), -1, 'nothing mapped yet: the read was only started');
});

// R39 / R122: where mm_forbids_zeropage() (s390 KVM), a read fault allocates a real page, so a R/O pin
// of untouched memory pins and counts real pages.
test('R39/R122 [current] forbids_zeropage: a R/O pin of untouched memory pins real pages and counts them', () => {
  const { k, t, addr } = setup({ machine: { forbidsZeropage: true }, pages: 3, value: null });
  const P = pagesArray(3);
  const d = delta(k, () => step(k, t, 'pin', () => pin_user_pages_fast(k, t, addr, 3, 0, P)));
  assert.equal(d.r, 3);
  assert.ok(P.every((p) => !k.mem.isZeroPfn(p)));
  assert.deepEqual([d.acq, d.rel], [3, 0]);
});

// R39/R66: with transparent_hugepage/use_zero_page = 0, a read fault of a THP-eligible range
// allocates a THP (do_huge_pmd_anonymous_page() skips the huge-zero branch): a R/O pin counts it.
test('R39 [current] use_zero_page=0: a R/O pin of an untouched 2 MiB range pins a real THP', () => {
  const { k, t, addr } = setup({ machine: { thp: 'always', useHugeZeroPage: false }, length: 2 * 1024 * 1024, value: null });
  const P = pagesArray(4);
  const d = delta(k, () => step(k, t, 'pin', () => pin_user_pages(k, t, addr, 4, 0, P)));
  assert.equal(d.r, 4);
  const head = k.mem.head(P[0]);
  assert.ok(!k.mem.isHugeZero(head));
  assert.equal(k.mem.folioOrder(head), 9);
  assert.equal(k.mem.pincount(head), 4);
  assert.deepEqual([d.acq, d.rel], [4, 0]);
});
