// Property: random but legal sequences of mmap / write / GUP / release / fork / munmap / madvise /
// mprotect / exit never break an invariant (checked by Kernel.step after every step), keep the pin
// counters and per-folio pin state equal to what the outstanding handles account for (R2, R3, R12,
// R69, R70, R74: internal noise cancels within a call), keep every pinned page mapped where it was
// pinned (R44, R58), and leave no leak once every handle is released and every task has exited.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { findLeaks } from '../../src/check/leaks.js';
import {
  get_user_pages, get_user_pages_fast, pin_user_pages, pin_user_pages_fast, pin_user_pages_remote,
} from '../../src/gup/api.js';
import {
  put_page, unpin_user_page, unpin_user_pages, unpin_user_pages_dirty_lock,
} from '../../src/gup/unpin.js';
import { EFAULT, ENOMEM, MADV_DOFORK, MADV_DONTFORK, MADV_DONTNEED, MADV_WIPEONFORK, PAGE_SIZE, PROT_READ } from '../../src/include/uapi.js';
import type { Kernel, MachineConfig } from '../../src/kernel.js';
import { translate, userRead, userWrite } from '../../src/vm/access.js';
import { do_exit } from '../../src/vm/exit.js';
import { do_fork } from '../../src/vm/fork.js';
import type { Task } from '../../src/vm/mm.js';
import { do_madvise, do_mmap, do_mprotect, do_munmap } from '../../src/vm/mmap.js';
import {
  MiB, PRIVATE_ANON, RW, SHARED_ANON, THP_SIZE, counters, kernel, pagesArray, step, teardown,
} from '../helpers.js';
import { VM_WRITE, FOLL_FORCE, FOLL_LONGTERM, FOLL_WRITE, GUP_PIN_COUNTING_BIAS } from '../../src/include/linux/mm.js';
import { folio_has_pincount, is_zero_folio } from '../../src/mm/folio.js';
import { createTask } from '../../src/vm/mm.js';

type GupFn = 'pin_user_pages_fast' | 'pin_user_pages' | 'get_user_pages_fast' | 'get_user_pages' | 'pin_user_pages_remote';

type Advice = 'DONTNEED' | 'DONTFORK' | 'DOFORK' | 'WIPEONFORK';
const ADVICE: Record<Advice, number> = {
  DONTNEED: MADV_DONTNEED, DONTFORK: MADV_DONTFORK, DOFORK: MADV_DOFORK, WIPEONFORK: MADV_WIPEONFORK,
};

type Op =
  | { op: 'mmap'; task: number; kind: 'small' | 'thp'; shared: boolean; pages: number }
  | { op: 'write'; task: number; vma: number; off: number; n: number; value: number }
  | { op: 'read'; task: number; vma: number; off: number }
  | { op: 'gup'; task: number; vma: number; off: number; n: number; fn: GupFn; write: boolean; longterm: boolean; force: boolean; caller: number }
  | { op: 'mprotect'; task: number; vma: number; off: number; n: number; writable: boolean }
  | { op: 'release'; h: number; how: 'pages' | 'dirty' | 'each' }
  | { op: 'fork'; task: number }
  | { op: 'munmap'; task: number; vma: number }
  | { op: 'madvise'; task: number; vma: number; off: number; n: number; advice: Advice }
  | { op: 'exit'; task: number };

const idx = fc.nat({ max: 1000 });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('mmap' as const), task: idx, kind: fc.constantFrom('small' as const, 'thp' as const),
    shared: fc.boolean(), pages: fc.integer({ min: 1, max: 8 }) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('write' as const), task: idx, vma: idx, off: idx, n: fc.integer({ min: 1, max: 6 }),
    value: fc.integer({ min: 1, max: 1000 }) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('read' as const), task: idx, vma: idx, off: idx }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('gup' as const), task: idx, vma: idx, off: idx, n: fc.integer({ min: 1, max: 12 }),
    fn: fc.constantFrom<GupFn>('pin_user_pages_fast', 'pin_user_pages', 'get_user_pages_fast', 'get_user_pages', 'pin_user_pages_remote'),
    write: fc.boolean(), longterm: fc.boolean(), force: fc.boolean(), caller: idx }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant('mprotect' as const), task: idx, vma: idx, off: idx, n: fc.integer({ min: 1, max: 8 }),
    writable: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('release' as const), h: idx, how: fc.constantFrom('pages' as const, 'dirty' as const, 'each' as const) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('fork' as const), task: idx }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('munmap' as const), task: idx, vma: idx }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('madvise' as const), task: idx, vma: idx, off: idx, n: fc.integer({ min: 1, max: 8 }),
    advice: fc.constantFrom<Advice>('DONTNEED', 'DONTFORK', 'DOFORK', 'WIPEONFORK') }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('exit' as const), task: idx }), weight: 1 },
);

