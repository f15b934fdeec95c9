// Physical memory: the folio table (structure of arrays indexed by PFN, like mem_map), zones,
// a buddy allocator, and the shared zero page(s).
//
// Per page: refcount, mapcount, flags, order, zone, mapping, index, content  = 26 bytes.
// As in the kernel, folio-wide fields of a large folio live in its first tail pages:
// refcount[head+1] holds _pincount, refcount[head+2] holds _entire_mapcount
// (include/linux/mm_types.h struct folio: _pincount and _entire_mapcount in page[1]).

import { KernelBug } from '../check/bug.js';
import type { Footprint } from '../trace/footprint.js';
import { HPAGE_PMD_ORDER } from '../include/uapi.js';
import { SNAPSHOT_SELF, type SelfSnapshot, type SnapshotsItself } from '../include/snapshot.js';
import {
  FOLIO_FLAGS, PG_anon_exclusive, PG_buddy, PG_head, PG_huge_zero, PG_locked, PG_private,
  PG_hugetlb, PG_reserved, PG_tail, PG_writeback, PG_zero, pageFlagNames,
} from './page-flags.js';

export const ZONE_NORMAL = 0;
export const ZONE_MOVABLE = 1;
/** CMA is a pageblock migratetype inside a zone in the kernel; the model gives it its own range. */
export const ZONE_CMA = 2;
export const ZONE_RESERVED = 3;
export const ZONE_NAMES = ['NORMAL', 'MOVABLE', 'CMA', 'RESERVED'] as const;

/** include/linux/mmzone.h MAX_PAGE_ORDER on x86-64 */
export const MAX_PAGE_ORDER = 10;
const BLOCK = 1 << MAX_PAGE_ORDER;
/** Pages per dirty mark: a snapshot restores the marked runs of 8 pages, not the whole table (the buddy allocator alone marks one run per order it splits). */
const DIRTY_SHIFT = 3;

/** Allocation constraints: a stand-in for the gfp_t bits the model needs. */
export interface Gfp {
  /** __GFP_MOVABLE: user and page-cache memory may be placed in ZONE_MOVABLE and CMA. */
  readonly movable: boolean;
  /** __GFP_NOWARN: a failure is expected and handled (a fallback follows), so warn_alloc() stays quiet. */
  readonly nowarn?: boolean;
  /** The mask as the kernel's warn_alloc() would name it ("GFP_HIGHUSER_MOVABLE"). */
  readonly name: string;
}
export const GFP_HIGHUSER_MOVABLE: Gfp = { movable: true, name: 'GFP_HIGHUSER_MOVABLE' };
export const GFP_KERNEL: Gfp = { movable: false, name: 'GFP_KERNEL' };

/** gfp | __GFP_NOWARN, made once per mask (by name and movability): an allocation asks for it each time. */
const NOWARN: [Map<string, Gfp>, Map<string, Gfp>] = [new Map(), new Map()];
export function gfpNowarn(gfp: Gfp): Gfp {
  if (gfp.nowarn) return gfp;
  const m = NOWARN[gfp.movable ? 1 : 0];
  let g = m.get(gfp.name);
  if (!g) m.set(gfp.name, (g = Object.freeze({ movable: gfp.movable, nowarn: true, name: `${gfp.name}|__GFP_NOWARN` })));
  return g;
}

/**
 * What the allocator reports when an allocation fails (mm/page_alloc.c __alloc_pages_slowpath()
 * "nopage:" → warn_alloc(): "page allocation failure: order:%u, mode:%#x(%pGg)"), with the zones
 * it tried and their free pages, and the kernel function that allocated.
 */
export interface AllocFailure {
  readonly order: number;
  readonly gfp: string;
  readonly nowarn: boolean;
  /** The caller, by kernel function name ("do_anonymous_page"). */
  readonly site: string;
  /** Zones tried, in order, with their free pages: "MOVABLE 0, CMA 0, NORMAL 3". */
  readonly zones: string;
}

export interface MemoryConfig {
  /** Pages in each zone; rounded up to whole MAX_PAGE_ORDER blocks. */
  readonly normal: number;
  readonly movable: number;
  readonly cma: number;
  /** How many shared zero pages: 1 on x86 and arm64; several on MIPS, LoongArch, s390 (__HAVE_COLOR_ZERO_PAGE). */
  readonly zeroPageColors: number;
}

interface ZoneRange { start: number; end: number }

/** Released folio-table buffers by size (PhysMem.release()). */
const BUFFER_POOL = new Map<number, ArrayBuffer[]>();

