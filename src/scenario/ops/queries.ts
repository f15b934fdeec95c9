// Scenario queries: what expectations can inspect.

import { ZONE_NAMES } from '../../mm/memory.js';
import { PG_anon, PG_anon_exclusive, PG_dirty, PG_hugetlb, PG_lru, PG_private, PG_uptodate, PG_writeback } from '../../mm/page-flags.js';
import { VMSTAT_ITEMS, type VmstatItem } from '../../mm/vmstat.js';
import { translate } from '../../vm/access.js';
import { type Task, peekTasks } from '../../vm/mm.js';
import { handle, int, missing, str } from '../args.js';
import { pfn, query, task, type Ctx, type QueryImpl } from './common.js';
import { ScenarioError, type Value } from '../backend.js';
import { files } from '../../mm/filemap.js';
import { PTE_DIRTY, PTE_WRITE } from '../../include/linux/mm.js';
import { folio_maybe_dma_pinned } from '../../mm/folio.js';

// ---- queries ---------------------------------------------------------------------------------------

const PAGE_FIELDS = ['pfn', 'present', 'free', 'refcount', 'mapcount', 'folio_mapcount', 'pincount', 'maybe_dma_pinned',
  'dirty', 'uptodate', 'private', 'writeback', 'lru', 'anon', 'anon_exclusive', 'zero_page', 'huge_zero', 'order', 'zone',
  'pte_writable', 'pte_dirty', 'content', 'hugetlb'];

function pageState(c: Ctx, pfn: number, pte: { writable: boolean; dirty: boolean } | null): Record<string, Value> {
  const k = c.k;
  const m = k.mem;
  if (pfn < 0) {
    return Object.fromEntries(PAGE_FIELDS.map((f) => [f, f === 'present' ? false : null]));
  }
  const h = m.head(pfn);
  return {
    pfn, present: true, free: m.isFree(pfn), refcount: m.ref(h), mapcount: m.mapcountOf(pfn),
    folio_mapcount: m.folioMapcount(h), pincount: m.pincount(h),
    maybe_dma_pinned: k.profile.pinTracking ? folio_maybe_dma_pinned(k, pfn) : null,
    dirty: m.test(h, PG_dirty), uptodate: m.test(h, PG_uptodate), private: m.test(h, PG_private),
    writeback: m.test(h, PG_writeback), lru: m.test(h, PG_lru), anon: m.test(h, PG_anon),
    anon_exclusive: (m.flagsOf(pfn) & PG_anon_exclusive) !== 0, zero_page: m.isZeroPfn(pfn), huge_zero: m.isHugeZero(h),
    order: m.folioOrder(h), zone: ZONE_NAMES[m.zoneOf(h)], pte_writable: pte ? pte.writable : null,
    pte_dirty: pte ? pte.dirty : null, content: m.contentOf(pfn), hugetlb: m.test(h, PG_hugetlb),
  };
}

function pteOf(t: Task, addr: number): { writable: boolean; dirty: boolean } | null {
  const v = t.mm.peekVma(addr);
  if (!v) return null;
  const pmd = v.peekPmd(addr);
  const bits = pmd ? pmd.bits : v.peekPte(v.idx(addr)) >= 0 ? v.peekPteBits(v.idx(addr)) : -1;
  return bits < 0 ? null : { writable: (bits & PTE_WRITE) !== 0, dirty: (bits & PTE_DIRTY) !== 0 };
}

/**
 * A canonical digest of what the model holds that a user could observe, free of PFNs (two runs that
 * allocate different frames but end equal give equal digests): per live task, per VMA page, the
 * content token it sees (z: the zero page, w: writable PTE, p: maybe DMA-pinned, or - unmapped); per
 * file, the page cache (token, D dirty, W writeback) and the disk. The explorer's end state.
 */
