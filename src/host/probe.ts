// What host-check measures about the kernel before it compares anything: the facts that make two
// correct kernels show different numbers for the same workload (a zero page that is or is not
// mapped on a read fault, THP modes, hugetlb pools, io_uring, O_DIRECT in the temp directory),
// and the model machine built from them. `pinhost --probe` (host/pinhost.c print_probe())
// measures; this module parses, maps onto the model's machine settings and explains.
//
// A DIFF must only ever mean "the model and the kernel disagree on the same premise": every
// fact the model can express becomes a machine setting; a fact it cannot express, or one the
// probe could not measure, makes the cases that depend on it SKIP with the reason.

import type { Value } from '../scenario/backend.js';

/** What a present page is, from /proc/kpageflags (fs/proc/page.c stable_page_flags()). */
export type PageKind = 'zero' | 'huge_zero' | 'thp' | 'page' | 'absent' | 'unknown';
const PAGE_KINDS: readonly PageKind[] = ['zero', 'huge_zero', 'thp', 'page', 'absent', 'unknown'];

export interface HostProbe {
  /** uname -r, uname -m */
  readonly kernel: string;
  readonly arch: string;
  readonly ncpus: number;
  readonly pageSize: number;
  readonly uid: number;
  /** nr_foll_pin_acquired / nr_foll_pin_released exist in /proc/vmstat. */
  readonly pinCounters: boolean;
  /** A read fault on a never-touched private anonymous page (MADV_NOHUGEPAGE) mapped this. */
  readonly anonRead: PageKind;
  /** A read fault at the start of a PMD-aligned MADV_HUGEPAGE region mapped this. */
  readonly hugeRead: PageKind;
  readonly pmdSize: number;
  /** transparent_hugepage/enabled and use_zero_page as sysfs reads them. */
  readonly thpEnabled: string;
  readonly thpUseZeroPage: string;
  /** hugepages-<kB>kB/enabled for anonymous memory, by size in kB (empty before v6.8). */
  readonly thpSizes: Readonly<Record<string, string>>;
  /** hugetlb pools by page size in kB. */
  readonly hugetlb: Readonly<Record<string, { readonly nr: number; readonly free: number }>>;
  readonly ioUring: boolean;
  readonly ioUringError?: string;
  /** /proc/sys/kernel/io_uring_disabled ("absent" before v6.6). */
  readonly ioUringDisabled: string;
  /** An O_DIRECT open in the temp directory worked. */
  readonly oDirect: boolean;
  readonly oDirectError?: string;
  /** The temp directory's filesystem. */
  readonly fs: string;
  readonly ksmRun: string;
  /** The block device the blkdev cases may read (pinhost --blkdev), and why it cannot be opened. */
  readonly blkdev?: string;
  readonly blkdevError?: string;
  readonly notes: readonly string[];
}

export class ProbeError extends Error {}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Parse `pinhost --probe` output; a malformed field is a ProbeError naming it. */
export function parseProbe(raw: unknown): HostProbe {
  if (!isObject(raw) || !isObject(raw.probe) || !isObject(raw.env)) throw new ProbeError('pinhost --probe: output has no "probe" and "env" objects');
  const p = raw.probe;
  const e = raw.env;
  const str = (o: Record<string, unknown>, k: string): string => {
    if (typeof o[k] !== 'string') throw new ProbeError(`pinhost --probe: ${k} is not a string`);
    return o[k] as string;
  };
  const num = (o: Record<string, unknown>, k: string): number => {
    if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) throw new ProbeError(`pinhost --probe: ${k} is not a number`);
    return o[k] as number;
  };
  const bool = (o: Record<string, unknown>, k: string): boolean => {
    if (typeof o[k] !== 'boolean') throw new ProbeError(`pinhost --probe: ${k} is not a boolean`);
    return o[k] as boolean;
  };
  const kind = (k: string): PageKind => {
    const v = str(p, k);
    if (!(PAGE_KINDS as readonly string[]).includes(v)) throw new ProbeError(`pinhost --probe: ${k} is '${v}', not one of ${PAGE_KINDS.join(', ')}`);
    return v as PageKind;
  };
  const sizes: Record<string, string> = {};
  if (!isObject(p.thp_sizes)) throw new ProbeError('pinhost --probe: thp_sizes is not an object');
  for (const [k, v] of Object.entries(p.thp_sizes)) {
    if (!/^\d+$/.test(k) || typeof v !== 'string') throw new ProbeError(`pinhost --probe: thp_sizes.${k} is not a mode`);
    sizes[k] = v;
  }
  const pools: Record<string, { nr: number; free: number }> = {};
  if (!isObject(p.hugetlb)) throw new ProbeError('pinhost --probe: hugetlb is not an object');
  for (const [k, v] of Object.entries(p.hugetlb)) {
    if (!/^\d+$/.test(k) || !isObject(v)) throw new ProbeError(`pinhost --probe: hugetlb.${k} is not a pool`);
    pools[k] = { nr: num(v, 'nr'), free: num(v, 'free') };
  }
  return {
    kernel: str(e, 'kernel'), arch: str(e, 'machine'), ncpus: num(e, 'ncpus'),
    pageSize: num(p, 'page_size'), uid: num(p, 'uid'), pinCounters: bool(p, 'pin_counters'),
    anonRead: kind('anon_read'), hugeRead: kind('huge_read'), pmdSize: num(p, 'pmd_size'),
    thpEnabled: str(p, 'thp_enabled'), thpUseZeroPage: str(p, 'thp_use_zero_page'), thpSizes: sizes, hugetlb: pools,
    ioUring: bool(p, 'io_uring'), ...(typeof p.io_uring_error === 'string' && { ioUringError: p.io_uring_error }),
    ioUringDisabled: str(p, 'io_uring_disabled'),
    oDirect: bool(p, 'o_direct'), ...(typeof p.o_direct_error === 'string' && { oDirectError: p.o_direct_error }),
    fs: str(e, 'fs'), ksmRun: str(e, 'ksm_run'),
    ...(typeof p.blkdev === 'string' && { blkdev: p.blkdev }), ...(typeof p.blkdev_error === 'string' && { blkdevError: p.blkdev_error }),
    notes: Array.isArray(raw.notes) ? raw.notes.filter((x): x is string => typeof x === 'string') : [],
  };
}