interface Handle {
  pin: boolean;
  pages: number[];
  /** The task whose memory was grabbed and the address of each entry; live[i] false once that
   *  address was unmapped (munmap, MADV_DONTNEED, exit). */
  owner: Task;
  addrs: number[];
  live: boolean[];
}

interface World {
  k: Kernel;
  tasks: Task[];
  handles: Handle[];
  forks: number;
}

const live = (w: World) => w.tasks.filter((t) => !t.exited);

function pick<T>(xs: readonly T[], i: number): T | undefined {
  return xs.length ? xs[i % xs.length] : undefined;
}

/** A (task, vma, page range inside the vma) chosen from indices; undefined when nothing fits. */
function range(w: World, task: number, vma: number, off: number, n: number) {
  const t = pick(live(w), task);
  if (!t) return undefined;
  const v = pick(t.mm.peekVmas(), vma);
  if (!v) return undefined;
  const first = off % v.nrPages;
  return { t, v, addr: v.start + first * PAGE_SIZE, n: Math.min(n, v.nrPages - first), rest: v.nrPages - first };
}

function apply(w: World, o: Op): void {
  const k = w.k;
  switch (o.op) {
    case 'mmap': {
      const t = pick(live(w), o.task);
      if (!t) return;
      const length = o.kind === 'thp' && !o.shared ? THP_SIZE : o.pages * PAGE_SIZE;
      step(k, t, 'mmap', () => do_mmap(k, t.mm, { addr: 0, length, prot: RW, flags: o.shared ? SHARED_ANON : PRIVATE_ANON }));
      return;
    }
    case 'write': {
      const r = range(w, o.task, o.vma, o.off, o.n);
      if (!r) return;
      const ret = step(k, r.t, 'write', () => userWrite(k, r.t.mm, r.addr, r.n * PAGE_SIZE, o.value));
      // -EFAULT (SIGSEGV) only on a read-only VMA; -ENOMEM only when memory runs out.
      if ((r.v.flags & VM_WRITE) !== 0) assert.ok(ret === 0 || ret === -ENOMEM, `write: ${ret}`);
      else assert.equal(ret, -EFAULT);
      return;
    }
    case 'read': {
      const r = range(w, o.task, o.vma, o.off, 1);
      if (!r) return;
      step(k, r.t, 'read', () => userRead(k, r.t.mm, r.addr));
      return;
    }
    case 'gup': {
      // Ranges may run past the VMA (partial success, R35), never into another task's memory.
      const r = range(w, o.task, o.vma, o.off, o.n);
      if (!r) return;
      const n = o.n;
      const pin = o.fn.startsWith('pin_');
      const flags = (o.write ? FOLL_WRITE : 0) | (o.longterm && pin ? FOLL_LONGTERM : 0) | (o.force ? FOLL_FORCE : 0);
      // The remote variant runs in another live task against r.t's mm (process_vm_readv, VFIO).
      const caller = o.fn === 'pin_user_pages_remote' ? pick(live(w), o.caller)! : r.t;
      const P = pagesArray(n);
      const ret = step(k, caller, o.fn, () => {
        switch (o.fn) {
          case 'pin_user_pages_fast': return pin_user_pages_fast(k, r.t, r.addr, n, flags, P);
          case 'pin_user_pages': return pin_user_pages(k, r.t, r.addr, n, flags, P);
          case 'pin_user_pages_remote': return pin_user_pages_remote(k, r.t.mm, r.addr, n, flags, P);
          case 'get_user_pages': return get_user_pages(k, r.t, r.addr, n, flags, P);
          default: return get_user_pages_fast(k, r.t, r.addr, n, flags, P);
        }
      });
      assert.ok(ret <= n && ret !== 0, `${o.fn} returned ${ret}`);
      if (ret > 0) {
        assert.ok(P.slice(0, ret).every((p) => p >= 0), 'every returned entry is a page');
        assert.ok(P.slice(ret).every((p) => p === -1), 'nothing written past the count');
        w.handles.push({
          pin, pages: P.slice(0, ret), owner: r.t,
          addrs: Array.from({ length: ret }, (_, i) => r.addr + i * PAGE_SIZE), live: new Array<boolean>(ret).fill(true),
        });
      }
      return;
    }
    case 'release': {
      if (!w.handles.length) return;
      const [h] = w.handles.splice(o.h % w.handles.length, 1);
      release(k, h, o.how);
      return;
    }
    case 'fork': {
      const t = pick(live(w), o.task);
      if (!t || w.tasks.length >= 6) return;
      const c = step(k, t, 'fork', () => do_fork(k, t, `c${++w.forks}`));
      if (typeof c !== 'number') w.tasks.push(c);
      return;
    }
    case 'munmap': {
      const r = range(w, o.task, o.vma, 0, 1);
      if (!r) return;
      const [lo, hi] = [r.v.start, r.v.end];
      assert.equal(step(k, r.t, 'munmap', () => do_munmap(k, r.t.mm, lo, hi - lo)), 0);
      forget(w, r.t, lo, hi);
      return;
    }
    case 'madvise': {
      const r = range(w, o.task, o.vma, o.off, o.n);
      if (!r) return;
      // WIPEONFORK is refused (-EINVAL) on shared mappings; everything else succeeds.
      const ret = step(k, r.t, 'madvise', () => do_madvise(k, r.t.mm, r.addr, r.n * PAGE_SIZE, ADVICE[o.advice]));
      assert.equal(ret, o.advice === 'WIPEONFORK' && r.v.isShared() ? -22 : 0);
      if (o.advice === 'DONTNEED') forget(w, r.t, r.addr, r.addr + r.n * PAGE_SIZE);
      return;
    }
    case 'mprotect': {
      const r = range(w, o.task, o.vma, o.off, o.n);
      if (!r) return;
      const prot = o.writable ? RW : PROT_READ;
      assert.equal(step(k, r.t, 'mprotect', () => do_mprotect(k, r.t.mm, r.addr, r.n * PAGE_SIZE, prot)), 0);
      return;
    }
    case 'exit': {
      const t = pick(live(w), o.task);
      if (!t) return;
      step(k, t, 'exit', () => do_exit(k, t));
      forget(w, t, 0, Infinity);
      return;
    }
  }
}

