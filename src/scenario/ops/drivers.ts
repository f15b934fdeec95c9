// Scenario operations and queries for the users of pins in drivers and system calls (src/drivers/):
// io_uring fixed buffers, process_vm_readv/writev, vmsplice, RDMA MRs, VFIO DMA mappings, and the
// seed 004 conversions (goldfish pipe, drm/via, AF_XDP UMEM, v4l2 videobuf, powerpc mm_iommu).
// Pins a driver keeps are recorded as holders, so the leak report names the driver call.

import { EINVAL, PAGE_SIZE } from '../../include/uapi.js';
import { PG_dirty } from '../../mm/page-flags.js';
import type { Task } from '../../vm/mm.js';
import { EBADF } from '../../drivers/common.js';
import { fdget, fput, get_file, type OpenFile } from '../../fs/fdtable.js';
import { runToEnd, type KernelGen } from '../../preempt.js';
import { get_pipe_info } from '../../fs/pipe.js';
import { errnoString } from '../../include/uapi.js';
import { deviceDmaWrite } from '../../drivers/device.js';
import { via_dmablit, type DmaDirection } from '../../drivers/drm-via.js';
import { goldfish_pipe_read_write } from '../../drivers/goldfish-pipe.js';
import * as uring from '../../drivers/io-uring.js';
import { memlock, set_cap_ipc_lock, setrlimit_memlock } from '../../drivers/memlock.js';
import { mm_iommu_new, mm_iommu_put, mmIommuState } from '../../drivers/mm-iommu.js';
import { process_vm_rw, type Iovec } from '../../drivers/process-vm.js';
import { IB_ACCESS_NAMES, ib_umem_get, ib_umem_release, rdmaState } from '../../drivers/rdma-umem.js';
import { VFIO_DMA_MAP_NAMES, vfio_dma_do_map, vfio_dma_do_unmap, vfioDeviceDmaWrite, vfioState } from '../../drivers/vfio.js';
import { videobuf_dma_free, videobuf_dma_init_user, videobufState } from '../../drivers/videobuf.js';
import { do_vmsplice, pipePages } from '../../drivers/vmsplice.js';
import { pipeBytes, type Pipe } from '../../lib/pipe-buf.js';
import { xdp_umem_reg, xdp_umem_release, xdpState } from '../../drivers/xdp-umem.js';
import { ScenarioError, type Value } from '../backend.js';
import { bool, int, missing, oneOf, str, value, type Arg, type ArgsOf } from '../args.js';
import { op, query, ret, task, taskNamed, type Ctx, type OpImpl, type QueryImpl } from './common.js';

// ---- argument helpers ---------------------------------------------------------------------------

/** A flags string written with the kernel's names: "IB_ACCESS_LOCAL_WRITE|IB_ACCESS_REMOTE_READ", or a number. */
function namedFlags(given: string, name: string, table: Readonly<Record<string, number>>): number {
  const text = given.trim();
  let v = 0;
  for (const part of text.split('|').map((s) => s.trim()).filter(Boolean)) {
    if (/^(0x[0-9a-f]+|\d+)$/i.test(part)) v |= Number(part);
    else if (part in table) v |= table[part];
    else throw new ScenarioError(`unknown flag '${part}' in '${name}' (known: ${Object.keys(table).join(', ')})`, name);
  }
  return v;
}

/** A DMA direction: the words the kernel's enum dma_data_direction uses. */
const direction = (doc: string): Arg<DmaDirection> => oneOf(['DMA_TO_DEVICE', 'DMA_FROM_DEVICE'], doc);

/** iovecs as a flat list [base, len, base, len, ...], or one iovec from the addr/len arguments. */
function iovecs(list: Value | null, listName: string, addr: number | null, addrName: string, len: number | null): Iovec[] {
  if (list !== null) {
    if (!Array.isArray(list) || list.length % 2) throw new ScenarioError(`'${listName}' must be a list [base, len, base, len, ...]`, listName);
    const out: Iovec[] = [];
    for (let i = 0; i < list.length; i += 2) out.push({ base: list[i] as number, len: list[i + 1] as number });
    return out;
  }
  return [{ base: addr ?? missing(addrName), len: len ?? missing('len') }];
}

