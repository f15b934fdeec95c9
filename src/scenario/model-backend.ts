// The model behind the scenario language: every operation and query a scenario can name.

import { KernelBug } from '../check/bug.js';
import { findLeaks, type Holder } from '../check/leaks.js';
import { File, dropFileCache, type FsKind } from '../fs/file.js';
import * as api from '../gup/api.js';
import { folio_maybe_dma_pinned } from '../gup/grab.js';
import type { PageArray } from '../gup/gup.js';
import * as unpin from '../gup/unpin.js';
import { CONSTANTS, PAGE_SIZE } from '../include/uapi.js';
import { Kernel, type MachineConfig, type ThpMode } from '../kernel.js';
import { ZONE_NAMES } from '../mm/memory.js';
import { memory_failure } from '../mm/memory-failure.js';
import {
  PG_anon, PG_anon_exclusive, PG_dirty, PG_huge_zero, PG_hugetlb, PG_lru, PG_private, PG_uptodate, PG_writeback,
} from '../mm/page-flags.js';
import { VMSTAT_ITEMS, type VmstatItem } from '../mm/vmstat.js';
import { DEFAULT_PROFILE, PROFILES } from '../profile.js';
import { translate, userRead, userWrite } from '../vm/access.js';
import { do_exit } from '../vm/exit.js';
import { do_fork } from '../vm/fork.js';
import { folio_isolate_lru, folio_putback_lru, migrate_folio } from '../vm/migrate.js';
import { PTE_DIRTY, PTE_WRITE, type Task } from '../vm/mm.js';
import { do_madvise, do_mmap, do_mprotect, do_munmap } from '../vm/mmap.js';
import {
  ScenarioError, type ArgSpec, type Backend, type BugReport, type LeakReport, type OpDef, type QueryDef, type Session,
  type StepOutcome, type Value, type Warning,
} from './backend.js';

type Args = Readonly<Record<string, Value>>;

interface Ctx {
  k: Kernel;
  task: Task | null;
  stepNo: number;
  holders: Holder[];
}

interface OpImpl extends OpDef {
  run(c: Ctx, a: Args): StepOutcome;
}

interface QueryImpl extends QueryDef {
  eval(c: Ctx, a: Args): Record<string, Value>;
}

// ---- argument helpers ---------------------------------------------------------------------------

