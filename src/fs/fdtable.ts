// File descriptors and the read/write entry points. CONTRACT SKELETON: the filesystem work
// fills this in; direct I/O registers its implementation with registerDirectIO().

import type { Kernel } from '../kernel.js';
import type { IovIter } from '../block/iov-iter.js';
import type { Task } from '../vm/mm.js';
import type { File } from './file.js';

// include/uapi/asm-generic/fcntl.h (x86-64 values)
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_TRUNC = 0o1000;
export const O_DIRECT = 0o40000;

export interface OpenFile {
  readonly file: File;
  readonly flags: number;
  pos: number;
}

/** ->read_iter / ->write_iter for O_DIRECT files: bytes transferred (or queued, for async) or -errno. */
export type DirectIOFn = (k: Kernel, task: Task, of: OpenFile, iter: IovIter, pos: number, opts: { async: boolean }) => number;

let directIO: DirectIOFn | null = null;

export function registerDirectIO(fn: DirectIOFn): void {
  directIO = fn;
}

export function getDirectIO(): DirectIOFn | null {
  return directIO;
}
