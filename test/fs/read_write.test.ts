// File descriptors and buffered I/O: fs/open.c do_sys_open(), fs/file.c close_fd(),
// fs/read_write.c vfs_read()/vfs_write(), mm/filemap.c filemap_read(), generic_perform_write(),
// fs/ext4/inode.c ext4_da_write_begin()/ext4_da_write_end().

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EBADF, close_fd, do_sys_open, fdget } from '../../src/fs/fdtable.js';
import { filemap_read, generic_perform_write } from '../../src/fs/filemap.js';
import { do_fsync, ksys_pread64, ksys_pwrite64, ksys_read, ksys_write } from '../../src/fs/read_write.js';
import { EFAULT, EINVAL, ENOENT, PAGE_SIZE, O_CREAT, O_DIRECT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY } from '../../src/include/uapi.js';
import { PG_dirty, PG_private } from '../../src/mm/page-flags.js';
import { do_munmap } from '../../src/vm/mmap.js';
import { kernel, mmap, read, step, write } from '../helpers.js';
import { cached, fileSetup, localCopier, newFile, userIter } from './fs-helpers.js';
import { createTask } from '../../src/vm/mm.js';
import { files } from '../../src/mm/filemap.js';

// do_sys_open(): -ENOENT without O_CREAT; O_CREAT makes an empty file; the lowest free
// descriptor (0-2 are the standard streams); close_fd(): -EBADF for a descriptor not open.
test('open(): -ENOENT, O_CREAT, lowest free descriptor; close(): -EBADF the second time', () => {
  const k = kernel();
  const t = createTask(k, 'app');
  assert.equal(do_sys_open(k, t, 'nope', O_RDONLY), -ENOENT);
  assert.equal(do_sys_open(k, t, 'new', O_RDWR | O_CREAT), 3);
  const f = files(k).get('new');
  assert.ok(f && f.fstype.name === 'ext4' && f.size === 0);
  assert.equal(do_sys_open(k, t, 'new', O_RDONLY), 4);
  assert.equal(close_fd(k, t, 3), 0);
  assert.equal(fdget(k, t, 3), null);
  assert.equal(close_fd(k, t, 3), -EBADF);
  assert.equal(do_sys_open(k, t, 'new', O_RDONLY), 3, 'the freed descriptor is reused');
  const other = createTask(k, 'other');
  assert.equal(do_sys_open(k, other, 'new', O_RDONLY), 3, 'descriptor tables are per task');
});

// vfs_read()/vfs_write(): FMODE_READ/FMODE_WRITE or -EBADF; ksys_pread64(): a negative position is
// -EINVAL; a zero count returns 0 without touching memory.
test('read/write need the right access mode; pread needs a non-negative offset; zero bytes is 0', () => {
  const { k, t, addr } = fileSetup({ pages: 1, value: 1 });
  const ro = do_sys_open(k, t, 'data', O_RDONLY);
  const wo = do_sys_open(k, t, 'data', O_WRONLY);
  assert.equal(ksys_write(k, t, ro, addr, 10), -EBADF);
  assert.equal(ksys_pwrite64(k, t, ro, addr, 10, 0), -EBADF);
  assert.equal(ksys_read(k, t, wo, addr, 10), -EBADF);
  assert.equal(ksys_pread64(k, t, wo, addr, 10, 0), -EBADF);
  assert.equal(ksys_pread64(k, t, 42, addr, 10, 0), -EBADF);
  assert.equal(ksys_pread64(k, t, ro, addr, 10, -1), -EINVAL);
  assert.equal(ksys_pread64(k, t, ro, addr, 0, 0), 0);
  assert.equal(ksys_write(k, t, wo, addr, 0), 0);
  assert.equal(do_fsync(k, t, 42), -EBADF);
});