function digest(c: Ctx): { tasks: string; files: string } {
  const k = c.k;
  const m = k.mem;
  const taskOut: string[] = [];
  for (const t of peekTasks(k).values()) {
    if (t.peekExited()) continue;
    const vmas = t.mm.peekVmas().map((v) => {
      const pages: string[] = [];
      for (let a = v.start; a < v.end && pages.length < 4096; a += 4096) {
        const p = translate(t.mm, a);
        if (p < 0) { pages.push('-'); continue; }
        const pte = pteOf(t, a);
        pages.push(`${m.isZeroPfn(p) || m.isHugeZero(m.head(p)) ? 'z' : m.contentOf(p)}${pte?.writable ? 'w' : ''}`
          + `${k.profile.pinTracking && folio_maybe_dma_pinned(k, p) ? 'p' : ''}`);
      }
      return `${v.start.toString(16)}[${pages.join(',')}]`;
    });
    taskOut.push(`${t.name}{${vmas.join(' ')}}`);
  }
  const fileOut: string[] = [];
  for (const [name, f] of files(k)) {
    const cache = [...f.cache].sort((a, b) => a[0] - b[0])
      .map(([i, p]) => `${i}=${m.contentOf(p)}${m.test(p, PG_dirty) ? 'D' : ''}${m.test(p, PG_writeback) ? 'W' : ''}`);
    const disk = [...f.disk].sort((a, b) => a[0] - b[0]).map(([i, v]) => `${i}=${v}`);
    fileOut.push(`${name}{cache ${cache.join(',')}; disk ${disk.join(',')}}`);
  }
  return { tasks: taskOut.join(' '), files: fileOut.join(' ') };
}

export const MM_QUERIES: QueryImpl[] = [
  query({
    name: 'digest', summary: 'a PFN-free digest of what tasks see and what files hold (the explorer\'s end state)',
    needsTask: false, args: {}, fields: ['tasks', 'files'],
    eval: (c) => digest(c),
  }),
  query({
    name: 'page', summary: 'the page a task maps at addr (no fault), or a page by pfn', needsTask: true,
    args: { addr: int().optional(), pfn: pfn().optional() }, fields: PAGE_FIELDS,
    eval(c, a) {
      if (a.pfn !== null) return pageState(c, a.pfn, null);
      const t = task(c);
      const addr = a.addr ?? missing('addr');
      return pageState(c, translate(t.mm, addr), pteOf(t, addr));
    },
  }),
  query({
    name: 'pinned', summary: 'the page at index of a pages handle', needsTask: false,
    args: { pages: handle(), index: int('default 0').default(0) }, fields: PAGE_FIELDS,
    eval(c, a) {
      const h = a.pages;
      const i = a.index;
      if (i < 0 || i >= h.length) throw new ScenarioError(`index ${i} outside the handle (0..${h.length - 1})`, 'index');
      return pageState(c, h[i], null);
    },
  }),
  query({
    name: 'vmstat', summary: '/proc/vmstat items of the model', needsTask: false, args: {}, fields: [...VMSTAT_ITEMS],
    eval: (c) => {
      const out: Record<string, Value> = {};
      for (const k of VMSTAT_ITEMS) out[k] = c.k.profile.pinTracking || !k.startsWith('nr_foll_pin') ? c.k.vmstat.get(k as VmstatItem) : null;
      return out;
    },
  }),
  query({
    name: 'data', summary: 'the content token a task sees at addr without faulting (0 for the zero page, null if unmapped)',
    needsTask: true, args: { addr: int() }, fields: ['value', 'pfn'],
    eval(c, a) {
      const p = translate(task(c).mm, a.addr);
      return { value: p < 0 ? null : c.k.mem.contentOf(p), pfn: p < 0 ? null : p };
    },
  }),
  query({
    name: 'mm', summary: "a task's address space", needsTask: true, args: {},
    fields: ['has_pinned', 'vmas', 'rss', 'exited'],
    eval(c) {
      const t = c.task!;
      let rss = 0;
      for (const v of t.mm.peekVmas()) {
        for (let i = 0; i < v.nrPages; i++) if (v.peekPte(i) >= 0 && !c.k.mem.isZeroPfn(v.peekPte(i))) rss++;
        for (const e of v.peekPmdLeaves().values()) if (!c.k.mem.isHugeZero(e.pfn)) rss += 512;
      }
      return { has_pinned: t.mm.peekHasPinned(), vmas: t.mm.peekVmas().length, rss, exited: t.peekExited() };
    },
  }),
  query({
    name: 'zone', summary: 'free pages in a zone', needsTask: false, args: { zone: str() }, fields: ['free', 'pages'],
    eval(c, a) {
      const z = ZONE_NAMES.indexOf(a.zone.toUpperCase() as (typeof ZONE_NAMES)[number]);
      if (z < 0 || z > 2) throw new ScenarioError(`zone must be NORMAL, MOVABLE or CMA`, 'zone');
      const r = c.k.mem.zones[z];
      return { free: c.k.mem.freePages[z], pages: r.end - r.start };
    },
  }),
  query({
    name: 'handle', summary: 'facts about a pages handle: its length and how many distinct folios it spans', needsTask: false,
    args: { pages: handle() }, fields: ['length', 'folios'],
    eval(c, a) {
      return { length: a.pages.length, folios: new Set(a.pages.map((p) => c.k.mem.head(p))).size };
    },
  }),
];
