// The device side of a driver's pins: a device that can reach the pages a driver object holds
// writes a content token into them (DMA). Each driver registers its objects here by (driver, id),
// so one scenario operation (device_dma_write) serves every driver.

import { EFAULT, ENOENT } from '../include/uapi.js';
import { stateKey, type Kernel } from '../kernel.js';

export interface DeviceTarget {
  /** The pages the device reaches, in order (one entry per page, possibly inside a large folio). */
  pages(): number[];
  /** The mapping lets the device write (IOMMU_WRITE, IB_ACCESS_LOCAL_WRITE, DMA_FROM_DEVICE...). */
  readonly deviceWritable: boolean;
  /** Called after the device wrote page i (VFIO/powerpc record it to dirty the page at unpin). */
  onDeviceWrite?(i: number): void;
}

type Registry = Map<string, DeviceTarget>;

const DEVICE_KEY = stateKey('drivers:device', () => new Map<string, DeviceTarget>());

function registry(k: Kernel): Registry {
  return k.state(DEVICE_KEY);
}

export function registerTarget(k: Kernel, driver: string, id: number, t: DeviceTarget): void {
  registry(k).set(`${driver}:${id}`, t);
}

export function unregisterTarget(k: Kernel, driver: string, id: number): void {
  registry(k).delete(`${driver}:${id}`);
}

export function findTarget(k: Kernel, driver: string, id: number): DeviceTarget | undefined {
  return registry(k).get(`${driver}:${id}`);
}

/** Write `value` into one page as a device would (no fault, no permission check: the IOMMU mapping is the check). */
export function dmaWritePage(k: Kernel, pfn: number, value: number): void {
  // A device writing memory the kernel has freed is the use-after-free pinning exists to prevent:
  // a failure on every device path (the block device reports its bios the same way, blkdev.ts).
  k.fp.read('folio', k.mem.head(pfn));
  if (k.mem.isFree(pfn)) k.WARN_ON_ONCE(true, 'pinlab:dma-use-after-free', `device DMA into pfn ${pfn} after it was freed`);
  k.mem.setContent(pfn, value >>> 0);
  k.fp.write('folio', k.mem.head(pfn));
}

/**
 * The device behind (driver, id) writes `value` into every page it reaches, or into page `index`.
 * Returns 0, -ENOENT (no such object), or -EFAULT (the mapping is read-only for the device: an
 * IOMMU fault / a protection error on the RDMA side).
 */
export function deviceDmaWrite(k: Kernel, driver: string, id: number, value: number, index: number | null = null): number {
  const t = findTarget(k, driver, id);
  if (!t) return -ENOENT;
  if (!t.deviceWritable) return -EFAULT;
  const pages = t.pages();
  if (index !== null && (index < 0 || index >= pages.length)) return -EFAULT;
  const range = index === null ? pages.map((_, i) => i) : [index];
  for (const i of range) {
    dmaWritePage(k, pages[i], value);
    t.onDeviceWrite?.(i);
  }
  return 0;
}