// ->read_iter/->write_iter: O_DIRECT goes to the file's direct I/O (its f_op's); with none, -EINVAL
// (as a filesystem without ->direct_IO). shmem had no O_DIRECT before v6.6: do_dentry_open() -EINVAL.
test('O_DIRECT without a direct I/O implementation is -EINVAL; tmpfs opens O_DIRECT only from v6.6', () => {
  const { k, t, addr } = fileSetup({ pages: 1, value: 1 });
  const fd = do_sys_open(k, t, 'data', O_RDWR | O_DIRECT);
  assert.ok(fd >= 3);
  // A filesystem whose table has no direct I/O: the open file's f_op without it.
  const of = fdget(k, t, fd)!;
  Object.assign(of, { f_op: { ...of.f_op, direct_IO: undefined } });
  assert.equal(ksys_pread64(k, t, fd, addr, PAGE_SIZE, 0), -EINVAL);
  assert.equal(ksys_write(k, t, fd, addr, PAGE_SIZE), -EINVAL);
  newFile(k, 'shm', 1, 'tmpfs');
  // v6.6 "tmpfs: trivial support for direct IO": current opens it (and does page-cache I/O).
  assert.ok(do_sys_open(k, t, 'shm', O_RDWR | O_DIRECT) >= 3);
  const old = kernel('6.5');
  const ot = createTask(old, 't');
  newFile(old, 'shm', 1, 'tmpfs');
  assert.equal(do_sys_open(old, ot, 'shm', O_RDWR | O_DIRECT), -EINVAL);
});

// do_sys_open() → do_truncate() for O_TRUNC on a writable open only.
// fs/namei.c do_open(): O_TRUNC on an existing regular file truncates whatever the access mode.
// The host (Linux 6.18, root): open(O_RDONLY|O_TRUNC) of a 16 KiB ext4 file leaves it 0 bytes.
test('O_TRUNC truncates an existing file, even one opened read-only (as the host does)', () => {
  for (const mode of [O_RDONLY, O_WRONLY]) {
    const { k, t, f } = fileSetup({ pages: 2, value: 1 });
    assert.ok(step(k, t, 'open', () => do_sys_open(k, t, 'data', mode | O_TRUNC)) >= 3);
    assert.equal(f.size, 0);
    assert.equal(f.cache.size, 0);
  }
});

// generic_perform_write() with ext4_da_write_begin()/_end(): buffers attached, a delalloc
// reservation for the hole, folio dirty, i_size grown; no block until writeback.
// filemap_read(): cut at i_size, reads the page cache.
test('buffered write then read through the page cache (local copy helper)', () => {
  const k = kernel();
  const t = createTask(k, 'app');
  const f = newFile(k, 'log', 0);
  const src = mmap(k, t, 2 * PAGE_SIZE);
  write(k, t, src, PAGE_SIZE, 11);
  write(k, t, src + PAGE_SIZE, PAGE_SIZE, 12);
  const w = step(k, t, 'write', () => generic_perform_write(k, f, userIter('ITER_SOURCE', t.mm, src, 2 * PAGE_SIZE), 0, localCopier));
  assert.equal(w, 2 * PAGE_SIZE);
  assert.equal(f.size, 2 * PAGE_SIZE);
  for (const i of [0, 1]) {
    const p = cached(f, i);
    assert.ok(k.mem.test(p, PG_dirty) && k.mem.test(p, PG_private));
    assert.equal(k.mem.contentOf(p), 11 + i);
  }
  assert.deepEqual([...f.delalloc].sort(), [0, 1]);
  assert.equal(f.disk.size, 0);
  const dst = mmap(k, t, 2 * PAGE_SIZE);
  const r = step(k, t, 'read', () => filemap_read(k, f, userIter('ITER_DEST', t.mm, dst, 4 * PAGE_SIZE), 0, localCopier));
  assert.equal(r, 2 * PAGE_SIZE, 'cut at i_size');
  assert.equal(read(k, t, dst), 11);
  assert.equal(read(k, t, dst + PAGE_SIZE), 12);
  assert.equal(filemap_read(k, f, userIter('ITER_DEST', t.mm, dst, PAGE_SIZE), 2 * PAGE_SIZE, localCopier), 0, 'at EOF');
  const fd = do_sys_open(k, t, 'log', O_RDWR);
  step(k, t, 'fsync', () => do_fsync(k, t, fd));
  assert.deepEqual([...f.disk.entries()].sort(), [[0, 11], [1, 12]]);
  assert.equal(f.delalloc.size, 0);
});

// generic_perform_write(): a copy that faults ends the write short; nothing copied is -EFAULT.
// filemap_read() likewise.
test('buffered I/O from or into unmapped memory: short, or -EFAULT when nothing was copied', () => {
  const k = kernel();
  const t = createTask(k, 'app');
  const f = newFile(k, 'log', 0);
  const src = mmap(k, t, 2 * PAGE_SIZE);
  write(k, t, src, PAGE_SIZE, 5);
  const bogus = 0x1000;
  assert.equal(generic_perform_write(k, f, userIter('ITER_SOURCE', t.mm, bogus, PAGE_SIZE), 0, localCopier), -EFAULT);
  assert.equal(f.size, 0);
  const w = generic_perform_write(k, f, userIter('ITER_SOURCE', t.mm, src + PAGE_SIZE, 2 * PAGE_SIZE), 0, localCopier);
  assert.equal(w, PAGE_SIZE, 'the source runs past the end of its mapping');
  assert.equal(f.size, PAGE_SIZE);
  assert.equal(filemap_read(k, f, userIter('ITER_DEST', t.mm, bogus, PAGE_SIZE), 0, localCopier), -EFAULT);
});