/**
 * The ring an operation names: its `ring:` descriptor in the task, or the task's last
 * io_uring_setup() descriptor. A bad descriptor is the kernel's answer (-EBADF, -EOPNOTSUPP).
 */
export function ringOf(c: Ctx, ring: number | null): uring.IoRing | number {
  const t = task(c);
  let fd: number | null;
  if (ring !== null) fd = ring;
  else {
    fd = uring.defaultRingFd(c.k, t);
    if (fd === null) throw new ScenarioError(`task '${t.name}' has no io_uring ring (call io_uring_setup first, or pass ring:)`, 'ring');
  }
  return uring.io_uring_get_ring(c.k, t, fd);
}

/** The same for a query, which has no return value to carry an errno. */
function queryRing(c: Ctx, ring: number | null): uring.IoRing {
  const r = ringOf(c, ring);
  if (typeof r === 'number') throw new ScenarioError(`no io_uring ring behind that descriptor (${errnoString(r)})`, 'ring');
  return r;
}

/** The pipe behind a descriptor of the task (for queries). */
function pipeOf(c: Ctx, fd: number): Pipe {
  const filp = fdget(c.k, task(c), fd);
  const p = filp ? get_pipe_info(filp) : null;
  if (!p) throw new ScenarioError(`fd ${fd} of task '${task(c).name}' is not a pipe`, 'fd');
  return p;
}

function hold(c: Ctx, what: string, pfns: readonly number[]): void {
  const held = pfns.filter((p) => p >= 0);
  if (held.length) c.holders.push({ label: `${c.task?.name ?? 'kernel'} ${what} at step ${c.stepNo}`, pfns: held });
}

const RING_ARG = int('the ring fd (default: the task\'s last io_uring_setup fd)').optional();

const REGISTER_ARGS = {
  ring: RING_ARG, opcode: str(), addr: int('first buffer').optional(), len: int('bytes per buffer').optional(),
  nr: int('buffers of len bytes back to back from addr (default 1)').default(1), iovecs: value('or a list [base, len, ...]').optional(),
};

function ioUringRegister(c: Ctx, a: ArgsOf<typeof REGISTER_ARGS>): number {
  return runToEnd(c.k, ioUringRegisterGen(c, a));
}

/**
 * io_uring_register() (io_uring/register.c; fs/io_uring.c before v5.19), stoppable at
 * `after_pin_pages`: the call holds a reference to the ring's file (fdget(), shared table) and
 * ctx->uring_lock, so a close() by another thread cannot release the ring and a second
 * (un)registration of the ring waits for the lock.
 */
function* ioUringRegisterGen(c: Ctx, a: ArgsOf<typeof REGISTER_ARGS>): KernelGen<number> {
  const t = task(c);
  const op = a.opcode;
  if (op !== 'IORING_REGISTER_BUFFERS' && op !== 'IORING_UNREGISTER_BUFFERS') {
    if (!/^IORING_/.test(op)) throw new ScenarioError(`opcode must be IORING_REGISTER_BUFFERS or IORING_UNREGISTER_BUFFERS, not '${op}'`, 'opcode');
    return -EINVAL; // other opcodes are not modelled: the kernel's answer for an unknown one (opcode >= IORING_REGISTER_LAST)
  }
  const ring = ringOf(c, a.ring);
  if (typeof ring === 'number') return ring;
  let iovs: Iovec[] | null = null;
  if (op === 'IORING_REGISTER_BUFFERS') iovs = registerIovecs(a);
  const filp = get_file(c.k, fdget(c.k, t, a.ring ?? uring.defaultRingFd(c.k, t) ?? -1) as OpenFile);
  try {
    if (ring.locked) yield { point: 'uring_lock', waitUntil: () => !ring.locked, waitsFor: `ring ${ring.id}'s uring_lock` };
    ring.locked = true;
    try {
      if (iovs === null) return uring.io_sqe_buffers_unregister(c.k, ring);
      const r = yield* uring.io_sqe_buffers_register_gen(c.k, t, ring, iovs);
      if (r === 0) hold(c, `io_uring_register(IORING_REGISTER_BUFFERS, ring ${ring.id})`, (ring.peekBufs() ?? []).flatMap((b) => (b ? uring.bufPages(b) : [])));
      return r;
    } finally {
      ring.locked = false;
    }
  } finally {
    fput(c.k, filp);
  }
}

