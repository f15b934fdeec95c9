// Kernel profiles: one per step of the history. Code asks a profile a question
// (profile.zeroPageNotPinned); it never compares version strings. docs/profiles.md gives the
// commit behind each switch; its switch table is generated from HISTORY below.
//
// A profile is resolved from the switch history: every change records the mainline release it
// arrived in and the stable point releases it was backported to (with the stable commit where
// known). The named profiles (5.1 … 6.5, current) are mainline releases; a version such as
// "6.12" is mainline 6.12, and a point release such as "6.1.176" is mainline 6.1 plus the 6.1.y
// backports up to 6.1.176 (resolveProfile()).

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
  /**
   * GUP-fast checks, after taking its reference on a folio, that the page still belongs to it, and
   * drops the reference if a split_huge_page() came between the lookup and the grab (v5.14,
   * c24d37322548 "mm/gup: fix try_grab_compound_head() race with split_huge_page()").
   */
  readonly gupFastGrabRechecksFolio: boolean;
  /**
   * GUP-fast checks, after its grab, that the PMD above the PTE is unchanged, and backs off if a THP
   * collapse cleared it (v6.0, 70cbc3cc78a9 "mm: gup: fix the fast GUP race against THP collapse").
   */
  readonly gupFastRechecksPmd: boolean;
  /**
   * THP collapse sends an IPI after clearing the PMD (tlb_remove_table_sync_one()) and so waits for
   * every GUP-fast walk with interrupts off to end before it checks refcounts (v6.1, 2ba99c5e0881
   * "mm/khugepaged: fix GUP-fast interaction by sending IPI").
   */
  readonly collapseSyncsGupFast: boolean;
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
  /**
   * An O_DIRECT read goes on past i_size (v5.15, a6d3d49587d1 "iomap: switch __iomap_dio_rw to use
   * iomap_iter"): the blocks there are a hole its zeroing can fault in. Before, __iomap_dio_rw()'s
   * iomap_apply() loop stopped once pos reached i_size (uml-5.10 vs uml-6.1, pinlab fuzz).
   */
  readonly iomapDioPastEof: boolean;
  /**
   * A fault while an O_DIRECT read zeroes a hole is -EFAULT (fs/iomap/direct-io.c
   * iomap_dio_hole_iter(): 0 bytes zeroed is -EFAULT). Before v5.16 iomap_dio_hole_actor() returned
   * the bytes it zeroed, 0 ended the loop without an error, and the read was short (0 if nothing
   * came before): uml-5.10 vs uml-6.1, pinlab fuzz.
   */
  readonly dioHoleFaultEfault: boolean;
  /**
   * mprotect() making a private VMA writable sets the write bit at once on PTEs (and PMDs) that map
   * exclusive anonymous pages (mm/mprotect.c can_change_pte_writable(), MM_CP_TRY_CHANGE_WRITABLE,
   * v6.0); before, such a page took a write fault first (which then reused it).
   */
  readonly mprotectWritableExclusiveAnon: boolean;
  /**
   * A write fault on a PMD-mapped anonymous THP reuses it only when its refcount is 1
   * (mm/huge_memory.c do_huge_pmd_wp_page(), 3bff7e3f1f16, v5.18, "COW fixes part 1"); before,
   * reuse_swap_page() reused it when it was mapped once, whatever references GUP held (so
   * CVE-2020-29374 still leaked through a THP on 5.9-5.17; 09854ba94c6a fixed only do_wp_page()).
   */
  readonly thpCowReuseByRefcount: boolean;
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
  /**
   * io_uring refuses a buffer whose pages come from different VMA files (anonymous and file-backed
   * mixed) with -EINVAL, before the file-backed check ("io_uring/rsrc: disallow multi-source reg
   * buffers", v6.3; stable 6.1.16, 5.10.173). The whole check went to GUP in v6.5.
   */
  readonly ioUringMultiSourceRefused: boolean;
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
  /**
   * A FOLL_PIN of the zero page on the slow path fails with -ENOMEM: the 6.1.130 backport of
   * "don't pin ZERO_PAGE" returned 0 from the bool try_grab_page(), i.e. failure; fixed in 6.1.135.
   * Never true in mainline.
   */
  readonly zeroPagePinFails: boolean;
  /**
   * /sys/kernel/debug/gup_test with the struct gup_test commands (GUP_BASIC_TEST, PIN_BASIC_TEST,
   * DUMP_USER_PAGES_TEST, the benchmarks): v5.11, 9c84f229268f "mm/gup_benchmark: rename to mm/gup_test".
   */
  readonly gupTest: boolean;
  /** PIN_LONGTERM_TEST_START/STOP/READ of gup_test (v6.1, c77369b437f9). */
  readonly gupTestLongterm: boolean;
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
  gupFastGrabRechecksFolio: false,
  gupFastRechecksPmd: false,
  collapseSyncsGupFast: false,
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
  iomapDioPastEof: false,
  dioHoleFaultEfault: false,
  mprotectWritableExclusiveAnon: false,
  thpCowReuseByRefcount: false,
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
  ioUringMultiSourceRefused: false,
  ioUringHugeAcct: false,
  ioUringManyBuffers: false,
  ioUringFolioCoalesce: false,
  ioUringLateTable: false,
  vfioUnpinZeroPages: false,
  overcommitGuessTotalram: false,
  zeroPagePinFails: false,
  gupTest: false,
  gupTestLongterm: false,
};

