// memory_failure() (mm/memory-failure.c) reduced to what GUP sees: the poisoned page is unmapped
// everywhere, its PTEs become hwpoison entries, and it is never freed. Later faults on those
// entries return VM_FAULT_HWPOISON, which GUP reports as -EHWPOISON with FOLL_HWPOISON and
// -EFAULT without (faultin_page() / vm_fault_to_errno()).

import type { Kernel } from '../kernel.js';
import { HPAGE_PMD_SIZE, PAGE_SIZE } from '../include/uapi.js';
import { split_huge_pmd } from './pgtable.js';
import { PG_hwpoison } from '../mm/page-flags.js';
import { PTE_HWPOISON_ENTRY } from '../include/linux/mm.js';
import { tasks } from './mm.js';

export function memory_failure(k: Kernel, pfn: number): number {
  const mem = k.mem;
  const head = mem.head(pfn);
  if (mem.flagsOf(pfn) & PG_hwpoison) return 0;
  if (mem.isFree(pfn) || mem.isZeroPfn(pfn)) return -16; // -EBUSY: nothing the model can take offline
  mem.set(pfn, PG_hwpoison);
  mem.refAdd(head, 1); // the poisoned page is held forever (it never returns to the allocator)
  k.note(`memory_failure: pfn ${pfn} poisoned`);
  for (const t of tasks(k).values()) {
    for (const v of t.mm.rmapVmas(k)) {
      for (const [b, e] of [...v.pmdLeaves(k)]) {
        if (pfn >= e.pfn && pfn < e.pfn + mem.folioNrPages(e.pfn)) split_huge_pmd(k, v, b * HPAGE_PMD_SIZE);
      }
      // The rmap walk reads each page table, also where the page is not mapped.
      for (let i = v.ptesFind(k, 0, pfn, pfn + 1); i >= 0; i = v.ptesFind(k, i + 1, pfn, pfn + 1)) {
        // try_to_unmap(TTU_HWPOISON): the PTE becomes a hwpoison entry.
        v.set_pte_at(k, i, PTE_HWPOISON_ENTRY, 0);
        mem.mapcountAdd(pfn, -1);
        mem.putRefs(head, 1);
        k.note(`memory_failure: unmapped ${t.name}:0x${(v.start + i * PAGE_SIZE).toString(16)}`);
      }
    }
  }
  return 0;
}
