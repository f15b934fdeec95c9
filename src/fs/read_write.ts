// The file system calls (fs/read_write.c ksys_read(), ksys_pread64(), ...; fs/sync.c do_fsync();
// fs/open.c do_sys_ftruncate(), do_sys_truncate()). Buffered I/O goes through the page cache
// (filemap.ts); O_DIRECT opens go to the direct I/O implementation the block layer registered.

import type { Kernel } from '../kernel.js';
import { access_ok, import_iovec_checked, import_ubuf, type IovIter, type Iovec } from '../block/iov-iter.js';
import { EFAULT, EINVAL, ENOENT } from '../include/uapi.js';
import type { Task } from '../vm/mm.js';
import { canRead, canWrite, EBADF, fdget, getDirectIO, O_DIRECT, type OpenFile } from './fdtable.js';
import { filemap_read, generic_perform_write, IOV_ITER_COPIER, type Copier } from './filemap.js';
import { truncate_setsize } from './truncate.js';
import { filemap_write_and_wait_range } from './writeback.js';

/**
 * ->read_iter / ->write_iter (ext4_file_read_iter(), ext4_file_write_iter()): O_DIRECT to the
 * registered direct I/O (-EINVAL when there is none, as for a filesystem without ->direct_IO);
 * DAX inodes ignore O_DIRECT (ext4_dax_read_iter()); everything else is buffered.
 */
function rw(k: Kernel, task: Task, of: OpenFile, write: boolean, buf: number, count: number, pos: number, copier: Copier): number {
  if (!access_ok(buf, count)) return -EFAULT; // vfs_read()/vfs_write(), before anything else is looked at
  if (count === 0) return 0;
  return rwIter(k, task, of, import_ubuf(write ? 'ITER_SOURCE' : 'ITER_DEST', task.mm, buf, count, k), pos, copier);
}

function rwIter(k: Kernel, task: Task, of: OpenFile, iter: IovIter, pos: number, copier: Copier): number {
  const write = iter.dir === 'ITER_SOURCE';
  // tmpfs's O_DIRECT (v6.6) is "trivial support": it goes through the page cache like DAX ignores it.
  const direct = (of.flags & O_DIRECT) !== 0 && !of.file.isFsdax && !of.file.isShmem;
  const dio = direct ? getDirectIO() : null;
  if (direct && !dio) return -EINVAL;
  if (iter.count === 0) return 0;
  if (dio) return dio(k, task, of, iter, pos, { async: false });
  return write ? generic_perform_write(k, of.file, iter, pos, copier) : filemap_read(k, of.file, iter, pos, copier);
}

/**
 * readv/writev/preadv/pwritev (fs/read_write.c do_readv(), do_preadv(), vfs_iter_read()):
 * import_iovec() checks the vector (-EINVAL, -EFAULT), then the same ->read_iter/->write_iter.
 * pos < 0 means "at the file position" (readv/writev), which then advances.
 */
export function do_iov_rw(k: Kernel, task: Task, fd: number, write: boolean, iov: Iovec[], pos: number,
  copier: Copier = IOV_ITER_COPIER): number {
  const of = checked(k, task, fd, write);
  if (typeof of === 'number') return of;
  const iter = import_iovec_checked(write ? 'ITER_SOURCE' : 'ITER_DEST', task.mm, iov, k);
  if (typeof iter === 'number') return iter;
  const atPos = pos < 0;
  const r = rwIter(k, task, of, iter, atPos ? of.pos : pos, copier);
  if (atPos && r > 0) of.pos += r;
  return r;
}

/** vfs_read() / vfs_write(): the descriptor must be open for the direction (-EBADF), the position non-negative. */
function checked(k: Kernel, task: Task, fd: number, write: boolean): OpenFile | number {
  const of = fdget(k, task, fd);
  if (!of) return -EBADF;
  if (write ? !canWrite(of) : !canRead(of)) return -EBADF;
  return of;
}

/** pread64(fd, buf, count, offset): bytes read or -errno; the file position does not move. */
export function ksys_pread64(k: Kernel, task: Task, fd: number, buf: number, count: number, pos: number,
  copier: Copier = IOV_ITER_COPIER): number {
  if (pos < 0) return -EINVAL;
  const of = checked(k, task, fd, false);
  return typeof of === 'number' ? of : rw(k, task, of, false, buf, count, pos, copier);
}

/** pwrite64(fd, buf, count, offset): bytes written or -errno; the file position does not move. */
export function ksys_pwrite64(k: Kernel, task: Task, fd: number, buf: number, count: number, pos: number,
  copier: Copier = IOV_ITER_COPIER): number {
  if (pos < 0) return -EINVAL;
  const of = checked(k, task, fd, true);
  return typeof of === 'number' ? of : rw(k, task, of, true, buf, count, pos, copier);
}

/** read()/write() at the file position, which advances by what was transferred. */
function atFilePos(k: Kernel, task: Task, fd: number, write: boolean, buf: number, count: number, copier: Copier): number {
  const of = checked(k, task, fd, write);
  if (typeof of === 'number') return of;
  const r = rw(k, task, of, write, buf, count, of.pos, copier);
  if (r > 0) of.pos += r;
  return r;
}

/** read(fd, buf, count) at the file position. */
export function ksys_read(k: Kernel, task: Task, fd: number, buf: number, count: number, copier: Copier = IOV_ITER_COPIER): number {
  return atFilePos(k, task, fd, false, buf, count, copier);
}

/** write(fd, buf, count) at the file position. */
export function ksys_write(k: Kernel, task: Task, fd: number, buf: number, count: number, copier: Copier = IOV_ITER_COPIER): number {
  return atFilePos(k, task, fd, true, buf, count, copier);
}

/**
 * fsync(fd) (fs/sync.c vfs_fsync_range() → ext4_sync_file() → file_write_and_wait_range()):
 * data-integrity writeback of the whole file, then wait for it. A folio ext4 skipped for lack of
 * buffers (v5.18+) is not an error: its data is simply gone (R110). Journal commits are not modelled.
 */
export function do_fsync(k: Kernel, task: Task, fd: number): number {
  const of = fdget(k, task, fd);
  if (!of) return -EBADF;
  return filemap_write_and_wait_range(k, of.file, 0, Number.MAX_SAFE_INTEGER);
}

/** ftruncate(fd, length) (fs/open.c do_sys_ftruncate()): -EINVAL for a negative length or a descriptor not open for writing. */
export function do_sys_ftruncate(k: Kernel, task: Task, fd: number, length: number): number {
  if (length < 0) return -EINVAL;
  const of = fdget(k, task, fd);
  if (!of) return -EBADF;
  if (!canWrite(of)) return -EINVAL;
  truncate_setsize(k, of.file, length);
  return 0;
}

/** truncate(path, length) (fs/open.c do_sys_truncate()). */
export function do_sys_truncate(k: Kernel, path: string, length: number): number {
  if (length < 0) return -EINVAL;
  const file = k.files.get(path);
  if (!file) return -ENOENT;
  truncate_setsize(k, file, length);
  return 0;
}
