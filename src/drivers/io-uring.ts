// io_uring rings and registered (fixed) buffers: io_uring/io_uring.c io_uring_create(),
// io_uring/rsrc.c io_sqe_buffers_register() / io_sqe_buffer_register() / io_buffer_unmap() /
// io_import_fixed(), io_uring/memmap.c io_pin_pages(); fs/io_uring.c before v5.19 split it up.
// Spec R51, R74.5, R123, R125, R136.
//
// Fixed-buffer I/O itself (READ_FIXED / WRITE_FIXED) needs the iov_iter and block layers; this
// module provides ioUringFixedBvec(): the bvec segments such an I/O would hand to iov_iter_bvec().
//
// A ring is an open file (an anonymous inode with io_uring_fops) in the task's descriptor table
// (src/fs/fdtable.ts): its registered buffers stay pinned until the last reference to that file
// goes — close() of the last descriptor, in whichever task holds it after fork, or exit — and
// io_uring_release() tears the ring down.

import * as api from '../gup/api.js';
import { put_page, unpin_user_page, unpin_user_pages } from '../gup/unpin.js';
import { EBUSY, EFAULT, EINVAL, ENOMEM, EOPNOTSUPP, PAGE_SHIFT, PAGE_SIZE, O_CLOEXEC, O_RDWR } from '../include/uapi.js';
import { stateKey, type Kernel } from '../kernel.js';
import { alloc_file_pseudo, EBADF, fd_install, fdget, get_unused_fd_flags, type FileOperations, type OpenFile } from '../fs/fdtable.js';
import type { Mm, Task } from '../vm/mm.js';
import type { PhysMem } from '../mm/memory.js';
import { ENXIO, get_user_pages_longterm, pageAlignDown, pageArray, pagesSpanned } from './common.js';
import { dmaWritePage } from './device.js';
import { driverSwitches, type DriverSwitches } from './features.js';
import { capable_ipc_lock, memlock, memlockLimitPages } from './memlock.js';
import { VM_HUGETLB, FOLL_LONGTERM, FOLL_WRITE } from '../include/linux/mm.js';
import { shmem_mapping } from '../mm/filemap.js';
import type { BvecSeg } from '../lib/iov_iter/uio.js';
import { runToEnd, type KernelGen } from '../preempt.js';

/**
 * Yield point of IORING_REGISTER_BUFFERS, per buffer: its pages pinned (io_pin_pages(); before
 * v6.5 pin_user_pages() and the VMA check under mmap_read_lock, which is dropped here), not yet
 * coalesced nor charged (io_buffer_account_pin(), v5.10+; before v5.10 the charge came first).
 * io_uring/rsrc.c io_sqe_buffer_register() (fs/io_uring.c before v5.19).
 */
export const IO_URING_REGISTER_YIELD_POINTS = ['after_pin_pages'] as const;

/** io_buffer_validate(): "arbitrary limit, but we need something" — one buffer is at most 1 GiB (SZ_1G). */
export const IO_MAX_BUFFER_LEN = 2 ** 30;

/** One bio_vec of a registered buffer: bv_page (a pfn; the head page after coalescing), bv_offset, bv_len. */
export interface Bvec {
  readonly pfn: number;
  readonly offset: number;
  readonly len: number;
}

/** struct io_mapped_ubuf */
export interface MappedUbuf {
  readonly ubuf: number;
  readonly len: number;
  readonly bvecs: readonly Bvec[];
  /** PAGE_SHIFT, or the folio shift of a coalesced buffer (imu->folio_shift). */
  readonly folioShift: number;
  /** imu->acct_pages (v5.10+); older kernels unaccount nr_bvecs. */
  readonly acctPages: number;
  /** Held as FOLL_PIN pins (v5.6+) or FOLL_GET references. */
  readonly pinned: boolean;
}

