// Kernel column of the benchmark: the same pin/unpin workload measured on the running kernel
// through io_uring buffer registration (see src/host/native.ts). No printing here.

import { hostSupport, measureIoUringPin, type PinDelta } from '../src/host/native.js';

export interface KernelCase {
  label: string;
  sizeBytes: number;
  thp: boolean;
}

export interface KernelRowOk {
  ok: true;
  label: string;
  sizeBytes: number;
  thp: boolean;
  pages: number;
  /** Median IORING_REGISTER_BUFFERS time / pages. */
  pinNsPerPage: number;
  /** Median IORING_UNREGISTER_BUFFERS time / pages. */
  unpinNsPerPage: number;
  registerNsMedian: number;
  unregisterNsMedian: number;
  /** Bytes of the buffer backed by PMD THPs (AnonHugePages); thp rows should equal sizeBytes. */
  thpBackedBytes: number;
  /** PMD-size folios backing the buffer (thpBackedBytes / PMD size). */
  thpFolios: number;
  /** iovecs registered (>1 only above io_uring's 1 GiB per-buffer cap). */
  iovecs: number;
  /** nr_foll_pin_acquired/released deltas at registration and at unregistration. */
  delta: PinDelta;
  /** All reps saw identical deltas. */
  deltasConsistent: boolean;
  /** delta.register.acquired === pages: the kernel pinned every 4 KiB page once. */
  pinnedEveryPage: boolean;
  /** Everything acquired was released by the end of unregistration. */
  pinsBalanced: boolean;
  notes: string[];
}

export interface KernelRowError {
  ok: false;
  label: string;
  sizeBytes: number;
  thp: boolean;
  error: string;
}

export type KernelRow = KernelRowOk | KernelRowError;

export type KernelColumn =
  | { supported: true; kernel: string; reps: number; rows: KernelRow[] }
  | { supported: false; reason: string };

export function kernelColumn(cases: KernelCase[], reps: number): KernelColumn {
  const support = hostSupport();
  if (!support.ok) return { supported: false, reason: support.reason };
  let kernel = 'unknown';
  const rows: KernelRow[] = cases.map((c): KernelRow => {
    try {
      const m = measureIoUringPin({ sizeBytes: c.sizeBytes, thp: c.thp, reps });
      kernel = m.kernel;
      const d = m.delta;
      return {
        ok: true,
        label: c.label,
        sizeBytes: c.sizeBytes,
        thp: c.thp,
        pages: m.pages,
        pinNsPerPage: m.pinNsPerPage,
        unpinNsPerPage: m.unpinNsPerPage,
        registerNsMedian: m.registerNsMedian,
        unregisterNsMedian: m.unregisterNsMedian,
        thpBackedBytes: m.thp_backed_bytes,
        thpFolios: Math.floor(m.thp_backed_bytes / m.pmd_size),
        iovecs: m.iovecs,
        delta: d,
        deltasConsistent: m.deltasConsistent,
        pinnedEveryPage: d.register.acquired === m.pages && d.unregister.acquired === 0,
        pinsBalanced: d.register.acquired + d.unregister.acquired === d.register.released + d.unregister.released,
        notes: m.notes,
      };
    } catch (e) {
      return { ok: false, label: c.label, sizeBytes: c.sizeBytes, thp: c.thp, error: e instanceof Error ? e.message : String(e) };
    }
  });
  return { supported: true, kernel, reps, rows };
}
