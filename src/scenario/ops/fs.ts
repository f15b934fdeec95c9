// Scenario operations and queries for files: the file system calls, and the kernel's own
// writeback, reclaim and drop_caches, which a scenario triggers as separate steps.

import type { File } from '../../include/linux/fs.js';
import { close_fd, do_sys_open, fdget } from '../../fs/fdtable.js';
import { do_pipe2 } from '../../fs/pipe.js';
import {
  do_fsync, do_iov_rw, do_sys_ftruncate, do_sys_truncate, ksys_pread64, ksys_pwrite64, ksys_read, ksys_write,
} from '../../fs/read_write.js';
import { drop_pagecache, shrink_file } from '../../fs/reclaim.js';
import { filemap_fdatawait_range, writeback_file } from '../../fs/writeback.js';
import { PG_active, PG_dirty, PG_lru, PG_private, PG_uptodate, PG_writeback } from '../../mm/page-flags.js';
import { EINVAL, O_ACCMODE, O_CLOEXEC, O_CREAT, O_DIRECT, O_NONBLOCK, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY } from '../../include/uapi.js';
import { ScenarioError, type Value } from '../backend.js';
import { bool, int, name, str, value, type Arg } from '../args.js';
import { op, query, ret, task, type Ctx, type OpImpl, type QueryImpl } from './common.js';
import { files } from '../../mm/filemap.js';
import { blk_wait_bios, deferBioWaits, takeDeferredBioWaits } from '../../block/blkdev.js';

/** Yield point of a synchronous O_DIRECT read: its bios submitted, waiting for them. */
const SYNC_DIO_YIELD_POINTS = ['bio_wait'] as const;

const OPEN_FLAGS: Readonly<Record<string, number>> = { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_DIRECT };

/** "O_RDWR|O_CREAT" (or a number) → the flags value. */
function openFlags(text: string): number {
  let v = 0;
  for (const part of text.split('|').map((s) => s.trim())) {
    if (/^(0x[0-9a-f]+|0o?[0-7]+|[0-9]+)$/i.test(part)) v |= Number(part.replace(/^0(?=[0-7])/, '0o'));
    else if (part in OPEN_FLAGS) v |= OPEN_FLAGS[part];
    else throw new ScenarioError(`unknown open flag '${part}' (known: ${Object.keys(OPEN_FLAGS).join(', ')})`, 'flags');
  }
  return v;
}

/** A file by its name (made by create_file or open with O_CREAT). */
const fileNamed = (doc?: string): Arg<File, Ctx> => name(doc).map((n, arg, c: Ctx) => {
  const f = files(c.k).get(n);
  if (!f) throw new ScenarioError(`no file named '${n}' (create it with create_file, or open it with O_CREAT)`, arg);
  return f;
});

/** The file named by an optional argument, or every named file. */
function filesArg(c: Ctx, file: File | null): File[] {
  return file === null ? [...files(c.k).values()] : [file];
}

/** pipe2() flags: "O_NONBLOCK|O_CLOEXEC" (or a number). */
function pipeFlags(text: string): number {
  const names: Readonly<Record<string, number>> = { O_NONBLOCK, O_CLOEXEC, O_DIRECT };
  let v = 0;
  for (const part of text.split('|').map((x) => x.trim())) {
    if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(part)) v |= Number(part);
    else if (part in names) v |= names[part];
    else throw new ScenarioError(`unknown pipe2 flag '${part}' (known: ${Object.keys(names).join(', ')})`, 'flags');
  }
  return v;
}

const RW_ARGS = { fd: int(), buf: int('user address'), count: int() };

/** readv(), writev(), preadv(), pwritev(): the positioned ones take an offset. */
function iovOp(name: 'readv' | 'writev' | 'preadv' | 'pwritev'): OpImpl {
  const positioned = name.startsWith('p');
  const run = (c: Ctx, fd: number, flat: Value, pos: number) => {
    if (!Array.isArray(flat) || flat.length % 2) throw new ScenarioError('iov must be a flat list of base, len pairs', 'iov');
    const iov = [];
    for (let i = 0; i < flat.length; i += 2) iov.push({ base: flat[i] as number, len: flat[i + 1] as number });
    if (positioned && pos < 0) return ret(-EINVAL);
    return ret(do_iov_rw(c.k, task(c), fd, name.includes('write'), iov, pos));
  };
  const common = {
    name,
    summary: `${name}(fd, iov${positioned ? ', offset' : ''}): iov is a flat list [base0, len0, base1, len1, ...]`,
    source: `fs/read_write.c ${positioned ? 'do_preadv()/do_pwritev()' : 'do_readv()/do_writev()'}; lib/iov_iter.c import_iovec()`,
    needsTask: true,
  };
  const iov = { fd: int(), iov: value('flat list of base, len pairs') };
  return positioned
    ? op({ ...common, args: { ...iov, offset: int() }, run: (c, a) => run(c, a.fd, a.iov, a.offset) })
    : op({ ...common, args: iov, run: (c, a) => run(c, a.fd, a.iov, -1) });
}