/** The buffers of an IORING_REGISTER_BUFFERS step: iovecs:, or nr buffers of len bytes from addr. */
function registerIovecs(a: ArgsOf<typeof REGISTER_ARGS>): Iovec[] {
  let iovs: Iovec[];
  if (a.iovecs !== null) {
    iovs = iovecs(a.iovecs, 'iovecs', a.addr, 'addr', a.len);
  } else {
    const nr = a.nr;
    const base = a.addr ?? missing('addr');
    const len = a.len ?? missing('len');
    if (nr < 0 || nr > 1 << 16) throw new ScenarioError('nr must be 0 .. 65536', 'nr');
    iovs = Array.from({ length: nr }, (_, i) => ({ base: base + i * len, len }));
  }
  return iovs;
}

// ---- operations -----------------------------------------------------------------------------------

const PVM_ARGS = {
  pid: taskNamed('the task whose memory is accessed'),
  local: int('local address (with len)').optional(), remote: int('remote address (with len)').optional(),
  len: int('bytes, for local/remote').optional(),
  local_iov: value('or a list [base, len, ...] of local iovecs').optional(),
  remote_iov: value('or a list [base, len, ...] of remote iovecs').optional(),
};

function pvmOp(name: string, vmWrite: boolean): OpImpl {
  return op({
    name, summary: `${name}(): ${vmWrite ? 'write to' : 'read from'} another process's memory; returns bytes copied or -errno`,
    source: 'mm/process_vm_access.c process_vm_rw_core()', needsTask: true, args: PVM_ARGS,
    run(c, a) {
      const lvec = iovecs(a.local_iov, 'local_iov', a.local, 'local', a.len);
      const rvec = iovecs(a.remote_iov, 'remote_iov', a.remote, 'remote', a.len);
      return ret(process_vm_rw(c.k, task(c), a.pid, lvec, rvec, vmWrite));
    },
  });
}