// ---- the switch history ---------------------------------------------------------------------------

/** How sure a record is (docs/profiles.md): V verified from code or a dated record, I inferred, U unverified. */
export type Evidence = 'V' | 'I' | 'U';

/** A stable backport: the first point release of the branch that has it, and the stable commit. */
export interface Backport {
  /** The point release, e.g. 130 for 6.1.130. */
  readonly release: number;
  /** The stable tree's commit (short hash), or null where it was not found. */
  readonly commit: string | null;
  /** Where the release was read (Debian's changelog of linux-source-X lists each stable release's commits). */
  readonly evidence: string;
}

export interface SwitchChange {
  /** The switch values this change sets. */
  readonly set: Partial<Omit<Profile, 'name' | 'description'>>;
  /** The first mainline release with it ("5.9"), or null for a change that only a stable branch had. */
  readonly mainline: string | null;
  readonly commit: string | null;
  readonly subject: string;
  readonly evidence: Evidence;
  /** Stable branches ("6.1") that got it before their own mainline release had it. */
  readonly backports?: Readonly<Record<string, Backport>>;
  /** Kernel file and function. */
  readonly where: string;
  /**
   * Real kernels on which `pinlab host-check` showed the change (docs/profiles.md: "confirmed on
   * 6.1.176 under UML"), and ones that showed its absence (an older kernel, or one without the
   * backport). UML kernels by release; the host as "6.18 (host)". The cases are named in
   * docs/profiles.md.
   */
  readonly confirmed?: readonly string[];
  readonly confirmedWithout?: readonly string[];
  readonly note?: string;
}

const DEB = (v: string) => `Debian linux-source-${v} changelog`;

