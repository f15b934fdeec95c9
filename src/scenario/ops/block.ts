// Scenario operations for the block layer: the device's side of in-flight I/O.

import { bio_dirty_fn, bioState } from '../../block/bio.js';
import { blk_complete_one, devState, inFlight } from '../../block/blkdev.js';
import '../../block/direct-io.js';
import { import_ubuf, iov_iter_bvec, iov_iter_revert, type IovIter } from '../../block/iov-iter.js';
import { defaultRing, findRing, ioUringFixedBvec } from '../../drivers/io-uring.js';
import { newPipe, pipeBuffers, type Pipe } from '../../block/pipe.js';
import { splice_read_direct } from '../../block/splice.js';
import { EBADF, fdget, getDirectIO, O_DIRECT } from '../../fs/fdtable.js';
import { EINVAL } from '../../include/uapi.js';
import { ScenarioError } from '../backend.js';
import { A, bool, int, ret, task, type Args, type Ctx, type OpImpl, type QueryImpl } from './common.js';

/**
 * io_submit() of one IOCB_CMD_PREAD / PWRITE on an O_DIRECT file (fs/aio.c aio_read()/aio_write()
 * → ->read_iter with IOCB_DIRECT and no wait): -EIOCBQUEUED while the bios are in flight — the
 * device completes them in later blk_complete steps.
 */
function aioDirect(c: Ctx, a: Args, write: boolean): number {
  const t = task(c);
  const of = fdget(c.k, t, int(a, 'fd'));
  if (!of) return -EBADF;
  if (!(of.flags & O_DIRECT)) throw new ScenarioError('the model runs only O_DIRECT I/O asynchronously; open the file with O_DIRECT', 'fd');
  const pos = int(a, 'offset');
  if (pos < 0) return -EINVAL;
  const dio = getDirectIO()!;
  const iter = import_ubuf(write ? 'ITER_SOURCE' : 'ITER_DEST', t.mm, int(a, 'buf'), int(a, 'count'), c.k);
  return dio(c.k, t, of, iter, pos, { async: true });
}

/** Pipes and iterators a scenario refers to by number. */
function handles(c: Ctx): { pipes: Pipe[]; iters: IovIter[] } {
  return c.k.state('scenario-block-handles', () => ({ pipes: [] as Pipe[], iters: [] as IovIter[] }));
}

function byIndex<T>(list: T[], a: Args, name: string, what: string): T {
  const i = int(a, name);
  const v = list[i];
  if (v === undefined) throw new ScenarioError(`'${name}' = ${i} is not a ${what} of this run`, name);
  return v;
}

/**
 * IORING_OP_READ_FIXED / WRITE_FIXED on an O_DIRECT file (io_uring/rw.c io_import_fixed()): the
 * registered buffer's bvecs become an ITER_BVEC, so the bio borrows them (bio_iov_bvec_set()) and
 * takes no reference or pin of its own — the registration's long-term pins keep the pages (R136).
 */
function fixedIo(c: Ctx, a: Args, write: boolean): number {
  const t = task(c);
  const ring = a.ring === undefined || a.ring === null ? defaultRing(c.k, t) : findRing(c.k, int(a, 'ring'));
  if (!ring) return -EBADF;
  const of = fdget(c.k, t, int(a, 'fd'));
  if (!of) return -EBADF;
  if (!(of.flags & O_DIRECT)) throw new ScenarioError('fixed-buffer I/O is modelled for O_DIRECT files; open with O_DIRECT', 'fd');
  const segs = ioUringFixedBvec(c.k, ring, int(a, 'buf_index'), int(a, 'addr'), int(a, 'len'));
  if (typeof segs === 'number') return segs;
  const iter = iov_iter_bvec(write ? 'ITER_SOURCE' : 'ITER_DEST', segs, int(a, 'len'));
  return getDirectIO()!(c.k, t, of, iter, int(a, 'offset'), { async: bool(a, 'async', false) });
}

const FIXED_ARGS = [A('fd', 'int'), A('buf_index', 'int'), A('addr', 'int', true, 'inside the registered buffer'),
  A('len', 'int'), A('offset', 'int'), A('ring', 'int', false, 'default: the task\'s ring'), A('async', 'bool', false)];

const AIO_ARGS = [A('fd', 'int'), A('buf', 'int', true, 'user address'), A('count', 'int'), A('offset', 'int')];

