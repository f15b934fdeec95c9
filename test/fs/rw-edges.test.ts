// The edges of the file system calls' arguments: counts of 0, -1 (= (size_t)-1, src/include/u64.ts)
// and more than a filesystem holds, buffers above TASK_SIZE, negative offsets, iovec vectors, the
// access modes, truncation limits. Expected values are what the host kernel (Linux 6.18, x86-64,
// root, ext4 on /tmp and tmpfs on /dev/shm) answered to the same calls from a C probe; where the
// asserted value is not the host's own words, the comment says what the host said.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import '../../src/fs/direct-io.js';
import { EXT4_MAX_SIZE, type FsKind } from '../../src/fs/file.js';
import { do_sys_open } from '../../src/fs/fdtable.js';
import {
  do_iov_rw, do_sys_ftruncate, do_sys_truncate, ksys_pread64, ksys_pwrite64, ksys_read, ksys_write,
} from '../../src/fs/read_write.js';
import { EBADF, EFAULT, EFBIG, EINVAL, ENOENT, PAGE_SIZE, TASK_SIZE, O_CREAT, O_DIRECT, O_RDONLY, O_RDWR, O_WRONLY } from '../../src/include/uapi.js';
import { mmap, step } from '../helpers.js';
import { fileSetup } from './fs-helpers.js';

const P = PAGE_SIZE;

function env(fs: FsKind = 'ext4') {
  const e = fileSetup({ pages: 4, fs, value: null });
  const buf = mmap(e.k, e.t, 4 * P);
  const fd = step(e.k, e.t, 'open', () => do_sys_open(e.k, e.t, 'data', O_RDWR));
  return { ...e, buf, fd };
}

test('read/write counts and buffers at the edges (host: -1, -4096, 2^53 EFAULT; 0 is 0; above TASK_SIZE EFAULT even for 0 bytes)', () => {
  const { k, t, buf, fd } = env();
  const s = <T>(fn: () => T) => step(k, t, 'rw', fn);
  assert.equal(s(() => ksys_read(k, t, fd, buf, 0)), 0);
  // access_ok() fails for any count >= 2^63 before rw_verify_area()'s (ssize_t)count < 0 could say -EINVAL
  assert.equal(s(() => ksys_read(k, t, fd, buf, -1)), -EFAULT);
  assert.equal(s(() => ksys_read(k, t, fd, buf, -P)), -EFAULT);
  assert.equal(s(() => ksys_read(k, t, fd, buf, 2 ** 53 - 1)), -EFAULT);
  assert.equal(s(() => ksys_write(k, t, fd, buf, -1)), -EFAULT);
  assert.equal(s(() => ksys_write(k, t, fd, buf, 0)), 0);
  assert.equal(s(() => ksys_read(k, t, fd, 0, 0)), 0, 'NULL with 0 bytes');
  assert.equal(s(() => ksys_read(k, t, fd, 0x800000000000, 0)), -EFAULT);
  assert.equal(s(() => ksys_read(k, t, fd, -P, 0)), -EFAULT);
  assert.equal(s(() => ksys_write(k, t, fd, TASK_SIZE, P)), -EFAULT);
  // the descriptor comes first: host read(O_WRONLY fd, count -1) EBADF, read(99, count -1) EBADF
  const wo = s(() => do_sys_open(k, t, 'data', O_WRONLY));
  assert.equal(s(() => ksys_read(k, t, wo, buf, -1)), -EBADF);
  assert.equal(s(() => ksys_read(k, t, 99, buf, -1)), -EBADF);
  // pread/pwrite: a negative offset is -EINVAL before the descriptor is looked at
  assert.equal(s(() => ksys_pread64(k, t, 99, buf, 1, -1)), -EINVAL);
  assert.equal(s(() => ksys_pread64(k, t, fd, buf, -1, -1)), -EINVAL);
  assert.equal(s(() => ksys_pwrite64(k, t, fd, buf, 1, -1)), -EINVAL);
  assert.equal(s(() => ksys_pread64(k, t, fd, buf, 1, 2 ** 53 - 1)), 0, 'past EOF');
});

test('a descriptor opened with access mode 3 can neither read nor write (host: EBADF, EBADF; ftruncate EINVAL)', () => {
  const { k, t, buf } = env();
  const fd3 = step(k, t, 'open', () => do_sys_open(k, t, 'data', 3));
  assert.ok(fd3 >= 3, 'the open itself succeeds');
  assert.equal(step(k, t, 'read', () => ksys_read(k, t, fd3, buf, 1)), -EBADF); // the model read before
  assert.equal(step(k, t, 'write', () => ksys_write(k, t, fd3, buf, 1)), -EBADF);
  assert.equal(step(k, t, 'ftruncate', () => do_sys_ftruncate(k, t, fd3, 0)), -EINVAL);
});

