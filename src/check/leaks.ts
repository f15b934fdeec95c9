// The leak check at teardown: after every task has exited and every file's page cache was
// dropped, any folio still allocated is held by someone the model can name.

import type { Kernel } from '../kernel.js';
import { PG_hwpoison } from '../mm/page-flags.js';
import { GUP_PIN_COUNTING_BIAS } from '../include/linux/mm.js';
import { folio_has_pincount } from '../mm/folio.js';

export interface Holder {
  /** "task parent, pin_user_pages_fast at step 3 (handle P)" */
  readonly label: string;
  readonly pfns: readonly number[];
}

export interface Leak {
  readonly pfn: number;
  readonly refcount: number;
  readonly pincount: number;
  readonly pins: number;
  readonly line: string;
}

export function findLeaks(k: Kernel, holders: readonly Holder[] = []): Leak[] {
  const mem = k.mem;
  const out: Leak[] = [];
  const report = (head: number) => {
    const ref = mem.ref(head);
    const pin = mem.pincount(head);
    const pins = folio_has_pincount(k, head) ? pin : Math.floor((ref >>> 0) / GUP_PIN_COUNTING_BIAS);
    const nr = mem.folioNrPages(head);
    const by = holders.filter((h) => h.pfns.some((p) => p >= head && p < head + nr)).map((h) => h.label);
    const what = pins > 0 && k.profile.pinTracking ? `${pins} pin(s)` : `${ref} reference(s)`;
    out.push({
      pfn: head, refcount: ref, pincount: pin, pins,
      line: `pfn ${head} (order ${mem.folioOrder(head)}) still holds ${what}: refcount ${ref}, pincount ${pin}` +
        (by.length ? `; held by ${by.join(', ')}` : '; holder unknown'),
    });
  };
  for (const head of mem.allocatedHeads()) {
    if (mem.isHugeZero(head)) continue;
    if (mem.ref(head) === 0 && mem.hugetlbFree.includes(head)) continue; // free in the hugetlb pool
    if (mem.flagsOf(head) & PG_hwpoison && mem.ref(head) === 1) continue; // taken offline by memory_failure()
    report(head);
  }
  // The zero page: references beyond its boot reference are leaked GETs (or pre-6.5 pins).
  for (const z of mem.zeroPfns) if (mem.ref(z) !== 1) report(z);
  return out;
}
