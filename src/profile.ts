// Kernel profiles: one per step of the history. Code asks a profile a question
// (profile.zeroPageNotPinned); it never compares version strings. docs/profiles.md gives the
// commit behind each switch.

export interface Profile {
  readonly name: string;
  readonly description: string;
  /** pin_user_pages*() and unpin_user_page*() exist (v5.6: "mm/gup: introduce pin_user_pages*() and FOLL_PIN"). */
  readonly pinApi: boolean;
  /** FOLL_PIN is tracked: GUP_PIN_COUNTING_BIAS, exact pincount for large folios, vmstat counters (v5.7). */
  readonly pinTracking: boolean;
  /** Smallest folio order with a separate _pincount (5.7: hpage_pinned_refcount in page[2] → order ≥ 2; v5.18 (5232c63f46fd): order ≥ 1). */
  readonly pincountMinOrder: number;
  /** put_user_page(), put_user_pages(), put_user_pages_dirty_lock() exist (v5.2 .. v5.5). */
  readonly putUserPageApi: boolean;
  /** put_user_pages_dirty() and put_user_pages_dirty_lock(pages, n) were separate (v5.2 .. v5.3); later one call with make_dirty. */
  readonly putUserPagesDirtySplit: boolean;
  /** FOLL_LONGTERM exists as a GUP flag (v5.2; before: get_user_pages_longterm()). */
  readonly follLongterm: boolean;
  /** Long-term pins migrate folios out of ZONE_MOVABLE too, not only CMA (v5.13). */
  readonly longtermMigratesMovable: boolean;
  /** Long-term pins migrate folios out of CMA (v5.1 for get_user_pages_longterm on CMA). */
  readonly longtermMigratesCma: boolean;
  /** do_wp_page() reuses an anonymous page only if its refcount is 1 (v5.9, 09854ba94c6a); before, by mapcount. */
  readonly cowReuseByRefcount: boolean;
  /** Fork copies anonymous pages that may be DMA-pinned (v5.9, with mm->has_pinned). */
  readonly forkCopiesMaybePinned: boolean;
  /** GUP-fast FOLL_PIN reads mm->write_protect_seq and backs off if fork overlapped it (v5.11, 57efa1fe5957). */
  readonly gupFastForkSeq: boolean;
  /** PageAnonExclusive and GUP-triggered unshare for R/O FOLL_PIN (v5.19). */
  readonly anonExclusive: boolean;
  /** FOLL_LONGTERM R/O pins in COW mappings unshare page-cache and zero pages too (v6.2). */
  readonly reliableRoLongterm: boolean;
  /** is_valid_gup_args() with its asymmetric invalid return (v6.3). */
  readonly validGupArgs: boolean;
  /** try_grab_folio() returns -ENOMEM / -EREMOTEIO (int) rather than a bool turned into -ENOMEM (v6.2). */
  readonly grabReturnsErrno: boolean;
  /** Reclaim keeps the private data of maybe-pinned folios (v6.4). */
  readonly reclaimKeepsPinnedPrivate: boolean;
  /** The small zero page is never pinned (v6.5, "mm: Don't pin ZERO_PAGE in pin_user_pages()"). */
  readonly zeroPageNotPinned: boolean;
  /** FOLL_LONGTERM|FOLL_WRITE pins of dirty-tracked shared file mappings fail with -EFAULT (v6.5). */
  readonly longtermFileWriteRefused: boolean;
  /** PMD mappings of the huge zero folio are special: GUP-fast leaves them to the slow path (v6.18). */
  readonly hugeZeroPmdSpecial: boolean;
  /** FOLL_FORCE writes follow read-only PTEs via FOLL_COW + pte_dirty (v4.9 .. v5.19); v6.0 checks PageAnonExclusive instead. */
  readonly follCow: boolean;
  /** folio_add_pin() exists (v6.5, for legacy direct I/O); it adds a pin without counting nr_foll_pin_acquired. */
  readonly folioAddPinApi: boolean;
  /** unpin_folio(), unpin_folios() and memfd_pin_folios() exist (v6.11). */
  readonly unpinFolioApi: boolean;
  // ---- block layer, iov_iter, direct I/O, page cache (issue: the users of pins) ----
  /** ITER_UBUF exists (v6.0). */
  readonly iterUbuf: boolean;
  /** ITER_PIPE exists (removed in v6.5 with the splice-read rework). */
  readonly iterPipe: boolean;
  /** ITER_FOLIOQ exists (v6.12). */
  readonly iterFolioq: boolean;
  /** iov_iter_extract_pages() / iov_iter_extract_will_pin() exist (v6.3). */
  readonly iterExtractPages: boolean;
  /** Page extraction from non-user-backed iterators takes no reference (R79: v6.5 merge; rfc-2020 pin_page variant). */
  readonly nonUserIterNoRef: boolean;
  /** bios record BIO_PAGE_PINNED and direct I/O pins user pages (v6.5, "block: Use page pinning"); before, GETs with BIO_NO_PAGE_REF for kernel pages. */
  readonly bioPagePinned: boolean;
  /** BIO_NO_PAGE_REF exists (v5.1 .. v6.4). */
  readonly bioNoPageRef: boolean;
  /** __bio_release_pages() releases unaligned multi-page segments page by page (the ~v6.8 fix; earlier kernels leaked pins). */
  readonly bioReleaseUnalignedFix: boolean;
  /** Legacy fs/direct-io.c pins user pages and uses folio_add_pin() for extra section references (v6.5). */
  readonly legacyDioPins: boolean;
  /** iomap_dio_zero() takes no page reference on the zero page (v6.5); before: ZERO_PAGE(0) plus a GET. */
  readonly iomapZeroNoRef: boolean;
  /** iomap zeroes with largest_zero_folio() (v6.18; the huge zero folio when persistent). */
  readonly iomapLargestZeroFolio: boolean;
  /** splice-read from O_DIRECT files copies through kernel pages (ITER_BVEC) instead of ITER_PIPE (v6.5). */
  readonly spliceReadCopies: boolean;
  /** ext4 WARNs and skips a dirty page without buffers instead of BUG() (v5.18). */
  readonly ext4WarnNoBuffers: boolean;
  /** io_uring coalesces a registered buffer's pages into one bvec per large folio (v6.11 multi-folio; spec R123). */
  readonly ioUringCoalesce: boolean;
  /**
   * Direct I/O buffer alignment is checked when the bio is split at submission (after the pages
   * were pinned), not by iomap before extraction (bdev_iter_is_aligned()); a misaligned buffer
   * pins, fails the bio and unpins before -EINVAL. Seen on this host's 6.18 [version unverified].
   */
  readonly dioAlignCheckAtSubmit: boolean;
  /** A one-segment iovec imports as ITER_UBUF (~v6.4, "iov_iter: convert import_single_range() / import_iovec() single segment"). */
  readonly importIovecUbuf: boolean;
  /** Extraction from ITER_BVEC continues across page-aligned bvecs (v6.13, "don't require contiguous pages"). */
  readonly iterExtractBvecMulti: boolean;
  /** ITER_XARRAY exists (v5.13). */
  readonly iterXarray: boolean;
  /** invalidate_inode_page() checks the refcount before releasing buffers (v5.18, e41c81d0d30e). */
  readonly invalidateChecksRefcount: boolean;
  /** tmpfs supports O_DIRECT (v6.6, "tmpfs: trivial support for direct IO") [version unverified]. */
  readonly tmpfsDirectIO: boolean;
  // ---- drivers (src/drivers/features.ts reads these; its comments give the commits) ----
  /** io_uring registers shmem/memfd buffers (v5.14). */
  readonly ioUringShmemBuffers: boolean;
  /** io_uring charges a huge page once, after pinning (v5.10, de2939388be5). */
  readonly ioUringHugeAcct: boolean;
  /** IORING_MAX_REG_BUFFERS = 1 << 14 (later 5.x); before, UIO_MAXIOV. */
  readonly ioUringManyBuffers: boolean;
  /** A buffer within one folio becomes one bvec with one pin (~v6.4, 57bebf807e2a). */
  readonly ioUringFolioCoalesce: boolean;
  /** The buffer table is installed only after the whole registration succeeded (~v6.15) [version unverified]. */
  readonly ioUringLateTable: boolean;
  /** VFIO type1 unpins zero pages right after GUP (v6.0, 873aefb376bb) until its revert (~v6.9) [version unverified]. */
  readonly vfioUnpinZeroPages: boolean;
  /**
   * OVERCOMMIT_GUESS refuses only a request larger than RAM + swap (v5.2, 8c7829b04c523c "mm: fix
   * false-positive OVERCOMMIT_GUESS failures"); before, it had to fit in what could be freed.
   */
  readonly overcommitGuessTotalram: boolean;
  /** The seed 000 RFC: bio_vec carries pfn + flags (GUP origin) and bvec_put_page*() release by origin. */
  readonly bvecOriginFlags: boolean;
  /** The seed 001 RFC: iov_iter_pin_pages*() and pin_page() for ITER_PIPE in bio direct I/O. */
  readonly iterPinPagesRfc: boolean;
  /** fs-dax folios are not long-term pinnable (v6.15). */
  readonly fsdaxNotLongtermPinnable: boolean;
}

