// Constants with the kernel's names and values, for the model and for scenario expressions.


export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const HPAGE_PMD_ORDER = 9; // x86-64: PMD_SHIFT 21 - PAGE_SHIFT 12
export const HPAGE_PMD_NR = 1 << HPAGE_PMD_ORDER;
export const HPAGE_PMD_SIZE = HPAGE_PMD_NR * PAGE_SIZE;
/** x86-64 TASK_SIZE_MAX with 4-level paging: (1 << 47) - PAGE_SIZE */
export const TASK_SIZE_MAX = 2 ** 47 - PAGE_SIZE;
/** TASK_SIZE of a 64-bit task (arch/x86/include/asm/page_64_types.h): TASK_SIZE_MAX with 4-level paging, 0x7ffffffff000. */
export const TASK_SIZE = TASK_SIZE_MAX;
/** include/linux/fs.h MAX_LFS_FILESIZE on 64-bit: LLONG_MAX. Beyond the model's numbers: any size it can hold is below it. */
export const MAX_LFS_FILESIZE = 2 ** 63 - 1;

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
/** "Not a typewriter": vfs_ioctl() for a command the file does not know */
export const ENOTTY = 25;
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
  [EHWPOISON]: 'EHWPOISON', [EMLINK]: 'EMLINK', [EIOCBQUEUED]: 'EIOCBQUEUED', [ESPIPE]: 'ESPIPE', [EPIPE]: 'EPIPE', [ENOTTY]: 'ENOTTY',
};

/** Render a kernel return value: negative numbers in errno range become "-EFAULT". */
export function errnoString(v: number): string {
  if (v < 0 && v >= -4095) return `-${ERRNO_NAMES[-v] ?? `E${-v}`}`;
  return String(v);
}

// include/uapi/asm-generic/fcntl.h (x86-64 values)
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_TRUNC = 0o1000;
export const O_NONBLOCK = 0o4000;
export const O_DIRECT = 0o40000;
export const O_CLOEXEC = 0o2000000;
export const O_ACCMODE = 0o3;
