// Shared setup for the file-system tests: a file in the page cache mapped MAP_SHARED, and a tiny
// stand-in for the iov_iter copies so buffered I/O can be tested on its own.

import assert from 'node:assert/strict';
import { IovIter, type IterDir } from '../../src/lib/iov-iter.js';
import { File, type FsKind } from '../../src/fs/file.js';
import type { Copier } from '../../src/fs/filemap.js';
import { MAP_SHARED, PAGE_SIZE } from '../../src/include/uapi.js';
import type { Kernel } from '../../src/kernel.js';
import { userAccess } from '../../src/vm/access.js';
import type { Mm, Task } from '../../src/vm/mm.js';
import { kernel, mmap, write } from '../helpers.js';
import { createTask } from '../../src/vm/mm.js';
import { files, registerFile } from '../../src/mm/filemap.js';

export function newFile(k: Kernel, name: string, pages: number, fs: FsKind = 'ext4'): File {
  const f = new File(name, fs, pages * PAGE_SIZE);
  files(k).set(name, f);
  registerFile(k, f);
  return f;
}

export interface FileEnv {
  k: Kernel;
  t: Task;
  f: File;
  /** The MAP_SHARED mapping of the whole file. */
  addr: number;
}

/** A kernel, task 'app', a file of `pages` pages mapped MAP_SHARED; each page written with value (null: untouched). */
export function fileSetup(o: { profile?: string; pages?: number; fs?: FsKind; value?: number | null } = {}): FileEnv {
  const k = kernel(o.profile ?? 'current');
  const t = createTask(k, 'app');
  const pages = o.pages ?? 2;
  const f = newFile(k, 'data', pages, o.fs ?? 'ext4');
  const addr = mmap(k, t, pages * PAGE_SIZE, { flags: MAP_SHARED, file: f });
  const value = o.value === undefined ? 1 : o.value;
  if (value !== null) write(k, t, addr, pages * PAGE_SIZE, value);
  return { k, t, f, addr };
}

export function cached(f: File, index: number): number {
  const p = f.cache.get(index);
  assert.ok(p !== undefined, `index ${index} of ${f.name} is not cached`);
  return p;
}

/** A user-buffer iterator (what import_ubuf() builds), made by hand. */
export function userIter(dir: IterDir, mm: Mm, addr: number, len: number): IovIter {
  const i = new IovIter('ITER_UBUF', dir, mm, [{ base: addr, len }]);
  i.count = len;
  return i;
}

/**
 * copy_to_user()/copy_from_user() of content tokens through the task's page tables (faulting like
 * the CPU would), standing in for lib/iov_iter.c while the iov_iter work is not in the tree.
 */
export const localCopier: Copier = {
  toIter(k, pfn, offset, bytes, i) {
    return step(k, i, bytes, true, (up) => { k.mem.setContent(up, k.mem.contentOf(pfn + Math.floor(offset / PAGE_SIZE))); });
  },
  fromIter(k, pfn, offset, bytes, i) {
    return step(k, i, bytes, false, (up) => { k.mem.setContent(pfn + Math.floor(offset / PAGE_SIZE), k.mem.contentOf(up)); });
  },
};

function step(k: Kernel, i: IovIter, bytes: number, write: boolean, move: (userPfn: number) => void): number {
  let done = 0;
  while (done < bytes && i.count > 0) {
    const addr = i.iov[i.seg].base + i.iovOffset;
    const n = Math.min(bytes - done, PAGE_SIZE - (addr % PAGE_SIZE), i.count);
    const up = userAccess(k, i.mm!, addr, write);
    if (up < 0) break;
    move(up);
    done += n;
    i.iovOffset += n;
    i.count -= n;
  }
  return done;
}