/** The owner no longer maps [lo, hi): its handle entries there stop being checked for coherence. */
function forget(w: World, t: Task, lo: number, hi: number): void {
  for (const h of w.handles) {
    if (h.owner !== t) continue;
    h.addrs.forEach((a, i) => { if (a >= lo && a < hi) h.live[i] = false; });
  }
}

/**
 * R44/R58 (v5.19+, PageAnonExclusive): a pinned page stays the page its owner maps at that address
 * — no COW, fork, unshare, migration or THP split may replace it under the pin — until the owner
 * unmaps the address. Zero-page and huge-zero-folio entries are read-only sources and may be
 * replaced by a later write fault (R39, R67).
 */
function checkCoherence(w: World): void {
  const k = w.k;
  if (!k.profile.anonExclusive) return;
  for (const h of w.handles) {
    if (!h.pin || h.owner.exited) continue;
    h.pages.forEach((p, i) => {
      if (!h.live[i] || k.mem.isZeroPfn(p) || k.mem.isHugeZero(k.mem.head(p))) return;
      const now = translate(h.owner.mm, h.addrs[i]);
      assert.equal(now, p, `${h.owner.name} 0x${h.addrs[i].toString(16)} maps pfn ${now}, but the pin holds pfn ${p}`);
    });
  }
}