export class PhysMem implements SnapshotsItself {
  readonly nrPages: number;
  protected readonly refcount: Int32Array;
  protected readonly mapcount: Int32Array;
  protected readonly flags: Uint32Array;
  protected readonly order: Uint8Array;
  protected readonly zone: Uint8Array;
  /** Owner: 0 none, >0 a file (address_space) id, -1 anonymous. Buddy free lists reuse it as "prev". */
  protected readonly mapping: Int32Array;
  /** Page index within the owning file. Buddy free lists reuse it as "next". */
  protected readonly index: Int32Array;
  /** Content token: a version number written by CPU stores and device DMA. */
  protected readonly content: Uint32Array;
  /**
   * One byte per 8 pages, set by every write to the arrays above: what changed since the last
   * snapshot capture or restore ([SNAPSHOT_SELF]). The allocator's writes mark here; the
   * per-field setters mark only in RecordingPhysMem (the explorer's), so the pin path of a kernel
   * without footprints stores nothing more. A PhysMem that does not mark every write restores
   * the whole table.
   */
  protected readonly dirty: Uint8Array;
  /** The snapshot whose capture or restore the dirty marks are relative to. */
  private dirtyBase: object | null = null;
  /** Properties that describe the snapshot, not the memory (a test comparing whole graphs skips them). */
  static readonly SNAPSHOT_BOOKKEEPING: readonly string[] = ['dirty', 'dirtyBase'];

  readonly zones: ZoneRange[] = [];
  private readonly freeHead: Int32Array[] = [];
  readonly freePages: number[] = [];
  readonly zeroPfns: number[] = [];
  private hugeZero = -1;
  fp: Footprint | null = null;
  /** Observers of folio frees (the block layer watches pages under DMA): any number of them. */
  private readonly freeWatchers: Array<(head: number, nr: number) => void> = [];

  /** Be told of every folio freed from now on (head, number of pages). */
  watchFrees(fn: (head: number, nr: number) => void): void {
    this.freeWatchers.push(fn);
  }
  /** Free hugetlb folios (mm/hugetlb.c hstate free lists): refcount 0, not in the buddy allocator. */
  readonly hugetlbFree: number[] = [];

  constructor(cfg: MemoryConfig, private readonly onFree?: (head: number) => void) {
    const round = (n: number) => Math.ceil(Math.max(0, n) / BLOCK) * BLOCK;
    const sizes = [round(cfg.normal), round(cfg.movable), round(cfg.cma)];
    if (cfg.zeroPageColors < 1 || cfg.zeroPageColors > 64 || !Number.isInteger(cfg.zeroPageColors))
      throw new RangeError('zero_page_colors must be an integer from 1 to 64');
    // pfn 0 .. BLOCK-1 is a reserved region that holds the zero pages (never allocatable).
    let next = BLOCK;
    for (let z = 0; z < 3; z++) {
      this.zones[z] = { start: next, end: next + sizes[z] };
      next += sizes[z];
    }
    this.zones[ZONE_RESERVED] = { start: 0, end: BLOCK };
    this.nrPages = next;
    const n = next;
    // One buffer for all the arrays: the explorer builds a kernel per schedule, and one
    // allocation is much cheaper than eight. 4-byte arrays first keeps them aligned.
    const bytes = n * PhysMem.BYTES_PER_PAGE;
    const pooled = BUFFER_POOL.get(bytes)?.pop();
    if (pooled) new Uint8Array(pooled).fill(0);
    const buf = pooled ?? new ArrayBuffer(bytes);
    this.buffer = buf;
    let off = 0;
    const take = <T>(make: (b: ArrayBuffer, o: number, n: number) => T, size: number): T => {
      const a = make(buf, off, n);
      off += size * n;
      return a;
    };
    this.refcount = take((b, o, l) => new Int32Array(b, o, l), 4);
    this.mapcount = take((b, o, l) => new Int32Array(b, o, l), 4);
    this.flags = take((b, o, l) => new Uint32Array(b, o, l), 4);
    this.mapping = take((b, o, l) => new Int32Array(b, o, l), 4);
    this.index = take((b, o, l) => new Int32Array(b, o, l), 4);
    this.content = take((b, o, l) => new Uint32Array(b, o, l), 4);
    this.order = take((b, o, l) => new Uint8Array(b, o, l), 1);
    this.zone = take((b, o, l) => new Uint8Array(b, o, l), 1);
    this.dirty = new Uint8Array((n >>> DIRTY_SHIFT) + 1);
    for (let z = 0; z < 4; z++) {
      const { start, end } = this.zones[z];
      this.zone.fill(z, start, end);
    }
    this.flags.fill(PG_reserved, 0, BLOCK);
    for (let c = 0; c < cfg.zeroPageColors; c++) {
      // mm/memory.c / arch setup: the zero page is a reserved page with a boot reference.
      this.zeroPfns.push(c);
      this.flags[c] = PG_reserved | PG_zero;
      this.refcount[c] = 1;
    }
    for (let z = 0; z < 3; z++) {
      this.freeHead[z] = new Int32Array(MAX_PAGE_ORDER + 1).fill(-1);
      this.freePages[z] = 0;
      const { start, end } = this.zones[z];
      // Insert from the top so the lowest blocks come out first: traces read better.
      for (let p = end - BLOCK; p >= start; p -= BLOCK) this.pushFree(z, p, MAX_PAGE_ORDER);
      this.freePages[z] = end - start;
    }
  }

