// Scenario operations for the block layer: the device's side of in-flight I/O.

import { bio_dirty_fn, bioState } from '../../block/bio.js';
import { blk_complete_one, devState, inFlight } from '../../block/blkdev.js';
import { bio_alloc, bio_iov_iter_get_pages, bio_release_pages, type Bio } from '../../block/bio.js';
import { GFP_KERNEL } from '../../mm/memory.js';
import { PAGE_SIZE, O_DIRECT } from '../../include/uapi.js';
import { ioUringFixedBvec } from '../../drivers/io-uring.js';
import { ringOf } from './drivers.js';
import { newPipe, pipeBuffers, type Pipe } from '../../lib/pipe-buf.js';
import { splice_check_file_to_pipe, splice_read_direct } from '../../fs/splice.js';
import { directIOOf, EBADF, fdget, isRegular, type OpenFile, type RegularFile } from '../../fs/fdtable.js';
import { generic_write_check_limits } from '../../fs/read_write.js';
import { EINVAL } from '../../include/uapi.js';
import { ScenarioError } from '../backend.js';
import { File } from '../../fs/file.js';
import { EFAULT } from '../../include/uapi.js';
import { blk_execute_rq, blk_rq_map_user_iov, blk_rq_unmap_user } from '../../block/blk-map.js';
import { bool, int, missing, name, oneOf, type ArgsOf } from '../args.js';
import { op, query, ret, task, type Ctx, type OpImpl, type QueryImpl } from './common.js';
import { files, registerFile } from '../../mm/filemap.js';
import { stateKey } from '../../kernel.js';
import { import_iovec, import_ubuf, iov_iter_bvec, iov_iter_discard, iov_iter_kvec, iov_iter_pipe, type BvecSeg, type IovIter, access_ok } from '../../lib/iov_iter/uio.js';
import { iov_iter_revert } from '../../lib/iov_iter/advance.js';

/**
 * io_submit() of one IOCB_CMD_PREAD / PWRITE on an O_DIRECT file (fs/aio.c aio_read()/aio_write()
 * → ->read_iter with IOCB_DIRECT and no wait): -EIOCBQUEUED while the bios are in flight — the
 * device completes them in later blk_complete steps.
 */
function aioDirect(c: Ctx, a: ArgsOf<typeof AIO_ARGS>, write: boolean): number {
  const t = task(c);
  const of = fdget(c.k, t, a.fd);
  if (!of) return -EBADF;
  if (!directFile(of)) throw new ScenarioError('the model runs only O_DIRECT I/O asynchronously; open a regular file with O_DIRECT', 'fd');
  const pos = a.offset;
  if (pos < 0) return -EINVAL;
  const dio = directIOOf(of);
  const iter = import_ubuf(write ? 'ITER_SOURCE' : 'ITER_DEST', t.mm, a.buf, a.count, c.k);
  // ->write_iter's generic_write_checks(): -EFBIG at s_maxbytes, as for pwrite().
  const lim = write && iter.count ? generic_write_check_limits(of, iter, pos) : 0;
  return lim || dio(c.k, of.file, iter, pos, { async: true });
}

/** A regular file opened with O_DIRECT: what the asynchronous and fixed-buffer ops model. */
function directFile(of: OpenFile): of is RegularFile {
  return isRegular(of) && (of.flags & O_DIRECT) !== 0;
}

const SCENARIO_BLOCK_HANDLES_KEY = stateKey('scenario-block-handles', () => ({ pipes: [] as Pipe[], iters: [] as IovIter[], bio: null as Bio | null }));

/** Iterators (and the pipes of ITER_PIPE iterators) a scenario refers to by number. */
function handles(c: Ctx): { pipes: Pipe[]; iters: IovIter[]; bio: Bio | null } {
  return c.k.state(SCENARIO_BLOCK_HANDLES_KEY);
}

/** Kernel pages for a KVEC/BVEC iterator, freed at teardown (the kernel buffer's owner lets go). */
function kernelPages(c: Ctx, n: number): BvecSeg[] {
  const segs: BvecSeg[] = [];
  for (let i = 0; i < n; i++) {
    const pfn = c.k.mem.allocFolio(GFP_KERNEL, 0, 'kernel buffer of an ITER_KVEC/ITER_BVEC');
    if (pfn < 0) throw new ScenarioError('out of memory for kernel pages');
    segs.push({ pfn, offset: 0, len: PAGE_SIZE });
  }
  c.k.onTeardown(() => { for (const s of segs) c.k.mem.putRefs(s.pfn, 1); });
  return segs;
}

