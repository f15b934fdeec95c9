// The O_DIRECT entries: what ->read_iter / ->write_iter do for an IOCB_DIRECT kiocb, per
// filesystem — ext4_dio_read_iter() / ext4_dio_write_iter() → iomap_dio_rw(); fat through
// a_ops->direct_IO = fat_direct_IO() → __blockdev_direct_IO(); a block device node through
// def_blk_fops → blkdev_direct_IO(). The fd table's per-filesystem file_operations
// (src/fs/fdtable.ts) point at them.

import type { Kernel } from '../kernel.js';
import type { File } from '../include/linux/fs.js';
import { filemap_write_and_wait_range } from './writeback.js';
import { invalidate_inode_pages2_range } from './truncate.js';
import { dio_wait_bios } from '../block/blkdev.js';
import { iomap_dio_rw } from './iomap-dio.js';
import { legacy_dio_rw } from './legacy-dio.js';
import { blkdev_dio_rw } from '../block/fops.js';
import { PAGE_SIZE } from '../include/uapi.js';
import type { IovIter } from '../lib/iov_iter/uio.js';

/** What a filesystem's ->read_iter / ->write_iter do for O_DIRECT: bytes, -EIOCBQUEUED (async, bios in flight) or -errno. */
export type DirectIOFn = (k: Kernel, file: File, iter: IovIter, pos: number, opts: { async: boolean }) => number;

type DioPath = (k: Kernel, file: File, iter: IovIter, pos: number, async: boolean) => number;

/**
 * The steps every path shares (mm/filemap.c kiocb_write_and_wait() before,
 * kiocb_invalidate_post_direct_write() after) around the filesystem's own.
 */
function directIO(path: DioPath): DirectIOFn {
  return (k, file, iter, pos, { async }) => {
    const len = iter.count;
    // kiocb_write_and_wait(): cached dirty pages in the range reach the disk first.
    filemap_write_and_wait_range(k, file, pos, pos + len - 1);
    const r = path(k, file, iter, pos, async);
    // kiocb_invalidate_post_direct_write(): drop cached copies of what was just written (the
    // kernel unmaps and removes them whatever their refcount; a failure only warns).
    if (iter.dir === 'ITER_SOURCE' && r > 0) invalidate_inode_pages2_range(k, file, Math.floor(pos / PAGE_SIZE), Math.floor((pos + r - 1) / PAGE_SIZE));
    return r;
  };
}

/** ext4_dio_read_iter() / ext4_dio_write_iter() → iomap_dio_rw() (fs/iomap/direct-io.c). */
export const ext4_dio_rw = directIO((k, file, iter, pos, async) => iomap_dio_rw(k, file, iter, pos, { async, complete: dio_wait_bios }));

/** fat: generic_file_read_iter() → a_ops->direct_IO = fat_direct_IO() → __blockdev_direct_IO() (fs/direct-io.c, R98). */
export const fat_dio_rw = directIO((k, file, iter, pos, async) => legacy_dio_rw(k, file, iter, pos, { async, complete: dio_wait_bios }));

/** A block device node: def_blk_fops ->read_iter/->write_iter → blkdev_direct_IO() (block/fops.c, R97). */
export const blkdev_dio = directIO((k, file, iter, pos, async) => blkdev_dio_rw(k, file, iter, pos, { async }));
