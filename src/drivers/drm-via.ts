// The VIA unichrome DMA blitter: drivers/gpu/drm/via/via_dmablit.c via_lock_all_dma_pages() and
// via_free_sg_info() (seed 004: "drm/via: set FOLL_PIN via pin_user_pages_fast()", v5.6).
// A blit pins the user buffer, the engine copies, and the pages are released when the blit is
// retired. The driver left the kernel around v6.3 [version unverified]; the model offers it on
// every profile.

import * as api from '../gup/api.js';
import { put_page, unpin_user_pages_dirty_lock } from '../gup/unpin.js';
import { EINVAL, PAGE_SIZE } from '../include/uapi.js';
import type { Kernel } from '../kernel.js';
import { PG_dirty, PG_reserved } from '../mm/page-flags.js';
import type { Task } from '../vm/mm.js';
import { pageArray } from './common.js';
import { dmaWritePage } from './device.js';
import { driverSwitches } from './features.js';
import { FOLL_WRITE } from '../include/linux/mm.js';

export type DmaDirection = 'DMA_TO_DEVICE' | 'DMA_FROM_DEVICE';

/**
 * One blit between the user buffer [addr, addr + len) and the frame buffer, run to completion:
 * pin (FOLL_WRITE for DMA_FROM_DEVICE), copy (from the device: `value` lands in every page),
 * release. Returns 0, GUP's error, or -EINVAL for a partial pin.
 *
 * A partial pin leaves NULL entries after the pinned ones, and via_free_sg_info() releases all
 * num_pages entries: the v5.1 loop skipped NULLs; put_user_pages_dirty_lock() (v5.4) and
 * unpin_user_pages_dirty_lock() (v5.6) dereference them [derived from the code; not seen on a
 * host]. The model skips them too and raises WARN 'pinlab:via-null-page' on those profiles.
 */
export function via_dmablit(k: Kernel, current: Task, addr: number, len: number, direction: DmaDirection, value: number): number {
  const pinned = driverSwitches(k.profile).driversPin;
  const numPages = Math.floor((addr + len - 1) / PAGE_SIZE) - Math.floor(addr / PAGE_SIZE) + 1;
  const fromDevice = direction === 'DMA_FROM_DEVICE';
  const pages = pageArray(numPages);
  const gup = pinned ? api.pin_user_pages_fast : api.get_user_pages_fast;
  const ret = gup(k, current, addr, numPages, fromDevice ? FOLL_WRITE : 0, pages);
  if (ret < 0) return ret;
  const ok = ret === numPages;
  if (ok && fromDevice) for (const p of pages) dmaWritePage(k, p, value);
  // via_free_sg_info(), case dr_via_pages_locked.
  if (pinned) {
    k.WARN_ON_ONCE(!ok, 'pinlab:via-null-page',
      `via_free_sg_info(): unpin_user_pages_dirty_lock() over ${numPages} entries, ${numPages - ret} of them NULL`);
    unpin_user_pages_dirty_lock(k, pages, numPages, fromDevice);
  } else {
    for (const p of pages) {
      if (p < 0) continue;
      if (!k.mem.test(k.mem.head(p), PG_reserved) && fromDevice) k.mem.set(k.mem.head(p), PG_dirty); // SetPageDirty()
      put_page(k, p);
    }
  }
  return ok ? 0 : -EINVAL;
}
