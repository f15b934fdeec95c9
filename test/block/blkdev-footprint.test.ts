// The explorer orders steps by their footprints: what the device's completion and the
// bio_dirty_fn worker read and write must show there even when they find nothing to do, and a
// transfer must show the file whose blocks it moves (block/bio.c bio_endio(), bio_dirty_fn()).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bio_alloc, bio_dirty_fn, bio_add_page } from '../../src/block/bio.js';
import { blk_complete_one, inFlight, submit_bio } from '../../src/block/blkdev.js';
import { Kernel } from '../../src/kernel.js';
import { GFP_KERNEL } from '../../src/mm/memory.js';
import { PAGE_SIZE } from '../../src/include/uapi.js';
import { newFile } from '../fs/fs-helpers.js';
import { checkInvariants } from '../../src/check/invariants.js';

function explorerKernel(): Kernel {
  return new Kernel({ profile: 'current', trace: false, footprints: true, check: checkInvariants });
}

test('an interrupt or a bio_dirty_fn run that finds nothing still reads the device', () => {
  const k = explorerKernel();
  k.takeFootprint();
  assert.equal(inFlight(k), 0);
  assert.equal(blk_complete_one(k), false);
  assert.deepEqual(k.takeFootprint().reads.dev, [[0, 0]]);
  assert.equal(bio_dirty_fn(k), 0);
  const fp = k.takeFootprint();
  assert.deepEqual(fp.reads.dev, [[0, 0]]);
  assert.equal(fp.writes.dev, undefined);
});

test('a completed read bio reads its file, a completed write bio writes it', () => {
  const k = explorerKernel();
  const f = newFile(k, 'data', 1);
  f.disk.set(0, 5);
  const pfn = k.mem.allocFolio(GFP_KERNEL, 0);
  const read = bio_alloc(k, 'REQ_OP_READ', 1, { file: f, index: 0 });
  assert.equal(bio_add_page(k, read, pfn, PAGE_SIZE, 0), PAGE_SIZE);
  submit_bio(k, read);
  k.takeFootprint();
  assert.equal(blk_complete_one(k), true);
  let fp = k.takeFootprint();
  assert.deepEqual(fp.reads.file, [[f.id, f.id]]);
  assert.equal(fp.writes.file, undefined);
  assert.equal(k.mem.contentOf(pfn), 5);

  const wr = bio_alloc(k, 'REQ_OP_WRITE', 1, { file: f, index: 0 });
  k.mem.setContent(pfn, 6);
  assert.equal(bio_add_page(k, wr, pfn, PAGE_SIZE, 0), PAGE_SIZE);
  submit_bio(k, wr);
  k.takeFootprint();
  assert.equal(blk_complete_one(k), true);
  fp = k.takeFootprint();
  assert.deepEqual(fp.writes.file, [[f.id, f.id]]);
  assert.equal(f.disk.get(0), 6);
  k.mem.putRefs(pfn, 1);
});