  private buffer: ArrayBuffer | null;

  /** Whether the per-field setters mark the dirty table too (RecordingPhysMem). */
  protected marksEveryWrite(): boolean {
    return false;
  }

  private touchRange(pfn: number, nr: number): void {
    const last = (pfn + nr - 1) >>> DIRTY_SHIFT;
    for (let c = pfn >>> DIRTY_SHIFT; c <= last; c++) this.dirty[c] = 1;
  }

  /**
   * The explorer's snapshot of the folio table: a copy of the arrays at the capture; a restore
   * copies back only the runs of pages written since (the dirty marks), when the marks are relative
   * to this snapshot, and the whole table otherwise (another snapshot was captured or restored in
   * between). The ext4 race's machine has 9,000 pages and a schedule writes a few dozen.
   */
  [SNAPSHOT_SELF](): SelfSnapshot {
    // The arrays share one buffer: six 4-byte arrays, then order and zone (the constructor's
    // layout), so two views cover them all and the copy loops stay monomorphic.
    const n = this.nrPages;
    const i32 = new Int32Array(this.refcount.buffer, this.refcount.byteOffset, 6 * n);
    const u8 = new Uint8Array(this.order.buffer, this.order.byteOffset, 2 * n);
    if (this.zone.byteOffset !== u8.byteOffset + n || this.content.byteOffset !== i32.byteOffset + 20 * n) {
      throw new Error('PhysMem: the folio table layout is not the one its snapshot assumes');
    }
    const s32 = i32.slice();
    const s8 = u8.slice();
    const token = {};
    const dirty = this.dirty;
    dirty.fill(0);
    this.dirtyBase = token;
    return {
      owned: [this.refcount, this.mapcount, this.flags, this.mapping, this.index, this.content, this.order, this.zone, dirty],
      restore: () => {
        if (this.dirtyBase !== token || !this.marksEveryWrite()) {
          i32.set(s32);
          u8.set(s8);
          dirty.fill(0);
          this.dirtyBase = token;
          return;
        }
        for (let c = 0; c < dirty.length; c++) {
          if (dirty[c] === 0) continue;
          dirty[c] = 0;
          const from = c << DIRTY_SHIFT;
          const to = Math.min(n, from + (1 << DIRTY_SHIFT));
          for (let k = 0; k < 6 * n; k += n) for (let p = from + k, e = to + k; p < e; p++) i32[p] = s32[p];
          for (let k = 0; k < 2 * n; k += n) for (let p = from + k, e = to + k; p < e; p++) u8[p] = s8[p];
        }
      },
    };
  }

  /**
   * The explorer is done with this memory (a schedule has ended): its buffer goes back to a small
   * pool for the next kernel of the same size. Nothing may use this PhysMem afterwards.
   */
  release(): void {
    const b = this.buffer;
    if (!b) return;
    this.buffer = null;
    let list = BUFFER_POOL.get(b.byteLength);
    if (!list) BUFFER_POOL.set(b.byteLength, (list = []));
    if (list.length < 4) list.push(b);
  }

  /** The per-page arrays' element sizes and lengths (a test holds BYTES_PER_PAGE to them). */
  arrayLayout(): Array<{ bytes: number; length: number }> {
    return [this.refcount, this.mapcount, this.flags, this.order, this.zone, this.mapping, this.index, this.content]
      .map((a) => ({ bytes: a.BYTES_PER_ELEMENT, length: a.length }));
  }

  /** Bytes of typed arrays per simulated page. */
  static readonly BYTES_PER_PAGE = 4 + 4 + 4 + 1 + 1 + 4 + 4 + 4;

