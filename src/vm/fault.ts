// Page faults (mm/memory.c handle_mm_fault() and friends, mm/huge_memory.c for PMDs).

import type { Kernel } from '../kernel.js';
import { HPAGE_PMD_NR, HPAGE_PMD_ORDER, HPAGE_PMD_SIZE, PAGE_SIZE } from '../include/uapi.js';
import { folio_mark_dirty } from '../mm/page-writeback.js';
import {
  PG_anon, PG_anon_exclusive, PG_lru, PG_swapbacked,
} from '../mm/page-flags.js';
import type { Vma } from './mm.js';
import { mapPage, setPte, split_huge_pmd } from './pgtable.js';
import { gfpNowarn } from '../mm/memory.js';
import { hugetlb_fault } from './hugetlb.js';
import { PTE_DIRTY, PTE_HWPOISON_ENTRY, PTE_PRESENT, PTE_SPECIAL, PTE_WRITE, PTE_YOUNG, VM_HUGETLB, VM_HUGEPAGE, VM_NOHUGEPAGE, VM_WRITE, FAULT_FLAG_WRITE, FAULT_FLAG_RETRY_NOWAIT, FAULT_FLAG_UNSHARE, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_FAULT_MAJOR, VM_FAULT_HWPOISON, VM_FAULT_RETRY, VM_FAULT_FALLBACK } from '../include/linux/mm.js';
import { tasks } from './mm.js';

/**
 * Anonymous folio setup shared by every anon allocation path (folio_add_new_anon_rmap()). Large
 * folios are allocated with vma_thp_gfp_mask() (mm/huge_memory.c; GFP_TRANSHUGE_LIGHT includes
 * __GFP_NOWARN): their failure is quiet, the fault falls back to smaller folios.
 */
function newAnonFolio(k: Kernel, vma: Vma, order: number, site: string): number {
  const mem = k.mem;
  const pfn = mem.allocFolio(order > 0 ? gfpNowarn(k.gfpUser()) : k.gfpUser(), order, site);
  if (pfn < 0) return -1;
  mem.set(pfn, PG_anon | PG_swapbacked | PG_lru);
  mem.setMapping(pfn, -1);
  vma.anonVma = true;
  return pfn;
}

function exclusiveBit(k: Kernel): number {
  return k.profile.anonExclusive ? PG_anon_exclusive : 0;
}

/** maybe_mkwrite(): only a VM_WRITE VMA gets a writable entry. */
function mkwrite(vma: Vma): number {
  return vma.flags & VM_WRITE ? PTE_WRITE : 0;
}

/** thp_vma_allowable_order() for anonymous private memory, reduced to the sysfs modes. */
export function thpAllowed(k: Kernel, vma: Vma): boolean {
  if (vma.file || vma.isShared() || vma.flags & (VM_HUGETLB | VM_NOHUGEPAGE)) return false;
  const mode = k.machine.thp;
  return mode === 'always' || (mode === 'madvise' && (vma.flags & VM_HUGEPAGE) !== 0);
}

export function handle_mm_fault(k: Kernel, vma: Vma, addr: number, fflags: number): number {
  // sanitize_fault_flags(): unshare only applies to COW mappings.
  if (fflags & FAULT_FLAG_UNSHARE && !vma.isCowMapping()) fflags &= ~FAULT_FLAG_UNSHARE;
  k.note(`fault ${fflags & FAULT_FLAG_WRITE ? 'write' : fflags & FAULT_FLAG_UNSHARE ? 'unshare' : 'read'} 0x${addr.toString(16)}`);
  if (vma.flags & VM_HUGETLB) return hugetlb_fault(k, vma, addr, fflags);
  const pmd = vma.pmd_get(k, addr);
  if (pmd) {
    if (!(fflags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE))) return 0;
    if (pmd.bits & PTE_WRITE) {
      if (fflags & FAULT_FLAG_WRITE) vma.pmd_set_bits(k, Math.floor(addr / HPAGE_PMD_SIZE), PTE_DIRTY | PTE_YOUNG);
      return 0;
    }
    const r = do_huge_pmd_wp_page(k, vma, addr, fflags);
    if (r !== VM_FAULT_FALLBACK) return r;
  } else if (thpAllowed(k, vma) && vma.pmdFits(addr) &&
    vma.ptesNone(k, Math.floor(addr / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE, HPAGE_PMD_NR)) {
    const r = do_huge_pmd_anonymous_page(k, vma, addr, fflags);
    if (r !== VM_FAULT_FALLBACK) return r;
  }
  return handle_pte_fault(k, vma, addr, fflags);
}