const base: Profile = {
  name: '5.1',
  description: 'get_user_pages() + put_page(): no pin tracking; fork shares GUP-held pages',
  pinApi: false,
  pinTracking: false,
  pincountMinOrder: 2,
  putUserPageApi: false,
  putUserPagesDirtySplit: false,
  follLongterm: false,
  longtermMigratesMovable: false,
  longtermMigratesCma: true,
  cowReuseByRefcount: false,
  forkCopiesMaybePinned: false,
  gupFastForkSeq: false,
  anonExclusive: false,
  reliableRoLongterm: false,
  validGupArgs: false,
  grabReturnsErrno: false,
  reclaimKeepsPinnedPrivate: false,
  zeroPageNotPinned: false,
  longtermFileWriteRefused: false,
  hugeZeroPmdSpecial: false,
  fsdaxNotLongtermPinnable: false,
  follCow: true,
  folioAddPinApi: false,
  unpinFolioApi: false,
  iterUbuf: false,
  iterPipe: true,
  iterFolioq: false,
  iterExtractPages: false,
  nonUserIterNoRef: false,
  bioPagePinned: false,
  bioNoPageRef: true,
  bioReleaseUnalignedFix: false,
  legacyDioPins: false,
  iomapZeroNoRef: false,
  iomapLargestZeroFolio: false,
  spliceReadCopies: false,
  ext4WarnNoBuffers: false,
  ioUringCoalesce: false,
  bvecOriginFlags: false,
  iterPinPagesRfc: false,
  dioAlignCheckAtSubmit: false,
  importIovecUbuf: false,
  iterExtractBvecMulti: false,
  iterXarray: false,
  invalidateChecksRefcount: false,
  tmpfsDirectIO: false,
  ioUringShmemBuffers: false,
  ioUringHugeAcct: false,
  ioUringManyBuffers: false,
  ioUringFolioCoalesce: false,
  ioUringLateTable: false,
  vfioUnpinZeroPages: false,
  overcommitGuessTotalram: false,
};