  // ---- the per-page fields: the only way in and out (include/linux/page-flags.h, page_ref.h) ----
  // Every write records the page in the step's footprint; in a RecordingPhysMem (footprints on)
  // every read does too (an operation that fails after looking at a page still depends on it).
  // Observers that are not kernel code (invariant checks, traces, scenario queries) read through
  // Kernel.peek(), which records nothing.

  refcountOf(pfn: number): number {
    return this.refcount[pfn];
  }

  setRefcount(pfn: number, v: number): void {
    this.refcount[pfn] = v;
    this.fp?.writeFolio(pfn);
  }

  mapcountOf(pfn: number): number {
    return this.mapcount[pfn];
  }

  /** The page's _mapcount moves by n (page_add_*_rmap() / page_remove_rmap()). */
  mapcountAdd(pfn: number, n: number): void {
    this.mapcount[pfn] += n;
    this.fp?.writeFolio(pfn);
  }

  setMapcount(pfn: number, v: number): void {
    this.mapcount[pfn] = v;
    this.fp?.writeFolio(pfn);
  }

  flagsOf(pfn: number): number {
    return this.flags[pfn];
  }

  setFlags(pfn: number, v: number): void {
    this.flags[pfn] = v;
    this.fp?.writeFolio(pfn);
  }

  orderOf(pfn: number): number {
    return this.order[pfn];
  }

  /** The page's zone never changes after boot: nothing to record. */
  zoneOf(pfn: number): number {
    return this.zone[pfn];
  }

  mappingOf(pfn: number): number {
    return this.mapping[pfn];
  }

  setMapping(pfn: number, v: number): void {
    this.mapping[pfn] = v;
    this.fp?.writeFolio(pfn);
  }

  indexOf(pfn: number): number {
    return this.index[pfn];
  }

  setIndex(pfn: number, v: number): void {
    this.index[pfn] = v;
    this.fp?.writeFolio(pfn);
  }

  contentOf(pfn: number): number {
    return this.content[pfn];
  }

  /** A CPU store or a device's DMA wrote the page: its content token (unsigned 32 bits). */
  setContent(pfn: number, v: number): void {
    this.content[pfn] = v;
    this.fp?.writeFolio(pfn);
  }

  // ---- folio geometry ----------------------------------------------------------------

  /** page_folio(): the head PFN of the folio containing pfn. */
  head(pfn: number): number {
    if ((this.flags[pfn] & PG_tail) === 0) return pfn;
    return pfn & ~((1 << this.order[pfn]) - 1);
  }

  folioOrder(head: number): number {
    return this.order[head];
  }

  folioNrPages(head: number): number {
    return 1 << this.order[head];
  }

  isLarge(head: number): boolean {
    return this.order[head] > 0;
  }

  test(head: number, flag: number): boolean {
    return (this.flags[head] & flag) !== 0;
  }

  set(head: number, flag: number): void {
    this.flags[head] |= flag;
    this.fp?.writeFolio(head);
  }

  clear(head: number, flag: number): void {
    this.flags[head] &= ~flag;
    this.fp?.writeFolio(head);
  }

  isZeroPfn(pfn: number): boolean {
    return (this.flags[pfn] & PG_zero) !== 0;
  }

  isHugeZero(head: number): boolean {
    return (this.flags[head] & PG_huge_zero) !== 0;
  }

  /** my_zero_pfn(addr): on colored architectures the zero page is chosen by virtual address. */
  zeroPfnFor(vaddr: number): number {
    const colors = this.zeroPfns.length;
    return this.zeroPfns[Math.floor(vaddr / 4096) % colors];
  }

  // ---- reference counts ---------------------------------------------------------------

  ref(head: number): number {
    return this.refcount[head];
  }

  refAdd(head: number, n: number): void {
    this.refcount[head] += n; // Int32Array: wraps like the kernel's atomic_t
    this.fp?.writeFolio(head);
  }

  /** folio_put_refs(): drop n references; the last one frees the folio. */
  putRefs(head: number, n: number): void {
    const before = this.refcount[head];
    if (before > 0 && before - n < 0)
      throw new KernelBug(`page refcount underflow on pfn ${head}: ${before} - ${n}`, this.describe(head));
    if (before === 0)
      throw new KernelBug(`put on a free page: pfn ${head} has refcount 0 (use after free)`, this.describe(head));
    this.refcount[head] = before - n;
    this.fp?.writeFolio(head);
    if (this.refcount[head] === 0) this.freeFolio(head);
  }

