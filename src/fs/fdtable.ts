// Open files and descriptor tables: fs/file_table.c (struct file, fput(), __fput()), fs/file.c
// (struct files_struct: alloc_fd(), fd_install(), close_fd(), dup_fd(), put_files_struct()),
// fs/open.c do_sys_open(), kernel/fork.c copy_files(), kernel/exit.c exit_files().
//
// One table per task holds every kind of open file the model has: regular files (this module,
// read and written through src/fs/read_write.ts), io_uring rings (anonymous inodes,
// src/drivers/io-uring.ts) and pipe ends (src/fs/pipe.ts). Every descriptor number comes from
// get_unused_fd_flags(); a struct file is shared by every descriptor that refers to it (fork
// copies the table, not the files) and its ->release runs at the last fput().
//
// Footprints: a task's table is 'fdtable' (by pid); a struct file is 'filp' (f_count, f_pos).
//
// A regular file's table carries its filesystem's direct I/O (src/fs/direct-io.ts).

import { stateKey, type Kernel } from '../kernel.js';
import { EBADF, EINVAL, ENOENT, O_RDWR, O_CREAT, O_TRUNC, O_DIRECT } from '../include/uapi.js';
import type { Task } from '../vm/mm.js';
import { File as FsFile, type FsKind } from './file.js';
import type { File } from '../include/linux/fs.js';
import type { PhysMem } from '../mm/memory.js';
import { truncate_setsize } from './truncate.js';
import { blkdev_dio, ext4_dio_rw, fat_dio_rw, type DirectIOFn } from './direct-io.js';
import { onFork, onExit } from '../vm/mm.js';
import { files, registerFile, shmem_mapping } from '../mm/filemap.js';
import type { IovIter } from '../lib/iov_iter/uio.js';

/** include/uapi/asm-generic/errno-base.h */
export { EBADF };

// include/linux/fs.h f_mode bits (the model's own values; only their meaning matters).
export const FMODE_READ = 1 << 0;
export const FMODE_WRITE = 1 << 1;
/** pread()/preadv() allowed: set by do_dentry_open() only, so never on pipes or anonymous inodes. */
export const FMODE_PREAD = 1 << 3;
export const FMODE_PWRITE = 1 << 4;
/** The file has ->read_iter (alloc_file(), do_dentry_open()); vfs_read() is -EINVAL without it. */
export const FMODE_CAN_READ = 1 << 17;
export const FMODE_CAN_WRITE = 1 << 18;

/** ->read_iter / ->write_iter of a file whose data is not a page cache: bytes or -errno. */
export type RwIterFn = (k: Kernel, task: Task, filp: OpenFile, iter: IovIter) => number;

/** struct file_operations, as far as the model needs it. */
export interface FileOperations {
  /** The kernel's name for the table (pipefifo_fops, io_uring_fops, ...). */
  readonly name: string;
  /**
   * ->read_iter / ->write_iter of files outside the page cache (pipes). A regular file
   * (OpenFile.file set) is read and written through the page cache and direct I/O paths of
   * src/fs/read_write.ts instead.
   */
  readonly read_iter?: RwIterFn;
  readonly write_iter?: RwIterFn;
  /**
   * What ->read_iter / ->write_iter of a regular file do with IOCB_DIRECT (src/fs/direct-io.ts).
   * Absent: O_DIRECT goes through the page cache (a DAX inode, ext4_dax_read_iter(); tmpfs's
   * "trivial" O_DIRECT support of v6.6).
   */
  readonly direct_IO?: DirectIOFn;
  /** ->fsync exists (vfs_fsync_range() is -EINVAL without it). */
  readonly fsync: boolean;
  /** ->release: __fput() calls it when the last reference to the file goes. */
  readonly release?: (k: Kernel, filp: OpenFile) => void;
}

/** The tables of regular files, by filesystem: read and written through read_write.ts. */
const REGULAR_FOPS: Readonly<Record<FsKind, FileOperations>> = {
  'ext4': { name: 'ext4_file_operations', direct_IO: ext4_dio_rw, fsync: true },
  'ext4-dax': { name: 'ext4_file_operations', fsync: true },
  'tmpfs': { name: 'shmem_file_operations', fsync: true },
  'vfat': { name: 'fat_file_operations', direct_IO: fat_dio_rw, fsync: true },
  'blkdev': { name: 'def_blk_fops', direct_IO: blkdev_dio, fsync: true },
};

/** The file_operations of a regular file: its filesystem's (inode->i_fop). */
function regular_fops(file: File): FileOperations {
  const fops = (REGULAR_FOPS as Readonly<Record<string, FileOperations>>)[file.fstype.name];
  if (!fops) throw new RangeError(`no file_operations for filesystem ${file.fstype.name}`);
  return fops;
}