function int(a: Args, name: string, dflt?: number): number {
  const v = a[name];
  if (v === undefined || v === null) {
    if (dflt !== undefined) return dflt;
    throw new ScenarioError(`missing argument '${name}'`, name);
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ScenarioError(`'${name}' must be an integer`, name);
  return v;
}

function bool(a: Args, name: string, dflt: boolean): boolean {
  const v = a[name];
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  throw new ScenarioError(`'${name}' must be true or false`, name);
}

function str(a: Args, name: string, dflt?: string): string {
  const v = a[name];
  if (v === undefined || v === null) {
    if (dflt !== undefined) return dflt;
    throw new ScenarioError(`missing argument '${name}'`, name);
  }
  return String(v);
}

function handle(a: Args, name: string): number[] {
  const v = a[name];
  if (!Array.isArray(v)) throw new ScenarioError(`'${name}' must be a pages handle (bound with 'as:' from a GUP call)`, name);
  return v as number[];
}

function task(c: Ctx): Task {
  if (!c.task) throw new ScenarioError('this operation needs a task');
  if (c.task.exited) throw new ScenarioError(`task '${c.task.name}' has exited`);
  return c.task;
}

function namedTask(c: Ctx, a: Args, name: string): Task {
  const n = str(a, name);
  const t = c.k.tasks.get(n);
  if (!t) throw new ScenarioError(`no task named '${n}'`, name);
  return t;
}

function pfnArg(c: Ctx, a: Args, name: string): number {
  const p = int(a, name);
  if (p < 0 || p >= c.k.mem.nrPages) throw new ScenarioError(`'${name}' = ${p} is not a page of this machine`, name);
  return p;
}

const A = (name: string, type: ArgSpec['type'], required = true, doc?: string): ArgSpec => ({ name, type, required, doc });

const ret = (r: number | null, out?: Value): StepOutcome => (out === undefined ? { ret: r } : { ret: r, out });

// ---- operations -----------------------------------------------------------------------------------

const GUP_ARGS = [A('start', 'int'), A('nr_pages', 'int'), A('gup_flags', 'flags', false, 'default 0'),
  A('pages', 'bool', false, 'pass a pages array (default true); false faults in only')];

function gupOp(name: string, family: 'get' | 'pin', source: string, call: (c: Ctx, a: Args, pages: PageArray | null) => number,
  extra: ArgSpec[] = []): OpImpl {
  return {
    name, summary: `${name}(): ${family === 'pin' ? 'FOLL_PIN' : 'FOLL_GET'}; binds the pages array with 'as:'`,
    source, args: [...extra, ...GUP_ARGS], needsTask: true,
    run(c, a) {
      const nr = int(a, 'nr_pages');
      if (nr > 1 << 22) throw new ScenarioError('nr_pages is larger than the model allows (4M)', 'nr_pages');
      const pages = bool(a, 'pages', true) ? new Array<number>(Math.max(nr, 0)).fill(-1) : null;
      const r = call(c, a, pages);
      const got = pages ? pages.slice(0, Math.max(r, 0)) : [];
      if (r > 0 && pages) {
        c.holders.push({ label: `${c.task?.name ?? '?'} ${name} at step ${c.stepNo}`, pfns: got });
      }
      return ret(r, got);
    },
  };
}

function releaseOp(name: string, summary: string, source: string, args: ArgSpec[], run: (c: Ctx, a: Args) => void,
  needs: (c: Ctx) => boolean = () => true): OpImpl {
  return {
    name, summary, source, args, needsTask: false,
    run(c, a) {
      if (!needs(c)) throw new ScenarioError(`${name}() does not exist in profile ${c.k.profile.name}`);
      run(c, a);
      return ret(null);
    },
  };
}

const hasPin = (c: Ctx) => c.k.profile.pinApi;
const npagesOf = (a: Args, h: number[]) => int(a, 'npages', h.length);

const OPS: OpImpl[] = [
  {
    name: 'mmap', summary: 'mmap(): returns the address or -errno', source: 'mm/mmap.c do_mmap()', needsTask: true,
    args: [A('addr', 'int', false), A('length', 'int'), A('prot', 'flags'), A('flags', 'flags'),
      A('file', 'name', false, 'a file made by create_file'), A('offset', 'int', false)],
    run(c, a) {
      const fname = a.file === undefined || a.file === null ? null : str(a, 'file');
      const file = fname === null ? null : c.k.files.get(fname);
      if (fname !== null && !file) throw new ScenarioError(`no file named '${fname}' (create it with create_file)`, 'file');
      return ret(do_mmap(c.k, task(c).mm, {
        addr: int(a, 'addr', 0), length: int(a, 'length'), prot: int(a, 'prot'), flags: int(a, 'flags'),
        file: file ?? null, offset: int(a, 'offset', 0),
      }));
    },
  },
  {
    name: 'munmap', summary: 'munmap()', source: 'mm/mmap.c do_munmap()', needsTask: true,
    args: [A('addr', 'int'), A('length', 'int')],
    run: (c, a) => ret(do_munmap(c.k, task(c).mm, int(a, 'addr'), int(a, 'length'))),
  },
  {
    name: 'mprotect', summary: 'mprotect()', source: 'mm/mprotect.c', needsTask: true,
    args: [A('addr', 'int'), A('length', 'int'), A('prot', 'flags')],
    run: (c, a) => ret(do_mprotect(c.k, task(c).mm, int(a, 'addr'), int(a, 'length'), int(a, 'prot'))),
  },
  {
    name: 'madvise', summary: 'madvise(): DONTNEED, DONTFORK, DOFORK, HUGEPAGE, NOHUGEPAGE, WIPEONFORK', source: 'mm/madvise.c',
    needsTask: true, args: [A('addr', 'int'), A('length', 'int'), A('advice', 'int')],
    run: (c, a) => ret(do_madvise(c.k, task(c).mm, int(a, 'addr'), int(a, 'length'), int(a, 'advice'))),
  },
  {
    name: 'write', summary: 'a CPU store of a content token into every page of a range (faults like user space)',
    source: 'arch/x86/mm/fault.c, mm/memory.c', needsTask: true,
    args: [A('addr', 'int'), A('length', 'int', false, 'default PAGE_SIZE'), A('value', 'int')],
    run: (c, a) => ret(userWrite(c.k, task(c).mm, int(a, 'addr'), int(a, 'length', PAGE_SIZE), int(a, 'value'))),
  },
  {
    name: 'read', summary: 'a CPU load: returns the content token at addr (faults like user space) or -EFAULT',
    source: 'arch/x86/mm/fault.c, mm/memory.c', needsTask: true, args: [A('addr', 'int')],
    run: (c, a) => ret(userRead(c.k, task(c).mm, int(a, 'addr'))),
  },
  {
    name: 'fork', summary: 'fork(): creates the task named by child; returns its pid or -errno', source: 'kernel/fork.c dup_mmap()',
    needsTask: true, args: [A('child', 'name')],
    run(c, a) {
      const name = str(a, 'child');
      if (c.k.tasks.has(name)) throw new ScenarioError(`a task named '${name}' already exists`, 'child');
      const r = do_fork(c.k, task(c), name);
      return ret(typeof r === 'number' ? r : r.pid);
    },
  },
  {
    name: 'exit', summary: 'exit(): tears the address space down', source: 'kernel/exit.c do_exit()', needsTask: true, args: [],
    run: (c) => { do_exit(c.k, task(c)); return ret(0); },
  },
  {
    name: 'create_file', summary: 'a file in the page cache (ext4: page_mkwrite and writeback; tmpfs: neither)',
    source: 'mm/filemap.c, mm/shmem.c', needsTask: false,
    args: [A('name', 'name'), A('size', 'int'), A('fs', 'string', false, 'ext4 (default), tmpfs or ext4-dax')],
    run(c, a) {
      const name = str(a, 'name');
      const fs = str(a, 'fs', 'ext4');
      if (fs !== 'ext4' && fs !== 'tmpfs' && fs !== 'ext4-dax') throw new ScenarioError(`fs must be ext4, tmpfs or ext4-dax, not '${fs}'`, 'fs');
      if (c.k.files.has(name)) throw new ScenarioError(`a file named '${name}' already exists`, 'name');
      const f = new File(name, fs as FsKind, int(a, 'size'));
      c.k.files.set(name, f);
      c.k.registerFile(f);
      return ret(0);
    },
  },
  gupOp('get_user_pages', 'get', 'mm/gup.c get_user_pages()', (c, a, p) =>
    api.get_user_pages(c.k, task(c), int(a, 'start'), int(a, 'nr_pages'), int(a, 'gup_flags', 0), p)),
  gupOp('get_user_pages_fast', 'get', 'mm/gup.c get_user_pages_fast()', (c, a, p) =>
    api.get_user_pages_fast(c.k, task(c), int(a, 'start'), int(a, 'nr_pages'), int(a, 'gup_flags', 0), p ?? [])),
  gupOp('get_user_pages_fast_only', 'get', 'mm/gup.c get_user_pages_fast_only()', (c, a, p) =>
    api.get_user_pages_fast_only(c.k, task(c), int(a, 'start'), int(a, 'nr_pages'), int(a, 'gup_flags', 0), p ?? [])),
  gupOp('get_user_pages_unlocked', 'get', 'mm/gup.c get_user_pages_unlocked()', (c, a, p) =>
    api.get_user_pages_unlocked(c.k, task(c), int(a, 'start'), int(a, 'nr_pages'), p, int(a, 'gup_flags', 0))),
  gupOp('get_user_pages_remote', 'get', 'mm/gup.c get_user_pages_remote()', (c, a, p) =>
    api.get_user_pages_remote(c.k, namedTask(c, a, 'mm').mm, int(a, 'start'), int(a, 'nr_pages'), int(a, 'gup_flags', 0), p),
  [A('mm', 'name', true, 'the task whose address space is read')]),
  gupOp('pin_user_pages', 'pin', 'mm/gup.c pin_user_pages()', (c, a, p) =>
    api.pin_user_pages(c.k, task(c), int(a, 'start'), int(a, 'nr_pages'), int(a, 'gup_flags', 0), p)),
  gupOp('pin_user_pages_fast', 'pin', 'mm/gup.c pin_user_pages_fast()', (c, a, p) =>
    api.pin_user_pages_fast(c.k, task(c), int(a, 'start'), int(a, 'nr_pages'), int(a, 'gup_flags', 0), p)),
  gupOp('pin_user_pages_unlocked', 'pin', 'mm/gup.c pin_user_pages_unlocked()', (c, a, p) =>
    api.pin_user_pages_unlocked(c.k, task(c), int(a, 'start'), int(a, 'nr_pages'), p, int(a, 'gup_flags', 0))),
  gupOp('pin_user_pages_remote', 'pin', 'mm/gup.c pin_user_pages_remote()', (c, a, p) =>
    api.pin_user_pages_remote(c.k, namedTask(c, a, 'mm').mm, int(a, 'start'), int(a, 'nr_pages'), int(a, 'gup_flags', 0), p),
  [A('mm', 'name', true, 'the task whose address space is pinned')]),
  releaseOp('unpin_user_pages', 'unpin_user_pages(pages, npages)', 'mm/gup.c unpin_user_pages()',
    [A('pages', 'value'), A('npages', 'int', false, 'default: the whole handle')],
    (c, a) => { const h = handle(a, 'pages'); unpin.unpin_user_pages(c.k, h, npagesOf(a, h)); }, hasPin),
  releaseOp('unpin_user_page', 'unpin_user_page(page)', 'mm/gup.c unpin_user_page()', [A('page', 'int')],
    (c, a) => unpin.unpin_user_page(c.k, pfnArg(c, a, 'page')), hasPin),
  releaseOp('unpin_user_pages_dirty_lock', 'unpin_user_pages_dirty_lock(pages, npages, make_dirty)',
    'mm/gup.c unpin_user_pages_dirty_lock()', [A('pages', 'value'), A('npages', 'int', false), A('make_dirty', 'bool')],
    (c, a) => { const h = handle(a, 'pages'); unpin.unpin_user_pages_dirty_lock(c.k, h, npagesOf(a, h), bool(a, 'make_dirty', false)); },
    hasPin),
  releaseOp('unpin_user_page_range_dirty_lock', 'unpin_user_page_range_dirty_lock(page, npages, make_dirty)',
    'mm/gup.c unpin_user_page_range_dirty_lock()', [A('page', 'int'), A('npages', 'int'), A('make_dirty', 'bool')],
    (c, a) => unpin.unpin_user_page_range_dirty_lock(c.k, pfnArg(c, a, 'page'), int(a, 'npages'), bool(a, 'make_dirty', false)),
    hasPin),
  releaseOp('unpin_folio', 'unpin_folio(folio)', 'mm/gup.c unpin_folio()', [A('folio', 'int')],
    (c, a) => unpin.unpin_folio(c.k, pfnArg(c, a, 'folio')), (c) => c.k.profile.unpinFolioApi),
  releaseOp('unpin_folios', 'unpin_folios(folios, nfolios)', 'mm/gup.c unpin_folios()', [A('folios', 'value'), A('nfolios', 'int', false)],
    (c, a) => { const h = handle(a, 'folios'); unpin.unpin_folios(c.k, h, int(a, 'nfolios', h.length)); },
    (c) => c.k.profile.unpinFolioApi),
  releaseOp('put_page', 'put_page(page): drop one reference', 'include/linux/mm.h put_page()', [A('page', 'int')],
    (c, a) => unpin.put_page(c.k, pfnArg(c, a, 'page'))),
  releaseOp('release_pages', 'release_pages(pages, nr): put_page() on each entry', 'mm/swap.c release_pages()',
    [A('pages', 'value'), A('npages', 'int', false)],
    (c, a) => { const h = handle(a, 'pages'); for (let i = 0; i < npagesOf(a, h); i++) unpin.put_page(c.k, h[i]); }),
  releaseOp('folio_put', 'folio_put(folio)', 'include/linux/mm.h folio_put()', [A('folio', 'int')],
    (c, a) => unpin.folio_put(c.k, pfnArg(c, a, 'folio'))),
  releaseOp('set_page_dirty_lock', 'set_page_dirty_lock(page)', 'mm/page-writeback.c set_page_dirty_lock()', [A('page', 'int')],
    (c, a) => unpin.set_page_dirty_lock(c.k, pfnArg(c, a, 'page'))),
  releaseOp('put_user_page', 'put_user_page(page): v5.2 alias of put_page()', 'include/linux/mm.h (v5.2)', [A('page', 'int')],
    (c, a) => unpin.put_user_page(c.k, pfnArg(c, a, 'page')), (c) => c.k.profile.putUserPageApi),
  releaseOp('put_user_pages', 'put_user_pages(pages, npages)', 'mm/gup.c (v5.2)', [A('pages', 'value'), A('npages', 'int', false)],
    (c, a) => { const h = handle(a, 'pages'); unpin.put_user_pages(c.k, h, npagesOf(a, h)); }, (c) => c.k.profile.putUserPageApi),
  releaseOp('put_user_pages_dirty', 'put_user_pages_dirty(pages, npages)', 'mm/gup.c (v5.2, v5.3)',
    [A('pages', 'value'), A('npages', 'int', false)],
    (c, a) => { const h = handle(a, 'pages'); unpin.put_user_pages_dirty(c.k, h, npagesOf(a, h)); },
    (c) => c.k.profile.putUserPageApi && c.k.profile.putUserPagesDirtySplit),
  releaseOp('put_user_pages_dirty_lock', 'put_user_pages_dirty_lock(pages, npages[, make_dirty])', 'mm/gup.c (v5.2 .. v5.5)',
    [A('pages', 'value'), A('npages', 'int', false), A('make_dirty', 'bool', false, 'v5.4+; default true')],
    (c, a) => { const h = handle(a, 'pages'); unpin.put_user_pages_dirty_lock(c.k, h, npagesOf(a, h), bool(a, 'make_dirty', true)); },
    (c) => c.k.profile.putUserPageApi),
  releaseOp('folio_add_pin', 'folio_add_pin(folio): one more pin, not counted in nr_foll_pin_acquired', 'mm/gup.c folio_add_pin()',
    [A('folio', 'int')], (c, a) => api.folio_add_pin(c.k, pfnArg(c, a, 'folio')), (c) => c.k.profile.folioAddPinApi),
  {
    name: 'folio_ref_add', summary: 'folio_ref_add(folio, nr): references held elsewhere (e.g. to approach refcount overflow)',
    source: 'include/linux/page_ref.h folio_ref_add()', needsTask: false, args: [A('folio', 'int'), A('nr', 'int')],
    run(c, a) { const p = pfnArg(c, a, 'folio'); c.k.mem.refAdd(c.k.mem.head(p), int(a, 'nr')); return ret(null); },
  },
  {
    name: 'folio_put_refs', summary: 'folio_put_refs(folio, nr)', source: 'include/linux/mm.h folio_put_refs()', needsTask: false,
    args: [A('folio', 'int'), A('nr', 'int')],
    run(c, a) { const p = pfnArg(c, a, 'folio'); c.k.mem.putRefs(c.k.mem.head(p), int(a, 'nr')); return ret(null); },
  },
  {
    name: 'dma_write', summary: 'a device writes a content token into pinned pages (all, or one index)', source: 'a DMA-capable device',
    needsTask: false, args: [A('pages', 'value'), A('value', 'int'), A('index', 'int', false)],
    run(c, a) {
      const h = handle(a, 'pages');
      const idx = a.index === undefined || a.index === null ? null : int(a, 'index');
      if (idx !== null && (idx < 0 || idx >= h.length)) throw new ScenarioError(`index ${idx} outside the handle (0..${h.length - 1})`, 'index');
      for (const p of idx === null ? h : [h[idx]]) {
        if (c.k.mem.isFree(p)) c.k.note(`DMA into free pfn ${p}`);
        c.k.mem.content[p] = int(a, 'value') >>> 0;
        c.k.fp.write('folio', c.k.mem.head(p));
      }
      return ret(0);
    },
  },
  {
    name: 'memory_failure', summary: 'memory_failure(pfn): poison a page; its mappings become hwpoison entries',
    source: 'mm/memory-failure.c memory_failure()', needsTask: true,
    args: [A('pfn', 'int', false), A('addr', 'int', false, 'or the page a task maps at addr')],
    run(c, a) {
      const pfn = a.pfn !== undefined && a.pfn !== null ? pfnArg(c, a, 'pfn') : translate(task(c).mm, int(a, 'addr'));
      if (pfn < 0) throw new ScenarioError('no page mapped at addr', 'addr');
      return ret(memory_failure(c.k, pfn));
    },
  },
  {
    name: 'migrate_pages', summary: 'migrate the folios mapped in a range (compaction / NUMA balancing): returns how many failed',
    source: 'mm/migrate.c migrate_pages()', needsTask: true, args: [A('addr', 'int'), A('length', 'int')],
    run(c, a) {
      const t = task(c);
      const start = int(a, 'addr');
      const heads = new Set<number>();
      for (let x = start; x < start + int(a, 'length'); x += PAGE_SIZE) {
        const p = translate(t.mm, x);
        if (p >= 0 && !c.k.mem.isZeroPfn(p) && !c.k.mem.test(c.k.mem.head(p), PG_huge_zero)) heads.add(c.k.mem.head(p));
      }
      let failed = 0;
      for (const h of heads) {
        if (!folio_isolate_lru(c.k, h)) { failed++; continue; }
        const r = migrate_folio(c.k, h);
        if (r < 0) { failed++; c.k.vmstat.mod('pgmigrate_fail', c.k.mem.folioNrPages(h)); folio_putback_lru(c.k, h); }
        else folio_putback_lru(c.k, r);
      }
      return ret(failed);
    },
  },
];

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
    pfn, present: true, free: m.isFree(pfn), refcount: m.ref(h), mapcount: m.mapcount[pfn],
    folio_mapcount: m.folioMapcount(h), pincount: m.pincount(h),
    maybe_dma_pinned: k.profile.pinTracking ? folio_maybe_dma_pinned(k, pfn) : null,
    dirty: m.test(h, PG_dirty), uptodate: m.test(h, PG_uptodate), private: m.test(h, PG_private),
    writeback: m.test(h, PG_writeback), lru: m.test(h, PG_lru), anon: m.test(h, PG_anon),
    anon_exclusive: (m.flags[pfn] & PG_anon_exclusive) !== 0, zero_page: m.isZeroPfn(pfn), huge_zero: m.isHugeZero(h),
    order: m.folioOrder(h), zone: ZONE_NAMES[m.zone[h]], pte_writable: pte ? pte.writable : null,
    pte_dirty: pte ? pte.dirty : null, content: m.content[pfn], hugetlb: m.test(h, PG_hugetlb),
  };
}