  /** _pincount of a large folio (page[1] of the folio). */
  pincount(head: number): number {
    return this.order[head] > 0 ? this.refcount[head + 1] : 0;
  }

  pincountAdd(head: number, n: number): void {
    this.refcount[head + 1] += n;
    this.fp?.writeFolio(head);
  }

  entireMapcount(head: number): number {
    return this.order[head] >= 2 ? this.refcount[head + 2] : 0;
  }

  entireMapcountAdd(head: number, n: number): void {
    this.refcount[head + 2] += n;
    this.fp?.writeFolio(head);
  }

  /**
   * folio_mapcount(): the PTE mappings of every page plus each PMD mapping once (include/linux/mm.h:
   * folio_total_mapcount() adds folio_entire_mapcount() once up to v6.8, folio_large_mapcount()
   * counts each PTE and PMD mapping once from v6.9); the same number as folioMapRefs().
   */
  folioMapcount(head: number): number {
    return this.folioMapRefs(head);
  }

  /** Number of page-table entries (PTEs and PMDs) that map the folio: each holds one reference. */
  folioMapRefs(head: number): number {
    let m = this.entireMapcount(head);
    const nr = this.folioNrPages(head);
    for (let i = 0; i < nr; i++) m += this.mapcountOf(head + i);
    return m;
  }

  // ---- the buddy allocator (mm/page_alloc.c) -------------------------------------------

  private pushFree(z: number, pfn: number, order: number): void {
    const heads = this.freeHead[z];
    const old = heads[order];
    this.flags[pfn] = PG_buddy;
    this.order[pfn] = order;
    this.mapping[pfn] = -1; // prev
    this.index[pfn] = old; // next
    if (old >= 0) this.mapping[old] = pfn;
    heads[order] = pfn;
    this.dirty[pfn >>> DIRTY_SHIFT] = 1;
    if (old >= 0) this.dirty[old >>> DIRTY_SHIFT] = 1;
  }

  private unlinkFree(z: number, pfn: number, order: number): void {
    const prev = this.mapping[pfn];
    const next = this.index[pfn];
    if (prev >= 0) this.index[prev] = next;
    else this.freeHead[z][order] = next;
    if (next >= 0) this.mapping[next] = prev;
    this.flags[pfn] = 0;
    this.dirty[pfn >>> DIRTY_SHIFT] = 1;
    if (prev >= 0) this.dirty[prev >>> DIRTY_SHIFT] = 1;
    if (next >= 0) this.dirty[next >>> DIRTY_SHIFT] = 1;
  }

  /** Allocate a block of 2^order pages from one zone; -1 if that zone has none. */
  private rmqueue(z: number, order: number): number {
    const heads = this.freeHead[z];
    let o = order;
    while (o <= MAX_PAGE_ORDER && heads[o] < 0) o++;
    if (o > MAX_PAGE_ORDER) return -1;
    const pfn = heads[o];
    this.unlinkFree(z, pfn, o);
    // expand(): hand the upper halves back at lower orders.
    while (o > order) {
      o--;
      this.pushFree(z, pfn + (1 << o), o);
    }
    this.freePages[z] -= 1 << order;
    this.fp?.write('zone', z);
    return pfn;
  }

  /** Zones an allocation may use, in the order tried. */
  zonesFor(gfp: Gfp): number[] {
    // Movable allocations prefer ZONE_MOVABLE, then CMA, then NORMAL: a deterministic stand-in for
    // the zonelist order (mm/page_alloc.c get_page_from_freelist) and __rmqueue()'s CMA balancing.
    return gfp.movable ? [ZONE_MOVABLE, ZONE_CMA, ZONE_NORMAL] : [ZONE_NORMAL];
  }

  /** Told of every failed allocation (the Kernel records it: warn_alloc(), unless __GFP_NOWARN). */
  onAllocFail: ((f: AllocFailure) => void) | null = null;

  /**
   * folio_alloc(): a new folio with refcount 1, or -1 (the caller turns that into -ENOMEM /
   * VM_FAULT_OOM). `site` names the kernel function allocating, for the failure report.
   */
  allocFolio(gfp: Gfp, order: number, site = 'folio_alloc'): number {
    const zones = this.zonesFor(gfp);
    for (const z of zones) {
      const pfn = this.rmqueue(z, order);
      if (pfn >= 0) {
        this.prepNewFolio(pfn, order);
        return pfn;
      }
    }
    this.onAllocFail?.({
      order, gfp: gfp.name, nowarn: gfp.nowarn ?? false, site,
      zones: zones.map((z) => `${ZONE_NAMES[z]} ${this.freePages[z]}`).join(', '),
    });
    return -1;
  }

