// The O_DIRECT entry: ->read_iter / ->write_iter of a file opened with O_DIRECT
// (ext4_dio_read_iter / ext4_dio_write_iter → iomap_dio_rw()). Registered with the fd table.

import type { Kernel } from '../kernel.js';
import type { File } from '../fs/file.js';
import { registerDirectIO } from '../fs/fdtable.js';
import { filemap_write_and_wait_range } from '../fs/writeback.js';
import { invalidate_inode_pages2_range } from '../fs/truncate.js';
import { blk_wait_bios } from './blkdev.js';
import { iomap_dio_rw } from './iomap-dio.js';
import { legacy_dio_rw } from './legacy-dio.js';
import { blkdev_dio_rw } from './fops.js';
import type { IovIter } from './iov-iter.js';
import { PAGE_SIZE } from '../include/uapi.js';

export function directIO(k: Kernel, file: File, iter: IovIter, pos: number, async: boolean): number {
  const len = iter.count;
  // kiocb_write_and_wait(): cached dirty pages in the range reach the disk first.
  filemap_write_and_wait_range(k, file, pos, pos + len - 1);
  // A block device node: def_blk_fops ->read_iter/->write_iter → blkdev_direct_IO() (block/fops.c, R97).
  const r = file.isBlkdev
    ? blkdev_dio_rw(k, file, iter, pos, { async })
    : file.legacyDio
    ? legacy_dio_rw(k, file, iter, pos, { async, complete: blk_wait_bios })
    : iomap_dio_rw(k, file, iter, pos, { async, complete: blk_wait_bios });
  // kiocb_invalidate_post_direct_write(): drop cached copies of what was just written (the
  // kernel unmaps and removes them whatever their refcount; a failure only warns).
  if (iter.dir === 'ITER_SOURCE' && r > 0) invalidate_inode_pages2_range(k, file, Math.floor(pos / PAGE_SIZE), Math.floor((pos + r - 1) / PAGE_SIZE));
  return r;
}

registerDirectIO((k, _task, of, iter, pos, opts) => directIO(k, of.file, iter, pos, opts.async));
