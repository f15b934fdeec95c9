// "A failed operation records what it read before it failed" (issue 11): an operation that looks
// at state and then gives up still depends on it, so the explorer must see the read. These are
// the error paths of the syscalls whose state became private (docs/architecture.md "Per-page
// state"): the accessors record the read whether or not the operation goes on.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FootprintJSON } from '../../src/trace/footprint.js';
import { Kernel } from '../../src/kernel.js';
import { checkInvariants } from '../../src/check/invariants.js';
import { createTask, type Task } from '../../src/vm/mm.js';
import { do_madvise, do_mmap, do_mprotect, do_munmap } from '../../src/vm/mmap.js';
import * as api from '../../src/gup/api.js';
import { io_sqe_buffers_register, io_uring_get_ring, io_uring_setup, type IoRing } from '../../src/drivers/io-uring.js';
import { do_sys_open } from '../../src/fs/fdtable.js';
import { ksys_pread64 } from '../../src/fs/read_write.js';
import { EACCES, EBUSY, EFAULT, EINVAL, ENOMEM, MADV_DONTFORK, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, O_DIRECT, O_RDONLY, PAGE_SIZE,
  PROT_READ, PROT_WRITE } from '../../src/include/uapi.js';
import { FOLL_WRITE, VM_MAYWRITE } from '../../src/include/linux/mm.js';
import { newFile } from '../fs/fs-helpers.js';

function explorerKernel(): { k: Kernel; t: Task } {
  const k = new Kernel({ profile: 'current', trace: false, footprints: true, check: checkInvariants });
  return { k, t: createTask(k, 'app') };
}

function has(side: Record<string, Array<[number, number]>>, kind: string, id: number): boolean {
  return (side[kind] ?? []).some(([lo, hi]) => id >= lo && id <= hi);
}

/** The footprint of fn alone. */
function footprintOf(k: Kernel, fn: () => number, expect: number): FootprintJSON {
  k.takeFootprint();
  assert.equal(fn(), expect);
  return k.takeFootprint();
}

function anon(k: Kernel, t: Task, prot = PROT_READ | PROT_WRITE): number {
  return do_mmap(k, t.mm, { addr: 0, length: PAGE_SIZE, prot, flags: MAP_PRIVATE | MAP_ANONYMOUS });
}

test('mmap that finds no room reads the mm (its VMA list and mmap_base)', () => {
  const { k, t } = explorerKernel();
  const fp = footprintOf(k, () => do_mmap(k, t.mm, { addr: 0, length: 0x7f0000000000, prot: PROT_READ, flags: MAP_PRIVATE | MAP_ANONYMOUS }), -ENOMEM);
  assert.ok(has(fp.reads, 'mm', t.mm.id));
  assert.ok(!has(fp.writes, 'mm', t.mm.id), 'nothing was mapped');
});

test('munmap, mprotect and madvise of a hole read the VMA list', () => {
  const { k, t } = explorerKernel();
  const a = anon(k, t);
  const hole = a + 16 * PAGE_SIZE;
  for (const [name, fn, ret] of [
    ['munmap', () => do_munmap(k, t.mm, hole, PAGE_SIZE), 0],
    ['mprotect', () => do_mprotect(k, t.mm, hole, PAGE_SIZE, PROT_READ), -ENOMEM],
    ['madvise', () => do_madvise(k, t.mm, hole, PAGE_SIZE, MADV_DONTFORK), -ENOMEM],
  ] as const) {
    const fp = footprintOf(k, fn, ret);
    assert.ok(has(fp.reads, 'mm', t.mm.id), name);
    assert.ok(!has(fp.writes, 'mm', t.mm.id), `${name} changed nothing`);
  }
});

test('mprotect refused by a VMA\'s flags reads the VMA; mprotect of an unpopulated VMA writes it', () => {
  const { k, t } = explorerKernel();
  const f = newFile(k, 'f', 1);
  const ro = do_mmap(k, t.mm, { addr: 0, length: PAGE_SIZE, prot: PROT_READ, flags: MAP_SHARED, file: f });
  const fd = do_sys_open(k, t, 'f', O_RDONLY);
  assert.ok(fd >= 0);
  const v = t.mm.peekVma(ro)!;
  // A shared mapping of a file opened read-only has no VM_MAYWRITE in the kernel; the model's
  // mmap does not know the open mode, so take VM_MAYWRITE away as do_mmap() would.
  v.flags &= ~VM_MAYWRITE;
  let fp = footprintOf(k, () => do_mprotect(k, t.mm, ro, PAGE_SIZE, PROT_READ | PROT_WRITE), -EACCES);
  assert.ok(has(fp.reads, 'vma', v.id));
  assert.ok(!has(fp.writes, 'vma', v.id));
  const a = anon(k, t);
  const w = t.mm.peekVma(a)!;
  fp = footprintOf(k, () => do_mprotect(k, t.mm, a, PAGE_SIZE, PROT_READ), 0);
  assert.ok(has(fp.writes, 'vma', w.id), 'the flags changed although no PTE exists');
});

test('a pin that fails reads what refused it: the mm with no VMA, the VMA whose flags refuse', () => {
  const { k, t } = explorerKernel();
  const pages: number[] = [0];
  let fp = footprintOf(k, () => api.pin_user_pages(k, t, 0x100000, 1, FOLL_WRITE, pages), -EFAULT);
  assert.ok(has(fp.reads, 'mm', t.mm.id));
  const a = anon(k, t, PROT_READ);
  const v = t.mm.peekVma(a)!;
  fp = footprintOf(k, () => api.pin_user_pages(k, t, a, 1, FOLL_WRITE, pages), -EFAULT);
  assert.ok(has(fp.reads, 'vma', v.id));
  assert.ok(!has(fp.writes, 'vma', v.id));
});

test('a direct read refused for its alignment reads the open file and the file', () => {
  const { k, t } = explorerKernel();
  const f = newFile(k, 'd', 2);
  f.disk.set(0, 5); // a mapped extent: a hole would be zeroed without an alignment check
  f.disk.set(1, 5);
  const fd = do_sys_open(k, t, 'd', O_RDONLY | O_DIRECT);
  const buf = anon(k, t);
  const fp = footprintOf(k, () => ksys_pread64(k, t, fd, buf, 512, 1), -EINVAL);
  assert.ok(has(fp.reads, 'fdtable', t.pid));
  assert.ok(has(fp.reads, 'file', f.id));
});

test('io_uring buffer registration refused -EBUSY reads the ring and writes nothing of it', () => {
  const { k, t } = explorerKernel();
  const fd = io_uring_setup(k, t);
  const ring = io_uring_get_ring(k, t, fd) as IoRing;
  const buf = anon(k, t);
  assert.equal(io_sqe_buffers_register(k, t, ring, [{ base: buf, len: PAGE_SIZE }]), 0);
  const fp = footprintOf(k, () => io_sqe_buffers_register(k, t, ring, [{ base: buf, len: PAGE_SIZE }]), -EBUSY);
  assert.ok(has(fp.reads, 'ring', ring.id));
  assert.ok(!has(fp.writes, 'ring', ring.id));
});
