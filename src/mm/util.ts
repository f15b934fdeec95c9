// mm/util.c: the overcommit check every accountable mapping passes (vm.overcommit_memory = 0,
// OVERCOMMIT_GUESS, the default; the model has no other mode and no swap).

import type { Kernel } from '../kernel.js';
import { files, shmem_mapping } from './filemap.js';

/**
 * __vm_enough_memory() (mm/util.c), as security_vm_enough_memory_mm() calls it for root
 * (cap_sys_admin: no admin reserve), under OVERCOMMIT_GUESS. Returns 0 or -ENOMEM (the caller's
 * errno). Only the size of this one request is judged, never the sum of earlier commitments.
 * - v5.2+ ("mm: fix false-positive OVERCOMMIT_GUESS failures", 8c7829b04c523c): a request is
 *   refused only when it is larger than all of RAM plus swap (totalram_pages() + total_swap_pages).
 * - Before: it had to fit in what could be freed now: free pages + page cache − shmem + swap +
 *   reclaimable slab, less totalreserve_pages (the model has no watermarks, slab or swap).
 */
export function __vm_enough_memory(k: Kernel, pages: number): boolean {
  const mem = k.mem;
  if (k.profile.overcommitGuessTotalram) {
    // totalram_pages() never changes after boot: nothing to record.
    let totalram = 0;
    for (const z of mem.zones) totalram += z.end - z.start;
    return pages <= totalram;
  }
  let free = 0;
  mem.freePages.forEach((n, z) => {
    k.fp.read('zone', z);
    free += n;
  });
  for (const f of files(k).values()) {
    if (!shmem_mapping(f)) free += f.cache.size;
  }
  return free > pages;
}