export const DRIVER_OPS: OpImpl[] = [
  op({
    name: 'io_uring_setup',
    summary: 'io_uring_setup(): a ring for the calling task; returns its fd, the lowest free one (the default ring of the task\'s io_uring ops); close() of its last descriptor (or exit) releases the ring and its buffers',
    source: 'io_uring/io_uring.c io_uring_create(), io_uring_install_fd(), io_uring_release()', needsTask: true, args: {},
    // No mmap_lock: the rings are kernel memory the task maps later (io_allocate_scq_urings();
    // only IORING_SETUP_NO_MMAP, not modelled, pins user memory), so a stopped fork does not block it.
    lockless: true,
    run: (c) => ret(uring.io_uring_setup(c.k, task(c))),
  }),
  op({
    name: 'io_uring_register',
    summary: 'io_uring_register(): IORING_REGISTER_BUFFERS (pins FOLL_WRITE|FOLL_LONGTERM) or IORING_UNREGISTER_BUFFERS; -EBADF for a closed fd, -EOPNOTSUPP for a file that is not a ring',
    source: 'io_uring/register.c io_uring_register_get_file(); io_uring/rsrc.c io_sqe_buffers_register(), io_sqe_buffers_unregister()', needsTask: true,
    args: REGISTER_ARGS, yieldPoints: uring.IO_URING_REGISTER_YIELD_POINTS,
    run: (c, a) => ret(ioUringRegister(c, a)),
    *steps(c, a) { return ret(yield* ioUringRegisterGen(c, a)); },
  }),
  op({
    name: 'io_uring_fixed_dma',
    summary: 'the device side of a READ_FIXED: DMA of a token into the bvecs io_import_fixed() picks (no block I/O); 0, -EFAULT, or -EBADF/-EOPNOTSUPP for a bad ring fd',
    source: 'io_uring/rsrc.c io_import_fixed()', needsTask: true,
    args: { ring: RING_ARG, buf_index: int('default 0').default(0), addr: int(), len: int(), value: int() },
    run(c, a) {
      const ring = ringOf(c, a.ring);
      if (typeof ring === 'number') return ret(ring);
      const segs = uring.ioUringFixedBvec(c.k, ring, a.buf_index, a.addr, a.len);
      if (typeof segs === 'number') return ret(segs);
      uring.ioUringFixedDma(c.k, segs, a.value);
      return ret(0);
    },
  }),
  op({
    name: 'setrlimit', summary: 'setrlimit(RLIMIT_MEMLOCK, bytes) for the task; -1 is RLIM_INFINITY (the default)',
    source: 'kernel/sys.c do_prlimit()', needsTask: true, args: { resource: str(), limit: int() },
    run(c, a) {
      if (a.resource !== 'RLIMIT_MEMLOCK') throw new ScenarioError('only RLIMIT_MEMLOCK is modelled', 'resource');
      setrlimit_memlock(c.k, task(c), a.limit < 0 ? null : a.limit);
      return ret(0);
    },
  }),
  op({
    name: 'capset', summary: 'grant or drop CAP_IPC_LOCK (tasks start as root: granted)', source: 'kernel/capability.c capset()',
    needsTask: true, args: { cap_ipc_lock: bool() },
    run(c, a) { set_cap_ipc_lock(c.k, task(c), a.cap_ipc_lock); return ret(0); },
  }),
  pvmOp('process_vm_readv', false),
  pvmOp('process_vm_writev', true),
  op({
    name: 'vmsplice',
    summary: 'vmsplice(): user memory into a pipe through its write end (page references, FOLL_GET, no pins), or out of it through its read end; bytes or -errno (-EBADF: not a pipe)',
    source: 'fs/splice.c vmsplice_to_pipe(), iter_to_pipe(), vmsplice_to_user()', needsTask: true,
    args: { fd: int('a pipe end (bound by pipe: P[1] writes into the pipe, P[0] reads out of it)'), addr: int().optional(),
      len: int().optional(), iov: value('or a list [base, len, ...]').optional() },
    run(c, a) {
      const t = task(c);
      const filp = fdget(c.k, t, a.fd);
      const p = filp ? get_pipe_info(filp) : null;
      const before = p ? p.peekHead() : 0;
      const r = do_vmsplice(c.k, t, a.fd, iovecs(a.iov, 'iov', a.addr, 'addr', a.len));
      if (p && p.peekHead() > before) hold(c, `vmsplice(fd ${a.fd})`, pipePages(p).slice(pipePages(p).length - (p.peekHead() - before)));
      return ret(r);
    },
  }),
  op({
    name: 'ib_reg_mr', summary: 'ibv_reg_mr(): ib_umem_get() pins FOLL_LONGTERM (+FOLL_WRITE if writable); returns the MR handle or -errno',
    source: 'drivers/infiniband/core/umem.c ib_umem_get()', needsTask: true,
    args: { addr: int(), length: int(),
      access: str('IB_ACCESS_* names joined by |; default IB_ACCESS_LOCAL_WRITE').default('IB_ACCESS_LOCAL_WRITE') },
    run(c, a) {
      const r = ib_umem_get(c.k, task(c), a.addr, a.length, namedFlags(a.access, 'access', IB_ACCESS_NAMES));
      if (typeof r === 'number') return ret(r);
      hold(c, `ib_reg_mr (MR ${r.id})`, r.pages());
      return ret(r.id);
    },
  }),
  op({
    name: 'ib_dereg_mr', summary: 'ibv_dereg_mr(): ib_umem_release() unpins each scatterlist entry (dirty if writable)',
    source: 'drivers/infiniband/core/umem.c ib_umem_release()', needsTask: false, args: { mr: int() },
    run(c, a) {
      const u = rdmaState(c.k).get(a.mr);
      if (!u) return ret(-EINVAL);
      ib_umem_release(c.k, u);
      return ret(0);
    },
  }),
  op({
    name: 'vfio_dma_map', summary: 'VFIO_IOMMU_MAP_DMA: pin FOLL_LONGTERM (+FOLL_WRITE for a writable mapping) and map at iova; 0 or -errno',
    source: 'drivers/vfio/vfio_iommu_type1.c vfio_dma_do_map(), vaddr_get_pfns()', needsTask: true,
    args: { vaddr: int(), size: int(), iova: int(),
      flags: str('VFIO_DMA_MAP_FLAG_READ|VFIO_DMA_MAP_FLAG_WRITE (the default)').default('VFIO_DMA_MAP_FLAG_READ|VFIO_DMA_MAP_FLAG_WRITE') },
    run(c, a) {
      const iova = a.iova;
      const r = vfio_dma_do_map(c.k, task(c), a.vaddr, a.size, iova, namedFlags(a.flags, 'flags', VFIO_DMA_MAP_NAMES));
      if (r === 0) hold(c, `vfio_dma_map (iova 0x${iova.toString(16)})`, vfioState(c.k).peekDmas().find((d) => d.iova === iova)?.pfns ?? []);
      return ret(r);
    },
  }),
  op({
    name: 'vfio_dma_unmap', summary: 'VFIO_IOMMU_UNMAP_DMA: put_pfn() each page; returns the bytes unmapped or -errno',
    source: 'drivers/vfio/vfio_iommu_type1.c vfio_dma_do_unmap(), put_pfn()', needsTask: false, args: { iova: int(), size: int() },
    run: (c, a) => ret(vfio_dma_do_unmap(c.k, a.iova, a.size)),
  }),
  op({
    name: 'vfio_device_dma_write', summary: 'the assigned device writes a token at iova through the IOMMU; -EFAULT on an IOMMU fault',
    source: 'an IOMMU-translated device', needsTask: false,
    args: { iova: int(), length: int('default PAGE_SIZE').default(PAGE_SIZE), value: int() },
    run: (c, a) => ret(vfioDeviceDmaWrite(c.k, a.iova, a.length, a.value)),
  }),
  op({
    name: 'goldfish_pipe_read', summary: 'read() on a goldfish pipe: pin FOLL_WRITE, the host writes the token, unpin dirty; returns bytes',
    source: 'drivers/platform/goldfish/goldfish_pipe.c goldfish_pipe_read_write()', needsTask: true,
    args: { addr: int(), len: int(), value: int() },
    run: (c, a) => ret(goldfish_pipe_read_write(c.k, task(c), a.addr, a.len, false, a.value)),
  }),
  op({
    name: 'goldfish_pipe_write', summary: 'write() on a goldfish pipe: pin read-only, the host reads, unpin; returns bytes',
    source: 'drivers/platform/goldfish/goldfish_pipe.c goldfish_pipe_read_write()', needsTask: true,
    args: { addr: int(), len: int() },
    run: (c, a) => ret(goldfish_pipe_read_write(c.k, task(c), a.addr, a.len, true, 0)),
  }),
  op({
    name: 'via_dma_blit', summary: 'DRM_IOCTL_VIA_DMA_BLIT run to completion: pin, blit (DMA_FROM_DEVICE writes the token), release',
    source: 'drivers/gpu/drm/via/via_dmablit.c via_lock_all_dma_pages(), via_free_sg_info()', needsTask: true,
    args: { addr: int(), len: int(), direction: direction('DMA_TO_DEVICE or DMA_FROM_DEVICE'), value: int().default(0) },
    run: (c, a) => ret(via_dmablit(c.k, task(c), a.addr, a.len, a.direction, a.value)),
  }),
  op({
    name: 'xdp_umem_reg', summary: 'setsockopt(XDP_UMEM_REG): charge locked_vm, pin FOLL_WRITE|FOLL_LONGTERM; returns the socket fd or -errno',
    source: 'net/xdp/xdp_umem.c xdp_umem_reg()', needsTask: true,
    args: { addr: int(), len: int(), chunk_size: int('default 2048').default(2048) },
    run(c, a) {
      const r = xdp_umem_reg(c.k, task(c), a.addr, a.len, a.chunk_size);
      if (typeof r === 'number') return ret(r);
      hold(c, `xdp_umem_reg (fd ${r.fd})`, r.pgs);
      return ret(r.fd);
    },
  }),
  op({
    name: 'xsk_release', summary: 'closing the AF_XDP socket: xdp_umem_release() unpins (dirty) and unaccounts',
    source: 'net/xdp/xsk.c xsk_release(); net/xdp/xdp_umem.c xdp_umem_release()', needsTask: false, args: { fd: int() },
    run(c, a) {
      const u = xdpState(c.k).get(a.fd);
      if (!u) return ret(-EBADF);
      xdp_umem_release(c.k, u);
      return ret(0);
    },
  }),
  op({
    name: 'videobuf_dma_init_user', summary: 'queue a V4L2 user-pointer buffer: videobuf pins it FOLL_LONGTERM (+FOLL_WRITE for capture) until freed',
    source: 'drivers/media/v4l2-core/videobuf-dma-sg.c videobuf_dma_init_user_locked()', needsTask: true,
    args: { index: int('the buffer index in the queue'), addr: int(), size: int(),
      direction: direction('DMA_FROM_DEVICE (capture) or DMA_TO_DEVICE (output)') },
    run(c, a) {
      const index = a.index;
      const r = videobuf_dma_init_user(c.k, task(c), index, a.direction, a.addr, a.size);
      const d = videobufState(c.k).get(index);
      if (d) hold(c, `videobuf_dma_init_user (buffer ${index})`, d.pages.slice(0, d.nrPages));
      return ret(r);
    },
  }),
  op({
    name: 'videobuf_dma_free', summary: 'free a videobuf buffer: release its pages (dirty for capture since v5.6)',
    source: 'drivers/media/v4l2-core/videobuf-dma-sg.c videobuf_dma_free()', needsTask: false, args: { index: int() },
    run(c, a) {
      const d = videobufState(c.k).get(a.index);
      if (!d) return ret(-EINVAL);
      videobuf_dma_free(c.k, d);
      return ret(0);
    },
  }),
  op({
    name: 'mm_iommu_new', summary: 'VFIO_IOMMU_SPAPR_REGISTER_MEMORY: charge locked_vm, pin FOLL_WRITE|FOLL_LONGTERM; 0 or -errno',
    source: 'arch/powerpc/mm/book3s64/iommu_api.c mm_iommu_do_alloc()', needsTask: true,
    args: { ua: int(), entries: int() },
    run(c, a) {
      const ua = a.ua;
      const r = mm_iommu_new(c.k, task(c), ua, a.entries);
      if (r === 0) hold(c, `mm_iommu_new (ua 0x${ua.toString(16)})`, mmIommuState(c.k).peekFind((m) => m.ua === ua)?.hpages ?? []);
      return ret(r);
    },
  }),
  op({
    name: 'mm_iommu_put', summary: 'VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY: unpin (dirty where the device wrote); -ENOENT if not registered',
    source: 'arch/powerpc/mm/book3s64/iommu_api.c mm_iommu_put(), mm_iommu_unpin()', needsTask: true,
    args: { ua: int(), entries: int() },
    run: (c, a) => ret(mm_iommu_put(c.k, task(c), a.ua, a.entries)),
  }),
  op({
    name: 'device_dma_write', summary: 'the device behind a driver object writes a token into the pages it holds (all, or page index)',
    source: 'a DMA-capable device', needsTask: false,
    args: { driver: str('rdma (MR), xdp (socket fd), videobuf (buffer index), mm_iommu (ua); io_uring buffers: io_uring_fixed_dma'),
      id: int(), value: int(), index: int().optional() },
    run: (c, a) => ret(deviceDmaWrite(c.k, a.driver, a.id, a.value, a.index)),
  }),
];