/** struct io_ring_ctx, as far as buffers and accounting go. */
export class IoRing {
  // Private: the accessors record a read or write of the ring ('ring', its id) through the
  // kernel's memory (nothing under k.peek()); observers use peekBufs().
  /** ctx->buf_table (null: nothing registered; entries null are sparse slots). */
  private buf_table: (MappedUbuf | null)[] | null = null;
  /** io_ring_ctx_free() ran. */
  private is_dead = false;
  /** ctx->uring_lock is held by an io_uring_register() call (a plain field: snapshots copy it). */
  private uring_lock = false;
  constructor(
    private readonly mem: PhysMem,
    /** A per-kernel number for traces and holder labels (the ring's fd differs from task to task). */
    readonly id: number,
    /** ctx->mm_account: the creator's mm, grabbed for unaccounting after exit. */
    readonly mmAccount: Mm,
    /** ctx->user is set only without CAP_IPC_LOCK: only then is user->locked_vm charged. */
    readonly userAcct: boolean,
  ) {}

  /** ctx->buf_table (records a read of the ring). */
  get bufs(): ReadonlyArray<MappedUbuf | null> | null {
    this.mem.fp?.read('ring', this.id);
    return this.buf_table;
  }

  /** Install or drop the table (records a write). */
  set bufs(v: (MappedUbuf | null)[] | null) {
    this.mem.fp?.write('ring', this.id);
    this.buf_table = v;
  }

  get dead(): boolean {
    this.mem.fp?.read('ring', this.id);
    return this.is_dead;
  }

  set dead(v: boolean) {
    this.mem.fp?.write('ring', this.id);
    this.is_dead = v;
  }

  /** ctx->uring_lock held (records a read of the ring). */
  get locked(): boolean {
    this.mem.fp?.read('ring', this.id);
    return this.uring_lock;
  }

  /** mutex_lock()/mutex_unlock() of ctx->uring_lock (records a write). */
  set locked(v: boolean) {
    this.mem.fp?.write('ring', this.id);
    this.uring_lock = v;
  }

  /** For observers (queries, the scenario's holder labels): records nothing. */
  peekBufs(): ReadonlyArray<MappedUbuf | null> | null {
    return this.buf_table;
  }
}

export class IoUringState {
  /** The descriptor of the ring a task set up last: the default ring of its io_uring_register() calls. */
  readonly lastFd = new Map<Task, number>();
}

const IO_URING_KEY = stateKey('drivers:io_uring', () => new IoUringState());

export function ioUringState(k: Kernel): IoUringState {
  return k.state(IO_URING_KEY);
}

/**
 * io_uring_release() (io_uring/io_uring.c), the ring file's ->release at its last fput():
 * io_ring_ctx_wait_and_kill() → io_ring_exit_work() → io_ring_ctx_free() → io_sqe_buffers_unregister().
 * The kernel queues the exit work on a workqueue (v5.6 on; v5.1 waited and freed in place); the
 * model runs it within the closing step.
 */
function io_uring_release(k: Kernel, filp: OpenFile): void {
  io_ring_ctx_wait_and_kill(k, filp.private_data as IoRing);
}

/** io_uring_fops (io_uring/io_uring.c; fs/io_uring.c before v5.19): no ->read_iter, ->write_iter or ->fsync. */
export const io_uring_fops: FileOperations = { name: 'io_uring_fops', fsync: false, release: io_uring_release };

/** io_is_uring_fops() */
export function io_is_uring_fops(filp: OpenFile): boolean {
  return filp.f_op === io_uring_fops;
}

/**
 * io_uring_setup() → io_uring_create(): a new ring for the calling task, its file from
 * io_uring_get_file() (an anonymous inode, O_RDWR|O_CLOEXEC, io_uring_fops) and its descriptor
 * from io_uring_install_fd() (get_unused_fd_flags(), fd_install()). Returns the fd or -errno.
 */
export function io_uring_setup(k: Kernel, current: Task): number {
  const st = ioUringState(k);
  const fd = get_unused_fd_flags(k, current);
  if (fd < 0) return fd;
  const ring = new IoRing(k.mem, k.ids.take('io_uring'), current.mm, !capable_ipc_lock(k, current));
  fd_install(k, current, fd, alloc_file_pseudo(k, io_uring_fops, O_RDWR | O_CLOEXEC, ring));
  st.lastFd.set(current, fd);
  return fd;
}

/**
 * The ring behind a descriptor of the task, as io_uring_register() and io_uring_enter() find it
 * (io_uring/register.c io_uring_register_get_file(); fs/io_uring.c before v5.19): no file is
 * -EBADF, a file that is not a ring -EOPNOTSUPP (the same in every version modelled).
 */
