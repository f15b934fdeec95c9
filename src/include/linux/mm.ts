// include/linux/mm.h, include/linux/mm_types.h: the mm constants every layer shares (vm_flags,
// the model's PTE bits, fault flags and results, FOLL_* and the pin bias). Constants only: no
// imports, so any module may include it.

// include/linux/mm.h vm_flags values
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_PFNMAP = 0x400;
export const VM_LOCKED = 0x2000;
export const VM_IO = 0x4000;
export const VM_DONTCOPY = 0x20000;
export const VM_DONTEXPAND = 0x40000;
export const VM_ACCOUNT = 0x100000;
export const VM_NORESERVE = 0x200000;
export const VM_HUGETLB = 0x400000;
export const VM_WIPEONFORK = 0x2000000;
export const VM_MIXEDMAP = 0x10000000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;

// PTE bits of the model (x86 names)
export const PTE_PRESENT = 1 << 0;
export const PTE_WRITE = 1 << 1;
export const PTE_DIRTY = 1 << 2;
export const PTE_YOUNG = 1 << 3;
/** pte_special(): no struct page behind it as far as vm_normal_page() is concerned (zero page). */
export const PTE_SPECIAL = 1 << 4;

/** A non-present entry left by memory_failure() (a hwpoison swap entry): not none, not a page. */
export const PTE_HWPOISON_ENTRY = -2;

// include/linux/mm_types.h enum fault_flag
export const FAULT_FLAG_WRITE = 1 << 0;
export const FAULT_FLAG_RETRY_NOWAIT = 1 << 3;
export const FAULT_FLAG_REMOTE = 1 << 7;
export const FAULT_FLAG_UNSHARE = 1 << 10;
// include/linux/mm_types.h enum vm_fault_reason
export const VM_FAULT_OOM = 0x000001;
export const VM_FAULT_SIGBUS = 0x000002;
export const VM_FAULT_MAJOR = 0x000004;
export const VM_FAULT_HWPOISON = 0x000010;
export const VM_FAULT_SIGSEGV = 0x000040;
export const VM_FAULT_RETRY = 0x000400;
export const VM_FAULT_FALLBACK = 0x000800;
export const VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_HWPOISON;

/** include/linux/page_ref.h: GUP_PIN_COUNTING_BIAS */
export const GUP_PIN_COUNTING_BIAS = 1 << 10;

// include/linux/mm_types.h: enum { FOLL_WRITE = 1 << 0, ... } (caller-visible, since ~v6.2)
export const FOLL_WRITE = 1 << 0;
export const FOLL_GET = 1 << 1;
export const FOLL_DUMP = 1 << 2;
export const FOLL_FORCE = 1 << 3;
export const FOLL_NOWAIT = 1 << 4;
export const FOLL_NOFAULT = 1 << 5;
export const FOLL_HWPOISON = 1 << 6;
export const FOLL_ANON = 1 << 7;
export const FOLL_LONGTERM = 1 << 8;
export const FOLL_SPLIT_PMD = 1 << 9;
export const FOLL_PCI_P2PDMA = 1 << 10;
export const FOLL_INTERRUPTIBLE = 1 << 11;
export const FOLL_HONOR_NUMA_FAULT = 1 << 12;
// mm/internal.h: internal-only flags (__FOLL_TOUCH = 16 ...)
export const FOLL_TOUCH = 1 << 16;
export const FOLL_TRIED = 1 << 17;
export const FOLL_REMOTE = 1 << 18;
export const FOLL_PIN = 1 << 19;
export const FOLL_FAST_ONLY = 1 << 20;
export const FOLL_UNLOCKABLE = 1 << 21;
export const FOLL_MADV_POPULATE = 1 << 22;
/** mm/internal.h: INTERNAL_GUP_FLAGS */
export const INTERNAL_GUP_FLAGS =
  FOLL_TOUCH | FOLL_TRIED | FOLL_REMOTE | FOLL_PIN | FOLL_FAST_ONLY | FOLL_UNLOCKABLE | FOLL_MADV_POPULATE;

export const FOLL_NAMES: ReadonlyArray<[string, number]> = [
  ['FOLL_WRITE', FOLL_WRITE], ['FOLL_GET', FOLL_GET], ['FOLL_DUMP', FOLL_DUMP], ['FOLL_FORCE', FOLL_FORCE],
  ['FOLL_NOWAIT', FOLL_NOWAIT], ['FOLL_NOFAULT', FOLL_NOFAULT], ['FOLL_HWPOISON', FOLL_HWPOISON],
  ['FOLL_ANON', FOLL_ANON], ['FOLL_LONGTERM', FOLL_LONGTERM], ['FOLL_SPLIT_PMD', FOLL_SPLIT_PMD],
  ['FOLL_PCI_P2PDMA', FOLL_PCI_P2PDMA], ['FOLL_INTERRUPTIBLE', FOLL_INTERRUPTIBLE],
  ['FOLL_HONOR_NUMA_FAULT', FOLL_HONOR_NUMA_FAULT], ['FOLL_TOUCH', FOLL_TOUCH], ['FOLL_TRIED', FOLL_TRIED],
  ['FOLL_REMOTE', FOLL_REMOTE], ['FOLL_PIN', FOLL_PIN], ['FOLL_FAST_ONLY', FOLL_FAST_ONLY],
  ['FOLL_UNLOCKABLE', FOLL_UNLOCKABLE], ['FOLL_MADV_POPULATE', FOLL_MADV_POPULATE],
];

export function follFlagsString(flags: number): string {
  const parts = FOLL_NAMES.filter(([, bit]) => (flags & bit) !== 0).map(([n]) => n);
  return parts.length ? parts.join('|') : '0';
}