/** Every change of a switch after 5.1, oldest first. docs/profiles.md's switch table is generated from it. */
export const HISTORY: readonly SwitchChange[] = [
  { set: { overcommitGuessTotalram: true }, mainline: '5.2', commit: '8c7829b04c523c', evidence: 'I',
    subject: 'mm: fix false-positive OVERCOMMIT_GUESS failures', where: 'mm/util.c __vm_enough_memory()',
    confirmed: ['6.18 (host)'], note: 'committed 2019-05-13, in the 5.2 merge window; the host refuses a private writable mapping larger than RAM, nothing smaller' },
  { set: { putUserPageApi: true, putUserPagesDirtySplit: true }, mainline: '5.2', commit: 'fc1d8e7cca2d', evidence: 'I',
    subject: 'mm: introduce put_user_page*(), placeholder versions', where: 'include/linux/mm.h put_user_page(); mm/gup.c put_user_pages*()' },
  { set: { follLongterm: true }, mainline: '5.2', commit: '932f4a630a69', evidence: 'V',
    subject: 'mm/gup: replace get_user_pages_longterm() with FOLL_LONGTERM', where: 'mm/gup.c __gup_longterm_locked()' },
  { set: { putUserPagesDirtySplit: false }, mainline: '5.4', commit: '2d15eb31b50a', evidence: 'V',
    subject: 'mm/gup: add make_dirty arg to put_user_pages_dirty_lock()', where: 'mm/gup.c put_user_pages_dirty_lock()' },
  { set: { pinApi: true, putUserPageApi: false }, mainline: '5.6', commit: 'eddb1c228f79', evidence: 'V',
    subject: 'mm/gup: introduce pin_user_pages*() and FOLL_PIN (and f1f6a7dd9b53, the rename to unpin_user_page*())',
    where: 'mm/gup.c pin_user_pages*(); include/linux/mm.h unpin_user_page()' },
  { set: { pinTracking: true }, mainline: '5.7', commit: '3faa52c03f44', evidence: 'I',
    subject: 'mm/gup: track FOLL_PIN pages (with 47e29d32afba, 1970dc6f5226)', where: 'mm/gup.c try_grab_page(); mm/vmstat.c nr_foll_pin_*' },
  { set: { cowReuseByRefcount: true }, mainline: '5.9', commit: '09854ba94c6a', evidence: 'V',
    subject: 'mm: do_wp_page() simplification', where: 'mm/memory.c do_wp_page()' },
  { set: { forkCopiesMaybePinned: true }, mainline: '5.9', commit: '70e806e4e645', evidence: 'I',
    subject: 'mm: Do early cow for pinned pages during fork() for ptes (with 008cfe4418b3, mm->has_pinned)',
    where: 'mm/memory.c copy_present_page()', confirmed: ['5.10.46', '6.1.176', '6.12.113', '6.18 (host)'] },
  { set: { ioUringHugeAcct: true }, mainline: '5.10', commit: 'de2939388be5', evidence: 'I',
    subject: 'io_uring: improve registered buffer accounting for huge pages', where: 'fs/io_uring.c headpage_already_acct()' },
  { set: { gupFastForkSeq: true }, mainline: '5.11', commit: '57efa1fe5957', evidence: 'I',
    subject: 'mm/gup: prevent gup_fast from racing with COW during fork', where: 'mm/gup.c lockless_pages_from_mm()',
    backports: { '5.10': { release: 4, commit: null, evidence: DEB('5.10') } } },
  { set: { gupTest: true }, mainline: '5.11', commit: '9c84f229268f', evidence: 'I',
    subject: 'mm/gup_benchmark: rename to mm/gup_test (its series: GUP_BASIC_TEST, PIN_BASIC_TEST, DUMP_USER_PAGES_TEST)',
    where: 'mm/gup_test.c __gup_test_ioctl()', note: 'CONFIG_GUP_TEST; before: /sys/kernel/debug/gup_benchmark (not modelled)' },
  { set: { longtermMigratesMovable: true }, mainline: '5.13', commit: 'd1e153fea2a8', evidence: 'I',
    subject: 'mm/gup: migrate pinned pages out of movable zone', where: 'mm/gup.c check_and_migrate_movable_pages()' },
  { set: { iterXarray: true }, mainline: '5.13', commit: null, evidence: 'I',
    subject: 'iov_iter: Add ITER_XARRAY', where: 'lib/iov_iter.c' },
  { set: { ioUringManyBuffers: true }, mainline: '5.13', commit: null, evidence: 'U',
    subject: 'io_uring: IORING_MAX_REG_BUFFERS = 1 << 14', where: 'fs/io_uring.c io_sqe_buffers_register()' },
  { set: { ioUringShmemBuffers: true }, mainline: '5.14', commit: null, evidence: 'U',
    subject: 'io_uring: allow shmem/memfd memory as registered buffers', where: 'fs/io_uring.c io_sqe_buffer_register() (vma_is_shmem())',
    backports: { '5.10': { release: 162, commit: null, evidence: `${DEB('5.10')}: "io_uring: import 5.15-stable io_uring"` } },
    note: '5.10.162 took 5.15-stable\'s io_uring whole',
    confirmed: ['6.1.176', '6.12.113', '6.18 (host)'], confirmedWithout: ['5.10.46'] },
  { set: { gupFastGrabRechecksFolio: true }, mainline: '5.14', commit: 'c24d37322548', evidence: 'I',
    subject: 'mm/gup: fix try_grab_compound_head() race with split_huge_page()', where: 'mm/gup.c try_get_compound_head()',
    note: 'committed 2021-06-28, the day after v5.13, in the 5.14 merge window; Cc stable (stable releases not read). Race: scenarios/explore/gup-fast-vs-split.yaml' },
  { set: { iomapDioPastEof: true }, mainline: '5.15', commit: 'a6d3d49587d1', evidence: 'V',
    subject: 'iomap: switch __iomap_dio_rw to use iomap_iter', where: 'fs/iomap/direct-io.c __iomap_dio_rw()',
    note: 'an O_DIRECT read no longer stops at i_size: the hole past it is zeroed (pinlab fuzz, scenarios/fuzz/dio-read-past-eof*.yaml)',
    confirmed: ['6.1.176', '6.12.113', '6.18 (host)'], confirmedWithout: ['5.10.46'] },
  { set: { dioHoleFaultEfault: true }, mainline: '5.16', commit: '42c498c18a94', evidence: 'V',
    subject: 'iomap: Fix iomap_dio_rw return value for user copies', where: 'fs/iomap/direct-io.c iomap_dio_hole_iter()',
    note: 'a fault while zeroing a hole of an O_DIRECT read is -EFAULT, not a short read (pinlab fuzz, scenarios/fuzz/dio-hole-fault-short-read-5.10.yaml); also in 5.15-stable (2022), release not checked',
    confirmed: ['6.1.176', '6.12.113'], confirmedWithout: ['5.10.46'] },
  { set: { thpCowReuseByRefcount: true }, mainline: '5.18', commit: '3bff7e3f1f16', evidence: 'I',
    subject: 'mm/huge_memory: streamline COW logic in do_huge_pmd_wp_page()', where: 'mm/huge_memory.c do_huge_pmd_wp_page()',
    note: 'a THP is reused only with refcount 1, no longer when mapped once (scenarios/thp/vmsplice-cow-thp.yaml; issue 13)' },
  { set: { pincountMinOrder: 1 }, mainline: '5.18', commit: '5232c63f46fd', evidence: 'V',
    subject: 'mm: Make compound_pincount always available', where: 'include/linux/mm.h folio_maybe_dma_pinned()' },
  { set: { ext4WarnNoBuffers: true }, mainline: '5.18', commit: null, evidence: 'I',
    subject: 'ext4: warn when dirtying page w/o buffers (instead of BUG)', where: 'fs/ext4/inode.c ext4_writepages()' },
  { set: { invalidateChecksRefcount: true }, mainline: '5.18', commit: 'e41c81d0d30e', evidence: 'I',
    subject: 'mm/truncate: Replace page_mapped() call in invalidate_inode_page()', where: 'mm/truncate.c invalidate_inode_page()' },
  { set: { anonExclusive: true }, mainline: '5.19', commit: '6c287605fd56', evidence: 'I',
    subject: 'mm: remember exclusively mapped anonymous pages with PG_anon_exclusive (and a7f226604170, R/O FOLL_PIN unshares)',
    where: 'mm/internal.h gup_must_unshare(); mm/memory.c do_wp_page()',
    confirmed: ['6.1.176', '6.12.113', '6.18 (host)'], confirmedWithout: ['5.10.46'] },
  { set: { follCow: false }, mainline: '6.0', commit: '5535be309971', evidence: 'I',
    subject: 'mm/gup: fix FOLL_FORCE COW security issue and remove FOLL_COW', where: 'mm/gup.c can_follow_write_pte()',
    backports: { '5.19': { release: 6, commit: null, evidence: DEB('6.1') } } },
  { set: { mprotectWritableExclusiveAnon: true }, mainline: '6.0', commit: '64fe24a3e05e', evidence: 'I',
    subject: 'mm/mprotect: try avoiding write faults for exclusive anonymous pages when changing protection',
    where: 'mm/mprotect.c can_change_pte_writable(), change_pte_range(); mm/huge_memory.c change_huge_pmd()',
    note: 'the host takes no fault on a write after mprotect(RO) then mprotect(RW) of an exclusive page (issue 13)' },
  { set: { iterUbuf: true }, mainline: '6.0', commit: 'fcb14cb1bdac', evidence: 'I',
    subject: 'iov_iter: introduce ITER_UBUF for single segment sync I/O', where: 'include/linux/uio.h' },
  { set: { vfioUnpinZeroPages: true }, mainline: '6.0', commit: '873aefb376bb', evidence: 'I',
    subject: 'vfio/type1: Unpin zero pages', where: 'drivers/vfio/vfio_iommu_type1.c vaddr_get_pfns()',
    backports: { '5.10': { release: 146, commit: null, evidence: DEB('5.10') }, '5.19': { release: 9, commit: null, evidence: DEB('6.1') } } },
  { set: { gupFastRechecksPmd: true }, mainline: '6.0', commit: '70cbc3cc78a9', evidence: 'I',
    subject: 'mm: gup: fix the fast GUP race against THP collapse', where: 'mm/gup.c gup_pte_range()',
    note: 'authored 2022-09-07 (mm-hotfixes, v6.0-rc cycle); Cc stable, a 5.10-stable backport was posted 2022-10-03 (release not read). Race: scenarios/explore/gup-fast-vs-collapse.yaml' },
  { set: { collapseSyncsGupFast: true }, mainline: '6.1', commit: '2ba99c5e0881', evidence: 'I',
    subject: 'mm/khugepaged: fix GUP-fast interaction by sending IPI', where: 'mm/khugepaged.c collapse_huge_page(); mm/mmu_gather.c tlb_remove_table_sync_one()',
    note: 'authored 2022-11-25 (mm-hotfixes, Cc stable; its stable backport needs the v6.1 MADV_COLLAPSE series); the release is inferred. With it a GUP-fast walk stopped before its grab holds the collapse off (test/explore/windows.test.ts)' },
  { set: { gupTestLongterm: true }, mainline: '6.1', commit: 'c77369b437f9', evidence: 'I',
    subject: 'mm/gup_test: start/stop/read functionality for PIN LONGTERM test', where: 'mm/gup_test.c pin_longterm_test_ioctl()',
    note: 'for cow.c (then anon_cow.c); the state is kernel-wide, one test at a time' },
  { set: { reliableRoLongterm: true }, mainline: '6.2', commit: '84209e87c696', evidence: 'I',
    subject: 'mm/gup: reliable R/O long-term pinning in COW mappings', where: 'mm/internal.h gup_must_unshare()' },
  { set: { grabReturnsErrno: true }, mainline: '6.2', commit: '0f0892356fa1', evidence: 'I',
    subject: 'mm: allow multiple error returns in try_grab_page()', where: 'mm/gup.c try_grab_page()' },
  { set: { ioUringMultiSourceRefused: true }, mainline: '6.3', commit: 'edd478269640', evidence: 'I',
    subject: 'io_uring/rsrc: disallow multi-source reg buffers', where: 'io_uring/rsrc.c io_pin_pages() / io_sqe_buffer_register()',
    backports: {
      '6.1': { release: 16, commit: null, evidence: DEB('6.1') },
      '5.10': { release: 173, commit: null, evidence: DEB('5.10') },
    },
    confirmed: ['6.1.176'], confirmedWithout: ['5.10.46'], note: 'gone again with the v6.5 GUP check (6.12.113 accepts the buffer)' },
  { set: { validGupArgs: true }, mainline: '6.3', commit: 'd64e2dbc33a1', evidence: 'I',
    subject: 'mm/gup: simplify the external interface functions and consolidate invariants', where: 'mm/gup.c is_valid_gup_args()' },
  { set: { iterExtractPages: true }, mainline: '6.3', commit: null, evidence: 'I',
    subject: 'iov_iter: Add a function to extract a page list from an iterator', where: 'lib/iov_iter.c iov_iter_extract_pages()' },
  { set: { reclaimKeepsPinnedPrivate: true }, mainline: '6.4', commit: 'd824ec2a1546', evidence: 'I',
    subject: 'mm: do not reclaim private data from pinned page', where: 'mm/vmscan.c shrink_folio_list()',
    backports: { '6.1': { release: 28, commit: null, evidence: DEB('6.1') } } },
  { set: { importIovecUbuf: true }, mainline: '6.4', commit: null, evidence: 'U',
    subject: 'iov_iter: import single vector iovecs as ITER_UBUF', where: 'lib/iov_iter.c __import_iovec()' },
  { set: { ioUringFolioCoalesce: true }, mainline: '6.4', commit: '57bebf807e2a', evidence: 'U',
    subject: 'io_uring/rsrc: optimise registered huge pages', where: 'io_uring/rsrc.c io_sqe_buffer_register()' },
  { set: { zeroPageNotPinned: true }, mainline: '6.5', commit: 'c8070b787519', evidence: 'I',
    subject: "mm: Don't pin ZERO_PAGE in pin_user_pages()", where: 'mm/gup.c try_grab_folio(), gup_put_folio()',
    backports: { '6.1': { release: 130, commit: '476c1dfefab8', evidence: `${DEB('6.1')}; the stable fix names 476c1dfefab8 as the 6.1.130 backport` } },
    confirmed: ['6.1.176', '6.12.113', '6.18 (host)'], confirmedWithout: ['5.10.46'] },
  { set: { zeroPagePinFails: true }, mainline: null, commit: '476c1dfefab8', evidence: 'V',
    subject: "the 6.1.130 backport of \"mm: Don't pin ZERO_PAGE\" returned 0 (false) from the bool try_grab_page()",
    where: 'mm/gup.c try_grab_page()', backports: { '6.1': { release: 130, commit: '476c1dfefab8', evidence: DEB('6.1') } } },
  { set: { zeroPagePinFails: false }, mainline: null, commit: null, evidence: 'V',
    subject: 'mm: Fix is_zero_page() usage in try_grab_page() (stable only: returns true)', where: 'mm/gup.c try_grab_page()',
    backports: { '6.1': { release: 135, commit: null, evidence: DEB('6.1') } } },
  { set: { longtermFileWriteRefused: true }, mainline: '6.5', commit: '8ac268436e6d', evidence: 'I',
    subject: 'mm/gup: disallow FOLL_LONGTERM GUP-nonfast writing to file-backed mappings (and a6e79df92e4a, GUP-fast)',
    where: 'mm/gup.c writable_file_mapping_allowed(), folio_fast_pin_allowed()',
    confirmed: ['6.12.113', '6.18 (host)'], confirmedWithout: ['5.10.46', '6.1.176'] },
  { set: { folioAddPinApi: true }, mainline: '6.5', commit: null, evidence: 'U',
    subject: 'mm: Provide a function to get an additional pin on a page', where: 'mm/gup.c folio_add_pin()' },
  { set: { iterPipe: false, spliceReadCopies: true }, mainline: '6.5', commit: null, evidence: 'I',
    subject: 'splice: Make splice from an O_DIRECT fd use copy_splice_read(); iov_iter: Kill ITER_PIPE', where: 'fs/splice.c; lib/iov_iter.c' },
  { set: { nonUserIterNoRef: true, bioPagePinned: true, bioNoPageRef: false }, mainline: '6.5', commit: null, evidence: 'I',
    subject: 'block: Use page pinning (and the iov_iter_extract_pages() conversions)', where: 'block/bio.c bio_iov_iter_get_pages(), bio_release_pages()',
    confirmed: ['6.12.113', '6.18 (host)'], confirmedWithout: ['5.10.46', '6.1.176'] },
  { set: { legacyDioPins: true }, mainline: '6.5', commit: null, evidence: 'I',
    subject: 'block: Use iov_iter_extract_pages() and page pinning in direct-io.c', where: 'fs/direct-io.c' },
  { set: { iomapZeroNoRef: true }, mainline: '6.5', commit: null, evidence: 'I',
    subject: "iomap: Don't get an reference on ZERO_PAGE for direct I/O block zeroing", where: 'fs/iomap/direct-io.c iomap_dio_zero()' },
  { set: { tmpfsDirectIO: true }, mainline: '6.6', commit: null, evidence: 'U',
    subject: 'tmpfs: trivial support for direct IO', where: 'mm/shmem.c' },
  { set: { bioReleaseUnalignedFix: true }, mainline: '6.8', commit: null, evidence: 'I',
    subject: 'block: Fix page refcounts for unaligned buffers in __bio_release_pages()', where: 'block/bio.c __bio_release_pages()',
    backports: { '6.1': { release: 84, commit: null, evidence: DEB('6.1') }, '6.7': { release: 12, commit: null, evidence: DEB('6.12') } },
    note: 'in 6.7.12 (stable), so mainline 6.8 or 6.9' },
  { set: { vfioUnpinZeroPages: false }, mainline: '6.9', commit: null, evidence: 'U',
    subject: 'Revert "vfio/type1: Unpin zero pages"', where: 'drivers/vfio/vfio_iommu_type1.c' },
  { set: { unpinFolioApi: true }, mainline: '6.11', commit: null, evidence: 'U',
    subject: 'mm/gup: introduce memfd_pin_folios() / unpin_folio()', where: 'mm/gup.c memfd_pin_folios(), unpin_folio()' },
  { set: { ioUringCoalesce: true }, mainline: '6.11', commit: null, evidence: 'U',
    subject: 'io_uring/rsrc: enable multi-hugepage buffer coalescing', where: 'io_uring/rsrc.c io_check_coalesce_buffer()' },
  { set: { iterFolioq: true }, mainline: '6.12', commit: null, evidence: 'I',
    subject: 'iov_iter: Provide copy_folio_from_iter() / ITER_FOLIOQ (netfs)', where: 'include/linux/uio.h' },
  { set: { iterExtractBvecMulti: true }, mainline: '6.13', commit: null, evidence: 'U',
    subject: "iov_iter: don't require contiguous pages in iov_iter_extract_bvec_pages", where: 'lib/iov_iter.c iov_iter_extract_bvec_pages()' },
  { set: { fsdaxNotLongtermPinnable: true }, mainline: '6.15', commit: null, evidence: 'U',
    subject: 'fs-dax folios are not long-term pinnable', where: 'include/linux/mm.h folio_is_longterm_pinnable()' },
  { set: { ioUringLateTable: true }, mainline: '6.15', commit: null, evidence: 'U',
    subject: 'io_uring/rsrc: install the buffer table after a successful registration; io_pin_pages() uses pin_user_pages_fast()',
    where: 'io_uring/rsrc.c io_sqe_buffers_register(); io_uring/memmap.c io_pin_pages()' },
  { set: { hugeZeroPmdSpecial: true }, mainline: '6.18', commit: null, evidence: 'U',
    subject: 'huge zero folio PMDs are special (pmd_special)', where: 'mm/huge_memory.c; mm/gup.c gup_fast_pmd_leaf()' },
  { set: { iomapLargestZeroFolio: true }, mainline: '6.18', commit: null, evidence: 'U',
    subject: 'iomap: zero with largest_zero_folio()', where: 'fs/iomap/direct-io.c iomap_dio_zero()' },
  { set: { dioAlignCheckAtSubmit: true }, mainline: '6.18', commit: null, evidence: 'U',
    subject: 'direct I/O buffer alignment checked when the bio is split, after the pages were pinned',
    where: 'fs/iomap/direct-io.c iomap_dio_bio_iter(); block/blk-merge.c',
    note: 'not in 6.12.113 (UML: a misaligned read fails before pinning), in 6.18 (host); the release between is unverified',
    confirmed: ['6.18 (host)'], confirmedWithout: ['5.10.46', '6.1.176', '6.12.113'] },
];

