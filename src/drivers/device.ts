// The device side of a driver's pins: a device that can reach the pages a driver object holds
// writes a content token into them (DMA). Each driver registers its objects here by (driver, id),
// so one scenario operation (device_dma_write) serves every driver.

import { EFAULT, ENOENT } from '../include/uapi.js';
import { stateKey, type Kernel } from '../kernel.js';
import type { PhysMem } from '../mm/memory.js';

export interface DeviceTarget {
  /** The pages the device reaches, in order (one entry per page, possibly inside a large folio). */
  pages(): number[];
  /** The mapping lets the device write (IOMMU_WRITE, IB_ACCESS_LOCAL_WRITE, DMA_FROM_DEVICE...). */
  readonly deviceWritable: boolean;
  /** Called after the device wrote page i (VFIO/powerpc record it to dirty the page at unpin). */
  onDeviceWrite?(i: number): void;
}

/**
 * The drivers whose objects a device can reach, numbered for the footprint: a target is the
 * driver object's handle ('handle', driver number * 2^48 + its id (a user address fits)), so the id is the same in
 * every interleaving (no numbering by first use).
 */
const DRIVER_NO: Readonly<Record<string, number>> = { rdma: 1, xdp: 2, videobuf: 3, mm_iommu: 4 };

/** A driver's own container handle ('handle' id), for drivers that look objects up by search (VFIO, mm_iommu). */
export function containerHandle(driverNo: number): number {
  return driverNo * 2 ** 48;
}

/**
 * A driver's table of objects by id (the MRs of an RDMA context, XDP umems by socket fd, videobuf
 * buffers by index), private: each access records a read or write of the object's handle, the
 * same id a device DMA to it records, so a lookup that finds nothing is ordered against the
 * registration or release it missed.
 */
export class DriverTable<V> {
  private readonly objs = new Map<number, V>();
  constructor(private readonly mem: PhysMem, private readonly driver: string) {}

  get(id: number): V | undefined {
    this.mem.fp?.read('handle', handleId(this.driver, id));
    return this.objs.get(id);
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  set(id: number, v: V): void {
    this.mem.fp?.write('handle', handleId(this.driver, id));
    this.objs.set(id, v);
  }

  delete(id: number): void {
    this.mem.fp?.write('handle', handleId(this.driver, id));
    this.objs.delete(id);
  }

  /** Every object (teardown; records a read of each). */
  values(): V[] {
    for (const id of this.objs.keys()) this.mem.fp?.read('handle', handleId(this.driver, id));
    return [...this.objs.values()];
  }

  /** For observers: records nothing. */
  peek(id: number): V | undefined {
    return this.objs.get(id);
  }
}

function handleId(driver: string, id: number): number {
  const no = DRIVER_NO[driver];
  if (no === undefined) throw new RangeError(`no device driver '${driver}' (one of ${Object.keys(DRIVER_NO).join(', ')})`);
  if (!Number.isInteger(id) || id < 0 || id >= 2 ** 48) throw new RangeError(`${driver} object id ${id} is out of range`);
  return no * 2 ** 48 + id;
}

/**
 * The registry of device-reachable driver objects, private: registering or dropping an object
 * records a write of its handle, looking one up a read (also when it is not there: a DMA that
 * finds nothing must still be ordered against the registration or release it missed).
 */
class Registry {
  private readonly targets = new Map<number, DeviceTarget>();
  constructor(private readonly mem: PhysMem) {}

  set(driver: string, id: number, t: DeviceTarget): void {
    const h = handleId(driver, id);
    this.mem.fp?.write('handle', h);
    this.targets.set(h, t);
  }

  delete(driver: string, id: number): void {
    const h = handleId(driver, id);
    this.mem.fp?.write('handle', h);
    this.targets.delete(h);
  }

  get(driver: string, id: number): DeviceTarget | undefined {
    // A driver or id no object can have: nothing to find (-ENOENT), and nothing anyone can change.
    if (DRIVER_NO[driver] === undefined || !Number.isInteger(id) || id < 0 || id >= 2 ** 48) return undefined;
    const h = handleId(driver, id);
    this.mem.fp?.read('handle', h);
    return this.targets.get(h);
  }
}

const DEVICE_KEY = stateKey('drivers:device', (k) => new Registry(k.mem));

function registry(k: Kernel): Registry {
  return k.state(DEVICE_KEY);
}

export function registerTarget(k: Kernel, driver: string, id: number, t: DeviceTarget): void {
  registry(k).set(driver, id, t);
}

export function unregisterTarget(k: Kernel, driver: string, id: number): void {
  registry(k).delete(driver, id);
}

export function findTarget(k: Kernel, driver: string, id: number): DeviceTarget | undefined {
  return registry(k).get(driver, id);
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