// ---- from the probe to the model's machine ------------------------------------------------------

const THP_MODES = ['always', 'madvise', 'never'] as const;

/** One line of the mapping: which probed fact set which machine setting, and why. */
export interface MappingRow {
  readonly fact: string;
  readonly observed: string;
  readonly setting: string;
  readonly value: string;
}

/**
 * What the probe says about the premises workloads can depend on. null: the probe could not
 * tell, or the model cannot express what it saw (the reason is in `limits`).
 */
export interface HostTraits {
  /** A read fault on private anonymous memory maps the shared zero page. */
  readonly readFaultMapsZeroPage: boolean | null;
  /** What a read fault on an aligned MADV_HUGEPAGE region maps: the huge zero folio, a THP, or PTEs. */
  readonly hugeReadFault: 'huge_zero' | 'thp' | 'pte' | null;
  /** THP for the PMD size is not "never", and the model can express every size's mode. */
  readonly thp: boolean | null;
}

export interface HostModelPlan {
  /** Scenario machine settings (the `machine:` block a scenario would write). */
  readonly machine: Readonly<Record<string, Value>>;
  readonly mapping: readonly MappingRow[];
  readonly traits: HostTraits;
  /** Why a premise is unknown or cannot be modelled ('all': nothing can be compared). */
  readonly limits: Readonly<Partial<Record<Premise, string>>>;
}

export type Premise = 'all' | 'zeroPage' | 'hugeRead' | 'thp';

/** The effective mode of a THP size: "inherit" takes the top-level mode (mm/huge_memory.c thp_vma_allowable_orders()). */
function effectiveMode(p: HostProbe, kb: string): string {
  const m = p.thpSizes[kb];
  return m === undefined || m === 'inherit' ? p.thpEnabled : m;
}

/**
 * Model memory for a host-check run of `pages` pages: the workloads hold a data file, one or two
 * N-page buffers and a child's copies, so 8 N pages (at least 64 MiB) leave room to spare.
 */
export function modelMemoryFor(pages: number): number {
  const bytes = Math.max(64 << 20, pages * 8 * 4096);
  return Math.ceil(bytes / (2 << 20)) * (2 << 20);
}

/** The hugetlb pool the model reserves at most (each page costs 2 MiB of the model's memory). */
const MODEL_HUGETLB_CAP = 16;

