// Page migration (mm/migrate.c) as long-term pinning uses it: isolate from the LRU, move the
// contents to a folio outside ZONE_MOVABLE/CMA, repoint every PTE and the page-cache slot.

import type { Kernel } from '../kernel.js';
import { EAGAIN, ENOMEM } from '../include/uapi.js';
import { gfpNowarn } from '../mm/memory.js';
import { FOLIO_FLAGS, PG_anon, PG_anon_exclusive, PG_head, PG_lru, PG_tail } from '../mm/page-flags.js';
import { tasks } from './mm.js';
import { fileById } from '../mm/filemap.js';

/** folio_isolate_lru(): takes a reference and clears PG_lru; fails if already isolated. */
export function folio_isolate_lru(k: Kernel, head: number): boolean {
  const mem = k.mem;
  if (!mem.test(head, PG_lru)) return false;
  mem.clear(head, PG_lru);
  mem.refAdd(head, 1);
  k.vmstat.mod(mem.test(head, PG_anon) ? 'nr_isolated_anon' : 'nr_isolated_file', mem.folioNrPages(head));
  return true;
}

/** folio_putback_lru(): back on the LRU, drop the isolation reference. */
export function folio_putback_lru(k: Kernel, head: number): void {
  const mem = k.mem;
  k.vmstat.mod(mem.test(head, PG_anon) ? 'nr_isolated_anon' : 'nr_isolated_file', -mem.folioNrPages(head));
  mem.set(head, PG_lru);
  mem.putRefs(head, 1);
}

/** References a folio may have and still migrate: its mappings, the page cache, the isolation (folio_expected_ref_count() + 1). */
function expectedRefs(k: Kernel, head: number): number {
  const mem = k.mem;
  return mem.folioMapRefs(head) + (mem.mappingOf(head) > 0 ? 1 : 0) + 1;
}

/**
 * Migrate one isolated folio to non-movable memory. Returns the new head, -EAGAIN when someone
 * holds an unexpected reference (a pin, a GET), or -ENOMEM when no target could be allocated.
 * On success the new folio is isolated (to be put back) and the old one is freed.
 */
export function migrate_folio(k: Kernel, head: number): number {
  const mem = k.mem;
  const expected = expectedRefs(k, head);
  if (mem.ref(head) !== expected) {
    k.note(`migrate pfn ${head}: refcount ${mem.ref(head)} != expected ${expected} (-EAGAIN)`);
    return -EAGAIN;
  }
  const order = mem.folioOrder(head);
  const nr = 1 << order;
  // The migration target: mm/gup.c migrate_longterm_unpinnable_folios() asks GFP_USER | __GFP_NOWARN,
  // mm/migrate.c alloc_migration_target() adds GFP_TRANSHUGE (also __GFP_NOWARN) for large folios;
  // a failure is reported by the caller (-ENOMEM, pgmigrate_fail), not by warn_alloc().
  const np = mem.allocFolio(gfpNowarn({ movable: false, name: 'GFP_USER' }), order, 'alloc_migration_target');
  if (np < 0) {
    k.note(`migrate pfn ${head}: no target folio (-ENOMEM)`);
    return -ENOMEM;
  }
  // Move contents, flags and identity.
  for (let i = 0; i < nr; i++) {
    mem.setContent(np + i, mem.contentOf(head + i));
    mem.setFlags(np + i, (mem.flagsOf(np + i) & (PG_head | PG_tail)) | (mem.flagsOf(head + i) & PG_anon_exclusive));
    mem.setMapcount(np + i, mem.mapcountOf(head + i));
    mem.setMapcount(head + i, 0);
  }
  mem.set(np, mem.flagsOf(head) & FOLIO_FLAGS & ~PG_lru);
  mem.setMapping(np, mem.mappingOf(head));
  mem.setIndex(np, mem.indexOf(head));
  if (order >= 2) {
    mem.entireMapcountAdd(np, mem.entireMapcount(head));
    mem.entireMapcountAdd(head, -mem.entireMapcount(head));
  }
  // remove_migration_ptes(): every mapping now points at the new folio.
  for (const t of tasks(k).values()) {
    for (const v of t.mm.rmapVmas(k)) {
      for (const [b, e] of v.pmdLeaves(k)) if (e.pfn === head) v.set_pmd_at(k, b, np, e.bits);
      for (let i = v.ptesFind(k, 0, head, head + nr); i >= 0; i = v.ptesFind(k, i + 1, head, head + nr)) {
        v.set_pte_at(k, i, np + (v.ptep_get(k, i) - head), v.ptep_get_bits(k, i));
      }
    }
  }
  const fid = mem.mappingOf(head);
  if (fid > 0) {
    const f = fileById(k, fid);
    if (f) f.cache.set(mem.indexOf(head), np);
    mem.setMapping(head, 0);
  }
  mem.setRefcount(np, expected);
  mem.clear(head, (FOLIO_FLAGS & ~PG_lru));
  mem.setRefcount(head, 1);
  k.vmstat.mod('pgmigrate_success', nr);
  k.note(`migrate pfn ${head} -> ${np}`);
  mem.putRefs(head, 1);
  return np;
}