/**
 * The standard streams a task starts with (descriptors 0-2, one terminal file). The model has no
 * terminal: they exist so that descriptor numbers are what the kernel hands out, and reading or
 * writing them is refused.
 */
const tty_fops: FileOperations = {
  name: 'tty_fops',
  read_iter: () => { throw new RangeError('the standard streams (fds 0-2) are not modelled: read() from a terminal'); },
  write_iter: () => { throw new RangeError('the standard streams (fds 0-2) are not modelled: write() to a terminal'); },
  fsync: false,
};

/** struct file: one open file description, shared by every descriptor (of any task) that refers to it. */
export class OpenFile {
  // f_count and f_pos are private: the accessors record a read or write of the open file ('filp')
  // through the kernel's memory (k.mem.fp: nothing under k.peek()); observers use peek*.
  /** f_count: the descriptors that refer to it (in any task's table). */
  private f_count = 1;
  private f_pos = 0;
  constructor(
    private readonly mem: PhysMem,
    /** footprint id ('filp') */
    readonly id: number,
    readonly f_op: FileOperations,
    /** f_flags: the open flags (O_ACCMODE, O_DIRECT, O_NONBLOCK...) */
    readonly flags: number,
    /** f_mode: FMODE_* */
    readonly mode: number,
    /** The inode's page cache for a regular file; null for pipes and anonymous inodes. */
    readonly file: File | null,
    /** private_data: the pipe (pipe_inode_info) or the ring (io_ring_ctx) behind the file. */
    readonly private_data: unknown = null,
  ) {}

  /** file_count() (records a read). */
  get count(): number {
    this.mem.fp?.read('filp', this.id);
    return this.f_count;
  }

  /** get_file()/fput() change it (records a write). */
  set count(v: number) {
    this.mem.fp?.write('filp', this.id);
    this.f_count = v;
  }

  /** f_pos (records a read). */
  get pos(): number {
    this.mem.fp?.read('filp', this.id);
    return this.f_pos;
  }

  /** Records a write. */
  set pos(v: number) {
    this.mem.fp?.write('filp', this.id);
    this.f_pos = v;
  }

  peekCount(): number {
    return this.f_count;
  }

  peekPos(): number {
    return this.f_pos;
  }
}

/** OPEN_FMODE() (include/linux/fs.h): O_RDONLY/O_WRONLY/O_RDWR (0/1/2) + 1 → FMODE_READ/FMODE_WRITE/both. */
function open_fmode(flags: number): number {
  return (flags + 1) & (FMODE_READ | FMODE_WRITE);
}

/**
 * alloc_file_pseudo() / alloc_file_clone() (fs/file_table.c): a struct file on a pseudo inode
 * (pipefs, anon_inodefs). FMODE_CAN_READ/WRITE only when the table has ->read_iter/->write_iter;
 * FMODE_PREAD/PWRITE are set by do_dentry_open() alone, so never here (pread() gives -ESPIPE).
 */
export function alloc_file_pseudo(k: Kernel, f_op: FileOperations, flags: number, private_data: unknown): OpenFile {
  let mode = open_fmode(flags);
  if (mode & FMODE_READ && f_op.read_iter) mode |= FMODE_CAN_READ;
  if (mode & FMODE_WRITE && f_op.write_iter) mode |= FMODE_CAN_WRITE;
  return new OpenFile(k.mem, k.ids.take('filp'), f_op, flags, mode, null, private_data);
}

/** An open regular file: one with a page cache (ext4, tmpfs, vfat, a block device node). */
export type RegularFile = OpenFile & { readonly file: File };

export function isRegular(of: OpenFile): of is RegularFile {
  return of.file !== null;
}

/** ->direct_IO for O_DIRECT files: bytes transferred (or queued, for async) or -errno. */
/**
 * The direct I/O of an O_DIRECT regular file (its f_op's), for the asynchronous entries (aio,
 * io_uring, splice). A file whose O_DIRECT goes through the page cache (DAX, tmpfs) is not
 * modelled on those paths.
 */
export function directIOOf(of: RegularFile): DirectIOFn {
  const dio = of.f_op.direct_IO;
  if (!dio) throw new RangeError(`asynchronous direct I/O on ${of.file.fstype.name} (O_DIRECT through the page cache) is not modelled`);
  return dio;
}

/** FMODE_WRITE: the descriptor was opened for writing. */
export function canWrite(of: OpenFile): boolean {
  return (of.mode & FMODE_WRITE) !== 0;
}

// ---- descriptor tables ----------------------------------------------------------------------------