export function planFromProbe(p: HostProbe, pages: number): HostModelPlan {
  const mapping: MappingRow[] = [];
  const limits: Partial<Record<Premise, string>> = {};
  const machine: Record<string, Value> = { normal: modelMemoryFor(pages) };
  mapping.push({ fact: 'workload size', observed: `${pages} pages`, setting: 'normal', value: `${machine.normal as number >> 20} MiB` });

  if (p.pageSize !== 4096) limits.all = `this kernel has ${p.pageSize}-byte pages; the model has 4096-byte pages`;
  if (!p.pinCounters) limits.all = '/proc/vmstat has no nr_foll_pin_acquired/nr_foll_pin_released (a kernel before v5.7?)';

  // do_anonymous_page() (mm/memory.c): a read fault maps the zero page unless mm_forbids_zeropage().
  let readZero: boolean | null = null;
  if (p.anonRead === 'zero') readZero = true;
  else if (p.anonRead === 'page') readZero = false;
  else limits.zeroPage = `the probe could not tell what a read fault on private anonymous memory maps (it saw '${p.anonRead}')`;
  if (readZero !== null) {
    machine.forbids_zeropage = !readZero;
    mapping.push({
      fact: 'read fault on private anon memory', observed: readZero ? 'the zero page' : 'a fresh page',
      setting: 'forbids_zeropage', value: String(!readZero),
    });
  }

  // THP: the PMD size's mode decides do_huge_pmd_anonymous_page(); smaller enabled sizes are the
  // model's mthp_orders, which share the PMD size's mode (a per-size mode is issue 13's).
  const pmdKb = String(p.pmdSize / 1024);
  const pmdMode = effectiveMode(p, pmdKb);
  let thp: boolean | null = null;
  if (p.thpEnabled === 'absent') {
    // No /sys/kernel/mm/transparent_hugepage: a kernel built without CONFIG_TRANSPARENT_HUGEPAGE
    // (User-Mode Linux): 'never', and thp_configured false (MADV_[NO]HUGEPAGE are -EINVAL there).
    machine.thp = 'never';
    machine.mthp_orders = [];
    machine.thp_configured = false;
    thp = false;
    mapping.push({ fact: 'THP enabled', observed: 'absent (no CONFIG_TRANSPARENT_HUGEPAGE)', setting: 'thp', value: 'never' });
    mapping.push({ fact: 'CONFIG_TRANSPARENT_HUGEPAGE', observed: 'absent', setting: 'thp_configured', value: 'false' });
  } else if (!(THP_MODES as readonly string[]).includes(pmdMode)) {
    limits.thp = `THP mode '${pmdMode}' for the ${pmdKb} kB size is not one the model knows`;
  } else {
    machine.thp = pmdMode;
    thp = pmdMode !== 'never';
    mapping.push({
      fact: 'THP enabled', observed: `${p.thpEnabled}${p.thpSizes[pmdKb] ? ` (${pmdKb}kB: ${p.thpSizes[pmdKb]})` : ''}`,
      setting: 'thp', value: pmdMode,
    });
    const orders: number[] = [];
    const odd: string[] = [];
    for (const kb of Object.keys(p.thpSizes).sort((a, b) => Number(a) - Number(b))) {
      if (kb === pmdKb || Number(kb) * 1024 >= p.pmdSize) continue;
      const mode = effectiveMode(p, kb);
      if (mode === 'never') continue;
      const order = Math.log2((Number(kb) * 1024) / p.pageSize);
      if (mode !== pmdMode || !Number.isInteger(order)) odd.push(`${kb}kB ${mode}`);
      else orders.push(order);
    }
    if (odd.length) {
      limits.thp = `per-size THP modes (${odd.join(', ')}; ${pmdKb}kB ${pmdMode}) differ, which the model's machine cannot express`;
      thp = null;
    }
    machine.mthp_orders = orders;
    mapping.push({
      fact: 'mTHP sizes enabled', observed: orders.length ? orders.map((o) => `${(p.pageSize << o) / 1024}kB`).join(', ') : 'none',
      setting: 'mthp_orders', value: `[${orders.join(', ')}]`,
    });
  }

  // do_huge_pmd_anonymous_page() (mm/huge_memory.c): a read fault maps the huge zero folio when
  // transparent_hugepage_use_zero_page() and !mm_forbids_zeropage(), else allocates a THP.
  let hugeRead: HostTraits['hugeReadFault'] = null;
  if (p.hugeRead === 'huge_zero') hugeRead = 'huge_zero';
  else if (p.hugeRead === 'thp') hugeRead = 'thp';
  else if (p.hugeRead === 'zero' || p.hugeRead === 'page') hugeRead = 'pte';
  else limits.hugeRead = `the probe could not tell what a read fault on an aligned MADV_HUGEPAGE region maps (it saw '${p.hugeRead}')`;
  if (hugeRead === 'huge_zero' || hugeRead === 'thp') {
    machine.use_zero_page = hugeRead === 'huge_zero';
    mapping.push({
      fact: 'read fault on an aligned MADV_HUGEPAGE region', observed: hugeRead === 'huge_zero' ? 'the huge zero folio' : 'a THP',
      setting: 'use_zero_page', value: String(hugeRead === 'huge_zero'),
    });
    if (hugeRead === 'huge_zero' && readZero === false) {
      limits.hugeRead = 'a read fault maps the huge zero folio but not the zero page: the model ties both to forbids_zeropage';
      hugeRead = null;
    }
    if (thp === false) {
      limits.hugeRead = `a read fault mapped ${hugeRead === 'thp' ? 'a THP' : 'the huge zero folio'} although THP is 'never'`;
      hugeRead = null;
    }
  } else {
    // Nothing huge was mapped: the sysfs value stands (it matters only where THP is on).
    machine.use_zero_page = p.thpUseZeroPage.trim() === '1';
    if (hugeRead === 'pte' && thp === true) {
      limits.hugeRead = `THP is '${pmdMode}' but a read fault on an aligned MADV_HUGEPAGE region mapped a ${p.hugeRead === 'zero' ? 'zero page' : 'small page'}`;
      hugeRead = null;
    }
    mapping.push({ fact: 'transparent_hugepage/use_zero_page', observed: p.thpUseZeroPage, setting: 'use_zero_page', value: String(machine.use_zero_page) });
  }

  // hugetlb: the model's pool is reserved at boot from the machine's memory (nr_hugepages).
  const pool = p.hugetlb[pmdKb];
  const free = pool?.free ?? 0;
  const reserve = Math.min(free, MODEL_HUGETLB_CAP);
  machine.hugetlb_pages = reserve;
  machine.normal = (machine.normal as number) + reserve * p.pmdSize;
  mapping.push({
    fact: `free ${pmdKb}kB hugetlb pages`, observed: pool ? String(free) : 'no pool',
    setting: 'hugetlb_pages', value: `${reserve}${free > reserve ? ` (capped at ${MODEL_HUGETLB_CAP})` : ''}`,
  });

  // Coloured zero pages: MIPS (and s390) have several; x86-64 and arm64 one (ZERO_PAGE()).
  const colours = /^(x86_64|aarch64|arm64|i[3-6]86|riscv64|ppc64le|um)$/.test(p.arch) ? 1 : null;
  if (colours === null) limits.zeroPage ??= `the number of zero pages on ${p.arch} is not known to the model`;
  else machine.zero_page_colors = colours;

  return {
    machine, mapping,
    traits: { readFaultMapsZeroPage: limits.zeroPage ? null : readZero, hugeReadFault: hugeRead, thp },
    limits,
  };
}

