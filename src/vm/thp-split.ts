// split_huge_page() for anonymous THPs (mm/huge_memory.c split_huge_page_to_list_to_order(),
// can_split_folio(), __split_huge_page()): a folio can only be split when every reference is
// explained by its mappings (plus the caller's); a pin makes the split fail with -EAGAIN.

import type { Kernel } from '../kernel.js';
import { EAGAIN, EBUSY, EINVAL, HPAGE_PMD_SIZE } from '../include/uapi.js';
import { PG_anon, PG_hugetlb } from '../mm/page-flags.js';
import { split_huge_pmd } from './pgtable.js';
import { tasks } from './mm.js';

export function split_huge_page(k: Kernel, pfn: number): number {
  const mem = k.mem;
  const head = mem.head(pfn);
  // Footprint: every outcome read the folio (can_split_folio() reads its counts; a failed split
  // must still conflict with the pin that made it fail).
  k.fp.read('folio', head);
  if (!mem.isLarge(head) || mem.test(head, PG_hugetlb) || mem.isHugeZero(head)) return -EINVAL;
  if (!mem.test(head, PG_anon)) return -EBUSY; // file THPs are not modelled
  // can_split_folio(): refcount == mappings + the caller's reference (taken and dropped here).
  if (mem.ref(head) !== mem.folioMapRefs(head)) {
    k.note(`split_huge_page pfn ${head}: refcount ${mem.ref(head)} != ${mem.folioMapRefs(head)} mappings (-EAGAIN)`);
    return -EAGAIN;
  }
  // unmap_folio() / remap_page(): PMD mappings become PTE mappings of the same pages.
  for (const t of tasks(k).values()) {
    for (const v of t.mm.rmapVmas(k)) {
      for (const [b, e] of [...v.pmdLeaves(k)]) if (e.pfn === head) split_huge_pmd(k, v, b * HPAGE_PMD_SIZE);
    }
  }
  // __split_huge_page(): every page becomes a folio holding one reference per PTE that maps it.
  const nr = mem.folioNrPages(head);
  const refs = new Int32Array(nr);
  for (let i = 0; i < nr; i++) refs[i] = mem.mapcountOf(head + i);
  mem.splitFolioTo0(head, refs);
  // Every subpage is now a folio of its own: later steps name it by its own pfn.
  for (let i = 0; i < nr; i++) k.fp.write('folio', head + i);
  for (let i = 0; i < nr; i++) {
    if (refs[i] === 0) {
      // A subpage nobody maps any more is freed with the split.
      mem.setRefcount(head + i, 1);
      mem.putRefs(head + i, 1);
    }
  }
  k.vmstat.mod('thp_split_page', 1);
  k.note(`split_huge_page pfn ${head}: ${nr} small folios`);
  return 0;
}