function handle_pte_fault(k: Kernel, vma: Vma, addr: number, fflags: number): number {
  const i = vma.idx(addr);
  const pfn = vma.ptep_get(k, i);
  const write = (fflags & FAULT_FLAG_WRITE) !== 0;
  if (pfn === PTE_HWPOISON_ENTRY) return VM_FAULT_HWPOISON; // do_swap_page() on a hwpoison entry
  if (pfn < 0) return vma.file ? do_fault(k, vma, addr, fflags) : do_anonymous_page(k, vma, addr, write);
  if (fflags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) {
    if (!(vma.ptep_get_bits(k, i) & PTE_WRITE)) return do_wp_page(k, vma, addr, fflags);
    if (write) vma.ptep_set_bits(k, i, PTE_DIRTY); // writeback and zap read PTE_DIRTY
  }
  vma.ptep_set_bits(k, i, PTE_YOUNG);
  return 0;
}

/** Largest enabled mTHP order whose aligned range fits the VMA and is unmapped (alloc_anon_folio()). */
function anonOrders(k: Kernel, vma: Vma, addr: number): number[] {
  if (!thpAllowed(k, vma)) return [0];
  const orders = [...k.machine.mthpOrders].filter((o) => o > 0 && o < HPAGE_PMD_ORDER).sort((a, b) => b - a);
  const out: number[] = [];
  for (const o of orders) {
    const size = PAGE_SIZE << o;
    const base = Math.floor(addr / size) * size;
    if (base >= vma.start && base + size <= vma.end && vma.ptesNone(k, base, 1 << o)) out.push(o);
  }
  out.push(0);
  return out;
}

/** do_anonymous_page(): read → the zero page; write → a new zeroed, exclusive folio. */
function do_anonymous_page(k: Kernel, vma: Vma, addr: number, write: boolean): number {
  const mem = k.mem;
  if (!write && !k.machine.forbidsZeropage) {
    // A special PTE: no folio, no mapcount, no reference (R39, R67).
    setPte(k, vma, addr, mem.zeroPfnFor(addr), PTE_PRESENT | PTE_SPECIAL | PTE_YOUNG);
    return 0;
  }
  let pfn = -1;
  let order = 0;
  for (const o of anonOrders(k, vma, addr)) {
    pfn = newAnonFolio(k, vma, o, o > 0 ? 'alloc_anon_folio' : 'do_anonymous_page');
    if (pfn >= 0) {
      order = o;
      break;
    }
  }
  if (pfn < 0) return VM_FAULT_OOM;
  const nr = 1 << order;
  const base = Math.floor(addr / (PAGE_SIZE * nr)) * PAGE_SIZE * nr;
  if (nr > 1) mem.refAdd(pfn, nr - 1); // one reference per PTE
  const bits = PTE_YOUNG | PTE_DIRTY | (write ? mkwrite(vma) : 0);
  for (let j = 0; j < nr; j++) {
    mapPage(k, vma, base + j * PAGE_SIZE, pfn + j, bits);
    mem.set(pfn + j, exclusiveBit(k));
  }
  if (order > 0) k.note(`mTHP order ${order} at pfn ${pfn}`);
  return 0;
}

/** vma_wants_writenotify(): shared writable mappings whose file needs dirty tracking start read-only. */
export function wantsWritenotify(vma: Vma): boolean {
  const f = vma.file;
  return !!f && vma.isShared() && (vma.flags & VM_WRITE) !== 0 && (vma.vm_ops?.page_mkwrite !== undefined || f.fstype.writeback);
}

