// The file system calls (fs/read_write.c ksys_read(), ksys_pread64(), ...; fs/sync.c do_fsync();
// fs/open.c do_sys_ftruncate(), do_sys_truncate()). Buffered I/O goes through the page cache
// (filemap.ts); O_DIRECT opens go to the direct I/O implementation the block layer registered;
// a file that is not in the page cache (a pipe) has its own ->read_iter/->write_iter.

import type { Kernel } from '../kernel.js';
import { EFAULT, EFBIG, EINVAL, ENOENT, ESPIPE, O_DIRECT } from '../include/uapi.js';
import type { Task } from '../vm/mm.js';
import { canWrite, EBADF, fdget, FMODE_CAN_READ, FMODE_CAN_WRITE, FMODE_PREAD, FMODE_PWRITE, FMODE_READ, FMODE_WRITE, isRegular, type OpenFile, type RegularFile } from './fdtable.js';
import { filemap_read, generic_perform_write, IOV_ITER_COPIER, type Copier } from './filemap.js';
import type { File } from '../include/linux/fs.js';
import { truncate_setsize } from './truncate.js';
import { filemap_write_and_wait_range } from './writeback.js';
import { files, shmem_mapping } from '../mm/filemap.js';
import { access_ok, import_iovec_checked, import_ubuf, iov_iter_truncate, type IovIter, type Iovec } from '../lib/iov_iter/uio.js';

/**
 * vfs_read() / vfs_write() (fs/read_write.c) after the descriptor lookup: the file must be open for
 * the direction (FMODE_READ/FMODE_WRITE, else -EBADF) and have ->read_iter/->write_iter
 * (FMODE_CAN_READ/FMODE_CAN_WRITE, else -EINVAL: an io_uring ring), then access_ok() (-EFAULT).
 */
function vfsMode(of: OpenFile, write: boolean): number {
  if (!(of.mode & (write ? FMODE_WRITE : FMODE_READ))) return -EBADF;
  if (!(of.mode & (write ? FMODE_CAN_WRITE : FMODE_CAN_READ))) return -EINVAL;
  return 0;
}

function rw(k: Kernel, task: Task, of: OpenFile, write: boolean, buf: number, count: number, pos: number, copier: Copier): number {
  const bad = vfsMode(of, write);
  if (bad) return bad;
  if (!access_ok(buf, count)) return -EFAULT;
  if (count === 0) return 0;
  return rwIter(k, task, of, import_ubuf(write ? 'ITER_SOURCE' : 'ITER_DEST', task.mm, buf, count, k), pos, copier);
}

/**
 * generic_write_check_limits() (fs/read_write.c; inline in mm/filemap.c generic_write_checks()
 * before v5.1), as generic_write_checks() calls it for buffered and direct writes alike — after
 * returning 0 for an empty write: a write at or past s_maxbytes is -EFBIG, one that crosses it is
 * cut short there (the host's ext4: pwrite of 1 byte at 2^44 - 4096 -EFBIG, of 2 bytes one byte
 * earlier 1). Block devices are limited by their size instead (not modelled here).
 */
export function generic_write_check_limits(of: RegularFile, iter: IovIter, pos: number): number {
  if (of.file.fstype.blkdev) return 0;
  const max = of.file.fstype.s_maxbytes;
  if (pos >= max) return -EFBIG;
  iov_iter_truncate(iter, max - pos);
  return 0;
}

/**
 * ->read_iter / ->write_iter. A pipe has its own (pipe_read(), src/fs/pipe.ts). A regular file
 * (ext4_file_read_iter(), ext4_file_write_iter()): O_DIRECT to the registered direct I/O (-EINVAL
 * when there is none, as for a filesystem without ->direct_IO); DAX inodes ignore O_DIRECT
 * (ext4_dax_read_iter()); everything else is buffered.
 */
function rwIter(k: Kernel, task: Task, of: OpenFile, iter: IovIter, pos: number, copier: Copier): number {
  const write = iter.dir === 'ITER_SOURCE';
  const op = write ? of.f_op.write_iter : of.f_op.read_iter;
  if (op) return op(k, task, of, iter);
  if (!isRegular(of)) return -EINVAL;
  k.fp.read('file', of.file.id);
  // tmpfs's O_DIRECT (v6.6) is "trivial support": it goes through the page cache like DAX ignores it.
  const direct = (of.flags & O_DIRECT) !== 0 && !of.file.fstype.dax && !shmem_mapping(of.file);
  const dio = direct ? of.f_op.direct_IO : undefined;
  if (direct && !dio) return -EINVAL;
  if (iter.count === 0) return 0;
  if (write) {
    const lim = generic_write_check_limits(of, iter, pos);
    if (lim) return lim;
  }
  if (dio) return dio(k, of.file, iter, pos, { async: false });
  return write ? generic_perform_write(k, of.file, iter, pos, copier) : filemap_read(k, of.file, iter, pos, copier);
}

/**
 * readv/writev/preadv/pwritev (fs/read_write.c do_readv(), do_preadv(), vfs_readv()):
 * preadv/pwritev need FMODE_PREAD/FMODE_PWRITE (-ESPIPE on a pipe or a ring), then the mode checks
 * of vfs_read(), then import_iovec() checks the vector (-EINVAL, -EFAULT), then ->read_iter/->write_iter.
 * pos < 0 means "at the file position" (readv/writev), which then advances.
 */
