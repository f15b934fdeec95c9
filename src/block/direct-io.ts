// The O_DIRECT entry: ->read_iter / ->write_iter of a file opened with O_DIRECT
// (ext4_dio_read_iter / ext4_dio_write_iter → iomap_dio_rw()). Registered with the fd table.

import type { Kernel } from '../kernel.js';
import type { File } from '../fs/file.js';
import { registerDirectIO } from '../fs/fdtable.js';
import { filemap_write_and_wait_range } from '../fs/writeback.js';
import { PG_dirty } from '../mm/page-flags.js';
import { blk_wait_bios } from './blkdev.js';
import { iomap_dio_rw } from './iomap-dio.js';
import type { IovIter } from './iov-iter.js';
import { PAGE_SIZE } from '../include/uapi.js';

/**
 * kiocb_invalidate_post_direct_write(): cached copies of what was just written are dropped; a
 * page that cannot be (mapped, or held) stays — the kernel warns about a stale page cache.
 */
function invalidateRange(k: Kernel, file: File, pos: number, len: number): void {
  const mem = k.mem;
  for (let i = Math.floor(pos / PAGE_SIZE); i * PAGE_SIZE < pos + len; i++) {
    const pfn = file.cache.get(i);
    if (pfn === undefined) continue;
    if (mem.ref(pfn) === 1 && mem.folioMapcount(pfn) === 0) {
      mem.clear(pfn, PG_dirty);
      mem.mapping[pfn] = 0;
      file.cache.delete(i);
      mem.putRefs(pfn, 1);
    } else {
      mem.content[pfn] = file.disk.get(i) ?? mem.content[pfn];
      k.note(`direct I/O: page cache of ${file.name} index ${i} is in use; refreshed in place`);
    }
  }
}

export function directIO(k: Kernel, file: File, iter: IovIter, pos: number, async: boolean): number {
  const len = iter.count;
  // kiocb_write_and_wait(): cached dirty pages in the range reach the disk first.
  filemap_write_and_wait_range(k, file, pos, pos + len - 1);
  const r = iomap_dio_rw(k, file, iter, pos, { async, complete: blk_wait_bios });
  if (iter.dir === 'ITER_SOURCE' && r > 0) invalidateRange(k, file, pos, r);
  return r;
}

registerDirectIO((k, _task, of, iter, pos, opts) => directIO(k, of.file, iter, pos, opts.async));
