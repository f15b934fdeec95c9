// File descriptors (fs/file.c, fs/open.c) and the direct I/O entry that the block layer
// registers: read/write on an O_DIRECT file go to getDirectIO() (src/fs/read_write.ts).

import type { Kernel } from '../kernel.js';
import type { IovIter } from '../block/iov-iter.js';
import { EINVAL, ENOENT } from '../include/uapi.js';
import type { Task } from '../vm/mm.js';
import { File } from './file.js';
import { truncate_setsize } from './truncate.js';
import { EBADF } from '../include/uapi.js';

// include/uapi/asm-generic/fcntl.h (x86-64 values)
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_TRUNC = 0o1000;
export const O_DIRECT = 0o40000;
export const O_ACCMODE = 0o3;

/** include/uapi/asm-generic/errno-base.h */
export { EBADF };

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

/**
 * FMODE_READ / FMODE_WRITE from the open flags (include/linux/fs.h OPEN_FMODE(): ((flags + 1) &
 * O_ACCMODE)): O_RDONLY reads, O_WRONLY writes, O_RDWR both, and the fourth value, 3, neither —
 * the host opens a file with it and then answers read(), write() -EBADF and ftruncate() -EINVAL.
 */
function openFmode(of: OpenFile): number {
  return (of.flags + 1) & O_ACCMODE;
}

export function canRead(of: OpenFile): boolean {
  return (openFmode(of) & 1) !== 0;
}

export function canWrite(of: OpenFile): boolean {
  return (openFmode(of) & 2) !== 0;
}

/** Every task's descriptor table (struct files_struct), keyed by task. */
function tables(k: Kernel): Map<Task, Map<number, OpenFile>> {
  return k.state('fdtable', () => {
    const t = new Map<Task, Map<number, OpenFile>>();
    // exit_files(): every descriptor is closed when the task goes.
    k.onTeardown(() => t.clear());
    // copy_files() / dup_fd(): the child gets the parent's descriptors, sharing the open files.
    k.onFork((parent, child) => {
      const pt = t.get(parent);
      if (pt) t.set(child, new Map(pt));
    });
    return t;
  });
}

export function fdTable(k: Kernel, task: Task): Map<number, OpenFile> {
  const all = tables(k);
  let t = all.get(task);
  if (!t) {
    t = new Map();
    all.set(task, t);
  }
  return t;
}

/** fdget(): the open file behind fd, or null (the syscalls return -EBADF). */
export function fdget(k: Kernel, task: Task, fd: number): OpenFile | null {
  return tables(k).get(task)?.get(fd) ?? null;
}

/**
 * do_sys_open() (fs/open.c): the file named path (made by create_file, or created here with
 * O_CREAT as an empty ext4 file), installed at the lowest free descriptor from 3 (0-2 are the
 * standard streams). O_TRUNC truncates an existing regular file to 0 whatever the access mode
 * (fs/namei.c do_open(): do_truncate for O_TRUNC on a regular file; fs/open.c build_open_flags()
 * only asks for write permission, which root has): the host truncates on O_RDONLY|O_TRUNC. A
 * file O_CREAT just made is not truncated (FMODE_CREATED). A tmpfs file cannot be opened
 * O_DIRECT: shmem had no ->direct_IO before v6.6 ("tmpfs: trivial support for direct IO"), so
 * do_dentry_open() refused it with -EINVAL.
 */
export function do_sys_open(k: Kernel, task: Task, path: string, flags: number): number {
  let file = k.files.get(path);
  let created = false;
  if (!file) {
    if (!(flags & O_CREAT)) return -ENOENT;
    file = new File(path, 'ext4', 0);
    k.files.set(path, file);
    k.registerFile(file);
    created = true;
  }
  if (flags & O_DIRECT && file.isShmem && !k.profile.tmpfsDirectIO) return -EINVAL;
  const of: OpenFile = { file, flags, pos: 0 };
  if (flags & O_TRUNC && !created && !file.isBlkdev) truncate_setsize(k, file, 0);
  const t = fdTable(k, task);
  let fd = 3;
  while (t.has(fd)) fd++;
  t.set(fd, of);
  k.fp.write('file', file.id);
  return fd;
}

/** close_fd() (fs/file.c): -EBADF if fd is not open. */
export function close_fd(k: Kernel, task: Task, fd: number): number {
  return tables(k).get(task)?.delete(fd) ? 0 : -EBADF;
}