/**
 * Build an iterator of the given type over len bytes: the task's memory at addr for UBUF/IOVEC,
 * fresh kernel pages for KVEC/BVEC, a new pipe for PIPE, nothing for DISCARD.
 */
const ITER_TYPES = ['ITER_UBUF', 'ITER_IOVEC', 'ITER_KVEC', 'ITER_BVEC', 'ITER_PIPE', 'ITER_DISCARD'] as const;

function iterOfType(c: Ctx, type: (typeof ITER_TYPES)[number], addr: number | null, len: number): IovIter {
  const n = Math.ceil(len / PAGE_SIZE);
  switch (type) {
    case 'ITER_UBUF': return import_ubuf('ITER_DEST', task(c).mm, addr ?? missing('addr'), len, c.k);
    case 'ITER_IOVEC': return import_iovec('ITER_DEST', task(c).mm, [{ base: addr ?? missing('addr'), len: len / 2 }, { base: (addr ?? missing('addr')) + len / 2, len: len / 2 }], c.k);
    case 'ITER_KVEC': return iov_iter_kvec('ITER_DEST', kernelPages(c, n), len);
    case 'ITER_BVEC': return iov_iter_bvec('ITER_DEST', kernelPages(c, n), len);
    case 'ITER_PIPE': {
      if (!c.k.profile.iterPipe) throw new ScenarioError(`ITER_PIPE does not exist in profile ${c.k.profile.name} (removed in v6.5)`, 'type');
      const h = handles(c);
      h.pipes.push(newPipe(c.k));
      return iov_iter_pipe('ITER_DEST', h.pipes[h.pipes.length - 1], len);
    }
    case 'ITER_DISCARD': return iov_iter_discard('ITER_DEST', len);
  }
}

function byIndex<T>(list: T[], i: number, name: string, what: string): T {
  const v = list[i];
  if (v === undefined) throw new ScenarioError(`'${name}' = ${i} is not a ${what} of this run`, name);
  return v;
}

/**
 * IORING_OP_READ_FIXED / WRITE_FIXED on an O_DIRECT file (io_uring/rw.c io_import_fixed()): the
 * registered buffer's bvecs become an ITER_BVEC, so the bio borrows them (bio_iov_bvec_set()) and
 * takes no reference or pin of its own — the registration's long-term pins keep the pages (R136).
 */
function fixedIo(c: Ctx, a: ArgsOf<typeof FIXED_ARGS>, write: boolean): number {
  const t = task(c);
  const ring = ringOf(c, a.ring);
  if (typeof ring === 'number') return ring;
  const of = fdget(c.k, t, a.fd);
  if (!of) return -EBADF;
  if (!directFile(of)) throw new ScenarioError('fixed-buffer I/O is modelled for regular files opened with O_DIRECT', 'fd');
  const segs = ioUringFixedBvec(c.k, ring, a.buf_index, a.addr, a.len);
  if (typeof segs === 'number') return segs;
  const iter = iov_iter_bvec(write ? 'ITER_SOURCE' : 'ITER_DEST', segs, a.len);
  const lim = write && iter.count ? generic_write_check_limits(of, iter, a.offset) : 0;
  if (lim) return lim;
  return directIOOf(of)(c.k, of.file, iter, a.offset, { async: a.async });
}

const FIXED_ARGS = {
  fd: int(), buf_index: int(), addr: int('inside the registered buffer'), len: int(), offset: int(),
  ring: int('default: the task\'s ring').optional(), async: bool().default(false),
};

const AIO_ARGS = { fd: int(), buf: int('user address'), count: int(), offset: int() };

/**
 * ioctl(SG_IO) on a block device node (block/scsi_ioctl.c sg_io() → blk_rq_map_user_io() →
 * block/blk-map.c blk_rq_map_user_iov(); blk_execute_rq(); blk_rq_unmap_user()): 0 or -errno.
 */
function sgIo(c: Ctx, a: ArgsOf<typeof SG_IO_ARGS>): number {
  const dev = a.dev;
  const dir = a.dir;
  const buf = a.buf;
  const len = a.len;
  if (!access_ok(buf, len)) return -EFAULT; // import_ubuf() in blk_rq_map_user_io()
  const iter = import_ubuf(dir === 'read' ? 'ITER_DEST' : 'ITER_SOURCE', task(c).mm, buf, len, c.k);
  const rq = blk_rq_map_user_iov(c.k, iter);
  if (typeof rq === 'number') return rq;
  const status = blk_execute_rq(c.k, rq, dev, Math.floor(a.offset / PAGE_SIZE));
  const unmap = blk_rq_unmap_user(c.k, rq);
  return status || unmap;
}