export function io_uring_get_ring(k: Kernel, current: Task, fd: number): IoRing | number {
  const filp = fdget(k, current, fd);
  if (!filp) return -EBADF;
  if (!io_is_uring_fops(filp)) return -EOPNOTSUPP;
  return filp.private_data as IoRing;
}

/** The descriptor of the last ring the task set up (scenarios' default ring), or null. */
export function defaultRingFd(k: Kernel, t: Task): number | null {
  return ioUringState(k).lastFd.get(t) ?? null;
}

/** Every page a buffer's bvecs cover, in order: what a device doing I/O into it can reach. */
export function bufPages(b: MappedUbuf): number[] {
  const out: number[] = [];
  for (const v of b.bvecs) {
    const first = v.pfn + Math.floor(v.offset / PAGE_SIZE);
    const last = v.pfn + Math.floor((v.offset + v.len - 1) / PAGE_SIZE);
    for (let p = first; p <= last; p++) out.push(p);
  }
  return out;
}

interface Iov {
  readonly base: number;
  readonly len: number;
}

/**
 * IORING_REGISTER_BUFFERS: io_sqe_buffers_register(). Returns 0 or -errno; on any error every
 * buffer registered by the call is released again (io_sqe_buffers_unregister()).
 */
export function io_sqe_buffers_register(k: Kernel, current: Task, ring: IoRing, iovs: readonly Iov[]): number {
  return runToEnd(k, io_sqe_buffers_register_gen(k, current, ring, iovs));
}

/**
 * io_sqe_buffers_register() with its yield point `after_pin_pages` per buffer. The caller holds
 * ctx->uring_lock (io_uring_register(): __io_uring_register() runs under it), so no other
 * registration or unregistration of the ring runs in the window.
 */
export function* io_sqe_buffers_register_gen(k: Kernel, current: Task, ring: IoRing, iovs: readonly Iov[]): KernelGen<number> {
  const sw = driverSwitches(k.profile);
  if (ring.bufs) return -EBUSY;
  // IORING_MAX_REG_BUFFERS (1 << 14); the first versions used UIO_MAXIOV (1024).
  const max = sw.ioUringManyBuffers ? 1 << 14 : 1024;
  if (!iovs.length || iovs.length > max) return -EINVAL;
  const table: (MappedUbuf | null)[] = [];
  const last = { hpage: -1 };
  let ret = 0;
  // Older kernels filled ctx->user_bufs as they went, so headpage_already_acct() saw the buffers
  // registered earlier in the same call; current ones install the table at the end.
  if (!sw.ioUringLateTable) ring.bufs = table;
  for (const iov of iovs) {
    ret = io_buffer_validate(sw, iov);
    if (ret === 1) { table.push(null); ret = 0; continue; } // a sparse slot
    if (ret) break;
    const r = yield* io_sqe_buffer_register(k, sw, current, ring, iov, last, sw.ioUringLateTable ? [] : table);
    if (typeof r === 'number') { ret = r; break; }
    table.push(r);
  }
  ring.bufs = table;
  if (ret) io_sqe_buffers_unregister(k, ring);
  return ret;
}

/** io_buffer_validate(): 0, 1 for an empty (sparse) slot, or -EFAULT. */
function io_buffer_validate(sw: DriverSwitches, iov: Iov): number {
  if (!iov.base) return iov.len || !sw.ioUringManyBuffers ? -EFAULT : 1; // sparse slots: later 5.x
  if (iov.len <= 0) return -EFAULT;
  if (iov.len > IO_MAX_BUFFER_LEN) return -EFAULT;
  return 0;
}

/** Release what io_pin_pages() got after a failure: unpin_user_pages(), or put_page() each before v5.6. */
function releasePages(k: Kernel, pinned: boolean, pages: number[], n: number): void {
  if (n <= 0) return;
  if (pinned) unpin_user_pages(k, pages, n);
  else for (let j = 0; j < n; j++) put_page(k, pages[j]);
}

