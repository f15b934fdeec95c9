// The edges of mmap/munmap/mprotect/madvise arguments: zero, negative (= the size_t the kernel
// sees: -1 is 2^64-1, src/include/u64.ts), huge, unaligned, above TASK_SIZE (0x7ffffffff000), and
// ranges with holes. Every expected value is what the host kernel (Linux 6.18, x86-64, as root,
// vm.mmap_min_addr = 4096) answered to the same call from a C probe; the host's answer is in the
// comment where it is not the asserted value itself.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EBADF, EINVAL, ENOMEM, EOVERFLOW, HPAGE_PMD_SIZE, MADV_DONTFORK, MADV_DONTNEED, MADV_NORMAL, MADV_WIPEONFORK,
  MAP_ANONYMOUS, MAP_FIXED, MAP_HUGETLB, MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, PAGE_SIZE, PROT_GROWSDOWN,
  PROT_READ, PROT_SEM, PROT_WRITE, TASK_SIZE,
} from '../../src/include/uapi.js';
import { File } from '../../src/fs/file.js';
import { do_madvise, do_mmap, do_mprotect, do_munmap } from '../../src/vm/mmap.js';
import type { Task } from '../../src/vm/mm.js';
import { Kernel } from '../../src/kernel.js';
import { PRIVATE_ANON, RW, kernel, mmap, step } from '../helpers.js';
import { VM_DONTCOPY, VM_WRITE } from '../../src/include/linux/mm.js';
import { createTask } from '../../src/vm/mm.js';
import { registerFile } from '../../src/mm/filemap.js';
import { checkInvariants } from '../../src/check/invariants.js';

const P = PAGE_SIZE;

function env(): { k: Kernel; t: Task } {
  const k = kernel();
  return { k, t: createTask(k, 'app') };
}

const mm = (k: Kernel, t: Task, addr: number, length: number, flags = PRIVATE_ANON, extra: { offset?: number; file?: File } = {}) =>
  step(k, t, 'mmap', () => do_mmap(k, t.mm, { addr, length, prot: RW, flags, file: extra.file ?? null, offset: extra.offset ?? 0 }));

test('mmap: lengths at the edges (host: 0 EINVAL; -1, -4096, -8192, 2^53, 2^47, 0x7ffffffff000 ENOMEM; 1 and 4096 map)', () => {
  const { k, t } = env();
  assert.equal(mm(k, t, 0, 0), -EINVAL);
  assert.equal(mm(k, t, 0, -1), -ENOMEM, 'PAGE_ALIGN((size_t)-1) wraps to 0'); // the model said -EINVAL before
  assert.equal(mm(k, t, 0, -P), -ENOMEM, 'len > TASK_SIZE');
  assert.equal(mm(k, t, 0, -2 * P), -ENOMEM);
  assert.equal(mm(k, t, 0, 2 ** 53 - P), -ENOMEM);
  assert.equal(mm(k, t, 0, 2 ** 47), -ENOMEM);
  assert.equal(mm(k, t, 0, TASK_SIZE), -ENOMEM, 'no room for the whole user address space');
  assert.ok(mm(k, t, 0, 1) > 0);
  assert.ok(mm(k, t, 0, P) > 0);
  // host: MAP_SHARED|MAP_ANONYMOUS len 0 EINVAL, len -4096 ENOMEM
  assert.equal(mm(k, t, 0, 0, MAP_SHARED | MAP_ANONYMOUS), -EINVAL);
  assert.equal(mm(k, t, 0, -P, MAP_SHARED | MAP_ANONYMOUS), -ENOMEM);
});