export const FS_OPS: OpImpl[] = [
  op({
    name: 'open', summary: 'open(): returns the lowest free descriptor (from 3) or -errno', source: 'fs/open.c do_sys_open()',
    needsTask: true,
    args: { path: name('a file made by create_file, or a new ext4 file with O_CREAT'),
      flags: str('O_RDONLY (default), O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_DIRECT joined by |').default('O_RDONLY') },
    run: (c, a) => ret(do_sys_open(c.k, task(c), a.path, openFlags(a.flags))),
  }),
  op({
    name: 'close',
    summary: 'close(fd) of any open file (regular file, io_uring ring, pipe end): 0 or -EBADF; the last close of a file runs its release (a ring unregisters its buffers, a pipe frees its buffers once both ends are closed)',
    source: 'fs/file.c close_fd(); fs/file_table.c fput(), __fput()', needsTask: true, args: { fd: int() },
    run: (c, a) => ret(close_fd(c.k, task(c), a.fd)),
  }),
  op({
    name: 'pipe',
    summary: 'pipe2(fds, flags): 0 or -errno; binds [read fd, write fd] with as: (P[0] the read end, P[1] the write end), the two lowest free descriptors',
    source: 'fs/pipe.c do_pipe2(), create_pipe_files()', needsTask: true,
    args: { flags: str('0 (default), O_NONBLOCK, O_CLOEXEC joined by |').default('0') },
    run(c, a) {
      const [r, fds] = do_pipe2(c.k, task(c), pipeFlags(a.flags));
      return fds ? ret(r, fds) : ret(r);
    },
  }),
  op({
    name: 'pread', summary: 'pread64(fd, buf, count, offset): bytes read into user memory at buf, or -errno',
    source: 'fs/read_write.c ksys_pread64(), mm/filemap.c filemap_read()', needsTask: true,
    args: { ...RW_ARGS, offset: int() },
    run: (c, a) => ret(ksys_pread64(c.k, task(c), a.fd, a.buf, a.count, a.offset)),
    yieldPoints: SYNC_DIO_YIELD_POINTS,
    // An O_DIRECT read stops where it waits for its bios (fs/iomap/direct-io.c __iomap_dio_rw():
    // the blk_io_schedule() loop until dio->submit.waiter is cleared; fs/direct-io.c
    // dio_await_completion()): the bios are in flight, the device (blk_complete) or the
    // continuing read completes them. Everything a read does after the wait only computes its
    // return value from what the submission knew, so the model runs that tail before the stop;
    // a write's tail (i_size growth, invalidating the written range) must follow the wait, so
    // pwrite has no such stop.
    *steps(c, a) {
      deferBioWaits(c.k);
      let r: number;
      let bios;
      try {
        r = ksys_pread64(c.k, task(c), a.fd, a.buf, a.count, a.offset);
      } finally {
        bios = takeDeferredBioWaits(c.k);
      }
      if (bios.length > 0) {
        yield { point: 'bio_wait' };
        blk_wait_bios(c.k, bios);
      }
      return ret(r);
    },
  }),
  op({
    name: 'pwrite', summary: 'pwrite64(fd, buf, count, offset): bytes written from user memory at buf, or -errno',
    source: 'fs/read_write.c ksys_pwrite64(), mm/filemap.c generic_perform_write()', needsTask: true,
    args: { ...RW_ARGS, offset: int() },
    run: (c, a) => ret(ksys_pwrite64(c.k, task(c), a.fd, a.buf, a.count, a.offset)),
  }),
  op({
    name: 'sys_read', summary: 'read(fd, buf, count) at the file position (the op "read" is a CPU load)',
    source: 'fs/read_write.c ksys_read()', needsTask: true, args: RW_ARGS,
    run: (c, a) => ret(ksys_read(c.k, task(c), a.fd, a.buf, a.count)),
  }),
  op({
    name: 'sys_write', summary: 'write(fd, buf, count) at the file position (the op "write" is a CPU store)',
    source: 'fs/read_write.c ksys_write()', needsTask: true, args: RW_ARGS,
    run: (c, a) => ret(ksys_write(c.k, task(c), a.fd, a.buf, a.count)),
  }),
  iovOp('readv'), iovOp('writev'), iovOp('preadv'), iovOp('pwritev'),
  op({
    name: 'fsync', summary: 'fsync(fd): write the dirty pages back and wait for the I/O', source: 'fs/sync.c do_fsync()',
    needsTask: true, args: { fd: int() },
    run: (c, a) => ret(do_fsync(c.k, task(c), a.fd)),
  }),
  op({
    name: 'ftruncate', summary: 'ftruncate(fd, length)', source: 'fs/open.c do_sys_ftruncate(), mm/truncate.c truncate_pagecache()',
    needsTask: true, args: { fd: int(), length: int() },
    run: (c, a) => ret(do_sys_ftruncate(c.k, task(c), a.fd, a.length)),
  }),
  op({
    name: 'truncate', summary: 'truncate(path, length)', source: 'fs/open.c do_sys_truncate(), mm/truncate.c truncate_pagecache()',
    needsTask: false, args: { path: name(), length: int() },
    run: (c, a) => ret(do_sys_truncate(c.k, a.path, a.length)),
  }),
  op({
    name: 'writeback', summary: 'the flusher: one WB_SYNC_NONE pass that starts writeback of dirty pages; returns how many',
    source: 'mm/page-writeback.c folio_clear_dirty_for_io(), fs/ext4/inode.c ext4_writepages()', needsTask: false,
    args: { file: fileNamed('default: every file').optional(),
      sync: bool('complete the I/O in the same step (default false: writeback_complete does)').default(false) },
    run(c, a) {
      let n = 0;
      for (const f of filesArg(c, a.file)) {
        n += writeback_file(c.k, f, 'WB_SYNC_NONE');
        if (a.sync) filemap_fdatawait_range(c.k, f);
      }
      return ret(n);
    },
  }),
  op({
    name: 'writeback_complete', summary: 'the device completes the writeback I/O in flight (folio_end_writeback()); returns how many',
    source: 'fs/ext4/page-io.c ext4_end_bio(), mm/filemap.c folio_end_writeback()', needsTask: false,
    args: { file: fileNamed('default: every file').optional() },
    run(c, a) {
      let n = 0;
      for (const f of filesArg(c, a.file)) n += filemap_fdatawait_range(c.k, f);
      return ret(n);
    },
  }),
  op({
    name: 'reclaim', summary: 'memory pressure on the page cache: shrink_folio_list() over its pages; returns how many were freed',
    source: 'mm/vmscan.c shrink_folio_list(), __remove_mapping()', needsTask: false,
    args: { file: fileNamed('default: every file').optional() },
    run(c, a) {
      let n = 0;
      for (const f of filesArg(c, a.file)) n += shrink_file(c.k, f);
      return ret(n);
    },
  }),
  op({
    name: 'drop_caches', summary: 'echo 1 > /proc/sys/vm/drop_caches: drop clean, unused page-cache pages; returns how many',
    source: 'fs/drop_caches.c, mm/truncate.c mapping_evict_folio()', needsTask: false, args: {},
    run: (c) => ret(drop_pagecache(c.k, files(c.k).values())),
  }),
];

