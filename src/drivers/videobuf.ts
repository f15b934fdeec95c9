// V4L2 videobuf (version 1) user-pointer buffers: drivers/media/v4l2-core/videobuf-dma-sg.c
// videobuf_dma_init_user_locked() and videobuf_dma_free(). Seed 004: "media/v4l2-core: set pages
// dirty upon releasing DMA buffers" and "...pin_user_pages (FOLL_PIN) and put_user_page()
// conversion" (v5.6).
//
// A capture buffer (DMA_FROM_DEVICE) is pinned FOLL_WRITE|FOLL_LONGTERM when queued and held
// until the buffer is freed. Before v5.6 the pages were released with a bare put_page(): what
// the device wrote was never marked dirty.

import * as api from '../gup/api.js';
import { put_page, set_page_dirty_lock, unpin_user_pages_dirty_lock } from '../gup/unpin.js';
import { EINVAL, EBUSY, PAGE_SIZE } from '../include/uapi.js';
import { stateKey, type Kernel } from '../kernel.js';
import type { Task } from '../vm/mm.js';
import { get_user_pages_longterm, pageAlignDown, pageArray } from './common.js';
import type { DmaDirection } from './drm-via.js';
import { DriverTable, registerTarget, unregisterTarget } from './device.js';
import { driverSwitches } from './features.js';
import { FOLL_LONGTERM, FOLL_WRITE } from '../include/linux/mm.js';

export class VideobufDma {
  constructor(readonly index: number, readonly direction: DmaDirection, public nrPages: number, readonly pages: number[],
    readonly pinned: boolean) {}
}

const VIDEOBUF_KEY = stateKey('drivers:videobuf', (k: Kernel) => {
  const m = new DriverTable<VideobufDma>(k.mem, 'videobuf');
  k.onTeardown(() => {
    for (const d of m.values()) videobuf_dma_free(k, d);
  });
  return m;
});

export function videobufState(k: Kernel): DriverTable<VideobufDma> {
  return k.state(VIDEOBUF_KEY);
}

/**
 * videobuf_dma_init_user_locked() for buffer `index` of the queue: 0, GUP's error, or -EINVAL for
 * a partial pin. A partial pin keeps what it got (dma->nr_pages = pinned) until the buffer is
 * freed. -EBUSY if the buffer is already set up (the queue would not re-init it).
 */
export function videobuf_dma_init_user(k: Kernel, current: Task, index: number, direction: DmaDirection, data: number,
  size: number): number {
  const st = videobufState(k);
  if (st.has(index)) return -EBUSY;
  const first = Math.floor(data / PAGE_SIZE);
  const last = Math.floor((data + size - 1) / PAGE_SIZE);
  const nr = last - first + 1;
  if (size <= 0 || nr <= 0) return -EINVAL;
  const flags = direction === 'DMA_FROM_DEVICE' ? FOLL_WRITE : 0;
  const pinned = driverSwitches(k.profile).driversPin;
  const pages = pageArray(nr);
  const err = pinned
    ? api.pin_user_pages(k, current, pageAlignDown(data), nr, flags | FOLL_LONGTERM, pages)
    : get_user_pages_longterm(k, current, pageAlignDown(data), nr, flags, pages);
  const dma = new VideobufDma(index, direction, err >= 0 ? err : 0, pages, pinned);
  if (dma.nrPages > 0) {
    st.set(index, dma);
    registerTarget(k, 'videobuf', index, { deviceWritable: direction === 'DMA_FROM_DEVICE', pages: () => pages.slice(0, dma.nrPages) });
  }
  if (err !== nr) return err < 0 ? err : -EINVAL;
  return 0;
}

/** videobuf_dma_free(): release the buffer's pages. */
export function videobuf_dma_free(k: Kernel, dma: VideobufDma): void {
  const sw = driverSwitches(k.profile);
  if (dma.pinned) {
    unpin_user_pages_dirty_lock(k, dma.pages, dma.nrPages, dma.direction === 'DMA_FROM_DEVICE');
  } else {
    // Before v5.6: a bare put_page(). The fix (set_page_dirty_lock() first) went to stable kernels
    // from 4.14 on: a profile with videobufDirtyOnRelease but no pins is such a stable kernel.
    for (let i = 0; i < dma.nrPages; i++) {
      if (sw.videobufDirtyOnRelease && dma.direction === 'DMA_FROM_DEVICE') set_page_dirty_lock(k, dma.pages[i]);
      put_page(k, dma.pages[i]);
    }
  }
  videobufState(k).delete(dma.index);
  unregisterTarget(k, 'videobuf', dma.index);
}