export const BLOCK_OPS: OpImpl[] = [
  {
    name: 'io_uring_read_fixed', summary: 'IORING_OP_READ_FIXED on an O_DIRECT file: bytes, -EIOCBQUEUED (async) or -errno',
    source: 'io_uring/rw.c io_read() / io_import_fixed(); block/bio.c bio_iov_bvec_set()', needsTask: true, args: FIXED_ARGS,
    run: (c, a) => ret(fixedIo(c, a, false)),
  },
  {
    name: 'io_uring_write_fixed', summary: 'IORING_OP_WRITE_FIXED on an O_DIRECT file: bytes, -EIOCBQUEUED (async) or -errno',
    source: 'io_uring/rw.c io_write() / io_import_fixed(); block/bio.c bio_iov_bvec_set()', needsTask: true, args: FIXED_ARGS,
    run: (c, a) => ret(fixedIo(c, a, true)),
  },
  {
    name: 'aio_pread', summary: 'io_submit(IOCB_CMD_PREAD) on an O_DIRECT file: -EIOCBQUEUED while in flight, or bytes / -errno',
    source: 'fs/aio.c aio_read(); fs/iomap/direct-io.c __iomap_dio_rw()', needsTask: true, args: AIO_ARGS,
    run: (c, a) => ret(aioDirect(c, a, false)),
  },
  {
    name: 'aio_pwrite', summary: 'io_submit(IOCB_CMD_PWRITE) on an O_DIRECT file: -EIOCBQUEUED while in flight, or bytes / -errno',
    source: 'fs/aio.c aio_write(); fs/iomap/direct-io.c __iomap_dio_rw()', needsTask: true, args: AIO_ARGS,
    run: (c, a) => ret(aioDirect(c, a, true)),
  },
  {
    name: 'pipe', summary: 'pipe(): a pipe the scenario refers to by the number returned', source: 'fs/pipe.c', needsTask: false,
    args: [],
    run(c) {
      const h = handles(c);
      h.pipes.push(newPipe(c.k));
      return ret(h.pipes.length - 1);
    },
  },
  {
    name: 'splice_read',
    summary: 'splice() from an O_DIRECT file into a pipe: returns bytes or -EIOCBQUEUED; binds the iterator (for iov_iter_revert)',
    source: 'fs/splice.c generic_file_splice_read() (≤6.4) / copy_splice_read() (6.5+)', needsTask: true,
    args: [A('fd', 'int'), A('pipe', 'int'), A('len', 'int'), A('offset', 'int')],
    run(c, a) {
      const t = task(c);
      const of = fdget(c.k, t, int(a, 'fd'));
      if (!of) return ret(-EBADF);
      if (!(of.flags & O_DIRECT)) throw new ScenarioError('splice_read models O_DIRECT files; open with O_DIRECT', 'fd');
      const h = handles(c);
      const r = splice_read_direct(c.k, t, of, byIndex(h.pipes, a, 'pipe', 'pipe'), int(a, 'len'), int(a, 'offset'));
      h.iters.push(r.iter);
      return ret(r.ret, h.iters.length - 1);
    },
  },
  {
    name: 'iov_iter_revert', summary: 'iov_iter_revert(iter, bytes): a short read gives back what it did not use (ITER_PIPE: pipe_truncate())',
    source: 'lib/iov_iter.c iov_iter_revert()', needsTask: false, args: [A('iter', 'int'), A('bytes', 'int')],
    run(c, a) {
      iov_iter_revert(c.k, byIndex(handles(c).iters, a, 'iter', 'iterator'), int(a, 'bytes'));
      return ret(0);
    },
  },
  {
    name: 'blk_complete', summary: 'the device completes the oldest in-flight bios (DMA, then bio_endio()); returns how many',
    source: 'block/bio.c bio_endio()', needsTask: false, args: [A('count', 'int', false, 'default: all in flight')],
    run(c, a) {
      const n = int(a, 'count', inFlight(c.k));
      let done = 0;
      while (done < n && blk_complete_one(c.k)) done++;
      return ret(done);
    },
  },
  {
    name: 'bio_dirty_fn', summary: 'the bio_dirty_work worker: re-dirty and release bios whose pages were cleaned during a read',
    source: 'block/bio.c bio_dirty_fn()', needsTask: false, args: [],
    run: (c) => ret(bio_dirty_fn(c.k)),
  },
];

export const BLOCK_QUERIES: QueryImpl[] = [
  {
    name: 'blkdev', summary: 'the block device: bios in flight and completed, DMA into freed pages',
    needsTask: false, args: [], fields: ['in_flight', 'completed', 'dma_into_freed', 'bio_dirty_list', 'pipe0_buffers'],
    eval: (c) => {
      const st = devState(c.k);
      return { in_flight: st.queue.length, completed: st.completed, dma_into_freed: st.dmaIntoFreed.length,
        bio_dirty_list: bioState(c.k).dirtyList.length,
        pipe0_buffers: handles(c).pipes[0] ? pipeBuffers(handles(c).pipes[0]).length : null };
    },
  },
];
