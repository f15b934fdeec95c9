// The Android emulator's goldfish pipe: drivers/platform/goldfish/goldfish_pipe.c
// goldfish_pipe_read_write() → transfer_max_buffers() → goldfish_pin_pages() / release.
// A short-term pin around each host transfer (seed 004: "goldish_pipe: convert to
// pin_user_pages() and put_user_page()", v5.6).
//
// read() from the pipe (is_write false): the host writes into the user pages, so they are pinned
// FOLL_WRITE and dirtied at release if anything was consumed. write() (is_write true): the host
// only reads them.

import * as api from '../gup/api.js';
import { put_page, unpin_user_pages_dirty_lock } from '../gup/unpin.js';
import { EFAULT, PAGE_SIZE } from '../include/uapi.js';
import type { Kernel } from '../kernel.js';
import { PG_dirty } from '../mm/page-flags.js';
import type { Task } from '../vm/mm.js';
import { pageAlignDown, pageArray } from './common.js';
import { dmaWritePage } from './device.js';
import { driverSwitches } from './features.js';
import { FOLL_WRITE } from '../include/linux/mm.js';

/** MAX_BUFFERS_PER_COMMAND: pages per host command. */
export const MAX_BUFFERS_PER_COMMAND = 336;

/**
 * One read()/write() on a goldfish pipe of len bytes at addr. The host consumes every byte; on a
 * read it stores `value` (a content token) into the pages. Returns the bytes transferred, or
 * -EFAULT when the first chunk cannot be pinned.
 */
export function goldfish_pipe_read_write(k: Kernel, current: Task, addr: number, len: number, is_write: boolean,
  value: number): number {
  const pinned = driverSwitches(k.profile).driversPin;
  let address = addr;
  const end = addr + len;
  let count = 0;
  while (address < end) {
    const first = pageAlignDown(address);
    const last = pageAlignDown(end - 1);
    const requested = Math.min((last - first) / PAGE_SIZE + 1, MAX_BUFFERS_PER_COMMAND);
    const pages = pageArray(requested);
    // goldfish_pin_pages(): FOLL_WRITE when the host writes into the buffer.
    const gup = pinned ? api.pin_user_pages_fast : api.get_user_pages_fast;
    const got = gup(k, current, first, requested, !is_write ? FOLL_WRITE : 0, pages);
    if (got <= 0) return count ? count : -EFAULT;
    const chunkEnd = Math.min(end, first + got * PAGE_SIZE);
    const consumed = chunkEnd - address;
    if (!is_write) for (let i = 0; i < got; i++) dmaWritePage(k, pages[i], value);
    // release: dirty what the host wrote into (!is_write && consumed_size > 0).
    const dirty = !is_write && consumed > 0;
    if (pinned) {
      unpin_user_pages_dirty_lock(k, pages, got, dirty);
    } else {
      // release_user_pages() before v5.6: set_page_dirty() (not _lock), then put_page().
      for (let i = 0; i < got; i++) {
        if (dirty && !k.mem.isZeroPfn(pages[i])) k.mem.set(k.mem.head(pages[i]), PG_dirty);
        put_page(k, pages[i]);
      }
    }
    count += consumed;
    address = chunkEnd;
  }
  return count;
}
