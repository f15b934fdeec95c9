// Per-page flag bits of the model (include/linux/page-flags.h names; bit values are the model's own).

export const PG_locked = 1 << 0;
export const PG_dirty = 1 << 1;
export const PG_writeback = 1 << 2;
/** folio->private is set: buffer heads or other fs data are attached. */
export const PG_private = 1 << 3;
export const PG_uptodate = 1 << 4;
export const PG_lru = 1 << 5;
/** Per page, not per folio: include/linux/page-flags.h PageAnonExclusive(). */
export const PG_anon_exclusive = 1 << 6;
export const PG_head = 1 << 7;
/** Part of a large folio but not its head (the kernel encodes this in compound_head). */
export const PG_tail = 1 << 8;
export const PG_reserved = 1 << 9;
/** Free in the buddy allocator (PageBuddy). */
export const PG_buddy = 1 << 10;
/** folio_test_anon(): the kernel encodes it in the low bit of folio->mapping. */
export const PG_anon = 1 << 11;
export const PG_hugetlb = 1 << 12;
/** One of the shared zero pages (is_zero_pfn()). */
export const PG_zero = 1 << 13;
/** The huge zero folio (is_huge_zero_folio()). */
export const PG_huge_zero = 1 << 14;
export const PG_swapbacked = 1 << 15;
export const PG_referenced = 1 << 16;
export const PG_active = 1 << 17;
/** Stand-in for a pageblock of migratetype MIGRATE_ISOLATE (not long-term pinnable). */
export const PG_isolated_block = 1 << 18;
export const PG_device_coherent = 1 << 19;
export const PG_fsdax = 1 << 20;
export const PG_p2pdma = 1 << 21;
export const PG_hwpoison = 1 << 22;
export const PG_secretmem = 1 << 23;

/** Flags that describe the folio as a whole and live on the head page. */
export const FOLIO_FLAGS =
  PG_locked | PG_dirty | PG_writeback | PG_private | PG_uptodate | PG_lru | PG_reserved | PG_anon |
  PG_hugetlb | PG_zero | PG_huge_zero | PG_swapbacked | PG_referenced | PG_active | PG_device_coherent |
  PG_fsdax | PG_p2pdma | PG_secretmem;

const NAMES: ReadonlyArray<[string, number]> = [
  ['locked', PG_locked], ['dirty', PG_dirty], ['writeback', PG_writeback], ['private', PG_private],
  ['uptodate', PG_uptodate], ['lru', PG_lru], ['anon_exclusive', PG_anon_exclusive], ['head', PG_head],
  ['tail', PG_tail], ['reserved', PG_reserved], ['buddy', PG_buddy], ['anon', PG_anon], ['hugetlb', PG_hugetlb],
  ['zero', PG_zero], ['huge_zero', PG_huge_zero], ['swapbacked', PG_swapbacked], ['referenced', PG_referenced],
  ['active', PG_active], ['isolated_block', PG_isolated_block], ['device_coherent', PG_device_coherent],
  ['fsdax', PG_fsdax], ['p2pdma', PG_p2pdma], ['hwpoison', PG_hwpoison], ['secretmem', PG_secretmem],
];

export function pageFlagNames(flags: number): string[] {
  return NAMES.filter(([, b]) => (flags & b) !== 0).map(([n]) => n);
}