// ---- versions -------------------------------------------------------------------------------------

/** The newest mainline release the history describes (profile `current`). */
export const NEWEST_MAINLINE = '6.18';
const OLDEST = '5.1';

/** "6.1.176" → [6, 1, 176]; "6.1" → [6, 1]; anything else null. */
export function parseVersion(v: string): [number, number] | [number, number, number] | null {
  const m = /^(\d{1,2})\.(\d{1,3})(?:\.(\d{1,4}))?$/.exec(v);
  if (!m) return null;
  return m[3] === undefined ? [Number(m[1]), Number(m[2])] : [Number(m[1]), Number(m[2]), Number(m[3])];
}

function cmpMainline(a: string, b: string): number {
  const [a1, a2] = parseVersion(a)!;
  const [b1, b2] = parseVersion(b)!;
  return a1 - b1 || a2 - b2;
}

/**
 * Versions the model cannot express, and why: their switches combine in a way no rule of the
 * model implements. Checked by resolveProfile().
 */
function unsupported(major: number, minor: number, patch: number | undefined): string | null {
  if (major === 5 && minor === 6) return 'v5.6 had FOLL_PIN without pin tracking (pin_user_pages() took plain references), which the model does not implement';
  if ((major === 5 && minor === 8) || (major === 5 && minor === 7 && (patch ?? 0) >= 3)) {
    return "v5.8 and 5.7.3+ forced a COW break on read GUP (17839856fd58, removed in 5.9), which the model does not implement";
  }
  return null;
}