/**
 * The pre-v6.5 check in io_sqe_buffer_register()/io_pin_pages(), page by page over the VMAs GUP
 * returned: file-backed memory is refused with -EOPNOTSUPP, except hugetlbfs and (v5.14+)
 * shmem/memfd (vma_is_shmem()); from v6.3 (6.1.16, 5.10.173) a page whose VMA has another file
 * than the first page's (anonymous counts as no file) is -EINVAL first. The model's VMAs hold the
 * file, not the open file description (vm_file), so two mappings of one file count as one source.
 * 0 when the buffer is accepted.
 */
function fileBackedRefused(k: Kernel, sw: DriverSwitches, mm: Mm, start: number, nr: number): number {
  const first = mm.find_vma(k, start)?.file ?? null;
  for (let j = 0; j < nr; j++) {
    const vma = mm.find_vma(k, start + j * PAGE_SIZE);
    if (!vma) continue;
    if (sw.ioUringMultiSourceRefused && (vma.file ?? null) !== first) return -EINVAL;
    if (!vma.file) continue;
    if (vma.flags & VM_HUGETLB) continue; // is_file_hugepages()
    if (sw.ioUringShmemBuffers && shmem_mapping(vma.file)) continue; // vma_is_shmem()
    return -EOPNOTSUPP;
  }
  return 0;
}

/** io_sqe_buffer_register(): pin, check, coalesce, account, build the bvecs. */
function* io_sqe_buffer_register(k: Kernel, sw: DriverSwitches, current: Task, ring: IoRing, iov: Iov,
  last: { hpage: number }, prev: readonly (MappedUbuf | null)[]): KernelGen<MappedUbuf | number> {
  const mem = k.mem;
  const ml = memlock(k);
  const nr = pagesSpanned(iov.base, iov.len);
  const start = pageAlignDown(iov.base);
  // Before v5.10 the buffer's page count was charged to the user first (io_account_mem()).
  if (!sw.ioUringHugeAcct && ring.userAcct) {
    if (ml.userLockedVm + nr > memlockLimitPages(k, current)) return -ENOMEM;
    ml.userLockedVm += nr;
  }
  const unaccountEarly = () => {
    if (!sw.ioUringHugeAcct && ring.userAcct) ml.userLockedVm -= nr;
  };
  // io_pin_pages(): FOLL_WRITE|FOLL_LONGTERM (v5.1: get_user_pages_longterm(FOLL_WRITE)).
  let pages = pageArray(nr);
  const pinned = sw.driversPin;
  let pret: number;
  if (!pinned) pret = get_user_pages_longterm(k, current, start, nr, FOLL_WRITE, pages);
  else if (sw.ioUringLateTable) pret = api.pin_user_pages_fast(k, current, start, nr, FOLL_WRITE | FOLL_LONGTERM, pages);
  else pret = api.pin_user_pages(k, current, start, nr, FOLL_WRITE | FOLL_LONGTERM, pages);
  let ret = 0;
  if (pret === nr) {
    if (!sw.ioUringGupFileCheck) ret = fileBackedRefused(k, sw, current.mm, start, nr);
  } else {
    // A partial pin is undone and reported as -EFAULT.
    ret = pret < 0 ? pret : -EFAULT;
  }
  if (ret) {
    releasePages(k, pinned, pages, pret);
    unaccountEarly();
    return ret;
  }
  // The pins are held, mmap_lock is not: the buffer may be unmapped, the mm forked, the pages'
  // folios split or migrated (all refuse or copy pinned folios) before the charge below.
  yield { point: 'after_pin_pages' };

  // Coalescing: one bvec and one pin per folio (R74.5, R123).
  let folioShift = PAGE_SHIFT;
  let single = false;
  if (sw.ioUringMultiFolioCoalesce) {
    if (nr > 1) {
      const d = io_check_coalesce_buffer(k, pages);
      if (d && d.nrPagesMid !== 1) {
        pages = io_coalesce_buffer(k, pages, d);
        folioShift = d.folioShift;
      }
    }
  } else if (sw.ioUringFolioCoalesce && nr > 1) {
    // v6.4: all pages consecutive in one folio → keep the first pin only.
    const h = mem.head(pages[0]);
    let same = true;
    for (let i = 1; i < nr && same; i++) same = mem.head(pages[i]) === h && pages[i] === pages[i - 1] + 1;
    if (same) {
      unpin_user_pages(k, pages.slice(1), nr - 1);
      pages = [pages[0]];
      single = true;
    }
  }

  // Accounting after pinning (v5.10+): io_buffer_account_pin().
  let acct = 0;
  if (sw.ioUringHugeAcct) {
    for (let i = 0; i < pages.length; i++) {
      const h = mem.head(pages[i]);
      if (mem.folioOrder(h) === 0) { acct++; continue; }
      if (h === last.hpage) continue;
      last.hpage = h;
      if (headpage_already_acct(k, pages, i, prev, h)) continue;
      acct += mem.folioNrPages(h);
    }
    if (acct) {
      if (ring.userAcct) {
        if (ml.userLockedVm + acct > memlockLimitPages(k, current)) {
          unpin_user_pages(k, pages, pages.length);
          return -ENOMEM;
        }
        ml.userLockedVm += acct;
      }
      ml.addPinnedVm(ring.mmAccount, acct);
    }
  }

  const bvecs: Bvec[] = [];
  if (single) {
    bvecs.push({ pfn: pages[0], offset: iov.base % PAGE_SIZE, len: iov.len });
  } else {
    const size = 2 ** folioShift;
    let off = iov.base % size;
    let left = iov.len;
    for (const p of pages) {
      const vl = Math.min(left, size - off);
      bvecs.push({ pfn: p, offset: off, len: vl });
      off = 0;
      left -= vl;
    }
  }
  return { ubuf: iov.base, len: iov.len, bvecs, folioShift, acctPages: sw.ioUringHugeAcct ? acct : nr, pinned };
}