/** The header lines host-check prints: what was probed, then how it maps onto the model. */
export function describeProbe(p: HostProbe, plan: HostModelPlan, label = 'host'): string[] {
  const pageWord: Record<PageKind, string> = {
    zero: 'the zero page', huge_zero: 'the huge zero folio', thp: 'a THP', page: 'a fresh page', absent: 'nothing', unknown: 'unknown',
  };
  const sizes = Object.entries(p.thpSizes).map(([kb, m]) => `${kb}kB ${m}`).join(', ');
  const pools = Object.entries(p.hugetlb).map(([kb, v]) => `${kb}kB ${v.free}/${v.nr} free`).join(', ');
  const out = [
    `${label}: Linux ${p.kernel} ${p.arch}, ${p.pageSize}-byte pages, ${p.ncpus} CPU${p.ncpus === 1 ? '' : 's'}, temp dir on ${p.fs}` +
      `${p.oDirect ? '' : ` (O_DIRECT refused: ${p.oDirectError ?? '?'})`}, KSM ${p.ksmRun === '0' ? 'off' : p.ksmRun}`,
    `  read fault, private anon: ${pageWord[p.anonRead]}; aligned MADV_HUGEPAGE read fault: ${pageWord[p.hugeRead]}`,
    `  THP: enabled ${p.thpEnabled}, use_zero_page ${p.thpUseZeroPage}${sizes ? `; sizes: ${sizes}` : ''}`,
    `  hugetlb: ${pools || 'none'}; io_uring: ${p.ioUring ? 'available' : `unavailable (${p.ioUringError ?? `io_uring_disabled ${p.ioUringDisabled}`})`}` +
      `; pin counters: ${p.pinCounters ? 'yes' : 'no'}`,
    `model machine: ${formatMachine(plan.machine)}`,
  ];
  for (const [k, why] of Object.entries(plan.limits)) if (why) out.push(`  cannot model (${k}): ${why}`);
  return out;
}

/** Machine settings as a scenario would write them, sizes in MiB. */
export function formatMachine(m: Readonly<Record<string, unknown>>): string {
  return Object.entries(m).map(([k, v]) => {
    if (Array.isArray(v)) return `${k} [${v.join(', ')}]`;
    if (typeof v === 'number' && (k === 'normal' || k === 'movable' || k === 'cma')) return `${k} ${v / 2 ** 20} MiB`;
    return `${k} ${String(v)}`;
  }).join(', ');
}