function pteOf(t: Task, addr: number): { writable: boolean; dirty: boolean } | null {
  const v = t.mm.findVma(addr);
  if (!v) return null;
  const pmd = v.pmdLookup(addr);
  const bits = pmd ? pmd.bits : v.pte[v.idx(addr)] >= 0 ? v.bits[v.idx(addr)] : -1;
  return bits < 0 ? null : { writable: (bits & PTE_WRITE) !== 0, dirty: (bits & PTE_DIRTY) !== 0 };
}

const QUERIES: QueryImpl[] = [
  {
    name: 'page', summary: 'the page a task maps at addr (no fault), or a page by pfn', needsTask: true,
    args: [A('addr', 'int', false), A('pfn', 'int', false)], fields: PAGE_FIELDS,
    eval(c, a) {
      if (a.pfn !== undefined && a.pfn !== null) return pageState(c, pfnArg(c, a, 'pfn'), null);
      const t = task(c);
      const addr = int(a, 'addr');
      return pageState(c, translate(t.mm, addr), pteOf(t, addr));
    },
  },
  {
    name: 'pinned', summary: 'the page at index of a pages handle', needsTask: false,
    args: [A('pages', 'value'), A('index', 'int', false, 'default 0')], fields: PAGE_FIELDS,
    eval(c, a) {
      const h = handle(a, 'pages');
      const i = int(a, 'index', 0);
      if (i < 0 || i >= h.length) throw new ScenarioError(`index ${i} outside the handle (0..${h.length - 1})`, 'index');
      return pageState(c, h[i], null);
    },
  },
  {
    name: 'vmstat', summary: '/proc/vmstat items of the model', needsTask: false, args: [], fields: [...VMSTAT_ITEMS],
    eval: (c) => {
      const out: Record<string, Value> = {};
      for (const k of VMSTAT_ITEMS) out[k] = c.k.profile.pinTracking || !k.startsWith('nr_foll_pin') ? c.k.vmstat.get(k as VmstatItem) : null;
      return out;
    },
  },
  {
    name: 'data', summary: 'the content token a task sees at addr without faulting (0 for the zero page, null if unmapped)',
    needsTask: true, args: [A('addr', 'int')], fields: ['value', 'pfn'],
    eval(c, a) {
      const p = translate(task(c).mm, int(a, 'addr'));
      return { value: p < 0 ? null : c.k.mem.content[p], pfn: p < 0 ? null : p };
    },
  },
  {
    name: 'mm', summary: "a task's address space", needsTask: true, args: [],
    fields: ['has_pinned', 'vmas', 'rss', 'exited'],
    eval(c) {
      const t = c.task!;
      let rss = 0;
      for (const v of t.mm.vmas) {
        for (let i = 0; i < v.pte.length; i++) if (v.pte[i] >= 0 && !c.k.mem.isZeroPfn(v.pte[i])) rss++;
        for (const e of v.pmd.values()) if (!c.k.mem.isHugeZero(e.pfn)) rss += 512;
      }
      return { has_pinned: t.mm.hasPinned, vmas: t.mm.vmas.length, rss, exited: t.exited };
    },
  },
  {
    name: 'zone', summary: 'free pages in a zone', needsTask: false, args: [A('zone', 'string')], fields: ['free', 'pages'],
    eval(c, a) {
      const z = ZONE_NAMES.indexOf(str(a, 'zone').toUpperCase() as (typeof ZONE_NAMES)[number]);
      if (z < 0 || z > 2) throw new ScenarioError(`zone must be NORMAL, MOVABLE or CMA`, 'zone');
      const r = c.k.mem.zones[z];
      return { free: c.k.mem.freePages[z], pages: r.end - r.start };
    },
  },
  {
    name: 'handle', summary: 'facts about a pages handle: its length and how many distinct folios it spans', needsTask: false,
    args: [A('pages', 'value')], fields: ['length', 'folios'],
    eval(c, a) {
      const h = handle(a, 'pages');
      return { length: h.length, folios: new Set(h.map((p) => c.k.mem.head(p))).size };
    },
  },
];

