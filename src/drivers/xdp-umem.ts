// AF_XDP UMEM registration: net/xdp/xdp_umem.c xdp_umem_reg() / xdp_umem_account_pages() /
// xdp_umem_pin_pages() / xdp_umem_release() (setsockopt(XDP_UMEM_REG), close()). Seed 004:
// "net/xdp: set FOLL_PIN via pin_user_pages()", v5.6.
//
// The whole UMEM is charged to the user's locked_vm first (-ENOBUFS past RLIMIT_MEMLOCK unless
// CAP_IPC_LOCK), then pinned FOLL_WRITE|FOLL_LONGTERM, and released dirty at close.

import * as api from '../gup/api.js';
import { put_page, set_page_dirty_lock, unpin_user_pages_dirty_lock } from '../gup/unpin.js';
import { EINVAL, ENOMEM, PAGE_SIZE } from '../include/uapi.js';
import { stateKey, type Kernel } from '../kernel.js';
import type { Task } from '../vm/mm.js';
import { ENOBUFS, get_user_pages_longterm, newId, pageArray } from './common.js';
import { DriverTable, registerTarget, unregisterTarget } from './device.js';
import { driverSwitches } from './features.js';
import { capable_ipc_lock, memlock, memlockLimitPages } from './memlock.js';
import { FOLL_LONGTERM, FOLL_WRITE } from '../include/linux/mm.js';

/** XDP_UMEM_MIN_CHUNK_SIZE */
export const XDP_UMEM_MIN_CHUNK_SIZE = 2048;

export class XdpUmem {
  released = false;
  constructor(readonly fd: number, public npgs: number, readonly pgs: number[], readonly charged: boolean,
    readonly pinned: boolean) {}
}

const XDP_KEY = stateKey('drivers:xdp', (k: Kernel) => {
  const m = new DriverTable<XdpUmem>(k.mem, 'xdp');
  k.onTeardown(() => {
    for (const u of m.values()) xdp_umem_release(k, u);
  });
  return m;
});

export function xdpState(k: Kernel): DriverTable<XdpUmem> {
  return k.state(XDP_KEY);
}

/** xdp_umem_unpin_pages(): always dirty (the NIC may have written any frame). */
function unpinPages(k: Kernel, pgs: number[], n: number, pinned: boolean): void {
  if (pinned) unpin_user_pages_dirty_lock(k, pgs, n, true);
  else for (let i = 0; i < n; i++) { set_page_dirty_lock(k, pgs[i]); put_page(k, pgs[i]); }
}

/**
 * XDP_UMEM_REG: returns the socket fd that owns the UMEM, or -errno. A partial pin unpins what it
 * got and fails with -ENOMEM — after setting umem->npgs to the partial count, so
 * xdp_umem_unaccount_pages() gives back fewer pages than xdp_umem_account_pages() charged: the
 * difference stays in user->locked_vm [derived from xdp_umem_reg()/xdp_umem_pin_pages()].
 */
export function xdp_umem_reg(k: Kernel, current: Task, addr: number, size: number, chunkSize = XDP_UMEM_MIN_CHUNK_SIZE): XdpUmem | number {
  if (chunkSize < XDP_UMEM_MIN_CHUNK_SIZE || chunkSize > PAGE_SIZE) return -EINVAL;
  if ((chunkSize & (chunkSize - 1)) !== 0) return -EINVAL; // aligned chunks: a power of 2
  if (addr % PAGE_SIZE !== 0 || addr < 0 || size < 0) return -EINVAL;
  const npgs = Math.ceil(size / PAGE_SIZE);
  const chunks = Math.floor(size / chunkSize);
  if (!chunks || size % chunkSize) return -EINVAL;
  // xdp_umem_account_pages()
  const ml = memlock(k);
  const charged = !capable_ipc_lock(k, current);
  if (charged) {
    if (ml.userLockedVm + npgs > memlockLimitPages(k, current)) return -ENOBUFS;
    ml.userLockedVm += npgs;
  }
  // xdp_umem_pin_pages()
  const pinned = driverSwitches(k.profile).driversPin;
  const pgs = pageArray(npgs);
  let got: number;
  if (pinned) got = api.pin_user_pages(k, current, addr, npgs, FOLL_WRITE | FOLL_LONGTERM, pgs);
  else got = get_user_pages_longterm(k, current, addr, npgs, FOLL_WRITE, pgs);
  if (got !== npgs) {
    let unaccount = npgs;
    let err = got;
    if (got >= 0) {
      unaccount = got; // umem->npgs = npgs; then xdp_umem_unaccount_pages(umem)
      err = -ENOMEM;
      unpinPages(k, pgs, got, pinned);
    }
    if (charged) ml.userLockedVm -= unaccount;
    return err;
  }
  const u = new XdpUmem(newId(k), npgs, pgs, charged, pinned);
  xdpState(k).set(u.fd, u);
  registerTarget(k, 'xdp', u.fd, { deviceWritable: true, pages: () => u.pgs.slice(0, u.npgs) });
  return u;
}

/** xdp_umem_release(): unpin dirty, unaccount. */
export function xdp_umem_release(k: Kernel, u: XdpUmem): void {
  if (u.released) return;
  u.released = true;
  unpinPages(k, u.pgs, u.npgs, u.pinned);
  if (u.charged) memlock(k).userLockedVm -= u.npgs;
  xdpState(k).delete(u.fd);
  unregisterTarget(k, 'xdp', u.fd);
}