const SG_IO_ARGS = {
  dev: name('a device made by create_blkdev').map((n, arg, c: Ctx) => {
    const dev = files(c.k).get(n);
    if (!dev) throw new ScenarioError(`no device named '${n}' (create it with create_blkdev)`, arg);
    if (!dev.fstype.blkdev) throw new ScenarioError(`'${n}' is not a block device node (create it with create_blkdev)`, arg);
    return dev;
  }),
  buf: int('user address'), len: int(),
  dir: oneOf(['read', 'write'], 'read (SG_DXFER_FROM_DEV) | write (SG_DXFER_TO_DEV)'), offset: int('device byte offset (default 0)').default(0),
};

export const BLOCK_OPS: OpImpl[] = [
  op({
    name: 'bio_iov_iter_get_pages',
    summary: 'a read bio filled from an iterator of the given type: 0 or -errno; the bio query shows its cleanup mode',
    source: 'block/bio.c bio_iov_iter_get_pages()', needsTask: true,
    args: { type: oneOf(ITER_TYPES, 'ITER_UBUF | ITER_IOVEC | ITER_KVEC | ITER_BVEC | ITER_PIPE | ITER_DISCARD'),
      addr: int('user memory for UBUF/IOVEC').optional(), len: int() },
    run(c, a) {
      const bio = bio_alloc(c.k, 'REQ_OP_READ', 16, null);
      handles(c).bio = bio;
      return ret(bio_iov_iter_get_pages(c.k, bio, iterOfType(c, a.type, a.addr, a.len)));
    },
  }),
  op({
    name: 'bio_release_pages', summary: 'bio_release_pages() of the last bio built with bio_iov_iter_get_pages',
    source: 'block/blk.h bio_release_pages()', needsTask: false, args: { mark_dirty: bool().default(false) },
    run(c, a) {
      const bio = handles(c).bio;
      if (!bio) throw new ScenarioError('no bio: build one with bio_iov_iter_get_pages first');
      bio_release_pages(c.k, bio, a.mark_dirty);
      return ret(0);
    },
  }),
  op({
    name: 'io_uring_read_fixed', summary: 'IORING_OP_READ_FIXED on an O_DIRECT file: bytes, -EIOCBQUEUED (async) or -errno',
    source: 'io_uring/rw.c io_read() / io_import_fixed(); block/bio.c bio_iov_bvec_set()', needsTask: true, args: FIXED_ARGS,
    run: (c, a) => ret(fixedIo(c, a, false)),
  }),
  op({
    name: 'io_uring_write_fixed', summary: 'IORING_OP_WRITE_FIXED on an O_DIRECT file: bytes, -EIOCBQUEUED (async) or -errno',
    source: 'io_uring/rw.c io_write() / io_import_fixed(); block/bio.c bio_iov_bvec_set()', needsTask: true, args: FIXED_ARGS,
    run: (c, a) => ret(fixedIo(c, a, true)),
  }),
  op({
    name: 'aio_pread', summary: 'io_submit(IOCB_CMD_PREAD) on an O_DIRECT file: -EIOCBQUEUED while in flight, or bytes / -errno',
    source: 'fs/aio.c aio_read(); fs/iomap/direct-io.c __iomap_dio_rw()', needsTask: true, args: AIO_ARGS,
    run: (c, a) => ret(aioDirect(c, a, false)),
  }),
  op({
    name: 'aio_pwrite', summary: 'io_submit(IOCB_CMD_PWRITE) on an O_DIRECT file: -EIOCBQUEUED while in flight, or bytes / -errno',
    source: 'fs/aio.c aio_write(); fs/iomap/direct-io.c __iomap_dio_rw()', needsTask: true, args: AIO_ARGS,
    run: (c, a) => ret(aioDirect(c, a, true)),
  }),
  op({
    name: 'splice_read',
    summary: 'splice() from an O_DIRECT file into a pipe (its write end): returns bytes or -EIOCBQUEUED; binds the iterator (for iov_iter_revert)',
    source: 'fs/splice.c do_splice(), generic_file_splice_read() (≤6.4) / copy_splice_read() (6.5+)', needsTask: true,
    args: { fd: int(), pipe: int('the pipe\'s write end (P[1] of pipe:)'), len: int(), offset: int() },
    run(c, a) {
      const t = task(c);
      const of = fdget(c.k, t, a.fd);
      const out = fdget(c.k, t, a.pipe);
      if (!of || !out) return ret(-EBADF);
      if (isRegular(of) && !(of.flags & O_DIRECT)) throw new ScenarioError('splice_read models O_DIRECT files; open with O_DIRECT', 'fd');
      const pipe = splice_check_file_to_pipe(c.k, of, out);
      if (typeof pipe === 'number') return ret(pipe);
      if (!isRegular(of)) throw new ScenarioError('splice_read models O_DIRECT regular files', 'fd');
      const h = handles(c);
      const r = splice_read_direct(c.k, t, of, pipe, a.len, a.offset);
      h.iters.push(r.iter);
      return ret(r.ret, h.iters.length - 1);
    },
  }),
  op({
    name: 'iov_iter_revert', summary: 'iov_iter_revert(iter, bytes): a short read gives back what it did not use (ITER_PIPE: pipe_truncate())',
    source: 'lib/iov_iter.c iov_iter_revert()', needsTask: false, args: { iter: int(), bytes: int() },
    run(c, a) {
      iov_iter_revert(c.k, byIndex(handles(c).iters, a.iter, 'iter', 'iterator'), a.bytes);
      return ret(0);
    },
  }),
  op({
    name: 'blk_complete', summary: 'the device completes the oldest in-flight bios (DMA, then bio_endio()); returns how many',
    source: 'block/bio.c bio_endio()', needsTask: false, args: { count: int('default: all in flight').optional() },
    run(c, a) {
      const n = a.count ?? inFlight(c.k);
      let done = 0;
      while (done < n && blk_complete_one(c.k)) done++;
      return ret(done);
    },
  }),
  op({
    name: 'bio_dirty_fn', summary: 'the bio_dirty_work worker: re-dirty and release bios whose pages were cleaned during a read',
    source: 'block/bio.c bio_dirty_fn()', needsTask: false, args: {},
    run: (c) => ret(bio_dirty_fn(c.k)),
  }),
  op({
    name: 'create_blkdev',
    summary: 'a raw block device node of size bytes: O_DIRECT read/write/aio go to blkdev_direct_IO(), sg_io maps user buffers',
    source: 'block/fops.c def_blk_fops, blkdev_direct_IO()', needsTask: false,
    args: { name: name(), size: int('device size in bytes') },
    run(c, a) {
      if (files(c.k).has(a.name)) throw new ScenarioError(`a file named '${a.name}' already exists`, 'name');
      if (a.size < 0) throw new ScenarioError(`size must not be negative, not ${a.size}`, 'size');
      const f = new File(a.name, 'blkdev', a.size);
      files(c.k).set(a.name, f);
      registerFile(c.k, f);
      return ret(0);
    },
  }),
  op({
    name: 'sg_io',
    summary: 'ioctl(SG_IO) data transfer on a block device: map (pinned from 6.5) or bounce the user buffer, DMA, unmap: 0 or -errno',
    source: 'block/scsi_ioctl.c sg_io(); block/blk-map.c blk_rq_map_user_iov(), bio_map_user_iov(), bio_copy_user_iov(), blk_rq_unmap_user()',
    needsTask: true, args: SG_IO_ARGS,
    run: (c, a) => ret(sgIo(c, a)),
  }),
];