/** headpage_already_acct(): the huge page was charged already, by this buffer or an earlier one. */
function headpage_already_acct(k: Kernel, pages: readonly number[], nr: number, prev: readonly (MappedUbuf | null)[],
  hpage: number): boolean {
  const mem = k.mem;
  for (let i = 0; i < nr; i++) {
    const h = mem.head(pages[i]);
    if (mem.folioOrder(h) > 0 && h === hpage) return true;
  }
  for (const b of prev) {
    if (!b) continue;
    for (const v of b.bvecs) {
      const h = mem.head(v.pfn);
      if (mem.folioOrder(h) > 0 && h === hpage) return true;
    }
  }
  return false;
}

interface FolioData {
  nrPagesMid: number;
  folioShift: number;
  nrPagesHead: number;
  nrFolios: number;
}

/**
 * io_check_coalesce_buffer(): the pages are contiguous within each folio and every folio has the
 * same size, except that the first may start and the last may end part-way.
 */
export function io_check_coalesce_buffer(k: Kernel, pages: readonly number[]): FolioData | null {
  const mem = k.mem;
  let folio = mem.head(pages[0]);
  let count = 1;
  let nrFolios = 1;
  const nrPagesMid = mem.folioNrPages(folio);
  const folioShift = PAGE_SHIFT + mem.folioOrder(folio);
  let nrPagesHead = 0;
  for (let i = 1; i < pages.length; i++) {
    if (mem.head(pages[i]) === folio && pages[i] === pages[i - 1] + 1) {
      count++;
      continue;
    }
    if (nrFolios === 1) {
      if (pages[i - 1] - folio !== nrPagesMid - 1) return null;
      nrPagesHead = count;
    } else if (count !== nrPagesMid) {
      return null;
    }
    folio = mem.head(pages[i]);
    if (mem.folioNrPages(folio) * PAGE_SIZE !== 2 ** folioShift || pages[i] !== folio) return null;
    count = 1;
    nrFolios++;
  }
  if (nrFolios === 1) nrPagesHead = count;
  return { nrPagesMid, folioShift, nrPagesHead, nrFolios };
}

/**
 * io_coalesce_buffer(): keep one pin per folio (the head page of the first, the first page of
 * the others) and unpin the rest right away — counted in nr_foll_pin_released (R74.5).
 */
