// Real kernel names that pinlab does not model. A scenario that names one is told so, rather than
// "unknown" with a did-you-mean that points at a different call (mremap → munmap, MADV_PAGEOUT →
// MADV_DONTNEED). docs/scenarios.md#errors.

/** System calls and kernel functions a scenario might reach for, with what they do. */
export const NOT_MODELLED_OPS: Readonly<Record<string, string>> = {
  mremap: 'moving or resizing a mapping',
  mlock: 'locking pages in memory', mlock2: 'locking pages in memory', munlock: 'unlocking pages',
  mlockall: 'locking an address space', munlockall: 'unlocking an address space',
  msync: 'writing back a file mapping', mincore: 'residency of pages',
  userfaultfd: 'user-space page fault handling', process_madvise: 'madvise on another process',
  mbind: 'NUMA memory policy', set_mempolicy: 'NUMA memory policy', move_pages: 'moving pages between NUMA nodes',
  remap_file_pages: 'nonlinear file mappings', pkey_mprotect: 'memory protection keys',
  memfd_create: 'anonymous files (create_file with fs: tmpfs is the model\'s shmem file)',
  shmget: 'System V shared memory', shmat: 'System V shared memory',
  fallocate: 'preallocating file blocks', sendfile: 'in-kernel file copies', copy_file_range: 'in-kernel file copies',
  tee: 'duplicating pipe contents', readahead: 'page-cache readahead', posix_fadvise: 'page-cache advice',
  io_uring_enter: 'submitting io_uring SQEs (io_uring_read_fixed/io_uring_write_fixed stand for them)',
  get_user_pages_locked: 'GUP with the caller dropping mmap_lock', pin_user_pages_locked: 'GUP with the caller dropping mmap_lock',
  get_user_pages_longterm: 'the pre-5.2 long-term GUP call (FOLL_LONGTERM on get_user_pages is the model\'s)',
  ksm: 'same-page merging', swapoff: 'swap', swapon: 'swap', compact_memory: 'memory compaction',
};

/** Constants of calls the model has, for values it does not. */
export const NOT_MODELLED_CONSTANTS: Readonly<Record<string, string>> = {
  MADV_FREE: 'lazy freeing', MADV_COLD: 'deactivating pages', MADV_PAGEOUT: 'reclaiming a range',
  MADV_POPULATE_READ: 'prefaulting', MADV_POPULATE_WRITE: 'prefaulting', MADV_WILLNEED: 'readahead', MADV_REMOVE: 'punching holes',
  MADV_SEQUENTIAL: 'readahead hints', MADV_RANDOM: 'readahead hints', MADV_MERGEABLE: 'KSM', MADV_UNMERGEABLE: 'KSM',
  MADV_HWPOISON: 'injecting memory errors (memory_failure is the model\'s)', MADV_SOFT_OFFLINE: 'soft-offlining pages',
  MADV_COLLAPSE: 'collapsing into a THP', MADV_DONTDUMP: 'core dumps', MADV_DODUMP: 'core dumps', MADV_GUARD_INSTALL: 'guard regions',
  MAP_LOCKED: 'mlock at mmap', MAP_GROWSDOWN: 'stack mappings', MAP_STACK: 'stack mappings', MAP_FIXED_NOREPLACE: 'placement without replacing',
  MAP_32BIT: 'low mappings', MAP_SYNC: 'DAX synchronous faults', MAP_UNINITIALIZED: 'uninitialised anonymous memory',
  MREMAP_MAYMOVE: 'mremap', MREMAP_FIXED: 'mremap', MREMAP_DONTUNMAP: 'mremap',
  MCL_CURRENT: 'mlockall', MCL_FUTURE: 'mlockall', MLOCK_ONFAULT: 'mlock2',
};

/** "'X' is not modelled: ..." for a real kernel name pinlab does not model, or null. */
export function notModelled(name: string, kind: 'operation' | 'name'): string | null {
  const table = kind === 'operation' ? NOT_MODELLED_OPS : NOT_MODELLED_CONSTANTS;
  if (!Object.hasOwn(table, name)) return null;
  return `${kind} '${name}' is not modelled: a real kernel ${kind === 'operation' ? 'call' : 'constant'} (${table[name]}) `
    + 'that pinlab does not model; `pinlab ops` lists what it models';
}
