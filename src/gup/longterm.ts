// FOLL_LONGTERM: __gup_longterm_locked() and check_and_migrate_movable_pages() (mm/gup.c).

import type { Kernel } from '../kernel.js';
import { EAGAIN, ENOMEM } from '../include/uapi.js';
import { folio_isolate_lru, folio_putback_lru, migrate_folio } from '../vm/migrate.js';
import type { Mm } from '../vm/mm.js';
import { gup_put_folio } from './grab.js';
import { __get_user_pages_locked, type PageArray } from './gup.js';
import { FOLL_LONGTERM, FOLL_PIN, FOLL_GET } from '../include/linux/mm.js';
import { folio_is_longterm_pinnable } from '../mm/folio.js';

/**
 * check_and_migrate_movable_pages(): 0 if every pinned folio may stay; otherwise drop all pins,
 * migrate the unpinnable folios and return -EAGAIN (the caller pins again), or -ENOMEM if any
 * migration failed. Folios that cannot be isolated are silently left pinned where they are (R47).
 */
export function check_and_migrate_movable_pages(k: Kernel, nr: number, pages: PageArray, off: number, flags: number): number {
  const mem = k.mem;
  const list: number[] = [];
  let prev = -1;
  for (let i = 0; i < nr; i++) {
    const head = mem.head(pages[off + i]);
    if (head === prev) continue; // collect_longterm_unpinnable_folios() skips adjacent repeats only
    prev = head;
    if (folio_is_longterm_pinnable(k, head)) continue;
    if (list.includes(head)) continue;
    if (!folio_isolate_lru(k, head)) continue;
    list.push(head);
  }
  if (list.length === 0) return 0;
  k.note(`longterm: ${list.length} folio(s) not pinnable, migrating`);
  // migrate_longterm_unpinnable_folios(): unpin every entry, then migrate.
  const grab = flags & (FOLL_PIN | FOLL_GET);
  for (let i = 0; i < nr; i++) {
    gup_put_folio(k, mem.head(pages[off + i]), 1, grab);
    pages[off + i] = -1;
  }
  let failed = 0;
  for (const head of list) {
    const r = migrate_folio(k, head);
    if (r < 0) {
      failed++;
      k.vmstat.mod('pgmigrate_fail', mem.folioNrPages(head));
      folio_putback_lru(k, head);
    } else {
      folio_putback_lru(k, r);
    }
  }
  return failed ? -ENOMEM : -EAGAIN;
}

/** __gup_longterm_locked(): plain GUP, or, for FOLL_LONGTERM, pin-check-migrate until stable, in a memalloc_pin scope. */
export function __gup_longterm_locked(k: Kernel, mm: Mm, start: number, nr_pages: number, pages: PageArray | null,
  flags: number, off = 0): number {
  if (!(flags & FOLL_LONGTERM) || !pages) return __get_user_pages_locked(k, mm, start, nr_pages, pages, flags, off);
  k.memallocPin++; // memalloc_pin_save(): faults inside allocate outside ZONE_MOVABLE and CMA
  try {
    let rc = 0;
    let n = 0;
    for (let round = 0; ; round++) {
      n = __get_user_pages_locked(k, mm, start, nr_pages, pages, flags, off);
      if (n <= 0) {
        rc = n;
        break;
      }
      rc = check_and_migrate_movable_pages(k, n, pages, off, flags);
      if (rc !== -EAGAIN) break;
      if (k.WARN_ON_ONCE(round > 16, 'pinlab:longterm-no-progress', 'long-term pin made no progress after 16 migrations')) {
        rc = -ENOMEM;
        break;
      }
    }
    return rc ? rc : n;
  } finally {
    k.memallocPin--;
  }
}