/** do_read_fault() / do_cow_fault() / do_shared_fault(). */
function do_fault(k: Kernel, vma: Vma, addr: number, fflags: number): number {
  const file = vma.file!;
  const mem = k.mem;
  const index = vma.fileIndex(addr);
  // i_size: the getter records the read also when the fault fails (a truncate must conflict)
  if (index * PAGE_SIZE >= Math.ceil(file.size / PAGE_SIZE) * PAGE_SIZE) return VM_FAULT_SIGBUS; // beyond EOF
  const { pfn, major } = vma.vm_ops!.fault(k, file, index);
  if (pfn < 0) return VM_FAULT_OOM;
  if (major && fflags & FAULT_FLAG_RETRY_NOWAIT) return VM_FAULT_RETRY; // I/O started, not waited for
  const done = major ? VM_FAULT_MAJOR : 0;
  const write = (fflags & FAULT_FLAG_WRITE) !== 0;
  if (write && !vma.isShared()) {
    // do_cow_fault(): a private copy of the page-cache page.
    const np = newAnonFolio(k, vma, 0, 'do_cow_fault');
    if (np < 0) return VM_FAULT_OOM;
    mem.setContent(np, mem.contentOf(pfn));
    mapPage(k, vma, addr, np, PTE_YOUNG | PTE_DIRTY | mkwrite(vma));
    mem.set(np, exclusiveBit(k));
    return done;
  }
  mem.refAdd(pfn, 1);
  if (write) {
    // do_shared_fault(): ->page_mkwrite, then a writable dirty PTE and a dirty folio.
    vma.vm_ops!.page_mkwrite?.(k, file, pfn);
    mapPage(k, vma, addr, pfn, PTE_YOUNG | PTE_DIRTY | PTE_WRITE);
    folio_mark_dirty(k, pfn);
    return done;
  }
  const writable = vma.isShared() && (vma.flags & VM_WRITE) !== 0 && !wantsWritenotify(vma);
  mapPage(k, vma, addr, pfn, PTE_YOUNG | (writable ? PTE_WRITE : 0));
  return done;
}

/**
 * Can the faulting mm reuse this anonymous page in place? (mm/memory.c wp_can_reuse_anon_folio();
 * before v5.8 reuse_swap_page() decided by mapcount.)
 */
function wp_can_reuse_anon_folio(k: Kernel, vma: Vma, head: number, pfn: number): boolean {
  const mem = k.mem;
  if (!k.profile.cowReuseByRefcount) return mem.mapcountOf(pfn) + mem.entireMapcount(head) === 1;
  if (!mem.isLarge(head)) return mem.ref(head) === 1;
  // Large folio: every reference is a mapping, and all mappings belong to this mm.
  if (mem.ref(head) !== mem.folioMapRefs(head)) return false;
  return mappedOnlyBy(k, head, vma.mm.id);
}

function mappedOnlyBy(k: Kernel, head: number, mmId: number): boolean {
  const nr = k.mem.folioNrPages(head);
  for (const t of tasks(k).values()) {
    if (t.mm.id === mmId || t.exited) continue;
    for (const v of t.mm.vmaList(k)) {
      for (const e of v.pmdLeaves(k).values()) if (e.pfn === head) return false;
      if (v.ptesFind(k, 0, head, head + nr) >= 0) return false;
    }
  }
  return true;
}

/** do_wp_page(): write or unshare fault on a present, read-only PTE. */
function do_wp_page(k: Kernel, vma: Vma, addr: number, fflags: number): number {
  const mem = k.mem;
  const i = vma.idx(addr);
  const pfn = vma.ptep_get(k, i);
  const unshare = (fflags & FAULT_FLAG_UNSHARE) !== 0;
  if (vma.ptep_get_bits(k, i) & PTE_SPECIAL) return wp_page_copy(k, vma, addr, unshare);
  const head = mem.head(pfn);
  if (vma.isShared()) {
    // wp_page_shared(): no COW in shared mappings; the filesystem is told first.
    if (vma.file) vma.vm_ops?.page_mkwrite?.(k, vma.file, head);
    vma.ptep_set_bits(k, i, PTE_WRITE | PTE_DIRTY | PTE_YOUNG); // the PTE became writable: GUP-fast reads that
    folio_mark_dirty(k, head);
    return 0;
  }
  if (mem.test(head, PG_anon)) {
    const exclusive = k.profile.anonExclusive && (mem.flagsOf(pfn) & PG_anon_exclusive) !== 0;
    if (exclusive || wp_can_reuse_anon_folio(k, vma, head, pfn)) {
      mem.set(pfn, exclusiveBit(k));
      k.fp.write('folio', head);
      if (unshare) return 0; // unshare never grants write access
      vma.ptep_set_bits(k, i, PTE_DIRTY | PTE_YOUNG | mkwrite(vma));
      return 0;
    }
  }
  return wp_page_copy(k, vma, addr, unshare);
}