function io_coalesce_buffer(k: Kernel, pages: number[], d: FolioData): number[] {
  const out: number[] = [k.mem.head(pages[0])];
  if (d.nrPagesHead > 1) unpin_user_pages(k, pages.slice(1, d.nrPagesHead), d.nrPagesHead - 1);
  let j = d.nrPagesHead;
  let left = pages.length - d.nrPagesHead;
  for (let i = 1; i < d.nrFolios; i++) {
    out.push(pages[j]);
    const nrUnpin = Math.min(left - 1, d.nrPagesMid - 1);
    if (nrUnpin > 0) unpin_user_pages(k, pages.slice(j + 1, j + 1 + nrUnpin), nrUnpin);
    j += d.nrPagesMid;
    left -= d.nrPagesMid;
  }
  return out;
}

/** io_buffer_unmap(): one unpin_user_page() per bvec (put_page() before v5.6), then unaccount. */
function io_buffer_unmap(k: Kernel, ring: IoRing, b: MappedUbuf): void {
  const sw = driverSwitches(k.profile);
  const ml = memlock(k);
  for (const v of b.bvecs) {
    if (b.pinned) unpin_user_page(k, v.pfn);
    else put_page(k, v.pfn);
  }
  if (b.acctPages) {
    if (ring.userAcct) ml.userLockedVm -= b.acctPages;
    if (sw.ioUringHugeAcct) ml.addPinnedVm(ring.mmAccount, -b.acctPages);
  }
}

/** IORING_UNREGISTER_BUFFERS: io_sqe_buffers_unregister(); -ENXIO when nothing is registered. */
export function io_sqe_buffers_unregister(k: Kernel, ring: IoRing): number {
  if (!ring.bufs) return -ENXIO;
  const bufs = ring.bufs;
  ring.bufs = null;
  for (const b of bufs) if (b) io_buffer_unmap(k, ring, b);
  return 0;
}

/**
 * io_ring_ctx_wait_and_kill() → io_ring_ctx_free() (io_uring/io_uring.c): the ring goes, and
 * io_sqe_buffers_unregister() releases its registered buffers — their pins are released here,
 * at the last close of the ring, not before.
 */
export function io_ring_ctx_wait_and_kill(k: Kernel, ring: IoRing): void {
  k.fp.write('ring', ring.id); // the exit work takes the ring's lock also when it finds it dead
  if (ring.dead) return;
  k.note(`io_uring ring ${ring.id}: io_ring_ctx_free()`);
  if (ring.bufs) io_sqe_buffers_unregister(k, ring);
  ring.dead = true;
}

/**
 * The bvec segments a READ_FIXED / WRITE_FIXED of [addr, addr + len) on buffer bufIndex would
 * iterate (io_import_fixed(): validate_fixed_range(), then iov_iter_bvec() from the first bvec
 * that holds addr, with iov_offset into it), resolved into trimmed segments. -EFAULT when the
 * buffer does not exist or the range is not inside it. No pins are taken (R136).
 */
export function ioUringFixedBvec(k: Kernel, ring: IoRing, bufIndex: number, addr: number, len: number): BvecSeg[] | number {
  const imu = ring.bufs?.[bufIndex];
  if (!imu) return -EFAULT;
  if (len < 0 || addr < imu.ubuf || addr + len > imu.ubuf + imu.len) return -EFAULT;
  let offset = addr - imu.ubuf;
  // Every bvec but the first and last is exactly one folio; skip whole ones arithmetically.
  let idx = 0;
  const size = 2 ** imu.folioShift;
  if (offset >= imu.bvecs[0].len) {
    offset -= imu.bvecs[0].len;
    idx = 1 + Math.floor(offset / size);
    offset %= size;
  }
  const out: BvecSeg[] = [];
  let left = len;
  for (let i = idx; left > 0 && i < imu.bvecs.length; i++) {
    const v = imu.bvecs[i];
    const n = Math.min(left, v.len - offset);
    out.push({ pfn: v.pfn, offset: v.offset + offset, len: n });
    left -= n;
    offset = 0;
  }
  return out;
}

/** A device completing a READ_FIXED: writes `value` into every page the segments cover. */
export function ioUringFixedDma(k: Kernel, segs: readonly BvecSeg[], value: number): void {
  for (const s of segs) {
    const first = s.pfn + Math.floor(s.offset / PAGE_SIZE);
    const last = s.pfn + Math.floor((s.offset + s.len - 1) / PAGE_SIZE);
    for (let p = first; p <= last; p++) dmaWritePage(k, p, value);
  }
}