export function do_iov_rw(k: Kernel, task: Task, fd: number, write: boolean, iov: Iovec[], pos: number,
  copier: Copier = IOV_ITER_COPIER): number {
  const of = fdget(k, task, fd);
  if (!of) return -EBADF;
  const atPos = pos < 0;
  if (!atPos && !(of.mode & (write ? FMODE_PWRITE : FMODE_PREAD))) return -ESPIPE;
  const bad = vfsMode(of, write);
  if (bad) return bad;
  const iter = import_iovec_checked(write ? 'ITER_SOURCE' : 'ITER_DEST', task.mm, iov, k);
  if (typeof iter === 'number') return iter;
  const r = rwIter(k, task, of, iter, atPos ? of.pos : pos, copier);
  if (atPos) advancePos(k, of, r);
  return r;
}

/**
 * f_pos moves by what was transferred (read, write, readv, writev). A pipe has no position
 * (stream_open(): file_ppos() is NULL).
 */
function advancePos(k: Kernel, of: OpenFile, n: number): void {
  if (n <= 0 || !isRegular(of)) return;
  of.pos += n;
}

/**
 * pread64()/pwrite64() (fs/read_write.c ksys_pread64()): a negative position is -EINVAL, no file
 * -EBADF, a file without FMODE_PREAD/FMODE_PWRITE (a pipe, a ring) -ESPIPE, then vfs_read()/vfs_write().
 */
function positioned(k: Kernel, task: Task, fd: number, write: boolean): OpenFile | number {
  const of = fdget(k, task, fd);
  if (!of) return -EBADF;
  if (!(of.mode & (write ? FMODE_PWRITE : FMODE_PREAD))) return -ESPIPE;
  return of;
}

/** pread64(fd, buf, count, offset): bytes read or -errno; the file position does not move. */
export function ksys_pread64(k: Kernel, task: Task, fd: number, buf: number, count: number, pos: number,
  copier: Copier = IOV_ITER_COPIER): number {
  if (pos < 0) return -EINVAL;
  const of = positioned(k, task, fd, false);
  return typeof of === 'number' ? of : rw(k, task, of, false, buf, count, pos, copier);
}

/** pwrite64(fd, buf, count, offset): bytes written or -errno; the file position does not move. */
export function ksys_pwrite64(k: Kernel, task: Task, fd: number, buf: number, count: number, pos: number,
  copier: Copier = IOV_ITER_COPIER): number {
  if (pos < 0) return -EINVAL;
  const of = positioned(k, task, fd, true);
  return typeof of === 'number' ? of : rw(k, task, of, true, buf, count, pos, copier);
}

/** read()/write() at the file position, which advances by what was transferred. */
function atFilePos(k: Kernel, task: Task, fd: number, write: boolean, buf: number, count: number, copier: Copier): number {
  const of = fdget(k, task, fd);
  if (!of) return -EBADF;
  const r = rw(k, task, of, write, buf, count, of.pos, copier);
  advancePos(k, of, r);
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
  if (!of.f_op.fsync || !isRegular(of)) return -EINVAL; // vfs_fsync_range(): no ->fsync (a pipe, a ring)
  return filemap_write_and_wait_range(k, of.file, 0, Number.MAX_SAFE_INTEGER);
}

/**
 * inode_newsize_ok() (fs/attr.c), from ->setattr: a size past s_maxbytes is -EFBIG (the host:
 * ftruncate(2^44 - 4096) on ext4 is 0, one byte more -EFBIG; on tmpfs 2^63 - 1 is 0).
 */
function inode_newsize_ok(file: File, length: number): number {
  return length > file.fstype.s_maxbytes ? -EFBIG : 0;
}

/**
 * ftruncate(fd, length) (fs/open.c do_sys_ftruncate(), do_ftruncate()): a negative length
 * (loff_t) is -EINVAL before the descriptor is looked at; a bad descriptor -EBADF; a descriptor
 * not open for writing, or not a regular file (!S_ISREG: a pipe, a ring, a block device), -EINVAL;
 * past s_maxbytes -EFBIG.
 */
export function do_sys_ftruncate(k: Kernel, task: Task, fd: number, length: number): number {
  if (length < 0) return -EINVAL;
  const of = fdget(k, task, fd);
  if (!of) return -EBADF;
  if (!isRegular(of)) return -EINVAL;
  k.fp.read('file', of.file.id);
  if (of.file.fstype.blkdev || !canWrite(of)) return -EINVAL;
  const r = inode_newsize_ok(of.file, length);
  if (r) return r;
  truncate_setsize(k, of.file, length);
  return 0;
}

/**
 * truncate(path, length) (fs/open.c do_sys_truncate(), vfs_truncate()): a negative length
 * -EINVAL first (the host says so even for a path that does not exist), then -ENOENT; not a
 * regular file -EINVAL; past s_maxbytes -EFBIG.
 */
export function do_sys_truncate(k: Kernel, path: string, length: number): number {
  if (length < 0) return -EINVAL;
  const file = files(k).get(path);
  if (!file) return -ENOENT;
  k.fp.read('file', file.id);
  if (file.fstype.blkdev) return -EINVAL;
  const r = inode_newsize_ok(file, length);
  if (r) return r;
  truncate_setsize(k, file, length);
  return 0;
}