function release(k: Kernel, h: Handle, how: 'pages' | 'dirty' | 'each'): void {
  step(k, null, 'release', () => {
    if (!h.pin) {
      for (const p of h.pages) put_page(k, p);
    } else if (how === 'pages') {
      unpin_user_pages(k, h.pages, h.pages.length);
    } else if (how === 'dirty') {
      unpin_user_pages_dirty_lock(k, h.pages, h.pages.length, true);
    } else {
      for (const p of h.pages) unpin_user_page(k, p);
    }
  });
}

/** R69/R70/R74: after each call, acq − rel is exactly the pinned pages outstanding (zero page excluded
 *  from v6.5, R4); each pinned folio holds at least its outstanding pins (R2, R3) and is not free. */
function checkAccounting(w: World): void {
  const k = w.k;
  const pins = new Map<number, number>();
  let counted = 0;
  for (const h of w.handles) {
    for (const p of h.pages) {
      const head = k.mem.head(p);
      assert.ok(!k.mem.isFree(p), `pfn ${p} is held by a handle but free`);
      if (!h.pin) continue;
      if (is_zero_folio(k, head) && k.profile.zeroPageNotPinned) continue;
      counted++;
      pins.set(head, (pins.get(head) ?? 0) + 1);
    }
  }
  const c = counters(k);
  assert.equal(c.acq - c.rel, counted, `acq ${c.acq} - rel ${c.rel} != ${counted} outstanding pinned pages`);
  for (const [head, n] of pins) {
    if (folio_has_pincount(k, head)) {
      assert.equal(k.mem.pincount(head), n, `folio ${head}: pincount ${k.mem.pincount(head)}, handles hold ${n}`);
      assert.ok(k.mem.ref(head) >= n);
    } else {
      assert.ok((k.mem.ref(head) >>> 0) >= n * GUP_PIN_COUNTING_BIAS, `folio ${head}: refcount ${k.mem.ref(head)} < ${n} pins`);
    }
  }
}

/** Every run starts with one small private and one THP mapping in t0, so early ops have memory to use. */
const PROLOGUE: Op[] = [
  { op: 'mmap', task: 0, kind: 'small', shared: false, pages: 8 },
  { op: 'mmap', task: 0, kind: 'thp', shared: false, pages: 1 },
];

function runSequence(profile: string, machine: Partial<MachineConfig>, ops: Op[]): void {
  const k = kernel(profile, machine);
  const w: World = { k, tasks: [createTask(k, 't0')], handles: [], forks: 0 };
  for (const o of [...PROLOGUE, ...ops]) {
    apply(w, o);
    checkAccounting(w);
    checkCoherence(w);
  }
  for (const h of w.handles.splice(0)) release(k, h, 'pages');
  checkAccounting(w);
  teardown(k);
  const leaks = findLeaks(k);
  assert.deepEqual(leaks.map((l) => l.line), []);
  const c = counters(k);
  assert.equal(c.acq, c.rel, 'nr_foll_pin_acquired == nr_foll_pin_released at the end');
}

const RUNS = Number(process.env.PINLAB_PROPERTY_RUNS ?? 200);
const SEED = Number(process.env.PINLAB_PROPERTY_SEED ?? 0x5eed);
const PMD_THP: Partial<MachineConfig> = { normal: 16 * MiB, movable: 8 * MiB, thp: 'always' };
const MTHP_CMA: Partial<MachineConfig> = { normal: 16 * MiB, cma: 8 * MiB, thp: 'always', mthpOrders: [2, 4], zeroPageColors: 4 };

for (const [profile, machine, what] of [
  ['current', PMD_THP, 'PMD THP, ZONE_MOVABLE'],
  ['current', MTHP_CMA, 'mTHP, CMA, colored zero pages'],
  ['6.2', PMD_THP, 'PMD THP, ZONE_MOVABLE'],
  ['5.7', PMD_THP, 'PMD THP, ZONE_MOVABLE'],
  ['5.7', MTHP_CMA, 'mTHP, CMA, colored zero pages'],
] as const) {
  test(`property [${profile}; ${what}]: random legal pin/fork/unmap sequences keep invariants and accounting, and leak nothing`, () => {
    fc.assert(fc.property(fc.array(opArb, { minLength: 5, maxLength: 50, size: 'max' }), (ops) => runSequence(profile, machine, ops)),
      { numRuns: RUNS, seed: SEED });
  });
}
