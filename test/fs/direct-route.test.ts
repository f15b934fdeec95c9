// fs/read_write.c → ->read_iter/->write_iter: an O_DIRECT descriptor goes to its filesystem's direct
// I/O (ext4_dio_read_iter()/ext4_dio_write_iter(), src/fs/direct-io.ts), reached through the
// file_operations the open attached, with the file, the position and a user iterator; a DAX inode
// ignores O_DIRECT (ext4_dax_read_iter()): its table has no direct I/O.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ext4_dio_rw } from '../../src/fs/direct-io.js';
import { do_sys_open, fdget, type FileOperations, type OpenFile } from '../../src/fs/fdtable.js';
import { ksys_pread64, ksys_write } from '../../src/fs/read_write.js';
import type { File } from '../../src/include/linux/fs.js';
import { PAGE_SIZE, O_DIRECT, O_RDWR } from '../../src/include/uapi.js';
import type { Kernel } from '../../src/kernel.js';
import type { Task } from '../../src/vm/mm.js';
import { mmap, read, step, write } from '../helpers.js';
import { fileSetup } from './fs-helpers.js';

interface Call { file: File; dir: string; type: string; count: number; pos: number; async: boolean }

/** Open with O_DIRECT, then put a recording direct I/O in the open file's table (per open file, nothing global). */
function openRecorded(k: Kernel, t: Task, name: string, calls: Call[]): { fd: number; of: OpenFile } {
  const fd = do_sys_open(k, t, name, O_RDWR | O_DIRECT);
  const of = fdget(k, t, fd)!;
  const f_op: FileOperations = {
    ...of.f_op,
    direct_IO: (_k, file, iter, pos, opts) => {
      calls.push({ file, dir: iter.dir, type: iter.type, count: iter.count, pos, async: opts.async });
      return iter.count;
    },
  };
  Object.assign(of, { f_op });
  return { fd, of };
}

test('an ext4 file opened O_DIRECT gets ext4_file_operations with its direct I/O', () => {
  const { k, t } = fileSetup({ pages: 1, value: 1 });
  const fd = do_sys_open(k, t, 'data', O_RDWR | O_DIRECT);
  const of = fdget(k, t, fd)!;
  assert.equal(of.f_op.name, 'ext4_file_operations');
  assert.equal(of.f_op.direct_IO, ext4_dio_rw);
});

test('O_DIRECT reads and writes go to the file\'s direct I/O with the position and a user iterator', () => {
  const calls: Call[] = [];
  const { k, t, f, addr } = fileSetup({ pages: 2, value: 1 });
  const { fd, of } = openRecorded(k, t, 'data', calls);
  assert.equal(step(k, t, 'pread', () => ksys_pread64(k, t, fd, addr, PAGE_SIZE, PAGE_SIZE)), PAGE_SIZE);
  assert.equal(step(k, t, 'write', () => ksys_write(k, t, fd, addr, 2 * PAGE_SIZE)), 2 * PAGE_SIZE);
  assert.deepEqual(calls, [
    { dir: 'ITER_DEST', type: 'ITER_UBUF', count: PAGE_SIZE, pos: PAGE_SIZE, async: false, file: f },
    { dir: 'ITER_SOURCE', type: 'ITER_UBUF', count: 2 * PAGE_SIZE, pos: 0, async: false, file: f },
  ]);
  assert.equal(of.pos, 2 * PAGE_SIZE, 'write() advanced the position by what direct I/O returned');
});

test('a DAX file ignores O_DIRECT: the data moves through its pages, not through direct I/O', () => {
  const calls: Call[] = [];
  const { k, t, f } = fileSetup({ pages: 1, value: 4, fs: 'ext4-dax' });
  const buf = mmap(k, t, PAGE_SIZE);
  write(k, t, buf, PAGE_SIZE, 1);
  const { fd, of } = openRecorded(k, t, 'data', calls);
  assert.equal(of.f_op.name, 'ext4_file_operations');
  assert.equal(step(k, t, 'pread', () => ksys_pread64(k, t, fd, buf, PAGE_SIZE, 0)), PAGE_SIZE);
  assert.deepEqual(calls, []);
  assert.equal(read(k, t, buf), 4);
  assert.equal(f.size, PAGE_SIZE);
});
