// A block device whose I/O completes asynchronously: submit_bio() queues, a later step completes
// (the DMA happens then), so other actors can run while I/O is in flight (block/blk-core.c,
// block/bio.c bio_endio()). The device moves content tokens between pages and the disk, and
// records a DMA into a page that was freed while the I/O was in flight (R116: use-after-free).

import { stateKey, type Kernel } from '../kernel.js';
import { PAGE_SIZE } from '../include/uapi.js';
import { bioId, type Bio } from './bio.js';
import type { PhysMem } from '../mm/memory.js';

interface InFlight {
  bio: Bio;
  /** Pages freed while this bio was in flight. */
  freed: Set<number>;
}

/**
 * The device's request queue, private: push(), shift(), take() and length record a read or write
 * of the device ('dev' 0) through the kernel's memory (nothing under k.peek()); the free watch and
 * observers use peek*. completed and dmaIntoFreed are statistics for observers, read by no kernel code.
 */
export class DeviceQueue {
  private readonly q: InFlight[] = [];
  private nrCompleted = 0;
  /** Every DMA that hit a freed page: "bio 3 (read) wrote pfn 1030 after it was freed". */
  readonly dmaIntoFreed: string[] = [];

  constructor(private readonly mem: PhysMem) {}

  /** blk_mq_submit_bio(): queue it (records a write). */
  push(f: InFlight): void {
    this.mem.fp?.write('dev', 0);
    this.q.push(f);
  }

  /**
   * The oldest request, taken off the queue (records a read, and a write when there was one: an
   * interrupt that finds nothing still read the queue).
   */
  shift(): InFlight | undefined {
    this.mem.fp?.read('dev', 0);
    const f = this.q.shift();
    if (f) this.mem.fp?.write('dev', 0);
    return f;
  }

  /** Take bio's request off the queue, if it is there (records a read, and a write when found). */
  take(bio: Bio): InFlight | undefined {
    this.mem.fp?.read('dev', 0);
    const i = this.q.findIndex((f) => f.bio === bio);
    if (i < 0) return undefined;
    this.mem.fp?.write('dev', 0);
    return this.q.splice(i, 1)[0];
  }

  /** Requests in flight (records a read). */
  get length(): number {
    this.mem.fp?.read('dev', 0);
    return this.q.length;
  }

  /** A request completed (a statistic: read by observers only). */
  countCompleted(): void {
    this.nrCompleted++;
  }

  /** Requests completed so far, for observers. */
  get completed(): number {
    return this.nrCompleted;
  }

  /** For observers and the free watch: records nothing. */
  peek(): readonly InFlight[] {
    return this.q;
  }
}

const BLKDEV_KEY = stateKey('blkdev', (k: Kernel) => {
  const st = new DeviceQueue(k.mem);
  k.mem.watchFrees((head, nr) => {
    for (const f of st.peek()) {
      for (const v of f.bio.peekVecs()) {
        const first = v.pfn + Math.floor(v.offset / PAGE_SIZE);
        const last = v.pfn + Math.floor((v.offset + v.len - 1) / PAGE_SIZE);
        for (let p = Math.max(first, head); p <= Math.min(last, head + nr - 1); p++) f.freed.add(p);
      }
    }
  });
  return st;
});

export function devState(k: Kernel): DeviceQueue {
  return k.state(BLKDEV_KEY);
}

/** The device's DMA alignment (queue_dma_alignment(): 511 for most block devices). */
export const DMA_ALIGNMENT = 511;

/** submit_bio(): queue the bio; it completes in a later blk_complete step. */
export function submit_bio(k: Kernel, bio: Bio): void {
  const st = devState(k);
  if (k.profile.dioAlignCheckAtSubmit && bio.vecs.some((v) => (v.offset | v.len) & DMA_ALIGNMENT)) {
    // bio_split_rw(): a misaligned segment fails the bio with BLK_STS_INVAL, before any DMA.
    bio.status = -22;
    k.note(`bio ${bioId(k, bio)}: misaligned segment, failed with -EINVAL`);
    bio.endIo?.(k, bio);
    return;
  }
  st.push({ bio, freed: new Set() });
  k.fp.write('bio', bioId(k, bio)); // handed to the device
  k.note(`submit bio ${bioId(k, bio)} (${bio.op}, ${bio.size} bytes, ${bio.vecs.length} bvecs${bio.pinned ? ', PINNED' : ''})`);
}