const FILE_PAGE_FIELDS = ['cached', 'pfn', 'refcount', 'dirty', 'writeback', 'private', 'uptodate', 'lru', 'active',
  'content', 'disk', 'delalloc'];

export const FS_QUERIES: QueryImpl[] = [
  query({
    name: 'file', summary: "a file: its size and page cache", needsTask: false, args: { file: fileNamed() },
    fields: ['size', 'cached', 'dirty', 'writeback', 'private', 'blocks', 'delalloc'],
    eval(c, a) {
      const f = a.file;
      const m = c.k.mem;
      const count = (flag: number) => [...f.cache.values()].filter((p) => m.test(p, flag)).length;
      return { size: f.size, cached: f.cache.size, dirty: count(PG_dirty), writeback: count(PG_writeback),
        private: count(PG_private), blocks: f.disk.size, delalloc: f.delalloc.size };
    },
  }),
  query({
    name: 'file_page', summary: 'page index of a file: its page-cache folio (if cached) and what the disk holds',
    needsTask: false, args: { file: fileNamed(), index: int('default 0').default(0) }, fields: FILE_PAGE_FIELDS,
    eval(c, a): Record<string, Value> {
      const f = a.file;
      const i = a.index;
      const m = c.k.mem;
      const pfn = f.cache.get(i);
      const disk = f.disk.get(i) ?? null;
      if (pfn === undefined) {
        return { ...Object.fromEntries(FILE_PAGE_FIELDS.map((k) => [k, null])), cached: false, disk, delalloc: f.delalloc.has(i) };
      }
      return { cached: true, pfn, refcount: m.ref(pfn), dirty: m.test(pfn, PG_dirty), writeback: m.test(pfn, PG_writeback),
        private: m.test(pfn, PG_private), uptodate: m.test(pfn, PG_uptodate), lru: m.test(pfn, PG_lru),
        active: m.test(pfn, PG_active), content: m.contentOf(pfn), disk, delalloc: f.delalloc.has(i) };
    },
  }),
  query({
    name: 'fd',
    summary: 'an open file descriptor of a task: the file (a name, or its file_operations for a pipe or ring), position, mode, and f_count (descriptors in every task that refer to the same open file)',
    needsTask: true, args: { fd: int() },
    fields: ['open', 'file', 'pos', 'accmode', 'direct', 'f_op', 'count'],
    eval(c, a) {
      const of = fdget(c.k, task(c), a.fd);
      if (!of) return { open: false, file: null, pos: null, accmode: null, direct: null, f_op: null, count: null };
      return { open: true, file: of.file?.name ?? null, pos: of.peekPos(), accmode: of.flags & O_ACCMODE, direct: (of.flags & O_DIRECT) !== 0,
        f_op: of.f_op.name, count: of.peekCount() };
    },
  }),
];