test('mmap: the address hint and MAP_FIXED at the edges of the address space', () => {
  const { k, t } = env();
  // host: an unaligned hint is aligned down and taken (0x10001 -> 0x10000); the model said -EINVAL
  assert.equal(mm(k, t, 0x10001, P), 0x10000);
  assert.equal(mm(k, t, 0x7f0000000001, P), 0x7f0000000000);
  // host: a hint above TASK_SIZE is ignored: the mapping goes where the search puts it
  const r = mm(k, t, 0x800000000000, P);
  assert.ok(r > 0 && r + P <= TASK_SIZE);
  // host: a hint on an existing mapping is not taken
  const again = mm(k, t, 0x10000, P);
  assert.ok(again > 0 && again !== 0x10000);
  // host: MAP_FIXED unaligned EINVAL; above TASK_SIZE, or ending past it, ENOMEM
  assert.equal(mm(k, t, 0x7f0000000001, P, PRIVATE_ANON | MAP_FIXED), -EINVAL);
  assert.equal(mm(k, t, 0x800000000000, P, PRIVATE_ANON | MAP_FIXED), -ENOMEM);
  assert.equal(mm(k, t, 0x7ffffffff000, P, PRIVATE_ANON | MAP_FIXED), -ENOMEM);
  assert.equal(mm(k, t, 0x7ffffffff000, 2 * P, PRIVATE_ANON | MAP_FIXED), -ENOMEM);
  assert.equal(mm(k, t, -P, P, PRIVATE_ANON | MAP_FIXED), -ENOMEM);
  // host: the last page below TASK_SIZE can be mapped; a MAP_FIXED at 0 works for root
  assert.equal(mm(k, t, 0x7fffffffe000, P, PRIVATE_ANON | MAP_FIXED), 0x7fffffffe000);
  assert.equal(mm(k, t, 0, P, PRIVATE_ANON | MAP_FIXED), 0);
});

test('mmap: offsets, types and the file (host answers in order)', () => {
  const { k, t } = env();
  assert.equal(mm(k, t, 0, P, PRIVATE_ANON, { offset: 1 }), -EINVAL); // host: EINVAL
  assert.ok(mm(k, t, 0, P, PRIVATE_ANON, { offset: P }) > 0); // host: maps (anonymous ignores it)
  assert.ok(mm(k, t, 0, P, PRIVATE_ANON, { offset: -P }) > 0); // host: maps
  assert.ok(mm(k, t, 0, P, MAP_SHARED | MAP_ANONYMOUS, { offset: -P }) > 0); // host: maps
  assert.equal(mm(k, t, 0, P, MAP_ANONYMOUS), -EINVAL); // host: EINVAL (no MAP_SHARED/MAP_PRIVATE)
  assert.equal(mm(k, t, 0, P, MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS), -EINVAL); // host: EINVAL
  assert.equal(mm(k, t, 0, P, MAP_SHARED_VALIDATE | MAP_ANONYMOUS), -EINVAL); // host: EINVAL
  assert.equal(mm(k, t, 0, P, MAP_PRIVATE), -EBADF); // host: EBADF (fd -1); the model said EINVAL
  assert.equal(mm(k, t, 0, -1, MAP_ANONYMOUS), -ENOMEM, 'the length is checked before the type'); // host: ENOMEM
  const f = new File('f', 'ext4', 4 * P);
  registerFile(k, f);
  // host (ext4 and tmpfs): offset 2^64-4096 EOVERFLOW; offset 2^53 past EOF maps; a file may be MAP_SHARED_VALIDATE
  assert.equal(mm(k, t, 0, P, MAP_SHARED, { file: f, offset: -P }), -EOVERFLOW);
  assert.ok(mm(k, t, 0, P, MAP_SHARED, { file: f, offset: 2 ** 53 - P }) > 0);
  assert.ok(mm(k, t, 0, P, MAP_SHARED_VALIDATE, { file: f }) > 0);
  assert.equal(mm(k, t, 0, P, 0, { file: f }), -EINVAL); // host: EINVAL
  assert.equal(mm(k, t, 0, -1, 0, { file: f }), -ENOMEM); // host: ENOMEM
});

