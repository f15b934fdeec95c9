// The pin arithmetic: try_grab_folio(), try_grab_folio_fast(), gup_put_folio() (mm/gup.c).

import type { Kernel } from '../kernel.js';
import { EMLINK, ENOMEM, EREMOTEIO } from '../include/uapi.js';
import { Vmstat } from '../mm/vmstat.js';
import { PG_p2pdma } from '../mm/page-flags.js';
import { FOLL_GET, FOLL_LONGTERM, FOLL_PCI_P2PDMA, FOLL_PIN, GUP_PIN_COUNTING_BIAS } from '../include/linux/mm.js';
import { folio_has_pincount, is_zero_folio, folio_is_longterm_pinnable } from '../mm/folio.js';

export { EMLINK };

/** Add `refs` pins or references: the common tail of both grab paths. */
function addGrab(k: Kernel, head: number, refs: number, flags: number, fastAlreadyGot: boolean): void {
  const mem = k.mem;
  if (flags & FOLL_GET) {
    if (!fastAlreadyGot) mem.refAdd(head, refs);
    return;
  }
  if (folio_has_pincount(k, head)) {
    // Large folio: the refcount rises by refs too, so the folio cannot be freed while pinned.
    if (!fastAlreadyGot) mem.refAdd(head, refs);
    mem.pincountAdd(head, refs);
  } else {
    mem.refAdd(head, fastAlreadyGot ? refs * (GUP_PIN_COUNTING_BIAS - 1) : refs * GUP_PIN_COUNTING_BIAS);
  }
  k.vmstat.modIdx(Vmstat.PIN_ACQUIRED, refs); // node_stat_mod_folio(NR_FOLL_PIN_ACQUIRED)
}

/**
 * try_grab_folio() (slow path): 0 or -errno. Refuses a folio whose refcount is ≤ 0 with a
 * WARN (the refcount-overflow guard, R119); P2PDMA pages need FOLL_PCI_P2PDMA.
 */
export function try_grab_folio(k: Kernel, head: number, refs: number, flags: number): number {
  const mem = k.mem;
  k.fp.read('folio', head);
  if (mem.ref(head) <= 0) {
    k.WARN_ON_ONCE(true, 'mm/gup.c:try_grab_folio:refcount<=0', `try_grab_folio(): pfn ${head} refcount ${mem.ref(head)} <= 0`);
    return -ENOMEM;
  }
  if (!(flags & FOLL_PCI_P2PDMA) && mem.test(head, PG_p2pdma)) return k.profile.grabReturnsErrno ? -EREMOTEIO : -ENOMEM;
  if (flags & FOLL_PIN) {
    // v6.5: the zero page is never pinned. The 6.1.130 backport returned 0 from the bool
    // try_grab_page(), which the caller took for failure (-ENOMEM) until 6.1.135 (zeroPagePinFails).
    if (is_zero_folio(k, head) && k.profile.zeroPageNotPinned) return k.profile.zeroPagePinFails ? -ENOMEM : 0;
  } else if (!(flags & FOLL_GET)) {
    return 0; // neither FOLL_GET nor FOLL_PIN: fault-in only, nothing to grab
  }
  addGrab(k, head, refs, flags, false);
  return 0;
}

/**
 * try_grab_folio_fast() (GUP-fast): returns true if grabbed. A speculative reference comes
 * first (folio_ref_try_add(), refused on a negative refcount with a WARN); a long-term pin of an
 * unpinnable folio then drops just that reference — nothing is counted (R74.3).
 */