  private prepNewFolio(head: number, order: number): void {
    const nr = 1 << order;
    for (let i = 0; i < nr; i++) {
      const p = head + i;
      this.flags[p] = order === 0 ? 0 : i === 0 ? PG_head : PG_tail;
      this.order[p] = order;
      this.refcount[p] = 0;
      this.mapcount[p] = 0;
      this.mapping[p] = 0;
      this.index[p] = 0;
      this.content[p] = 0;
    }
    this.refcount[head] = 1;
    this.touchRange(head, nr);
    this.fp?.writeFolio(head);
  }

  /** free_pages_prepare() checks, then back to the buddy lists. Bad state is a modelled BUG (bad_page()). */
  private freeFolio(head: number): void {
    const order = this.order[head];
    const nr = 1 << order;
    const bad: string[] = [];
    const f = this.flags[head];
    if (f & (PG_reserved | PG_zero | PG_huge_zero)) bad.push('PAGE_FLAGS_CHECK_AT_FREE: reserved/zero page');
    if (f & PG_locked) bad.push('PAGE_FLAGS_CHECK_AT_FREE: locked');
    if (f & PG_writeback) bad.push('PAGE_FLAGS_CHECK_AT_FREE: writeback');
    if (f & PG_private) bad.push('PAGE_FLAGS_CHECK_AT_FREE: private (buffers still attached)');
    if (this.mapping[head] > 0) bad.push('non-NULL mapping (still in a page cache)');
    if (order > 0 && this.pincount(head) !== 0) bad.push(`nonzero pincount (${this.pincount(head)})`);
    for (let i = 0; i < nr; i++) if (this.mapcount[head + i] !== 0) { bad.push('nonzero mapcount'); break; }
    if (order >= 2 && this.entireMapcount(head) !== 0) bad.push('nonzero entire_mapcount');
    if (bad.length) {
      // mm/page_alloc.c: bad_page() / free_tail_page_prepare()
      throw new KernelBug(`BUG: Bad page state in process: pfn ${head}: ${bad.join('; ')}`, this.describe(head));
    }
    this.onFree?.(head);
    for (const fn of this.freeWatchers) fn(head, nr);
    if (f & PG_hugetlb) {
      // free_huge_folio(): back to the pool, still a huge page.
      for (let i = 0; i < nr; i++) this.mapping[head + i] = 0;
      this.flags[head] = PG_head | PG_hugetlb;
      this.touchRange(head, nr);
      this.fp?.writeFolio(head);
      this.hugetlbFree.push(head);
      return;
    }
    const z = this.zone[head];
    for (let i = 0; i < nr; i++) {
      this.flags[head + i] = 0;
      this.refcount[head + i] = 0;
      this.mapping[head + i] = 0;
      this.index[head + i] = 0;
      this.order[head + i] = 0;
    }
    this.touchRange(head, nr);
    this.fp?.writeFolio(head);
    this.fp?.write('zone', z);
    this.freePages[z] += nr;
    // __free_one_page(): merge with free buddies of the same order.
    let pfn = head;
    let o = order;
    const { start, end } = this.zones[z];
    while (o < MAX_PAGE_ORDER) {
      const buddy = pfn ^ (1 << o);
      if (buddy < start || buddy >= end) break;
      if ((this.flags[buddy] & PG_buddy) === 0 || this.order[buddy] !== o) break;
      this.unlinkFree(z, buddy, o);
      this.order[buddy] = 0;
      this.dirty[buddy >>> DIRTY_SHIFT] = 1;
      pfn = Math.min(pfn, buddy);
      o++;
    }
    this.pushFree(z, pfn, o);
  }

  isFree(pfn: number): boolean {
    const h = this.head(pfn);
    return this.refcount[h] === 0 && (this.flags[h] & (PG_reserved | PG_zero)) === 0;
  }

  /** The huge zero folio (mm/huge_memory.c): allocated on first use and kept (as with PERSISTENT_HUGE_ZERO_FOLIO). */
  hugeZeroFolio(): number {
    if (this.hugeZero >= 0) return this.hugeZero;
    // mm/huge_memory.c get_huge_zero_folio(): (GFP_TRANSHUGE | __GFP_ZERO) & ~__GFP_MOVABLE; GFP_TRANSHUGE has __GFP_NOWARN.
    const pfn = this.allocFolio(gfpNowarn({ movable: false, name: 'GFP_TRANSHUGE' }), HPAGE_PMD_ORDER, 'get_huge_zero_folio');
    if (pfn < 0) return -1;
    this.flags[pfn] |= PG_huge_zero;
    this.dirty[pfn >>> DIRTY_SHIFT] = 1;
    this.hugeZero = pfn;
    return pfn;
  }

