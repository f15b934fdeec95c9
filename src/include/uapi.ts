// Constants with the kernel's names and values, for the model and for scenario expressions.

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const HPAGE_PMD_ORDER = 9; // x86-64: PMD_SHIFT 21 - PAGE_SHIFT 12
export const HPAGE_PMD_NR = 1 << HPAGE_PMD_ORDER;
export const HPAGE_PMD_SIZE = HPAGE_PMD_NR * PAGE_SIZE;
/** include/linux/page_ref.h: GUP_PIN_COUNTING_BIAS */
export const GUP_PIN_COUNTING_BIAS = 1 << 10;
/** x86-64 TASK_SIZE_MAX with 4-level paging: (1 << 47) - PAGE_SIZE */
export const TASK_SIZE_MAX = 2 ** 47 - PAGE_SIZE;
/** TASK_SIZE of a 64-bit task (arch/x86/include/asm/page_64_types.h): TASK_SIZE_MAX with 4-level paging, 0x7ffffffff000. */
export const TASK_SIZE = TASK_SIZE_MAX;
/** include/linux/fs.h MAX_LFS_FILESIZE on 64-bit: LLONG_MAX. Beyond the model's numbers: any size it can hold is below it. */
export const MAX_LFS_FILESIZE = 2 ** 63 - 1;

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

// include/uapi/asm-generic/mman-common.h
export const PROT_NONE = 0x0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;
/** include/uapi/asm-generic/mman-common.h: accepted by arch_validate_prot(), meaningless on x86 */
export const PROT_SEM = 0x8;
export const PROT_GROWSDOWN = 0x01000000;
export const PROT_GROWSUP = 0x02000000;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
/** include/uapi/linux/mman.h: MAP_SHARED with flag validation (file mappings only) */
export const MAP_SHARED_VALIDATE = 0x03;
/** include/uapi/linux/mman.h MAP_TYPE */
export const MAP_TYPE = 0x0f;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_HUGETLB = 0x40000;
export const MADV_NORMAL = 0;
export const MADV_DONTNEED = 4;
export const MADV_DONTFORK = 10;
export const MADV_DOFORK = 11;
export const MADV_HUGEPAGE = 14;
export const MADV_NOHUGEPAGE = 15;
export const MADV_WIPEONFORK = 18;
export const MADV_KEEPONFORK = 19;

// include/uapi/asm-generic/errno-base.h, errno.h
export const EPERM = 1;
export const EACCES = 13;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const EINVAL = 22;
export const EFBIG = 27;
export const ENOSPC = 28;
export const ESPIPE = 29;
export const EPIPE = 32;
export const EOVERFLOW = 75;
export const ENOBUFS = 105;
export const EOPNOTSUPP = 95;
export const EREMOTEIO = 121;
export const EHWPOISON = 133;
/** include/linux/errno.h: an async I/O was queued (kernel-internal) */
export const EIOCBQUEUED = 529;
/** internal to mm/gup.c: follow_page_mask() asks for an unshare fault */
export const EMLINK = 31;

export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  [EPERM]: 'EPERM', [EACCES]: 'EACCES', [ENOENT]: 'ENOENT', [ESRCH]: 'ESRCH', [ENXIO]: 'ENXIO', [EBADF]: 'EBADF',
  [ENOBUFS]: 'ENOBUFS', [EINTR]: 'EINTR', [EIO]: 'EIO', [EAGAIN]: 'EAGAIN',
  [ENOMEM]: 'ENOMEM', [EFAULT]: 'EFAULT', [EBUSY]: 'EBUSY', [EEXIST]: 'EEXIST', [EINVAL]: 'EINVAL',
  [EFBIG]: 'EFBIG', [ENOSPC]: 'ENOSPC', [EOVERFLOW]: 'EOVERFLOW', [EOPNOTSUPP]: 'EOPNOTSUPP', [EREMOTEIO]: 'EREMOTEIO',
  [EHWPOISON]: 'EHWPOISON', [EMLINK]: 'EMLINK', [EIOCBQUEUED]: 'EIOCBQUEUED', [ESPIPE]: 'ESPIPE', [EPIPE]: 'EPIPE',
};

/** Render a kernel return value: negative numbers in errno range become "-EFAULT". */
export function errnoString(v: number): string {
  if (v < 0 && v >= -4095) return `-${ERRNO_NAMES[-v] ?? `E${-v}`}`;
  return String(v);
}

const FOLL_NAMES: ReadonlyArray<[string, number]> = [
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

/** Every named constant, for scenario expressions ("FOLL_WRITE|FOLL_LONGTERM", "-EFAULT", "PAGE_SIZE*4"). */
export const CONSTANTS: Readonly<Record<string, number>> = {
  PAGE_SIZE, PAGE_SHIFT, HPAGE_PMD_NR, HPAGE_PMD_SIZE, GUP_PIN_COUNTING_BIAS,
  ...Object.fromEntries(FOLL_NAMES),
  PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC, PROT_SEM, PROT_GROWSDOWN, PROT_GROWSUP,
  MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE, MAP_FIXED, MAP_ANONYMOUS, MAP_NORESERVE, MAP_POPULATE, MAP_HUGETLB,
  MADV_NORMAL, MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
  MADV_WIPEONFORK, MADV_KEEPONFORK,
  ...Object.fromEntries(Object.entries(ERRNO_NAMES).map(([n, name]) => [name, Number(n)])),
};