function applyChanges(p: Record<string, unknown>, changes: readonly SwitchChange[]): void {
  for (const c of changes) Object.assign(p, c.set);
}

/** Why `version` cannot be resolved (null: it can). */
export function versionProblem(version: string): string | null {
  const v = parseVersion(version);
  if (!v) return `'${version}' is not a kernel version (MAJOR.MINOR or MAJOR.MINOR.PATCH)`;
  const series = `${v[0]}.${v[1]}`;
  if (cmpMainline(series, OLDEST) < 0) return `${version} is older than the oldest modelled release (${OLDEST})`;
  if (cmpMainline(series, NEWEST_MAINLINE) > 0) return `${version} is newer than the newest modelled release (${NEWEST_MAINLINE})`;
  return unsupported(v[0], v[1], v[2]);
}

/**
 * The profile of a kernel version: mainline X.Y has every change whose mainline release is ≤ X.Y;
 * a point release X.Y.Z adds the X.Y-stable backports with a release ≤ Z (in history order).
 */
function profileOfVersion(version: string, name = version, description?: string): Profile {
  const v = parseVersion(version)!;
  const series = `${v[0]}.${v[1]}`;
  const patch = v.length === 3 ? v[2] : 0;
  const p: Record<string, unknown> = { ...base };
  const changes = HISTORY.filter((c) => {
    if (c.mainline !== null && cmpMainline(c.mainline, series) <= 0) return true;
    const b = c.backports?.[series];
    return b !== undefined && b.release <= patch;
  });
  applyChanges(p, changes);
  p.name = name;
  p.description = description ?? (v.length === 3
    ? `Linux ${version}: mainline ${series} plus the ${series}.y backports up to ${version}`
    : `mainline Linux ${series}`);
  return Object.freeze(p as unknown as Profile);
}