  /** Boot-time hugetlb pool (nr_hugepages): PMD-order folios, allocated movable as x86 2 MiB pages may be. */
  reserveHugetlbPool(count: number): number {
    let got = 0;
    for (; got < count; got++) {
      // mm/hugetlb.c alloc_buddy_hugetlb_folio(): __GFP_COMP|__GFP_NOWARN; a short pool is no error.
      const pfn = this.allocFolio(gfpNowarn(GFP_HIGHUSER_MOVABLE), HPAGE_PMD_ORDER, 'alloc_buddy_hugetlb_folio');
      if (pfn < 0) break;
      this.flags[pfn] = PG_head | PG_hugetlb;
      this.refcount[pfn] = 0;
      this.dirty[pfn >>> DIRTY_SHIFT] = 1;
      this.hugetlbFree.push(pfn);
    }
    return got;
  }

  /** alloc_hugetlb_folio(): a folio from the pool with refcount 1, or -1. */
  allocHugetlbFolio(): number {
    const pfn = this.hugetlbFree.shift();
    if (pfn === undefined) return -1;
    const nr = this.folioNrPages(pfn);
    for (let i = 0; i < nr; i++) {
      this.content[pfn + i] = 0;
      this.mapcount[pfn + i] = 0;
      this.flags[pfn + i] = i === 0 ? PG_head | PG_hugetlb : PG_tail;
    }
    this.refcount[pfn] = 1;
    this.refcount[pfn + 1] = 0;
    this.refcount[pfn + 2] = 0;
    this.touchRange(pfn, nr);
    this.fp?.writeFolio(pfn);
    return pfn;
  }

  /** Split a large folio into small ones (mm/huge_memory.c __split_huge_page): references already redistributed by the caller. */
  splitFolioTo0(head: number, refsPerPage: Int32Array): void {
    const nr = this.folioNrPages(head);
    const f = this.flags[head] & FOLIO_FLAGS;
    for (let i = 0; i < nr; i++) {
      const p = head + i;
      const ae = this.flags[p] & PG_anon_exclusive;
      this.flags[p] = f | ae;
      this.order[p] = 0;
      this.refcount[p] = refsPerPage[i];
      if (i > 0) {
        this.mapping[p] = this.mapping[head];
        this.index[p] = this.index[head] + i;
      }
    }
    this.flags[head] &= ~PG_head;
    this.touchRange(head, nr);
    this.fp?.writeFolio(head);
  }

  describe(pfn: number): string[] {
    const h = this.head(pfn);
    return [
      `pfn ${pfn} (folio ${h}, order ${this.order[h]}, zone ${ZONE_NAMES[this.zone[h]]})`,
      `refcount ${this.refcount[h]} mapcount ${this.mapcount[pfn]} pincount ${this.pincount(h)}`,
      `flags ${pageFlagNames(this.flags[h] | (this.flags[pfn] & PG_anon_exclusive)).join('|') || '0'}`,
    ];
  }

  /** For invariant checks: every allocated folio head. */
  *allocatedHeads(): Generator<number> {
    for (let z = 0; z < 3; z++) {
      const { start, end } = this.zones[z];
      for (let p = start; p < end; ) {
        const f = this.flags[p];
        if (f & PG_buddy) {
          p += 1 << this.order[p];
          continue;
        }
        if (this.refcount[p] !== 0 || (f & PG_head)) {
          yield p;
          p += 1 << this.order[p];
          continue;
        }
        p++;
      }
    }
  }
}


/**
 * The folio table of a kernel that keeps footprints (the explorer, traces): every read accessor
 * also records the page read. A subclass rather than a test in each accessor, so that a kernel
 * without footprints (benchmarks) pays nothing on the pin path: each call site sees one class.
 */
export class RecordingPhysMem extends PhysMem {
  // Explicit: the implicit derived constructor forwards `...args` (a spread per kernel built).
  constructor(cfg: MemoryConfig, onFree?: (head: number) => void) {
    super(cfg, onFree);
  }

  override refcountOf(pfn: number): number {
    this.fp?.readFolio(pfn);
    return super.refcountOf(pfn);
  }

