// The recording accessors of the private state (docs/architecture.md "State private to its
// owner"): what they record, and what they must not record — a write of a value that does not
// change (has_pinned, anon_vma) would make every pin conflict with every find_vma(), and an
// observer's look under k.peek() must stay out of the step's footprint.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Kernel } from '../../src/kernel.js';
import { checkInvariants } from '../../src/check/invariants.js';
import { createTask } from '../../src/vm/mm.js';
import { do_mmap } from '../../src/vm/mmap.js';
import * as api from '../../src/gup/api.js';
import { unpin_user_pages } from '../../src/gup/unpin.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../src/include/uapi.js';
import { FOLL_WRITE } from '../../src/include/linux/mm.js';
import { newFile } from '../fs/fs-helpers.js';

function setup() {
  const k = new Kernel({ profile: 'current', trace: false, footprints: true, check: checkInvariants });
  const t = createTask(k, 'app');
  const a = do_mmap(k, t.mm, { addr: 0, length: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
  return { k, t, a, v: t.mm.peekVma(a)! };
}

test('MMF_HAS_PINNED: the first pin writes the mm, a later pin of the same mm only reads it', () => {
  const { k, t, a } = setup();
  const pages = [0];
  k.takeFootprint();
  assert.equal(api.pin_user_pages(k, t, a, 1, FOLL_WRITE, pages), 1);
  assert.deepEqual(k.takeFootprint().writes.mm, [[t.mm.id, t.mm.id]]);
  unpin_user_pages(k, pages, 1);
  k.takeFootprint();
  assert.equal(api.pin_user_pages(k, t, a, 1, FOLL_WRITE, pages), 1);
  const fp = k.takeFootprint();
  assert.equal(fp.writes.mm, undefined);
  assert.deepEqual(fp.reads.mm, [[t.mm.id, t.mm.id]]);
  unpin_user_pages(k, pages, 1);
});

test('anon_vma: set once it records a write, set again only a read', () => {
  const { k, v } = setup();
  k.takeFootprint();
  v.anonVma = true;
  assert.deepEqual(k.takeFootprint().writes.vma, [[v.id, v.id]]);
  v.anonVma = true;
  const fp = k.takeFootprint();
  assert.equal(fp.writes.vma, undefined);
  assert.deepEqual(fp.reads.vma, [[v.id, v.id]]);
});

test('a VMA\'s and an mm\'s fields read under k.peek() record nothing; the same reads in a step record the VMA and the mm', () => {
  const { k, t, v } = setup();
  k.takeFootprint();
  k.peek(() => [v.start, v.end, v.flags, v.pgoff, v.anonVma, t.mm.hasPinned, t.mm.mmapBase, t.exited]);
  assert.deepEqual(k.takeFootprint(), { reads: {}, writes: {} });
  void [v.flags, t.mm.mmapBase, t.exited];
  const fp = k.takeFootprint();
  assert.deepEqual([fp.reads.vma, fp.reads.mm, fp.reads.task], [[[v.id, v.id]], [[t.mm.id, t.mm.id]], [[t.pid, t.pid]]]);
});

test('the page cache: a delete that finds nothing only reads the file; i_size writes it', () => {
  const { k } = setup();
  const f = newFile(k, 'f', 1);
  k.takeFootprint();
  assert.equal(f.cache.delete(7), false);
  let fp = k.takeFootprint();
  assert.deepEqual([fp.reads.file, fp.writes.file], [[[f.id, f.id]], undefined]);
  f.size = 2 * PAGE_SIZE;
  fp = k.takeFootprint();
  assert.deepEqual(fp.writes.file, [[f.id, f.id]]);
});
