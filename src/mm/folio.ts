// Folio predicates of include/linux/mm.h: is it (maybe) pinned, may it be pinned long-term, is it
// the zero folio. mm-level inlines that gup/, vm/, fs/ and check/ all ask.

import type { Kernel } from '../kernel.js';
import { GUP_PIN_COUNTING_BIAS } from '../include/linux/mm.js';
import { PG_isolated_block, PG_device_coherent, PG_fsdax } from './page-flags.js';
import { ZONE_CMA, ZONE_MOVABLE } from './memory.js';

/** folio_has_pincount(): large folios keep an exact _pincount (64-bit: order ≥ 1; v5.7: order ≥ 2). */
export function folio_has_pincount(k: Kernel, head: number): boolean {
  const order = k.mem.orderOf(head);
  return order > 0 && order >= k.profile.pincountMinOrder && k.profile.pinTracking;
}

/**
 * folio_maybe_dma_pinned() (include/linux/mm.h): exact for folios with a pincount; otherwise
 * "refcount ≥ GUP_PIN_COUNTING_BIAS", compared unsigned — so 1024 plain references are a false
 * positive and a wrapped (negative) refcount reads as pinned.
 */
export function folio_maybe_dma_pinned(k: Kernel, pfn: number): boolean {
  const mem = k.mem;
  const head = mem.head(pfn);
  if (folio_has_pincount(k, head)) return mem.pincount(head) > 0;
  return mem.ref(head) >>> 0 >= GUP_PIN_COUNTING_BIAS;
}

export const page_maybe_dma_pinned = folio_maybe_dma_pinned;

/** is_zero_folio(): the small zero page(s) only; the huge zero folio is not included (R66). */
export function is_zero_folio(k: Kernel, head: number): boolean {
  return k.mem.isZeroPfn(head);
}

/** folio_is_longterm_pinnable() (include/linux/mm.h). */
export function folio_is_longterm_pinnable(k: Kernel, head: number): boolean {
  const mem = k.mem;
  const z = mem.zoneOf(head);
  const p = k.profile;
  // MIGRATE_CMA / MIGRATE_ISOLATE pageblocks come first.
  if (mem.test(head, PG_isolated_block)) return false;
  if (z === ZONE_CMA && p.longtermMigratesCma) return false;
  // The zero page can be "pinned" but gets special handling.
  if (mem.isZeroPfn(head)) return true;
  if (mem.test(head, PG_device_coherent)) return false;
  if (p.fsdaxNotLongtermPinnable && mem.test(head, PG_fsdax)) return false;
  return !(z === ZONE_MOVABLE && p.longtermMigratesMovable);
}
