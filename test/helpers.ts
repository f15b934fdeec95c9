// Shared setup for the unit and property tests: a kernel, a task, a mapping, CPU writes, and a
// teardown that leaves only leaks behind. Every model operation goes through k.step() so the
// invariants (src/check/invariants.ts) are checked after it, as a scenario run would.

import assert from 'node:assert/strict';
import { KernelBug } from '../src/check/bug.js';
import { dropFileCache, File } from '../src/fs/file.js';
import type { File as FileShape } from '../src/include/linux/fs.js';
import type { PageArray } from '../src/gup/gup.js';
import {
  MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE, PROT_READ, PROT_WRITE,
} from '../src/include/uapi.js';
import { Kernel, type MachineConfig } from '../src/kernel.js';
import { translate, userRead, userWrite } from '../src/vm/access.js';
import { do_exit } from '../src/vm/exit.js';
import type { Task } from '../src/vm/mm.js';
import { do_mmap } from '../src/vm/mmap.js';
import { PTE_WRITE } from '../src/include/linux/mm.js';
import { createTask, tasks } from '../src/vm/mm.js';
import { files, fileById } from '../src/mm/filemap.js';
import { checkInvariants } from '../src/check/invariants.js';

export const MiB = 1 << 20;
export const THP_SIZE = 2 * MiB;
export const RW = PROT_READ | PROT_WRITE;
export const PRIVATE_ANON = MAP_PRIVATE | MAP_ANONYMOUS;
export const SHARED_ANON = MAP_SHARED | MAP_ANONYMOUS;

/** Profiles that have pin_user_pages*() and the FOLL_PIN tracking (v5.7+). */
export const PIN_PROFILES = ['5.7', '5.9', '5.19', '6.2', '6.5', 'current'] as const;

export function kernel(profile = 'current', machine: Partial<MachineConfig> = {}): Kernel {
  return new Kernel({ profile, machine, trace: false, check: checkInvariants });
}

/** Run fn as one atomic model step in the name of task t (invariants checked afterwards). */
export function step<T>(k: Kernel, t: Task | null, op: string, fn: () => T): T {
  return k.step(t?.name ?? 'kernel', op, {}, fn);
}

export interface MapOpts {
  prot?: number;
  flags?: number;
  file?: File | null;
}

/** mmap() that must succeed; returns the address. */
export function mmap(k: Kernel, t: Task, length: number, o: MapOpts = {}): number {
  const addr = step(k, t, 'mmap', () => do_mmap(k, t.mm, {
    addr: 0, length, prot: o.prot ?? RW, flags: o.flags ?? PRIVATE_ANON, file: o.file ?? null,
  }));
  assert.ok(addr >= 0, `mmap failed: ${addr}`);
  return addr;
}

/** CPU stores of `value` into every page of [addr, addr + length); must succeed. */
export function write(k: Kernel, t: Task, addr: number, length: number, value: number): void {
  assert.equal(step(k, t, 'write', () => userWrite(k, t.mm, addr, length, value)), 0);
}

export function read(k: Kernel, t: Task, addr: number): number {
  return step(k, t, 'read', () => userRead(k, t.mm, addr));
}

export function pfnAt(t: Task, addr: number): number {
  return translate(t.mm, addr);
}

/** Is the PTE (or PMD) that maps addr writable? */
export function pteWritable(t: Task, addr: number): boolean {
  const v = t.mm.peekVma(addr);
  assert.ok(v, `no VMA at 0x${addr.toString(16)}`);
  const pmd = v.peekPmd(addr);
  if (pmd) return (pmd.bits & PTE_WRITE) !== 0;
  const i = v.idx(addr);
  assert.ok(v.peekPte(i) >= 0, `nothing mapped at 0x${addr.toString(16)}`);
  return (v.peekPteBits(i) & PTE_WRITE) !== 0;
}

export interface Env {
  k: Kernel;
  t: Task;
  addr: number;
}

export interface SetupOpts extends MapOpts {
  profile?: string;
  machine?: Partial<MachineConfig>;
  /** Mapping length in pages (default 4). */
  pages?: number;
  /** Length in bytes (overrides pages). */
  length?: number;
  /** Write this content token into every page first; null leaves the range untouched (default 1). */
  value?: number | null;
}

/** A kernel, a task 'app', one mapping, optionally written. */
export function setup(o: SetupOpts = {}): Env {
  const k = kernel(o.profile ?? 'current', o.machine ?? {});
  const t = createTask(k, 'app');
  const length = o.length ?? (o.pages ?? 4) * PAGE_SIZE;
  const addr = mmap(k, t, length, o);
  const value = o.value === undefined ? 1 : o.value;
  if (value !== null) write(k, t, addr, length, value);
  return { k, t, addr };
}

export function pagesArray(n: number): number[] {
  return new Array<number>(Math.max(n, 0)).fill(-1);
}

export interface Counters {
  acq: number;
  rel: number;
}

export function counters(k: Kernel): Counters {
  return { acq: k.vmstat.get('nr_foll_pin_acquired'), rel: k.vmstat.get('nr_foll_pin_released') };
}

/** Counter deltas caused by fn. */
export function delta<T>(k: Kernel, fn: () => T): { r: T; acq: number; rel: number } {
  const a = counters(k);
  const r = fn();
  const b = counters(k);
  return { r, acq: b.acq - a.acq, rel: b.rel - a.rel };
}

export function ref(k: Kernel, pfn: number): number {
  return k.mem.ref(k.mem.head(pfn));
}

export function pincount(k: Kernel, pfn: number): number {
  return k.mem.pincount(k.mem.head(pfn));
}

/** WARN records added while running fn. */
export function warnsDuring<T>(k: Kernel, fn: () => T): { r: T; warns: string[] } {
  const before = k.warnings.list.length;
  const r = fn();
  return { r, warns: k.warnings.list.slice(before).map((w) => `${w.id}: ${w.message}`) };
}

/** Run fn as a step that must end in a KernelBug; returns it. */
export function expectBug(k: Kernel, t: Task | null, op: string, fn: () => unknown): KernelBug {
  let caught: unknown = null;
  try {
    step(k, t, op, fn);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof KernelBug, `expected a KernelBug from ${op}, got ${String(caught)}`);
  return caught;
}

/**
 * Exit every task, run the subsystems' teardown hooks (drivers, fd tables, pipes), then drop every
 * page cache (inode eviction), including the shmem files behind shared anonymous mappings.
 */
export function teardown(k: Kernel): void {
  step(k, null, 'teardown', () => {
    for (const t of tasks(k).values()) do_exit(k, t);
    k.runTeardownHooks();
    const all = new Set<FileShape>(files(k).values());
    for (const h of k.mem.allocatedHeads()) {
      const id = k.mem.mappingOf(h);
      const f = id > 0 ? fileById(k, id) : undefined;
      if (f) all.add(f);
    }
    for (const f of all) dropFileCache(k, f);
  });
}

export type { PageArray };

/** A block device node holding `blocks` (page index → content token): the target of a test's bios. */
export function blockDev(blocks: Iterable<[number, number]> = []): File {
  const f = new File('sdX', 'blkdev', 1 << 30);
  for (const [i, v] of blocks) f.disk.set(i, v);
  return f;
}