// The system calls end to end with lib/iov_iter.c: import_ubuf() (ITER_IOVEC before v6.0),
// copy_page_from_iter()/copy_page_to_iter(). pread/pwrite leave the file position alone;
// read/write advance it; a read at EOF returns 0.
for (const profile of ['5.1', 'current']) {
  test(`[${profile}] pwrite/pread and write/read through descriptors`, () => {
    const k = kernel(profile);
    const t = createTask(k, 'app');
    const src = mmap(k, t, 2 * PAGE_SIZE);
    const dst = mmap(k, t, 2 * PAGE_SIZE);
    write(k, t, src, PAGE_SIZE, 21);
    write(k, t, src + PAGE_SIZE, PAGE_SIZE, 22);
    const fd = step(k, t, 'open', () => do_sys_open(k, t, 'f', O_RDWR | O_CREAT));
    assert.equal(step(k, t, 'pwrite', () => ksys_pwrite64(k, t, fd, src, 2 * PAGE_SIZE, PAGE_SIZE)), 2 * PAGE_SIZE);
    assert.equal(files(k).get('f')!.size, 3 * PAGE_SIZE);
    assert.equal(fdget(k, t, fd)!.pos, 0);
    assert.equal(step(k, t, 'pread', () => ksys_pread64(k, t, fd, dst, PAGE_SIZE, 2 * PAGE_SIZE)), PAGE_SIZE);
    assert.equal(read(k, t, dst), 22);
    assert.equal(step(k, t, 'read', () => ksys_read(k, t, fd, dst, 2 * PAGE_SIZE)), 2 * PAGE_SIZE);
    assert.equal(read(k, t, dst), 0, 'page 0 is a hole');
    assert.equal(read(k, t, dst + PAGE_SIZE), 21);
    assert.equal(fdget(k, t, fd)!.pos, 2 * PAGE_SIZE);
    assert.equal(step(k, t, 'read', () => ksys_read(k, t, fd, dst, 2 * PAGE_SIZE)), PAGE_SIZE, 'cut at EOF');
    assert.equal(step(k, t, 'read', () => ksys_read(k, t, fd, dst, PAGE_SIZE)), 0, 'at EOF');
    assert.equal(step(k, t, 'write', () => ksys_write(k, t, fd, src, PAGE_SIZE)), PAGE_SIZE, 'appends at the position');
    assert.equal(files(k).get('f')!.size, 4 * PAGE_SIZE);
  });
}

// vfs_read()/vfs_write(): access_ok() first — a buffer past TASK_SIZE_MAX is -EFAULT; a mapped
// buffer that runs into a hole gives a short count.
test('read/write: -EFAULT for a kernel address, a short count when the buffer runs out', () => {
  const { k, t, addr } = fileSetup({ pages: 2, value: 3 });
  const fd = do_sys_open(k, t, 'data', O_RDWR);
  assert.equal(ksys_pread64(k, t, fd, 2 ** 47, PAGE_SIZE, 0), -EFAULT);
  assert.equal(ksys_pwrite64(k, t, fd, 2 ** 47, PAGE_SIZE, 0), -EFAULT);
  const buf = mmap(k, t, 2 * PAGE_SIZE);
  step(k, t, 'munmap', () => do_munmap(k, t.mm, buf + PAGE_SIZE, PAGE_SIZE));
  assert.equal(step(k, t, 'pread', () => ksys_pread64(k, t, fd, buf, 2 * PAGE_SIZE, 0)), PAGE_SIZE);
  assert.equal(read(k, t, buf), 3);
  write(k, t, buf, PAGE_SIZE, 8);
  assert.equal(step(k, t, 'pwrite', () => ksys_pwrite64(k, t, fd, buf, 2 * PAGE_SIZE, PAGE_SIZE)), PAGE_SIZE);
  assert.equal(read(k, t, addr + PAGE_SIZE), 8, 'the shared mapping sees the buffered write');
});
