// User-space loads and stores: the CPU walks the page table and faults like the kernel's
// page-fault handler (arch/x86/mm/fault.c access_error(), then handle_mm_fault()).

import type { Kernel } from '../kernel.js';
import { EFAULT, ENOMEM, HPAGE_PMD_SIZE, PAGE_SIZE } from '../include/uapi.js';
import { handle_mm_fault } from './fault.js';
import type { Mm } from './mm.js';
import { PTE_DIRTY, PTE_WRITE, PTE_YOUNG, VM_EXEC, VM_READ, VM_WRITE, FAULT_FLAG_WRITE, VM_FAULT_ERROR, VM_FAULT_OOM } from '../include/linux/mm.js';

/** The PFN a user access at addr reaches after any fault, or -EFAULT (SIGSEGV/SIGBUS) / -ENOMEM (OOM). */
export function userAccess(k: Kernel, mm: Mm, addr: number, write: boolean): number {
  // Footprint: find_vma() reads the VMA tree and the walk reads the page table; setting a clean
  // PTE's dirty bit writes it (writeback and zap read PTE_DIRTY). PTE_YOUNG is read by nothing.
  const vma = mm.find_vma(k, addr);
  if (!vma) return -EFAULT;
  const need = write ? VM_WRITE : VM_READ | VM_WRITE | VM_EXEC;
  if (!(vma.flags & need)) return -EFAULT;
  for (let tries = 0; tries < 4; tries++) {
    const pmd = vma.pmd_get(k, addr);
    if (pmd && (!write || pmd.bits & PTE_WRITE)) {
      vma.pmd_set_bits(k, Math.floor(addr / HPAGE_PMD_SIZE), PTE_YOUNG | (write ? PTE_DIRTY : 0));
      return pmd.pfn + Math.floor((addr % (512 * PAGE_SIZE)) / PAGE_SIZE);
    }
    const i = vma.idx(addr);
    if (!pmd && vma.ptep_get(k, i) >= 0 && (!write || vma.ptep_get_bits(k, i) & PTE_WRITE)) {
      vma.ptep_set_bits(k, i, PTE_YOUNG | (write ? PTE_DIRTY : 0));
      return vma.ptep_get(k, i);
    }
    const r = handle_mm_fault(k, vma, addr, write ? FAULT_FLAG_WRITE : 0);
    if (r & VM_FAULT_OOM) return -ENOMEM;
    if (r & VM_FAULT_ERROR) return -EFAULT;
  }
  return -EFAULT;
}

/**
 * The page a kernel read of user memory (copy_from_user()) reaches, or -EFAULT / -ENOMEM. On x86
 * the CPU's load faults like a user load (userAccess()). User-Mode Linux walks the page table in
 * software (arch/um/kernel/skas/uaccess.c maybe_map()): a present PTE is used whatever the VMA
 * allows, and only a missing one goes to the fault handler (machine uml_uaccess).
 */
export function uaccessRead(k: Kernel, mm: Mm, addr: number): number {
  if (k.machine.umUaccess) {
    const vma = mm.find_vma(k, addr);
    if (vma) {
      const pmd = vma.pmd_get(k, addr);
      if (pmd) return pmd.pfn + Math.floor((addr % (512 * PAGE_SIZE)) / PAGE_SIZE);
      const pfn = vma.ptep_get(k, vma.idx(addr));
      if (pfn >= 0) return pfn;
    }
  }
  return userAccess(k, mm, addr, false);
}

/** Store `value` (a content token) into every page of [addr, addr+length). Returns 0 or -errno. */
export function userWrite(k: Kernel, mm: Mm, addr: number, length: number, value: number): number {
  const end = addr + Math.max(length, 1);
  for (let a = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE; a < end; a += PAGE_SIZE) {
    const pfn = userAccess(k, mm, a, true);
    if (pfn < 0) return pfn;
    k.mem.setContent(pfn, value >>> 0);
    k.fp.write('folio', k.mem.head(pfn));
  }
  return 0;
}

/** Load the content token of the page at addr, or -errno. */
export function userRead(k: Kernel, mm: Mm, addr: number): number {
  const pfn = userAccess(k, mm, addr, false);
  if (pfn < 0) return pfn;
  k.fp.read('folio', k.mem.head(pfn));
  return k.mem.contentOf(pfn);
}

/**
 * What addr maps right now without faulting: the PFN, or -1. An operation passes its kernel `k`:
 * the walk reads the VMA tree and the page table, also when it finds nothing (footprint).
 */
export function translate(mm: Mm, addr: number, k?: Kernel): number {
  const vma = k ? mm.find_vma(k, addr) : mm.peekVma(addr);
  if (!vma) return -1;
  const pmd = k ? vma.pmd_get(k, addr) : vma.peekPmd(addr);
  if (pmd) return pmd.pfn + Math.floor((addr % (512 * PAGE_SIZE)) / PAGE_SIZE);
  return k ? vma.ptep_get(k, vma.idx(addr)) : vma.peekPte(vma.idx(addr));
}