function derive(prev: Profile, name: string, description: string, changes: Partial<Profile>): Profile {
  return Object.freeze({ ...prev, ...changes, name, description });
}

const p51 = Object.freeze(base);
const p52 = derive(p51, '5.2', 'put_user_page*() placeholders (aliases of put_page()); FOLL_LONGTERM flag', {
  putUserPageApi: true, putUserPagesDirtySplit: true, follLongterm: true, overcommitGuessTotalram: true,
});
const p57 = derive(p52, '5.7', 'FOLL_PIN tracking: GUP_PIN_COUNTING_BIAS, hpage_pinned_refcount, vmstat counters', {
  pinApi: true, pinTracking: true, putUserPageApi: false, putUserPagesDirtySplit: false,
});
const p59 = derive(p57, '5.9', 'fork copies maybe-pinned anonymous pages (mm->has_pinned); COW reuse only at refcount 1', {
  cowReuseByRefcount: true, forkCopiesMaybePinned: true,
});
const p519 = derive(p59, '5.19', 'PageAnonExclusive; R/O FOLL_PIN unshares possibly shared anonymous pages', {
  anonExclusive: true, gupFastForkSeq: true, longtermMigratesMovable: true, pincountMinOrder: 1, ext4WarnNoBuffers: true, iterXarray: true, invalidateChecksRefcount: true,
  ioUringShmemBuffers: true, ioUringHugeAcct: true, ioUringManyBuffers: true,
});
const p62 = derive(p519, '6.2', 'reliable R/O long-term pins in COW mappings; int try_grab_page()', {
  reliableRoLongterm: true, grabReturnsErrno: true, follCow: false, iterUbuf: true, vfioUnpinZeroPages: true,
});
const p65 = derive(p62, '6.5', 'is_valid_gup_args(); zero page not pinned; long-term file write pins refused; reclaim keeps pinned private data', {
  validGupArgs: true, zeroPageNotPinned: true, longtermFileWriteRefused: true, reclaimKeepsPinnedPrivate: true,
  folioAddPinApi: true, iterExtractPages: true, iterPipe: false, nonUserIterNoRef: true, bioPagePinned: true,
  bioNoPageRef: false, legacyDioPins: true, iomapZeroNoRef: true, spliceReadCopies: true, importIovecUbuf: true,
  ioUringFolioCoalesce: true,
});
const pCurrent = derive(p65, 'current', 'mainline as of v6.18 (the host kernel)', {
  hugeZeroPmdSpecial: true, fsdaxNotLongtermPinnable: true, unpinFolioApi: true, iterFolioq: true,
  bioReleaseUnalignedFix: true, ioUringCoalesce: true, iomapLargestZeroFolio: true, dioAlignCheckAtSubmit: true,
  iterExtractBvecMulti: true, tmpfsDirectIO: true, ioUringLateTable: true, vfioUnpinZeroPages: false,
});
// The never-merged RFCs, on the kernels they were posted against (docs/profiles.md).
const pRfc2019 = derive(p52, 'rfc-2019-bvec', 'seed 000 RFC: bio_vec stores pfn + GUP-origin flags; bvec_put_page*() release by origin', {
  bvecOriginFlags: true,
});
// The v6.5 block-pinning series while it was being developed (seed 003), before splice reads
// stopped using ITER_PIPE: page extraction from a pipe took no reference — the race of R116.
const pBlockPinDev = derive(p65, 'block-pinning-dev', 'seed 003: block-layer pinning with ITER_PIPE still in place (never released)', {
  iterPipe: true, spliceReadCopies: false,
});
const pRfc2020 = derive(p57, 'rfc-2020-bio-pin', 'seed 001 RFC: bio direct I/O through iov_iter_pin_pages*(); pin_page() for ITER_PIPE', {
  iterPinPagesRfc: true, bioPagePinned: true, nonUserIterNoRef: true,
});

export const PROFILES: ReadonlyMap<string, Profile> = new Map(
  [p51, p52, pRfc2019, p57, pRfc2020, p59, p519, p62, pBlockPinDev, p65, pCurrent].map((p) => [p.name, p]),
);

export const DEFAULT_PROFILE = 'current';

export function getProfile(name: string): Profile | undefined {
  return PROFILES.get(name);
}