// ---- queries ---------------------------------------------------------------------------------------

export const DRIVER_QUERIES: QueryImpl[] = [
  query({
    name: 'memlock', summary: 'memory the drivers charged: user->locked_vm, and the task mm\'s pinned_vm and locked_vm (pages)',
    needsTask: true, args: {}, fields: ['user_locked_vm', 'pinned_vm', 'locked_vm'],
    eval(c) {
      const t = c.task as Task;
      const m = memlock(c.k);
      return { user_locked_vm: m.userLockedVm, pinned_vm: m.pinnedVm(t.mm), locked_vm: m.lockedVm(t.mm) };
    },
  }),
  query({
    name: 'io_uring_buf', summary: 'a registered buffer of a ring: bvecs, bytes, pages charged, folio shift',
    needsTask: true, args: { ring: int().optional(), index: int('default 0').default(0) },
    fields: ['registered', 'nr_bvecs', 'len', 'acct_pages', 'folio_shift', 'pages', 'pinned'],
    eval(c, a) {
      const b = queryRing(c, a.ring).peekBufs()?.[a.index] ?? null;
      if (!b) return { registered: false, nr_bvecs: null, len: null, acct_pages: null, folio_shift: null, pages: null, pinned: null };
      return { registered: true, nr_bvecs: b.bvecs.length, len: b.len, acct_pages: b.acctPages, folio_shift: b.folioShift,
        pages: uring.bufPages(b).length, pinned: b.pinned };
    },
  }),
  query({
    name: 'io_uring_fixed', summary: 'the bvec segments a READ_FIXED/WRITE_FIXED of [addr, addr+len) would use (io_import_fixed())',
    needsTask: true, args: { ring: int().optional(), index: int('default 0').default(0), addr: int(), len: int() },
    fields: ['ret', 'nr_segs', 'bytes', 'first_pfn', 'first_offset'],
    eval(c, a) {
      const s = uring.ioUringFixedBvec(c.k, queryRing(c, a.ring), a.index, a.addr, a.len);
      if (typeof s === 'number') return { ret: s, nr_segs: null, bytes: null, first_pfn: null, first_offset: null };
      return { ret: 0, nr_segs: s.length, bytes: s.reduce((n, x) => n + x.len, 0), first_pfn: s[0]?.pfn ?? null,
        first_offset: s[0]?.offset ?? null };
    },
  }),
  query({
    name: 'ib_mr', summary: 'an RDMA MR: pages pinned, scatterlist entries, writable', needsTask: false, args: { mr: int() },
    fields: ['registered', 'npages', 'nents', 'writable'],
    eval(c, a) {
      const u = rdmaState(c.k).get(a.mr);
      return u ? { registered: true, npages: u.npages, nents: u.sg.length, writable: u.writable }
        : { registered: false, npages: null, nents: null, writable: null };
    },
  }),
  query({
    name: 'vfio_dma', summary: 'the VFIO mapping that holds iova: pages, how many are reserved (never unpinned), pfn at iova',
    needsTask: false, args: { iova: int() }, fields: ['mapped', 'npages', 'reserved', 'pfn'],
    eval(c, a) {
      const iova = a.iova;
      const d = vfioState(c.k).peekDmas().find((x) => iova >= x.iova && iova < x.end);
      return d ? { mapped: true, npages: d.pfns.length, reserved: d.rsvd.filter(Boolean).length, pfn: d.pfns[Math.floor((iova - d.iova) / PAGE_SIZE)] }
        : { mapped: false, npages: null, reserved: null, pfn: null };
    },
  }),
  query({
    name: 'pipe_buf', summary: 'the pipe behind a descriptor of the task (either end): buffers in use, bytes, the page and content token of the first buffer, readers, writers',
    needsTask: true, args: { fd: int() }, fields: ['nrbufs', 'bytes', 'pfn', 'content', 'readers', 'writers'],
    eval(c, a) {
      const p = pipeOf(c, a.fd);
      const pages = pipePages(p);
      const b = pages.length ? pages[0] : null;
      return { nrbufs: pages.length, bytes: pipeBytes(p), pfn: b, content: b === null ? null : c.k.mem.contentOf(b),
        readers: p.readers, writers: p.writers };
    },
  }),
  query({
    name: 'driver_pages', summary: 'the pages a driver object holds: how many, and how many are dirty', needsTask: false,
    args: { driver: str('xdp (fd), videobuf (index), mm_iommu (ua)'), id: int() }, fields: ['held', 'dirty'],
    eval(c, a) {
      const k = c.k;
      const id = a.id;
      let pages: number[] | null = null;
      switch (a.driver) {
        case 'xdp': { const u = xdpState(k).get(id); pages = u ? u.pgs.slice(0, u.npgs) : null; break; }
        case 'videobuf': { const d = videobufState(k).get(id); pages = d ? d.pages.slice(0, d.nrPages) : null; break; }
        case 'mm_iommu': { const m = mmIommuState(k).peekFind((x) => x.ua === id); pages = m ? m.hpages : null; break; }
        default: throw new ScenarioError('driver must be xdp, videobuf or mm_iommu', 'driver');
      }
      const out: Record<string, Value> = { held: pages ? pages.length : 0, dirty: pages ? pages.filter((p) => k.mem.test(k.mem.head(p), PG_dirty)).length : 0 };
      return out;
    },
  }),
];
