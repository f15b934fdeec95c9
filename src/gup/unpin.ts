// Releasing what GUP grabbed (mm/gup.c unpin_*; mm/swap.c put_page/folio_put; the v5.2 put_user_page*()).

import type { Kernel } from '../kernel.js';
import { folio_mark_dirty } from '../mm/page-writeback.js';
import { PG_dirty } from '../mm/page-flags.js';
import { gup_put_folio } from './grab.js';
import type { PageArray } from './gup.js';
import { FOLL_GET, FOLL_PIN, GUP_PIN_COUNTING_BIAS } from '../include/linux/mm.js';
import { folio_has_pincount, is_zero_folio } from '../mm/folio.js';

/**
 * The model's own check (not a kernel WARN): releasing a pin the folio cannot hold. The kernel
 * only notices later — a negative _pincount at free (bad_page), or a refcount underflow under
 * CONFIG_DEBUG_VM — so pinlab says so at the unpin that causes it (R9).
 */
function checkPinned(k: Kernel, head: number, refs: number): void {
  if (!k.profile.pinTracking || (is_zero_folio(k, head) && k.profile.zeroPageNotPinned)) return;
  const mem = k.mem;
  const short = folio_has_pincount(k, head)
    ? mem.pincount(head) < refs
    : (mem.ref(head) >>> 0) < refs * GUP_PIN_COUNTING_BIAS;
  if (short) {
    k.WARN_ON_ONCE(true, 'pinlab:unpin-not-pinned',
      `unpin of pfn ${head} that holds fewer than ${refs} pin(s) (refcount ${mem.ref(head)}, pincount ${mem.pincount(head)})`);
  }
}

function putPinRun(k: Kernel, head: number, nr: number): void {
  checkPinned(k, head, nr);
  gup_put_folio(k, head, nr, FOLL_PIN);
}

/** gup_folio_next(): how many consecutive entries from i belong to the same folio. */
function runLength(k: Kernel, pages: PageArray, i: number, n: number): number {
  const mem = k.mem;
  const p = pages[i];
  if (mem.orderOf(p) === 0) return 1; // a small folio: a run of one (hot path)
  const head = mem.head(p);
  let j = i + 1;
  while (j < n && pages[j] >= 0 && mem.head(pages[j]) === head) j++;
  return j - i;
}

export function unpin_user_page(k: Kernel, pfn: number): void {
  putPinRun(k, k.mem.head(pfn), 1);
}

/** unpin_user_pages(): runs of the same folio are released together; an error value as npages is a WARN and nothing. */
export function unpin_user_pages(k: Kernel, pages: PageArray, npages: number): void {
  if (k.WARN_ON_ONCE(npages < 0, 'mm/gup.c:unpin_user_pages:IS_ERR_VALUE',
    `unpin_user_pages() called with npages = ${npages} (an error code?)`)) return;
  for (let i = 0; i < npages; ) {
    if (pages[i] < 0) { i++; continue; } // NULL entries are skipped
    const nr = runLength(k, pages, i, npages);
    putPinRun(k, k.mem.head(pages[i]), nr);
    i += nr;
  }
}

/** unpin_user_pages_dirty_lock(): dirty each folio that is clean (folio_mark_dirty under the folio lock), then unpin. */
export function unpin_user_pages_dirty_lock(k: Kernel, pages: PageArray, npages: number, make_dirty: boolean): void {
  if (!make_dirty) return unpin_user_pages(k, pages, npages);
  for (let i = 0; i < npages; ) {
    if (pages[i] < 0) { i++; continue; }
    const head = k.mem.head(pages[i]);
    const nr = runLength(k, pages, i, npages);
    // The "already dirty: skip" shortcut may race with folio_clear_dirty_for_io(); both outcomes are fine.
    if (!k.mem.test(head, PG_dirty) && !is_zero_folio(k, head)) folio_mark_dirty(k, head);
    putPinRun(k, head, nr);
    i += nr;
  }
}

/** unpin_user_page_range_dirty_lock(): a physically contiguous range, runs cut at folio boundaries. */
export function unpin_user_page_range_dirty_lock(k: Kernel, pfn: number, npages: number, make_dirty: boolean): void {
  const mem = k.mem;
  for (let i = 0; i < npages; ) {
    const p = pfn + i;
    const head = mem.head(p);
    const nr = Math.min(npages - i, mem.folioNrPages(head) - (p - head));
    if (make_dirty && !mem.test(head, PG_dirty) && !is_zero_folio(k, head)) folio_mark_dirty(k, head);
    putPinRun(k, head, nr);
    i += nr;
  }
}

/** unpin_folio(): one pin. */
export function unpin_folio(k: Kernel, head: number): void {
  putPinRun(k, k.mem.head(head), 1);
}

/** unpin_folios(): identical adjacent entries are released together; NULLs skipped. */
export function unpin_folios(k: Kernel, folios: PageArray, nfolios: number): void {
  for (let i = 0; i < nfolios; ) {
    if (folios[i] < 0) { i++; continue; }
    let j = i + 1;
    while (j < nfolios && folios[j] === folios[i]) j++;
    putPinRun(k, k.mem.head(folios[i]), j - i);
    i = j;
  }
}

/** unpin_user_folio(folio, npages): npages pins of one folio (used by the block layer). */
export function unpin_user_folio(k: Kernel, head: number, npages: number): void {
  putPinRun(k, k.mem.head(head), npages);
}

/** put_page() / folio_put(): drop one ordinary reference. */
export function put_page(k: Kernel, pfn: number): void {
  gup_put_folio(k, k.mem.head(pfn), 1, FOLL_GET);
}

export function folio_put(k: Kernel, head: number): void {
  k.mem.putRefs(k.mem.head(head), 1);
}

/** set_page_dirty_lock(): lock the folio and mark it dirty through its mapping. */
export function set_page_dirty_lock(k: Kernel, pfn: number): void {
  const head = k.mem.head(pfn);
  if (!is_zero_folio(k, head)) folio_mark_dirty(k, head);
}

// v5.2 .. v5.5 placeholders (mm/gup.c, include/linux/mm.h): aliases of put_page() that tracked nothing.
export function put_user_page(k: Kernel, pfn: number): void {
  put_page(k, pfn);
}

export function put_user_pages(k: Kernel, pages: PageArray, npages: number): void {
  for (let i = 0; i < npages; i++) put_page(k, pages[i]);
}

/** put_user_pages_dirty_lock(): set_page_dirty_lock() where the page is clean (and make_dirty), then put_page(). */
export function put_user_pages_dirty_lock(k: Kernel, pages: PageArray, npages: number, make_dirty: boolean): void {
  for (let i = 0; i < npages; i++) {
    const head = k.mem.head(pages[i]);
    if (make_dirty && !k.mem.test(head, PG_dirty)) set_page_dirty_lock(k, pages[i]);
    put_page(k, pages[i]);
  }
}

/** put_user_pages_dirty(): the unlocked set_page_dirty() variant of v5.2/v5.3. */
export function put_user_pages_dirty(k: Kernel, pages: PageArray, npages: number): void {
  put_user_pages_dirty_lock(k, pages, npages, true);
}