test('mmap: MAP_HUGETLB lengths (host, empty pool: 0 and -1 EINVAL, 4096 and -2 MiB ENOMEM)', () => {
  const { k, t } = env();
  const H = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;
  assert.equal(mm(k, t, 0, 0, H), -EINVAL);
  assert.equal(mm(k, t, 0, -1, H), -EINVAL, 'ALIGN(-1, 2 MiB) wraps to 0');
  assert.equal(mm(k, t, 0, P, H), -ENOMEM, 'no huge page reserved');
  assert.equal(mm(k, t, 0, -HPAGE_PMD_SIZE, H), -ENOMEM);
});

test('munmap: the edges (host: 0, -1, -4096, 2^53, unaligned, above TASK_SIZE EINVAL; nothing mapped 0)', () => {
  const { k, t } = env();
  const a = mmap(k, t, 4 * P);
  const un = (addr: number, len: number) => step(k, t, 'munmap', () => do_munmap(k, t.mm, addr, len));
  assert.equal(un(a, 0), -EINVAL);
  assert.equal(un(a, -1), -EINVAL);
  assert.equal(un(a, -P), -EINVAL);
  assert.equal(un(a, 2 ** 53 - P), -EINVAL); // the model unmapped everything above a before
  assert.equal(t.mm.peekVma(a)?.start, a, 'nothing was unmapped');
  assert.equal(un(a + 1, P), -EINVAL);
  assert.equal(un(0x800000000000, P), -EINVAL);
  assert.equal(un(TASK_SIZE, P), -EINVAL, 'len > TASK_SIZE - start');
  assert.equal(un(TASK_SIZE - P, 2 * P), -EINVAL);
  assert.equal(un(-P, P), -EINVAL);
  assert.equal(un(0, P), 0);
  assert.equal(un(0x100000000, P), 0);
});

test('mprotect: the edges (host answers in order)', () => {
  const { k, t } = env();
  const a = mmap(k, t, 4 * P);
  const mp = (addr: number, len: number, prot = PROT_READ) => step(k, t, 'mprotect', () => do_mprotect(k, t.mm, addr, len, prot));
  assert.equal(mp(a, 0), 0);
  assert.equal(mp(a + 1, 0), -EINVAL, 'alignment first');
  assert.equal(mp(a, -1), -ENOMEM, 'PAGE_ALIGN wraps: end <= start'); // the model said 0
  assert.equal(mp(a, -P), -ENOMEM);
  assert.equal(mp(a + 1, P), -EINVAL);
  assert.equal(mp(a, P, 0x80), -EINVAL, 'arch_validate_prot()'); // the model accepted it
  assert.equal(mp(a, P, PROT_READ | PROT_SEM), 0);
  assert.equal(mp(0x100000000, P), -ENOMEM);
  assert.equal(mp(0x100000000, P, 0x80), -EINVAL, 'prot is checked before the range');
  assert.equal(mp(0x800000000000, P), -ENOMEM);
  assert.equal(mp(-P, P), -ENOMEM);
  assert.equal(mp(a, P, PROT_READ | PROT_GROWSDOWN), -EINVAL, 'not a VM_GROWSDOWN mapping');
  assert.equal(mp(a, 1), 0, 'a length of 1 covers the page');
});

test('mprotect over [vma][hole][vma] changes the first VMA, stops at the hole and says ENOMEM (as the host)', () => {
  const { k, t } = env();
  const a = mmap(k, t, 3 * P);
  assert.equal(step(k, t, 'munmap', () => do_munmap(k, t.mm, a + P, P)), 0);
  assert.equal(step(k, t, 'mprotect', () => do_mprotect(k, t.mm, a, 3 * P, PROT_READ)), -ENOMEM);
  // host /proc/self/maps after: the first page r--p, the third still rw-p
  assert.equal(t.mm.peekVma(a)!.flags & VM_WRITE, 0);
  assert.notEqual(t.mm.peekVma(a + 2 * P)!.flags & VM_WRITE, 0);
  // host: a range that starts in a hole changes nothing
  const b = mmap(k, t, 3 * P);
  assert.equal(step(k, t, 'munmap', () => do_munmap(k, t.mm, b, P)), 0);
  assert.equal(step(k, t, 'mprotect', () => do_mprotect(k, t.mm, b, 3 * P, PROT_READ)), -ENOMEM);
  assert.notEqual(t.mm.peekVma(b + P)!.flags & VM_WRITE, 0);
});