  override mapcountOf(pfn: number): number {
    this.fp?.readFolio(pfn);
    return super.mapcountOf(pfn);
  }

  override flagsOf(pfn: number): number {
    this.fp?.readFolio(pfn);
    return super.flagsOf(pfn);
  }

  override orderOf(pfn: number): number {
    this.fp?.readFolio(pfn);
    return super.orderOf(pfn);
  }

  override mappingOf(pfn: number): number {
    this.fp?.readFolio(pfn);
    return super.mappingOf(pfn);
  }

  override indexOf(pfn: number): number {
    this.fp?.readFolio(pfn);
    return super.indexOf(pfn);
  }

  override contentOf(pfn: number): number {
    this.fp?.readFolio(pfn);
    return super.contentOf(pfn);
  }

  override head(pfn: number): number {
    this.fp?.readFolio(pfn);
    return super.head(pfn);
  }

  override folioOrder(head: number): number {
    this.fp?.readFolio(head);
    return super.folioOrder(head);
  }

  override folioNrPages(head: number): number {
    this.fp?.readFolio(head);
    return super.folioNrPages(head);
  }

  override isLarge(head: number): boolean {
    this.fp?.readFolio(head);
    return super.isLarge(head);
  }

  override test(head: number, flag: number): boolean {
    this.fp?.readFolio(head);
    return super.test(head, flag);
  }

  override isZeroPfn(pfn: number): boolean {
    this.fp?.readFolio(pfn);
    return super.isZeroPfn(pfn);
  }

  override isHugeZero(head: number): boolean {
    this.fp?.readFolio(head);
    return super.isHugeZero(head);
  }

  override ref(head: number): number {
    this.fp?.readFolio(head);
    return super.ref(head);
  }

  override pincount(head: number): number {
    this.fp?.readFolio(head);
    return super.pincount(head);
  }

  override entireMapcount(head: number): number {
    this.fp?.readFolio(head);
    return super.entireMapcount(head);
  }

  override isFree(pfn: number): boolean {
    this.fp?.readFolio(pfn);
    return super.isFree(pfn);
  }

  // The setters mark the snapshot's dirty table ([SNAPSHOT_SELF]) here, off the benchmarks' path.

  protected override marksEveryWrite(): boolean {
    return true;
  }

  override setRefcount(pfn: number, v: number): void {
    this.dirty[pfn >>> DIRTY_SHIFT] = 1;
    super.setRefcount(pfn, v);
  }

  override mapcountAdd(pfn: number, n: number): void {
    this.dirty[pfn >>> DIRTY_SHIFT] = 1;
    super.mapcountAdd(pfn, n);
  }

  override setMapcount(pfn: number, v: number): void {
    this.dirty[pfn >>> DIRTY_SHIFT] = 1;
    super.setMapcount(pfn, v);
  }

  override setFlags(pfn: number, v: number): void {
    this.dirty[pfn >>> DIRTY_SHIFT] = 1;
    super.setFlags(pfn, v);
  }

  override setMapping(pfn: number, v: number): void {
    this.dirty[pfn >>> DIRTY_SHIFT] = 1;
    super.setMapping(pfn, v);
  }

  override setIndex(pfn: number, v: number): void {
    this.dirty[pfn >>> DIRTY_SHIFT] = 1;
    super.setIndex(pfn, v);
  }

  override setContent(pfn: number, v: number): void {
    this.dirty[pfn >>> DIRTY_SHIFT] = 1;
    super.setContent(pfn, v);
  }

  override set(head: number, flag: number): void {
    this.dirty[head >>> DIRTY_SHIFT] = 1;
    super.set(head, flag);
  }

  override clear(head: number, flag: number): void {
    this.dirty[head >>> DIRTY_SHIFT] = 1;
    super.clear(head, flag);
  }

  override refAdd(head: number, n: number): void {
    this.dirty[head >>> DIRTY_SHIFT] = 1;
    super.refAdd(head, n);
  }

  override putRefs(head: number, n: number): void {
    this.dirty[head >>> DIRTY_SHIFT] = 1;
    super.putRefs(head, n);
  }

  override pincountAdd(head: number, n: number): void {
    this.dirty[(head + 1) >>> DIRTY_SHIFT] = 1;
    super.pincountAdd(head, n);
  }

  override entireMapcountAdd(head: number, n: number): void {
    this.dirty[(head + 2) >>> DIRTY_SHIFT] = 1;
    super.entireMapcountAdd(head, n);
  }
}