// ---- the backend --------------------------------------------------------------------------------------

const MACHINE_ARGS: ArgSpec[] = [
  A('normal', 'int', false, 'ZONE_NORMAL size in bytes (default 32M)'),
  A('movable', 'int', false, 'ZONE_MOVABLE size in bytes (default 0)'),
  A('cma', 'int', false, 'CMA area size in bytes (default 0)'),
  A('zero_page_colors', 'int', false, '1 on x86/arm64; 8 on MIPS-style colored zero pages'),
  A('thp', 'string', false, 'always | madvise | never (default never)'),
  A('mthp_orders', 'value', false, 'enabled mTHP orders, e.g. [2, 4]'),
  A('use_zero_page', 'bool', false, 'transparent_hugepage/use_zero_page (default true)'),
  A('forbids_zeropage', 'bool', false, 'mm_forbids_zeropage() (s390 KVM)'),
  A('hugetlb_pages', 'int', false, 'nr_hugepages: 2 MiB hugetlb pages reserved at boot'),
];

function machineFrom(m: Args): Partial<MachineConfig> {
  const out: Partial<MachineConfig> = {};
  const num = (k: string) => {
    const v = m[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ScenarioError(`machine.${k} must be a non-negative integer`, k);
    return v;
  };
  if (m.normal !== undefined) out.normal = num('normal');
  if (m.movable !== undefined) out.movable = num('movable');
  if (m.cma !== undefined) out.cma = num('cma');
  if (m.zero_page_colors !== undefined) {
    const c = num('zero_page_colors');
    if (c < 1 || c > 64) throw new ScenarioError('machine.zero_page_colors must be 1..64', 'zero_page_colors');
    out.zeroPageColors = c;
  }
  if (m.thp !== undefined) {
    const t = String(m.thp);
    if (!['always', 'madvise', 'never'].includes(t)) throw new ScenarioError(`machine.thp must be always, madvise or never, not '${t}'`, 'thp');
    out.thp = t as ThpMode;
  }
  if (m.mthp_orders !== undefined) {
    const v = m.mthp_orders;
    const list = Array.isArray(v) ? v : typeof v === 'number' ? [v] : String(v).split(',').map((x) => Number(x.trim()));
    if (!list.every((o) => Number.isInteger(o) && o >= 1 && o <= 8)) throw new ScenarioError('machine.mthp_orders must be orders 1..8', 'mthp_orders');
    out.mthpOrders = list as number[];
  }
  if (m.use_zero_page !== undefined) out.useHugeZeroPage = Boolean(m.use_zero_page);
  if (m.forbids_zeropage !== undefined) out.forbidsZeropage = Boolean(m.forbids_zeropage);
  if (m.hugetlb_pages !== undefined) out.hugetlbPages = num('hugetlb_pages');
  const total = (out.normal ?? 32 << 20) + (out.movable ?? 0) + (out.cma ?? 0);
  if (total > 64 * 2 ** 30) throw new ScenarioError('the machine may have at most 64 GiB', 'normal');
  return out;
}

class ModelSession implements Session {
  private readonly c: Ctx;
  private bugRep: BugReport | null = null;

  constructor(readonly k: Kernel, tasks: readonly string[]) {
    this.c = { k, task: null, stepNo: 0, holders: [] };
    for (const t of tasks) k.createTask(t);
  }

  private bind(taskName: string | null, needsTask: boolean): void {
    if (taskName === null) {
      this.c.task = needsTask ? ([...this.k.tasks.values()][0] ?? null) : null;
      return;
    }
    const t = this.k.tasks.get(taskName);
    if (!t) throw new ScenarioError(`no task named '${taskName}'`, 'task');
    this.c.task = t;
  }

  step(taskName: string | null, op: string, args: Args): StepOutcome {
    if (this.bugRep) throw new ScenarioError(`the kernel hit BUG() at step ${this.bugRep.step}; no further steps run`);
    const impl = OP_MAP.get(op);
    if (!impl) throw new ScenarioError(`unknown operation '${op}'`);
    this.bind(taskName, impl.needsTask);
    this.c.stepNo = this.k.stepCount;
    try {
      return this.k.step(this.c.task?.name ?? 'kernel', op, args as Record<string, unknown>, () => impl.run(this.c, args));
    } catch (e) {
      if (e instanceof KernelBug) {
        this.bugRep = { message: e.message, step: this.c.stepNo, details: e.details };
        return { ret: null };
      }
      if (e instanceof api.ApiUnavailable || e instanceof RangeError) throw new ScenarioError(e.message);
      throw e;
    }
  }

  query(taskName: string | null, q: string, args: Args): Readonly<Record<string, Value>> {
    const impl = QUERY_MAP.get(q);
    if (!impl) throw new ScenarioError(`unknown query '${q}'`);
    this.bind(taskName, impl.needsTask);
    return impl.eval(this.c, args);
  }

  warnings(): readonly Warning[] {
    return this.k.warnings.list.map((w) => ({ id: w.id, message: w.message, step: w.step }));
  }

  bug(): BugReport | null {
    return this.bugRep;
  }

  teardown(): LeakReport {
    if (this.bugRep) return { leaks: [] };
    try {
      this.k.step('kernel', 'teardown', {}, () => {
        for (const t of this.k.tasks.values()) do_exit(this.k, t);
        for (const f of this.k.files.values()) dropFileCache(this.k, f);
      });
    } catch (e) {
      if (e instanceof KernelBug) {
        this.bugRep = { message: e.message, step: this.k.stepCount - 1, details: e.details };
        return { leaks: [] };
      }
      throw e;
    }
    return { leaks: findLeaks(this.k, this.c.holders).map((l) => l.line) };
  }

  trace(): unknown {
    return { profile: this.k.profile.name, machine: this.k.machine, ...this.k.trace.toJSON() };
  }
}

const OP_MAP = new Map(OPS.map((o) => [o.name, o]));
const QUERY_MAP = new Map(QUERIES.map((q) => [q.name, q]));

export function modelBackend(): Backend {
  return {
    profiles: [...PROFILES.keys()],
    defaultProfile: DEFAULT_PROFILE,
    machineArgs: MACHINE_ARGS,
    ops: OP_MAP,
    queries: QUERY_MAP,
    constants: CONSTANTS,
    start({ profile, machine, tasks }) {
      if (!PROFILES.has(profile)) throw new ScenarioError(`unknown profile '${profile}'`);
      const k = new Kernel({ profile, machine: machineFrom(machine) });
      return new ModelSession(k, tasks);
    },
  };
}