/** The device side of one bio: move the data, then bio_endio(). */
function complete(k: Kernel, f: InFlight): void {
  const { bio } = f;
  const mem = k.mem;
  const t = bio.target;
  if (t) {
    // The transfer reads or writes the file's blocks (block/blk-mq.c: the request reaches the
    // disk): record it, so the explorer orders it against truncate and writeback of that file.
    if (bio.op === 'REQ_OP_READ') k.fp.read('file', t.file.id);
    else k.fp.write('file', t.file.id);
  }
  let pageNo = 0;
  for (const v of bio.vecs) {
    const first = v.pfn + Math.floor(v.offset / PAGE_SIZE);
    const last = v.pfn + Math.floor((v.offset + v.len - 1) / PAGE_SIZE);
    for (let p = first; p <= last; p++, pageNo++) {
      if (f.freed.has(p) || mem.isFree(p)) {
        const what = `bio ${bioId(k, bio)} (${bio.op === 'REQ_OP_READ' ? 'read' : 'write'}) DMA ${bio.op === 'REQ_OP_READ' ? 'into' : 'from'} pfn ${p} after it was freed`;
        devState(k).dmaIntoFreed.push(what);
        k.WARN_ON_ONCE(true, 'pinlab:dma-use-after-free', what);
      }
      if (!t) continue;
      if (bio.op === 'REQ_OP_READ') {
        if (!mem.isZeroPfn(p)) mem.setContent(p, t.file.disk.get(t.index + pageNo) ?? 0);
      } else {
        t.file.disk.set(t.index + pageNo, mem.contentOf(p));
      }
      k.fp.write('folio', mem.head(p));
    }
  }
  k.note(`complete bio ${bioId(k, bio)}`);
  devState(k).countCompleted();
  bio.endIo?.(k, bio);
}

/** Complete the oldest in-flight bio (the device's interrupt). Returns false if none was in flight. */
export function blk_complete_one(k: Kernel): boolean {
  // Looking at the queue is a read of the device even when nothing is in flight (the explorer
  // must order an interrupt that finds nothing against the submission it missed): shift() records it.
  const f = devState(k).shift();
  if (!f) return false;
  complete(k, f);
  return true;
}

/** submit_bio_wait(): submit and wait: the completion runs before the caller continues. */
export function submit_bio_wait(k: Kernel, bio: Bio): number {
  submit_bio(k, bio);
  const f = devState(k).take(bio); // taken off the queue: an interrupt that looks next finds it gone
  if (!f) return bio.status; // failed at submission: already ended with its error
  complete(k, f);
  return bio.status;
}

/**
 * Bios whose synchronous wait is deferred to the caller's `bio_wait` yield point, per kernel: while
 * a list is set (deferBioWaits()), dio_wait_bios() leaves the bios in flight and records them.
 */
const deferredWaits = new WeakMap<Kernel, Bio[]>();

/** From now on dio_wait_bios() records the bios instead of waiting (a preemptible synchronous read). */
export function deferBioWaits(k: Kernel): void {
  deferredWaits.set(k, []);
}

/** The bios recorded since deferBioWaits(); dio_wait_bios() waits again. */
export function takeDeferredBioWaits(k: Kernel): Bio[] {
  const b = deferredWaits.get(k) ?? [];
  deferredWaits.delete(k);
  return b;
}

/**
 * The wait of a synchronous direct I/O for its bios (fs/iomap/direct-io.c __iomap_dio_rw(),
 * fs/direct-io.c dio_await_completion()): blk_wait_bios(), or, while deferBioWaits() is in
 * force, recorded for the caller's `bio_wait` stop. Only these waits are deferred: the writeback
 * a direct read starts with (kiocb_write_and_wait()) is waited for in place.
 */
export function dio_wait_bios(k: Kernel, bios: readonly Bio[]): void {
  const deferred = deferredWaits.get(k);
  if (deferred) {
    deferred.push(...bios);
    return;
  }
  blk_wait_bios(k, bios);
}

/** Wait for these bios (a synchronous submitter): complete them in submission order. */
export function blk_wait_bios(k: Kernel, bios: readonly Bio[]): void {
  const st = devState(k);
  // Looking for the bios in the queue reads it, even when they have all completed already (take()).
  for (const bio of bios) {
    const f = st.take(bio);
    if (!f) continue; // already completed (or failed at submission)
    complete(k, f);
  }
}

export function inFlight(k: Kernel): number {
  return devState(k).length;
}