/**
 * struct files_struct: descriptor → open file. A slot holding null was taken by
 * get_unused_fd_flags() and not yet filled by fd_install() (open_fds bit set, fd[] still NULL).
 */
export class FilesStruct {
  // The descriptor slots, private: each access records a read or write of the table ('fdtable',
  // by the task's pid) through the kernel's memory (nothing under k.peek()).
  private readonly fdt = new Map<number, OpenFile | null>();
  constructor(private readonly mem: PhysMem, readonly task: Task) {}

  private rd(): void {
    this.mem.fp?.read('fdtable', this.task.pid);
  }

  private wr(): void {
    this.mem.fp?.write('fdtable', this.task.pid);
  }

  /** The slot's file, null if reserved, undefined if free (records a read). */
  get(fd: number): OpenFile | null | undefined {
    this.rd();
    return this.fdt.get(fd);
  }

  has(fd: number): boolean {
    this.rd();
    return this.fdt.has(fd);
  }

  /** Records a write. */
  set(fd: number, filp: OpenFile | null): void {
    this.wr();
    this.fdt.set(fd, filp);
  }

  /** Records a write. */
  delete(fd: number): void {
    this.wr();
    this.fdt.delete(fd);
  }

  /** Every slot (records a read). */
  entries(): IterableIterator<[number, OpenFile | null]> {
    this.rd();
    return this.fdt.entries();
  }

  /** For observers: records nothing. */
  peek(): ReadonlyMap<number, OpenFile | null> {
    return this.fdt;
  }
}

interface FdState {
  readonly tables: Map<Task, FilesStruct>;
}

const FDTABLE_KEY = stateKey('fdtable', (k: Kernel) => {
  const s: FdState = { tables: new Map() };
  // kernel/fork.c copy_files() → dup_fd() (no CLONE_FILES: fork() copies the table).
  onFork(k, (parent, child) => dup_fd(k, parent, child));
  // kernel/exit.c do_exit() → exit_files() → put_files_struct() → close_files().
  onExit(k, (task) => exit_files(k, task));
  return s;
});

function fdState(k: Kernel): FdState {
  return k.state(FDTABLE_KEY);
}

/**
 * The task's table (current->files), or null once the task exited. A task's first table holds the
 * standard streams: one terminal file on descriptors 0, 1 and 2, as a process started from a
 * shell has them, so the first descriptor handed out is 3.
 */
export function files_struct(k: Kernel, task: Task): FilesStruct | null {
  k.mem.fp?.read('fdtable', task.pid); // tsk->files, which exit_files() clears
  const s = fdState(k);
  let t = s.tables.get(task);
  if (!t) {
    if (task.exited) return null; // exit_files() set tsk->files = NULL
    t = new FilesStruct(k.mem, task);
    const tty = new OpenFile(k.mem, k.ids.take('filp'), tty_fops, O_RDWR, FMODE_READ | FMODE_WRITE | FMODE_CAN_READ | FMODE_CAN_WRITE, null);
    tty.count = 3;
    for (let fd = 0; fd < 3; fd++) t.set(fd, tty);
    s.tables.set(task, t);
  }
  return t;
}

/**
 * get_unused_fd_flags() → alloc_fd(0, RLIMIT_NOFILE, flags) (fs/file.c): the lowest descriptor
 * not in use, marked busy until fd_install() fills it (or put_unused_fd() gives it back).
 * -EBADF for a task that has exited (no files_struct). RLIMIT_NOFILE (-EMFILE) is not modelled.
 */
export function get_unused_fd_flags(k: Kernel, task: Task): number {
  const t = files_struct(k, task);
  if (!t) return -EBADF;
  let fd = 0;
  while (t.has(fd)) fd++;
  t.set(fd, null);
  return fd;
}

/** put_unused_fd() (fs/file.c): give back a descriptor get_unused_fd_flags() reserved. */
export function put_unused_fd(k: Kernel, task: Task, fd: number): void {
  const t = files_struct(k, task);
  if (t?.get(fd) === null) t.delete(fd);
}

/** fd_install() (fs/file.c): the reserved slot now refers to the file; the caller's reference becomes the table's. */
export function fd_install(k: Kernel, task: Task, fd: number, filp: OpenFile): void {
  const t = files_struct(k, task);
  if (!t || t.get(fd) !== null) throw new RangeError(`fd_install(${fd}): the descriptor was not reserved by get_unused_fd_flags()`);
  t.set(fd, filp);
}

/** fdget() (fs/file.c __fget_light()): the open file behind fd, or null (the callers return -EBADF). */
export function fdget(k: Kernel, task: Task, fd: number): OpenFile | null {
  return files_struct(k, task)?.get(fd) ?? null;
}