test('readv/writev vectors at the edges (host answers in order)', () => {
  const { k, t, buf, fd } = env();
  const rv = (iov: number[], write = false) => step(k, t, 'readv', () =>
    do_iov_rw(k, t, fd, write, Array.from({ length: iov.length / 2 }, (_, i) => ({ base: iov[2 * i], len: iov[2 * i + 1] })), 0));
  assert.equal(rv([]), 0);
  assert.equal(rv(new Array<number>(2 * 1025).fill(0)), -EINVAL, 'more than UIO_MAXIOV');
  assert.equal(rv([buf, -1]), -EINVAL, 'one segment of (ssize_t) -1');
  assert.equal(rv([buf, P, buf, -1]), -EINVAL);
  assert.equal(rv([buf, P, buf, 2 ** 52]), -EFAULT, 'the second segment fails access_ok()');
  assert.equal(rv([buf, 2 ** 52]), 4 * P, 'one segment is clamped to MAX_RW_COUNT before access_ok() (host: 0x4000 from a 16 KiB file)');
  assert.equal(rv([0x800000000000, 0, buf, P]), -EFAULT, 'a zero-length segment above TASK_SIZE');
  assert.equal(rv([buf, -1], true), -EINVAL);
});

test('ext4 refuses sizes past s_maxbytes (2^44 - 4096) with EFBIG; tmpfs takes them (host answers)', () => {
  const { k, t, buf, fd } = env('ext4');
  const s = <T>(fn: () => T) => step(k, t, 'op', fn);
  assert.equal(EXT4_MAX_SIZE, 2 ** 44 - P);
  assert.equal(s(() => ksys_pwrite64(k, t, fd, buf, 1, 2 ** 44)), -EFBIG);
  assert.equal(s(() => ksys_pwrite64(k, t, fd, buf, 1, 2 ** 53 - 1)), -EFBIG);
  assert.equal(s(() => ksys_pwrite64(k, t, fd, buf, 1, 2 ** 44 - P)), -EFBIG);
  // host: 2 bytes at 2^44 - 4097 write 1 (cut short at s_maxbytes); the model's page cache stops
  // at 8 TiB, so the cut is shown on vfat below, and here the model says so rather than wrap
  assert.throws(() => s(() => ksys_pwrite64(k, t, fd, buf, 2, 2 ** 44 - P - 1)), /past what the model's page cache indexes/);
  assert.equal(s(() => ksys_pwrite64(k, t, fd, buf, 0, 2 ** 44)), 0, 'an empty write is not checked');
  assert.equal(s(() => do_sys_ftruncate(k, t, fd, 2 ** 44 - P)), 0);
  assert.equal(s(() => do_sys_ftruncate(k, t, fd, 2 ** 44 - P + 1)), -EFBIG);
  assert.equal(s(() => do_sys_ftruncate(k, t, fd, 2 ** 53 - 1)), -EFBIG);
  assert.equal(s(() => do_sys_truncate(k, 'data', 2 ** 53 - 1)), -EFBIG);
  const dfd = s(() => do_sys_open(k, t, 'data', O_RDWR | O_DIRECT));
  assert.equal(s(() => ksys_pwrite64(k, t, dfd, buf, P, 2 ** 44)), -EFBIG, 'O_DIRECT too');
  const vf = env('vfat');
  assert.equal(step(vf.k, vf.t, 'pwrite', () => ksys_pwrite64(vf.k, vf.t, vf.fd, vf.buf, 2, 0xffffffff - 1)), 1, 'cut short at s_maxbytes');
  assert.equal(step(vf.k, vf.t, 'pwrite', () => ksys_pwrite64(vf.k, vf.t, vf.fd, vf.buf, 1, 0xffffffff)), -EFBIG);
  const tm = env('tmpfs');
  assert.equal(step(tm.k, tm.t, 'pwrite', () => ksys_pwrite64(tm.k, tm.t, tm.fd, tm.buf, 1, 2 ** 42)), 1);
  assert.equal(step(tm.k, tm.t, 'ftruncate', () => do_sys_ftruncate(tm.k, tm.t, tm.fd, 2 ** 53 - 1)), 0);
});

test('ftruncate/truncate argument order (host: -1 on a bad fd EINVAL; 0 on a bad fd EBADF; O_RDONLY EINVAL; -1 on a missing path EINVAL)', () => {
  const { k, t, fd } = env();
  const s = <T>(fn: () => T) => step(k, t, 'op', fn);
  assert.equal(s(() => do_sys_ftruncate(k, t, fd, -1)), -EINVAL);
  assert.equal(s(() => do_sys_ftruncate(k, t, 99, -1)), -EINVAL);
  assert.equal(s(() => do_sys_ftruncate(k, t, 99, 0)), -EBADF);
  const ro = s(() => do_sys_open(k, t, 'data', O_RDONLY));
  assert.equal(s(() => do_sys_ftruncate(k, t, ro, 0)), -EINVAL);
  assert.equal(s(() => do_sys_truncate(k, 'nonexistent', -1)), -EINVAL);
  assert.equal(s(() => do_sys_truncate(k, 'nonexistent', 0)), -ENOENT);
  assert.equal(s(() => do_sys_open(k, t, 'fresh', O_CREAT | O_RDWR)) >= 3, true);
});