export function try_grab_folio_fast(k: Kernel, pfn: number, refs: number, flags: number): boolean {
  const mem = k.mem;
  const head = mem.head(pfn);
  k.fp.read('folio', head);
  if (flags & FOLL_PIN && is_zero_folio(k, head) && k.profile.zeroPageNotPinned) return true;
  // try_get_folio(): refuse a negative refcount (WARN) and a folio being freed (add-unless-zero).
  if (mem.ref(head) < 0) {
    k.WARN_ON_ONCE(true, 'mm/gup.c:try_get_folio:refcount<0', `try_get_folio(): pfn ${head} refcount ${mem.ref(head)} < 0`);
    return false;
  }
  if (mem.ref(head) === 0) return false;
  if (!(flags & FOLL_PCI_P2PDMA) && mem.test(head, PG_p2pdma)) return false;
  mem.refAdd(head, refs);
  if (flags & FOLL_GET) return true;
  if (flags & FOLL_LONGTERM && !folio_is_longterm_pinnable(k, head)) {
    mem.putRefs(head, refs);
    return false;
  }
  addGrab(k, head, refs, flags, true);
  return true;
}

/**
 * The grab of a GUP-fast walk stopped between reading the PTE and grabbing (`before_grab`):
 * `folio` is the folio the page belonged to when it was looked up (page_folio() /
 * compound_head()), `hadPincount` whether that folio kept an exact pincount then. Other CPUs may
 * have split it since. From v5.14 (c24d37322548, mm/gup.c try_get_compound_head(), later
 * try_get_folio()) the reference taken is checked against the page's folio again and dropped if
 * the page left it; before, 5.10 try_grab_compound_head() chose BIAS or pincount from the compound
 * page it saw and took the reference on the old head: the pages array names a page that holds
 * nothing.
 */
export function try_grab_folio_fast_paused(k: Kernel, pfn: number, folio: number, hadPincount: boolean, refs: number, flags: number): boolean {
  const mem = k.mem;
  k.fp.read('folio', folio);
  k.fp.read('folio', mem.head(pfn));
  if (flags & FOLL_PIN && is_zero_folio(k, folio) && k.profile.zeroPageNotPinned) return true;
  if (mem.ref(folio) < 0) {
    k.WARN_ON_ONCE(true, 'mm/gup.c:try_get_folio:refcount<0', `try_get_folio(): pfn ${folio} refcount ${mem.ref(folio)} < 0`);
    return false;
  }
  if (mem.ref(folio) === 0) return false;
  if (!(flags & FOLL_PCI_P2PDMA) && mem.test(folio, PG_p2pdma)) return false;
  if (!k.profile.gupFastGrabRechecksFolio) {
    if (flags & FOLL_GET) {
      mem.refAdd(folio, refs);
      return true;
    }
    if (flags & FOLL_LONGTERM && !folio_is_longterm_pinnable(k, folio)) return false;
    // refs *= GUP_PIN_COUNTING_BIAS was decided on the compound page seen before the grab.
    mem.refAdd(folio, hadPincount ? refs : refs * GUP_PIN_COUNTING_BIAS);
    if (folio_has_pincount(k, folio)) mem.pincountAdd(folio, refs);
    k.vmstat.modIdx(Vmstat.PIN_ACQUIRED, refs);
    return true;
  }
  mem.refAdd(folio, refs);
  if (mem.head(pfn) !== folio) {
    // The page left the folio between the lookup and the reference (split_huge_page()).
    k.note(`gup-fast: pfn ${pfn} left folio ${folio} before the grab (split), reference dropped`);
    mem.putRefs(folio, refs);
    return false;
  }
  if (flags & FOLL_GET) return true;
  if (flags & FOLL_LONGTERM && !folio_is_longterm_pinnable(k, folio)) {
    mem.putRefs(folio, refs);
    return false;
  }
  addGrab(k, folio, refs, flags, true);
  return true;
}

/** gup_put_folio(): release refs grabs taken with flags. Zero-page pins are ignored from v6.5. */
export function gup_put_folio(k: Kernel, head: number, refs: number, flags: number): void {
  const mem = k.mem;
  let put = refs;
  if (flags & FOLL_PIN) {
    if (is_zero_folio(k, head) && k.profile.zeroPageNotPinned) return;
    k.vmstat.modIdx(Vmstat.PIN_RELEASED, refs); // node_stat_mod_folio(NR_FOLL_PIN_RELEASED)
    if (folio_has_pincount(k, head)) mem.pincountAdd(head, -refs);
    else put = refs * GUP_PIN_COUNTING_BIAS;
  }
  mem.putRefs(head, put);
}