test('madvise: the edges (host answers in order)', () => {
  const { k, t } = env();
  const a = mmap(k, t, 4 * P);
  const md = (addr: number, len: number, adv = MADV_DONTNEED) => step(k, t, 'madvise', () => do_madvise(k, t.mm, addr, len, adv));
  assert.equal(md(a, 0), 0);
  assert.equal(md(a + 1, 0), -EINVAL);
  assert.equal(md(a, 0, 999), -EINVAL, 'the advice is checked first');
  assert.equal(md(a, -1), -EINVAL, 'rounded up from a small negative to zero'); // the model said 0
  assert.equal(md(a, -P), -EINVAL, 'start + len wraps');
  assert.equal(md(a, -2 * P), -EINVAL);
  assert.equal(md(a + 1, P), -EINVAL);
  assert.equal(md(a + 1, P, 999), -EINVAL);
  assert.equal(md(0x100000000, P), -ENOMEM);
  assert.equal(md(0x100000000, P, MADV_DONTFORK), -ENOMEM);
  assert.equal(md(0x100000000, P, MADV_NORMAL), -ENOMEM);
  assert.equal(md(0x800000000000, P), -ENOMEM);
  assert.equal(md(-P, P), -EINVAL, 'start + len wraps');
  assert.equal(md(a, 1), 0);
  // host: MADV_WIPEONFORK on shared anonymous memory EINVAL
  const s = mmap(k, t, P, { flags: MAP_SHARED | MAP_ANONYMOUS });
  assert.equal(md(s, P, MADV_WIPEONFORK), -EINVAL);
  // advice a kernel accepts but the model does not implement is a usage error, not a wrong errno
  assert.throws(() => md(a, P, 3), /MADV_WILLNEED\) is not modelled/);
});

test('madvise over [vma][hole][vma] advises both VMAs and then says ENOMEM (as the host)', () => {
  const { k, t } = env();
  const a = mmap(k, t, 3 * P);
  assert.equal(step(k, t, 'munmap', () => do_munmap(k, t.mm, a + P, P)), 0);
  assert.equal(step(k, t, 'madvise', () => do_madvise(k, t.mm, a, 3 * P, MADV_DONTFORK)), -ENOMEM);
  // host /proc/self/smaps after: both VMAs have "dc" (VM_DONTCOPY); the model changed neither before
  assert.ok(t.mm.peekVma(a)!.flags & VM_DONTCOPY);
  assert.ok(t.mm.peekVma(a + 2 * P)!.flags & VM_DONTCOPY);
});

test('mmap/munmap/mprotect/madvise that fail after looking at the address space record that they read it', () => {
  const k = new Kernel({ trace: true, check: checkInvariants });
  const t = createTask(k, 'app');
  const fpOf = (fn: () => number) => {
    k.fp.clear();
    fn();
    return k.fp.toJSON().reads.mm ?? [];
  };
  assert.deepEqual(fpOf(() => do_mprotect(k, t.mm, 0x100000000, P, PROT_WRITE)), [[t.mm.id, t.mm.id]]);
  assert.deepEqual(fpOf(() => do_madvise(k, t.mm, 0x100000000, P, MADV_DONTNEED)), [[t.mm.id, t.mm.id]]);
  assert.deepEqual(fpOf(() => do_mmap(k, t.mm, { addr: 0x7ffffffff000, length: P, prot: RW, flags: PRIVATE_ANON | MAP_FIXED })),
    [], 'a MAP_FIXED past TASK_SIZE is refused on its arguments alone');
});
