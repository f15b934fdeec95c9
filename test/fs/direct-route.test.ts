// fs/read_write.c → ->read_iter/->write_iter: an O_DIRECT descriptor goes to the direct I/O the
// block layer registered (ext4_dio_read_iter()/ext4_dio_write_iter()), with the descriptor, the
// position and a user iterator; a DAX inode ignores O_DIRECT (ext4_dax_read_iter()). This file
// registers a stand-in, so it runs in its own test process.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IovIter } from '../../src/block/iov-iter.js';
import { do_sys_open, registerDirectIO, type OpenFile } from '../../src/fs/fdtable.js';
import { ksys_pread64, ksys_write } from '../../src/fs/read_write.js';
import { PAGE_SIZE, O_DIRECT, O_RDWR } from '../../src/include/uapi.js';
import { mmap, read, step, write } from '../helpers.js';
import { fileSetup } from './fs-helpers.js';

interface Call { of: OpenFile; dir: string; type: string; count: number; pos: number; async: boolean }
const calls: Call[] = [];
registerDirectIO((_k, _task, of, iter: IovIter, pos, opts) => {
  calls.push({ of, dir: iter.dir, type: iter.type, count: iter.count, pos, async: opts.async });
  return iter.count;
});

test('O_DIRECT reads and writes go to the registered direct I/O with the position and a user iterator', () => {
  const { k, t, f, addr } = fileSetup({ pages: 2, value: 1 });
  const fd = do_sys_open(k, t, 'data', O_RDWR | O_DIRECT);
  assert.equal(step(k, t, 'pread', () => ksys_pread64(k, t, fd, addr, PAGE_SIZE, PAGE_SIZE)), PAGE_SIZE);
  assert.equal(step(k, t, 'write', () => ksys_write(k, t, fd, addr, 2 * PAGE_SIZE)), 2 * PAGE_SIZE);
  assert.deepEqual(calls.map(({ of, ...c }) => ({ ...c, file: of.file })), [
    { dir: 'ITER_DEST', type: 'ITER_UBUF', count: PAGE_SIZE, pos: PAGE_SIZE, async: false, file: f },
    { dir: 'ITER_SOURCE', type: 'ITER_UBUF', count: 2 * PAGE_SIZE, pos: 0, async: false, file: f },
  ]);
  assert.equal(calls[1].of.pos, 2 * PAGE_SIZE, 'write() advanced the position by what direct I/O returned');
});

test('a DAX file ignores O_DIRECT: the data moves through its pages, not through direct I/O', () => {
  calls.length = 0;
  const { k, t, f } = fileSetup({ pages: 1, value: 4, fs: 'ext4-dax' });
  const buf = mmap(k, t, PAGE_SIZE);
  write(k, t, buf, PAGE_SIZE, 1);
  const fd = do_sys_open(k, t, 'data', O_RDWR | O_DIRECT);
  assert.equal(step(k, t, 'pread', () => ksys_pread64(k, t, fd, buf, PAGE_SIZE, 0)), PAGE_SIZE);
  assert.deepEqual(calls, []);
  assert.equal(read(k, t, buf), 4);
  assert.equal(f.size, PAGE_SIZE);
});
