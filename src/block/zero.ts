// Small helpers for kernel-held page references used by the block layer.

import type { Kernel } from '../kernel.js';

/** get_page(): one ordinary reference (include/linux/mm.h). */
export function get_page_ref(k: Kernel, pfn: number): void {
  k.mem.refAdd(k.mem.head(pfn), 1);
}