/** wp_page_copy(): a new exclusive anonymous page, zero-filled or copied; read-only for unshare. */
function wp_page_copy(k: Kernel, vma: Vma, addr: number, unshare: boolean): number {
  const mem = k.mem;
  const i = vma.idx(addr);
  const old = vma.ptep_get(k, i);
  const oldSpecial = (vma.ptep_get_bits(k, i) & PTE_SPECIAL) !== 0;
  const np = newAnonFolio(k, vma, 0, 'wp_page_copy');
  if (np < 0) return VM_FAULT_OOM;
  mem.setContent(np, oldSpecial ? 0 : mem.contentOf(old));
  k.note(`${unshare ? 'unshare' : 'COW'} 0x${addr.toString(16)}: pfn ${old} -> ${np}`);
  if (!oldSpecial) {
    const oh = mem.head(old);
    mem.mapcountAdd(old, -1);
    mem.putRefs(oh, 1);
  }
  vma.pte_clear(k, i);
  mapPage(k, vma, addr, np, PTE_YOUNG | (unshare ? 0 : PTE_DIRTY | mkwrite(vma)));
  mem.set(np, exclusiveBit(k));
  return 0;
}

/** do_huge_pmd_anonymous_page(): the huge zero folio for reads, a new THP for writes. */
function do_huge_pmd_anonymous_page(k: Kernel, vma: Vma, addr: number, fflags: number): number {
  const mem = k.mem;
  const block = Math.floor(addr / HPAGE_PMD_SIZE);
  vma.anonVma = true; // vmf_anon_prepare() comes before the huge-zero branch, so fork copies this PMD
  if (!(fflags & FAULT_FLAG_WRITE) && k.machine.useHugeZeroPage && !k.machine.forbidsZeropage) {
    const hz = mem.hugeZeroFolio();
    if (hz < 0) return VM_FAULT_FALLBACK;
    vma.set_pmd_at(k, block, hz, PTE_PRESENT | PTE_YOUNG | (k.profile.hugeZeroPmdSpecial ? PTE_SPECIAL : 0));
    return 0;
  }
  const pfn = newAnonFolio(k, vma, HPAGE_PMD_ORDER, 'do_huge_pmd_anonymous_page');
  if (pfn < 0) return VM_FAULT_FALLBACK;
  k.vmstat.mod('thp_fault_alloc', 1);
  mem.entireMapcountAdd(pfn, 1);
  mem.set(pfn, exclusiveBit(k));
  vma.set_pmd_at(k, block, pfn, PTE_PRESENT | PTE_YOUNG | PTE_DIRTY | mkwrite(vma));
  return 0;
}

/** do_huge_pmd_wp_page(): reuse an exclusive THP; replace the huge zero folio; otherwise split and fall back. */
function do_huge_pmd_wp_page(k: Kernel, vma: Vma, addr: number, fflags: number): number {
  const mem = k.mem;
  const block = Math.floor(addr / HPAGE_PMD_SIZE);
  const e = vma.pmdLeaves(k).get(block)!;
  const unshare = (fflags & FAULT_FLAG_UNSHARE) !== 0;
  if (mem.isHugeZero(e.pfn)) {
    // do_huge_zero_wp_pmd(): a fresh THP, else split into zero-page PTEs.
    const pfn = newAnonFolio(k, vma, HPAGE_PMD_ORDER, 'do_huge_zero_wp_pmd');
    if (pfn < 0) {
      split_huge_pmd(k, vma, addr);
      return VM_FAULT_FALLBACK;
    }
    mem.entireMapcountAdd(pfn, 1);
    mem.set(pfn, exclusiveBit(k));
    vma.set_pmd_at(k, block, pfn, PTE_PRESENT | PTE_YOUNG | (unshare ? 0 : PTE_DIRTY | mkwrite(vma)));
    return 0;
  }
  const head = e.pfn;
  const exclusive = k.profile.anonExclusive && (mem.flagsOf(head) & PG_anon_exclusive) !== 0;
  const reusable = k.profile.cowReuseByRefcount ? mem.ref(head) === 1 : mem.folioMapRefs(head) === 1;
  if (exclusive || reusable) {
    mem.set(head, exclusiveBit(k));
    k.fp.write('folio', head);
    if (!unshare) vma.pmd_set_bits(k, block, PTE_DIRTY | PTE_YOUNG | mkwrite(vma));
    return 0;
  }
  split_huge_pmd(k, vma, addr);
  return VM_FAULT_FALLBACK;
}