/** get_file() (include/linux/fs.h): one more reference to an open file. */
export function get_file(k: Kernel, filp: OpenFile): OpenFile {
  filp.count++;
  return filp;
}

/**
 * fput() (fs/file_table.c): drop a reference; the last one runs __fput(), which calls ->release
 * (pipe_release(), io_uring_release()). The kernel defers __fput() to task work (or a kworker):
 * it runs before the closing task returns to user space, which the model's atomic step covers.
 */
export function fput(k: Kernel, filp: OpenFile): void {
  if (filp.count <= 0) throw new RangeError(`fput() of a struct file with no reference left (${filp.f_op.name})`);
  if (--filp.count === 0) filp.f_op.release?.(k, filp);
}

/**
 * close(fd): close_fd() (fs/file.c; __close_fd() in older kernels) takes the file out of the table
 * (pick_file() / file_close_fd(), by version) — -EBADF if there is none — then filp_close() → fput(). Closing one
 * descriptor releases the file only when no other descriptor (in this task or, after fork, in
 * another) still refers to it.
 */
export function close_fd(k: Kernel, task: Task, fd: number): number {
  const t = files_struct(k, task);
  const filp = t?.get(fd);
  if (!t || !filp) return -EBADF;
  t.delete(fd);
  fput(k, filp);
  return 0;
}

/**
 * dup_fd() (fs/file.c), from copy_files() at fork: the child's table refers to the same open
 * files, each with one more reference (get_file()). A slot reserved but not installed is not
 * copied (__clear_open_fd()).
 */
function dup_fd(k: Kernel, parent: Task, child: Task): void {
  const pt = files_struct(k, parent);
  if (!pt) return;
  const ct = new FilesStruct(k.mem, child);
  k.fp.write('fdtable', child.pid); // the child's table exists (also when the parent's is empty)
  for (const [fd, filp] of pt.entries()) {
    if (!filp) continue;
    ct.set(fd, get_file(k, filp));
  }
  fdState(k).tables.set(child, ct);
}

/**
 * exit_files() (kernel/exit.c) → put_files_struct() → close_files() (fs/file.c): the task's last
 * reference to its table goes, and every descriptor is closed in order (filp_close() → fput()).
 */
function exit_files(k: Kernel, task: Task): void {
  const s = fdState(k);
  const t = s.tables.get(task);
  if (!t) return;
  s.tables.delete(task);
  k.fp.write('fdtable', task.pid);
  for (const fd of [...t.entries()].map(([d]) => d).sort((a, b) => a - b)) {
    const filp = t.get(fd);
    if (filp) fput(k, filp);
  }
}

/**
 * do_sys_open() (fs/open.c): the file named path (made by create_file, or created here with
 * O_CREAT as an empty ext4 file), installed at get_unused_fd_flags()'s descriptor. O_TRUNC
 * truncates an existing regular file to 0 whatever the access mode (fs/namei.c do_open():
 * do_truncate for O_TRUNC on a regular file; fs/open.c build_open_flags() only asks for write
 * permission, which root has): the host truncates on O_RDONLY|O_TRUNC. A file O_CREAT just made
 * is not truncated (FMODE_CREATED). A tmpfs file cannot be opened O_DIRECT: shmem had no
 * ->direct_IO before v6.6 ("tmpfs: trivial support for direct IO"), so do_dentry_open() refused
 * it with -EINVAL.
 */
export function do_sys_open(k: Kernel, task: Task, path: string, flags: number): number {
  const fd = get_unused_fd_flags(k, task);
  if (fd < 0) return fd;
  let file = files(k).get(path);
  let created = false;
  if (!file) {
    if (!(flags & O_CREAT)) {
      put_unused_fd(k, task, fd);
      return -ENOENT;
    }
    file = new FsFile(path, 'ext4', 0);
    files(k).set(path, file);
    registerFile(k, file);
    created = true;
  }
  if (flags & O_DIRECT && shmem_mapping(file) && !k.profile.tmpfsDirectIO) {
    put_unused_fd(k, task, fd);
    return -EINVAL;
  }
  // do_dentry_open(): FMODE_PREAD/PWRITE for a seekable file; regular files have ->read_iter/->write_iter.
  let mode = open_fmode(flags) | FMODE_PREAD | FMODE_PWRITE;
  if (mode & FMODE_READ) mode |= FMODE_CAN_READ;
  if (mode & FMODE_WRITE) mode |= FMODE_CAN_WRITE;
  const of = new OpenFile(k.mem, k.ids.take('filp'), regular_fops(file), flags, mode, file);
  if (flags & O_TRUNC && !created && !file.fstype.blkdev) truncate_setsize(k, file, 0);
  fd_install(k, task, fd, of);
  k.fp.write('file', file.id);
  return fd;
}
