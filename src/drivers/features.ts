// What the drivers' own history changes per profile. Code asks these switches, never a version.
//
// The io_uring and VFIO switches are profile fields (src/profile.ts); the rest derive from an
// existing switch whose change they came with. Each switch reads a profile field of the same name
// first, so a custom profile object may set any of them directly.

import type { Profile } from '../profile.js';

export interface DriverSwitches {
  /**
   * The seed 004 conversions (goldfish pipe, drm/via, XDP umem, v4l2 videobuf, powerpc mm_iommu,
   * io_uring, RDMA umem, VFIO: v5.6) and mm/process_vm_access.c (v5.7, spec R137) use
   * pin_user_pages*() / unpin_user_page*(). Before: get_user_pages*() and put_page().
   * = profile.pinApi (no profile sits between 5.2 and 5.7).
   */
  readonly driversPin: boolean;
  /**
   * v4l2 videobuf-dma-sg dirties pages it received data into before releasing them
   * ("media/v4l2-core: set pages dirty upon releasing DMA buffers", 3c7470b6f684, seed 004, v5.6).
   * Before: a bare put_page(). = profile.pinApi.
   */
  readonly videobufDirtyOnRelease: boolean;
  /**
   * io_uring registers shmem/memfd buffers (v5.14, announced in liburing issue #358); before, every
   * file-backed VMA except hugetlbfs was refused with -EOPNOTSUPP. A profile field.
   */
  readonly ioUringShmemBuffers: boolean;
  /** A buffer over VMAs of different files (or anonymous and file) is -EINVAL (v6.3; 6.1.16, 5.10.173). A profile field. */
  readonly ioUringMultiSourceRefused: boolean;
  /**
   * io_uring leaves the file-backed check to GUP (Lorenzo Stoakes, "io_uring: rsrc: delegate VMA
   * file-backed check to GUP", v6.5, same series as the FOLL_LONGTERM file-write refusal):
   * = profile.longtermFileWriteRefused.
   */
  readonly ioUringGupFileCheck: boolean;
  /**
   * io_uring accounts a large folio's full size once (headpage_already_acct(), de2939388be5
   * "io_uring: improve registered buffer accounting for huge pages", v5.10), after pinning, and
   * charges mm->pinned_vm as well as user->locked_vm. Before: nr_pages of each buffer charged to
   * the user before pinning. A profile field.
   */
  readonly ioUringHugeAcct: boolean;
  /** IORING_MAX_REG_BUFFERS = 1 << 14 (later 5.x); before: UIO_MAXIOV = 1024. A profile field. */
  readonly ioUringManyBuffers: boolean;
  /**
   * A buffer whose pages are consecutive pages of one folio becomes one bvec holding one pin
   * (57bebf807e2a "io_uring/rsrc: optimise registered huge pages", posted 2023-02-22, v6.4
   * [version unverified]). A profile field.
   */
  readonly ioUringFolioCoalesce: boolean;
  /** Coalescing across several same-size folios (io_check_coalesce_buffer(), v6.11): = profile.ioUringCoalesce. */
  readonly ioUringMultiFolioCoalesce: boolean;
  /**
   * io_pin_pages() uses pin_user_pages_fast() and the buffer table is installed only when the
   * whole registration succeeded (so headpage_already_acct() sees only the buffer being registered
   * and last_hpage) — the io_uring/memmap.c and io_uring/rsrc.c read for this work (~v6.15).
   * [version unverified]. A profile field.
   */
  readonly ioUringLateTable: boolean;
  /**
   * RDMA: read-only MRs are pinned FOLL_LONGTERM alone; before v6.2 ib_umem_get() used
   * FOLL_WRITE|FOLL_FORCE for them ("RDMA/umem: remove FOLL_FORCE usage", David Hildenbrand's
   * reliable R/O long-term pinning series): = profile.reliableRoLongterm.
   */
  readonly rdmaNoForce: boolean;
  /**
   * VFIO type1 unpins zero pages right after GUP and treats them as reserved (873aefb376bb
   * "vfio/type1: Unpin zero pages", v6.0) until its revert (posted 2024-02-29, ~v6.9
   * [version unverified]). A profile field.
   */
  readonly vfioUnpinZeroPages: boolean;
}

type Explicit = Partial<DriverSwitches>;

export function driverSwitches(p: Profile): DriverSwitches {
  const x = p as Profile & Explicit;
  return {
    driversPin: x.driversPin ?? p.pinApi,
    videobufDirtyOnRelease: x.videobufDirtyOnRelease ?? p.pinApi,
    ioUringShmemBuffers: p.ioUringShmemBuffers,
    ioUringMultiSourceRefused: p.ioUringMultiSourceRefused,
    ioUringGupFileCheck: x.ioUringGupFileCheck ?? p.longtermFileWriteRefused,
    ioUringHugeAcct: p.ioUringHugeAcct,
    ioUringManyBuffers: p.ioUringManyBuffers,
    ioUringFolioCoalesce: p.ioUringFolioCoalesce,
    ioUringMultiFolioCoalesce: x.ioUringMultiFolioCoalesce ?? p.ioUringCoalesce,
    ioUringLateTable: p.ioUringLateTable,
    rdmaNoForce: x.rdmaNoForce ?? p.reliableRoLongterm,
    vfioUnpinZeroPages: p.vfioUnpinZeroPages,
  };
}