function derive(prev: Profile, name: string, description: string, changes: Partial<Profile>): Profile {
  return Object.freeze({ ...prev, ...changes, name, description });
}

const p51 = profileOfVersion('5.1', '5.1', base.description);
const p52 = profileOfVersion('5.2', '5.2', 'put_user_page*() placeholders (aliases of put_page()); FOLL_LONGTERM flag');
const p57 = profileOfVersion('5.7', '5.7', 'FOLL_PIN tracking: GUP_PIN_COUNTING_BIAS, hpage_pinned_refcount, vmstat counters');
const p59 = profileOfVersion('5.9', '5.9', 'fork copies maybe-pinned anonymous pages (mm->has_pinned); COW reuse only at refcount 1');
const p519 = profileOfVersion('5.19', '5.19', 'PageAnonExclusive; R/O FOLL_PIN unshares possibly shared anonymous pages');
const p62 = profileOfVersion('6.2', '6.2', 'reliable R/O long-term pins in COW mappings; int try_grab_page()');
const p65 = profileOfVersion('6.5', '6.5', 'is_valid_gup_args(); zero page not pinned; long-term file write pins refused; reclaim keeps pinned private data');
const pCurrent = profileOfVersion(NEWEST_MAINLINE, 'current', 'mainline as of v6.18 (the host kernel)');
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

