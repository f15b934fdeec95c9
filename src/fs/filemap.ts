// Buffered I/O through the page cache (mm/filemap.c filemap_read(), generic_perform_write();
// fs/ext4/inode.c ext4_da_write_begin() / ext4_da_write_end(); mm/shmem.c shmem_write_begin();
// fs/dax.c dax_iomap_rw()). Data moves as content tokens, one per page.

import type { Kernel } from '../kernel.js';
import { EFAULT, ENOMEM, PAGE_SIZE } from '../include/uapi.js';
import { PG_private, PG_referenced } from '../mm/page-flags.js';
import { attachBuffers } from './file.js';
import type { File } from '../include/linux/fs.js';
import { folio_mark_dirty } from '../mm/page-writeback.js';
import { filemap_fault } from '../mm/filemap.js';
import type { IovIter } from '../lib/iov_iter/uio.js';
import { copy_page_from_iter, copy_page_to_iter } from '../lib/iov_iter/copy.js';

/** How data crosses between a page and an iterator; the iov_iter functions by default. */
export interface Copier {
  toIter(k: Kernel, pfn: number, offset: number, bytes: number, i: IovIter): number;
  fromIter(k: Kernel, pfn: number, offset: number, bytes: number, i: IovIter): number;
}

export const IOV_ITER_COPIER: Copier = { toIter: copy_page_to_iter, fromIter: copy_page_from_iter };

/**
 * filemap_read(): copy [pos, pos + count) — cut at i_size — from the page cache into the iterator,
 * reading missing pages in (filemap_get_pages()). Returns the bytes copied; a copy that faults
 * stops the read (short read), -EFAULT if nothing was copied.
 */
export function filemap_read(k: Kernel, file: File, iter: IovIter, pos: number, copier: Copier = IOV_ITER_COPIER): number {
  const end = Math.min(file.size, pos + iter.count);
  let done = 0;
  while (pos + done < end) {
    const p = pos + done;
    const index = Math.floor(p / PAGE_SIZE);
    const offset = p % PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - offset, end - p);
    const { pfn } = filemap_fault(k, file, index);
    if (pfn < 0) return done || -ENOMEM;
    k.mem.set(pfn, PG_referenced); // folio_mark_accessed()
    const copied = copier.toIter(k, pfn, offset, n, iter);
    done += copied;
    if (copied < n) return done || -EFAULT;
  }
  return done;
}

/**
 * generic_perform_write(): per page, ->write_begin (find or create the folio; ext4 attaches
 * buffers and reserves a delalloc block for a hole: ext4_da_write_begin() →
 * __block_write_begin()), copy from the iterator, ->write_end (ext4_da_write_end() →
 * block_write_end(): the buffers and the folio become dirty; i_size grows). DAX writes reach the
 * medium directly. Returns the bytes written; a copy that faults stops the write (short write),
 * -EFAULT if nothing was written.
 */
export function generic_perform_write(k: Kernel, file: File, iter: IovIter, pos: number, copier: Copier = IOV_ITER_COPIER): number {
  const mem = k.mem;
  let done = 0;
  k.fp.write('file', file.id);
  while (iter.count > 0) {
    const p = pos + done;
    const index = Math.floor(p / PAGE_SIZE);
    const offset = p % PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - offset, iter.count);
    const { pfn } = filemap_fault(k, file, index);
    if (pfn < 0) return done || -ENOMEM;
    if (file.fstype.buffers && !mem.test(pfn, PG_private)) attachBuffers(k, file, pfn);
    const copied = copier.fromIter(k, pfn, offset, n, iter);
    if (copied > 0) {
      if (file.fstype.dax) file.disk.set(index, mem.contentOf(pfn));
      else folio_mark_dirty(k, pfn);
      done += copied;
      if (p + copied > file.size) file.size = p + copied;
    }
    if (copied < n) return done || -EFAULT;
  }
  return done;
}