export const BLOCK_QUERIES: QueryImpl[] = [
  query({
    name: 'bio', summary: 'the last bio built with bio_iov_iter_get_pages: its cleanup mode and size', needsTask: false, args: {},
    fields: ['pinned', 'reffed', 'no_page_ref', 'cloned', 'size', 'vecs', 'gup_vecs'],
    eval(c) {
      const b = handles(c).bio;
      if (!b) throw new ScenarioError('no bio: build one with bio_iov_iter_get_pages first');
      return { pinned: b.pinned, reffed: b.reffed, no_page_ref: b.noPageRef, cloned: b.cloned, size: b.size, vecs: b.vecs.length,
        gup_vecs: c.k.profile.bvecOriginFlags ? b.vecs.filter((v) => v.gup).length : null };
    },
  }),
  query({
    name: 'blkdev', summary: 'the block device: bios in flight and completed, DMA into freed pages',
    needsTask: false, args: {}, fields: ['in_flight', 'completed', 'dma_into_freed', 'bio_dirty_list', 'pipe0_buffers'],
    eval: (c) => {
      const st = devState(c.k);
      return { in_flight: st.peek().length, completed: st.completed, dma_into_freed: st.dmaIntoFreed.length,
        bio_dirty_list: bioState(c.k).peekLength,
        pipe0_buffers: handles(c).pipes[0] ? pipeBuffers(handles(c).pipes[0]).length : null };
    },
  }),
];
