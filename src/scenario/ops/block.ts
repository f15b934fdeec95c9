// Scenario operations for the block layer: the device's side of in-flight I/O.

import { bio_dirty_fn, bioState } from '../../block/bio.js';
import { blk_complete_one, devState, inFlight } from '../../block/blkdev.js';
import '../../block/direct-io.js';
import { A, int, ret, type OpImpl, type QueryImpl } from './common.js';

export const BLOCK_OPS: OpImpl[] = [
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
    needsTask: false, args: [], fields: ['in_flight', 'completed', 'dma_into_freed', 'bio_dirty_list'],
    eval: (c) => {
      const st = devState(c.k);
      return { in_flight: st.queue.length, completed: st.completed, dma_into_freed: st.dmaIntoFreed.length,
        bio_dirty_list: bioState(c.k).dirtyList.length };
    },
  },
];