/** The named profiles (`pinlab ops` lists them); any version resolves too (resolveProfile()). */
export const PROFILES: ReadonlyMap<string, Profile> = new Map(
  [p51, p52, pRfc2019, p57, pRfc2020, p59, p519, p62, pBlockPinDev, p65, pCurrent].map((p) => [p.name, p]),
);

export const DEFAULT_PROFILE = 'current';

const resolved = new Map<string, Profile>();

/**
 * A named profile, or the profile of a kernel version ("6.12", "6.1.176"): undefined for a name
 * that is neither, or a version the model cannot express (versionProblem() says why).
 */
export function resolveProfile(name: string): Profile | undefined {
  const named = PROFILES.get(name);
  if (named) return named;
  if (name.includes('+')) return withSwitches(name);
  if (versionProblem(name) !== null) return undefined;
  let p = resolved.get(name);
  if (!p) {
    p = profileOfVersion(name);
    resolved.set(name, p);
  }
  return p;
}

export function getProfile(name: string): Profile | undefined {
  return resolveProfile(name);
}

/** The changes that make `version` differ from mainline series.0 — its stable backports (for reports). */
export function backportsOf(version: string): SwitchChange[] {
  const v = parseVersion(version);
  if (!v || v.length !== 3) return [];
  const series = `${v[0]}.${v[1]}`;
  return HISTORY.filter((c) => {
    const b = c.backports?.[series];
    return b !== undefined && b.release <= v[2] && (c.mainline === null || cmpMainline(c.mainline, series) > 0);
  });
}

/**
 * A profile with switches set otherwise: "6.3+reclaimKeepsPinnedPrivate=true" is 6.3 with that one
 * switch on. `pinlab bisect` flips one change of the history at a time this way (docs/bisect.md).
 * Undefined unless the base resolves and every SWITCH=VALUE names a switch with a value of its type.
 */
function withSwitches(name: string): Profile | undefined {
  const cached = resolved.get(name);
  if (cached) return cached;
  const [baseName, ...sets] = name.split('+');
  const baseProfile = baseName.includes('+') ? undefined : resolveProfile(baseName);
  if (!baseProfile || sets.length === 0) return undefined;
  const p: Record<string, unknown> = { ...baseProfile };
  for (const s of sets) {
    const m = /^([A-Za-z_]\w*)=(true|false|\d{1,3})$/.exec(s);
    if (!m || m[1] === 'name' || m[1] === 'description' || !(m[1] in base)) return undefined;
    const v = m[2] === 'true' ? true : m[2] === 'false' ? false : Number(m[2]);
    if (typeof v !== typeof (base as unknown as Record<string, unknown>)[m[1]]) return undefined;
    p[m[1]] = v;
  }
  p.name = name;
  p.description = `${baseProfile.name} with ${sets.join(', ')}`;
  const out = Object.freeze(p as unknown as Profile);
  resolved.set(name, out);
  return out;
}
