// Scenario operations and queries for memory, address spaces and GUP.

import { File, sMaxbytes, type FsKind } from '../../fs/file.js';
import * as api from '../../gup/api.js';
import type { PageArray } from '../../gup/gup.js';
import * as unpin from '../../gup/unpin.js';
import { PAGE_SIZE } from '../../include/uapi.js';
import { memory_failure } from '../../mm/memory-failure.js';
import { PG_huge_zero, PG_writeback } from '../../mm/page-flags.js';
import { translate, userRead, userWrite } from '../../vm/access.js';
import { do_exit } from '../../vm/exit.js';
import { do_fork, do_fork_gen, FORK_YIELD_POINTS } from '../../vm/fork.js';
import { GUP_FAST_YIELD_POINTS } from '../../gup/fast.js';
import type { KernelGen } from '../../preempt.js';
import { split_huge_page } from '../../vm/thp-split.js';
import { folio_isolate_lru, folio_putback_lru, migrate_folio } from '../../vm/migrate.js';
import { do_madvise, do_mmap, do_mprotect, do_munmap } from '../../vm/mmap.js';
import { dmaWritePage } from '../../drivers/device.js';
import { A, bool, handle, int, namedTask, pfnArg, ret, str, task, type Args, type Ctx, type OpImpl } from './common.js';
import { ScenarioError, type ArgSpec } from '../backend.js';

// ---- operations -----------------------------------------------------------------------------------

/**
 * The size of a file create_file makes: it stands for creating the file and setting its size, so a
 * size ftruncate() would refuse is a usage error that says what the kernel would answer — a
 * negative length -EINVAL (fs/open.c do_sys_ftruncate()), one past the filesystem's s_maxbytes
 * -EFBIG (fs/attr.c inode_newsize_ok()).
 */
export function fileSize(a: Args, fs: FsKind): number {
  const size = int(a, 'size');
  if (size < 0) throw new ScenarioError(`size must not be negative (ftruncate(fd, ${size}) is -EINVAL)`, 'size');
  const max = sMaxbytes(fs);
  if (size > max) throw new ScenarioError(`size ${size} is past what ${fs} can hold (s_maxbytes ${max}; ftruncate() would be -EFBIG)`, 'size');
  return size;
}

const GUP_ARGS = [A('start', 'int'), A('nr_pages', 'int'), A('gup_flags', 'flags', false, 'default 0'),
  A('pages', 'bool', false, 'pass a pages array (default true); false faults in only')];

/**
 * A GUP operation. With `gen` (the GUP-fast family), the op is lockless and preemptible: it can
 * stop after GUP-fast's grab (`preempt: [after_grab]`) and waits for mmap_lock before the slow path.
 */
function gupOp(name: string, family: 'get' | 'pin', source: string, call: (c: Ctx, a: Args, pages: PageArray | null) => number,
  extra: ArgSpec[] = [], gen?: (c: Ctx, a: Args, pages: PageArray) => KernelGen<number>): OpImpl {
  // The GUP-fast calls take an int nr_pages (mm/gup.c get_user_pages_fast(), pin_user_pages_fast(),
  // get_user_pages_fast_only()): a negative one is an argument the kernel answers (gup_fast_fallback()).
  // The others take an unsigned long: -1 means 2^64-1 pages, and the caller's pages array would be
  // overrun long before the walk ends — there is no array the model could pass for it.
  const intNr = name.includes('_fast');
  const pagesFor = (a: Args) => {
    const nr = int(a, 'nr_pages');
    if (nr < 0 && !intNr) {
      throw new ScenarioError(`nr_pages is an unsigned long: ${nr} is 2^64${nr} pages, more than any pages array holds`, 'nr_pages');
    }
    if (nr > 1 << 22) throw new ScenarioError('nr_pages is larger than the model allows (4M)', 'nr_pages');
    return bool(a, 'pages', true) ? new Array<number>(Math.max(nr, 0)).fill(-1) : null;
  };
  const done = (c: Ctx, r: number, pages: number[] | null) => {
    const got = pages ? pages.slice(0, Math.max(r, 0)) : [];
    if (r > 0 && pages) c.holders.push({ label: `${c.task?.name ?? '?'} ${name} at step ${c.stepNo}`, pfns: got });
    return ret(r, got);
  };
  return {
    name, summary: `${name}(): ${family === 'pin' ? 'FOLL_PIN' : 'FOLL_GET'}; binds the pages array with 'as:'`,
    source, args: [...extra, ...GUP_ARGS], needsTask: true,
    run(c, a) {
      const pages = pagesFor(a);
      return done(c, call(c, a, pages), pages);
    },
    ...(gen && {
      yieldPoints: GUP_FAST_YIELD_POINTS, lockless: true,
      *steps(c: Ctx, a: Args) {
        const pages = pagesFor(a);
        const r: number = yield* gen(c, a, pages ?? []);
        return done(c, r, pages);
      },
    }),
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

export const MM_OPS: OpImpl[] = [
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
    args: [A('addr', 'int'), A('length', 'int', false, 'default PAGE_SIZE; at least 1'), A('value', 'int')],
    run(c, a) {
      // Not write(2) (that is sys_write): a store instruction stores at least a byte, and a range
      // of length <= 0 names nothing to store to, so it is a usage error rather than an errno.
      const length = int(a, 'length', PAGE_SIZE);
      if (length <= 0) throw new ScenarioError(`length must be at least 1 (a CPU store into [addr, addr + length)), not ${length}`, 'length');
      return ret(userWrite(c.k, task(c).mm, int(a, 'addr'), length, int(a, 'value')));
    },
  },
  {
    name: 'read', summary: 'a CPU load: returns the content token at addr (faults like user space) or -EFAULT',
    source: 'arch/x86/mm/fault.c, mm/memory.c', needsTask: true, args: [A('addr', 'int')],
    run: (c, a) => ret(userRead(c.k, task(c).mm, int(a, 'addr'))),
  },
  {
    name: 'fork', summary: 'fork(): creates the task named by child; returns its pid or -errno', source: 'kernel/fork.c dup_mmap()',
    needsTask: true, args: [A('child', 'name')], yieldPoints: FORK_YIELD_POINTS,
    run(c, a) {
      const name = str(a, 'child');
      if (c.k.tasks.has(name)) throw new ScenarioError(`a task named '${name}' already exists`, 'child');
      const r = do_fork(c.k, task(c), name);
      return ret(typeof r === 'number' ? r : r.pid);
    },
    *steps(c, a) {
      const name = str(a, 'child');
      if (c.k.tasks.has(name)) throw new ScenarioError(`a task named '${name}' already exists`, 'child');
      const r = yield* do_fork_gen(c.k, task(c), name);
      return ret(typeof r === 'number' ? r : r.pid);
    },
  },
  {
    name: 'exit', summary: 'exit(): tears the address space down', source: 'kernel/exit.c do_exit()', needsTask: true, args: [],
    run: (c) => { do_exit(c.k, task(c)); return ret(0); },
  },
  {
    name: 'create_file',
    summary: 'a file in the page cache (ext4: page_mkwrite and writeback; tmpfs: neither). Without content: it is all holes: '
      + 'no block on disk, reads see zeros, and an O_DIRECT read of it pins nothing (iomap reports a hole and zeroes the user buffer)',
    source: 'mm/filemap.c, mm/shmem.c', needsTask: false,
    args: [A('name', 'name'), A('size', 'int'), A('fs', 'string', false, 'ext4 (default), tmpfs, ext4-dax, or vfat (legacy direct I/O)'),
      A('content', 'int', false, 'a content token (1..2^32-1) every page of the file holds: its blocks are written on disk '
        + '(tmpfs: its pages read it when first touched); default: holes')],
    run(c, a) {
      const name = str(a, 'name');
      const fs = str(a, 'fs', 'ext4');
      if (!['ext4', 'tmpfs', 'ext4-dax', 'vfat'].includes(fs)) throw new ScenarioError(`fs must be ext4, tmpfs, ext4-dax or vfat, not '${fs}'`, 'fs');
      if (c.k.files.has(name)) throw new ScenarioError(`a file named '${name}' already exists`, 'name');
      const f = new File(name, fs as FsKind, fileSize(a, fs as FsKind));
      if (a.content !== undefined && a.content !== null) {
        const token = int(a, 'content');
        if (token < 1 || token > 0xffffffff) throw new ScenarioError(`content must be a token from 1 to 2^32-1, not ${token} (0 is what a hole reads as)`, 'content');
        const pages = Math.ceil(f.size / PAGE_SIZE);
        if (pages > 1 << 20) throw new ScenarioError(`content: the model writes at most 2^20 pages (4 GiB) of contents at creation, not ${pages}`, 'content');
        for (let i = 0; i < pages; i++) f.disk.set(i, token);
      }
      c.k.files.set(name, f);
      c.k.registerFile(f);
      return ret(0);
    },
  },
  gupOp('get_user_pages', 'get', 'mm/gup.c get_user_pages()', (c, a, p) =>
    api.get_user_pages(c.k, task(c), int(a, 'start'), int(a, 'nr_pages'), int(a, 'gup_flags', 0), p)),
  gupOp('get_user_pages_fast', 'get', 'mm/gup.c get_user_pages_fast()', (c, a, p) =>
    api.get_user_pages_fast(c.k, task(c), int(a, 'start'), int(a, 'nr_pages'), int(a, 'gup_flags', 0), p ?? []), [],
  (c, a, p) => api.get_user_pages_fast_gen(c.k, task(c), int(a, 'start'), int(a, 'nr_pages'), int(a, 'gup_flags', 0), p)),
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
    api.pin_user_pages_fast(c.k, task(c), int(a, 'start'), int(a, 'nr_pages'), int(a, 'gup_flags', 0), p), [],
  (c, a, p) => api.pin_user_pages_fast_gen(c.k, task(c), int(a, 'start'), int(a, 'nr_pages'), int(a, 'gup_flags', 0), p)),
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
        dmaWritePage(c.k, p, int(a, 'value'));
      }
      return ret(0);
    },
  },
  {
    name: 'memory_failure', summary: 'memory_failure(pfn): poison a page; its mappings become hwpoison entries',
    source: 'mm/memory-failure.c memory_failure()', needsTask: true,
    args: [A('pfn', 'int', false), A('addr', 'int', false, 'or the page a task maps at addr')],
    run(c, a) {
      const pfn = a.pfn !== undefined && a.pfn !== null ? pfnArg(c, a, 'pfn') : translate(task(c).mm, int(a, 'addr'), c.k);
      if (pfn < 0) throw new ScenarioError('no page mapped at addr', 'addr');
      return ret(memory_failure(c.k, pfn));
    },
  },
  {
    name: 'split_huge_page', summary: 'split the THP mapped at addr into small folios: 0, or -EAGAIN if it may be pinned',
    source: 'mm/huge_memory.c split_huge_page_to_list_to_order(), can_split_folio()', needsTask: true, args: [A('addr', 'int')],
    run(c, a) {
      const pfn = translate(task(c).mm, int(a, 'addr'), c.k);
      if (pfn < 0) throw new ScenarioError('nothing is mapped at addr', 'addr');
      return ret(split_huge_page(c.k, pfn));
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
        const p = translate(t.mm, x, c.k);
        if (p >= 0 && !c.k.mem.isZeroPfn(p) && !c.k.mem.test(c.k.mem.head(p), PG_huge_zero)) heads.add(c.k.mem.head(p));
      }
      let failed = 0;
      for (const h of heads) {
        // mm/migrate.c migrate_folio_unmap(): compaction and NUMA balancing migrate MIGRATE_ASYNC
        // (or SYNC_LIGHT), which do not wait for writeback: a folio under writeback is -EBUSY.
        c.k.fp.read('folio', h);
        if (c.k.mem.test(h, PG_writeback)) { failed++; continue; }
        if (!folio_isolate_lru(c.k, h)) { failed++; continue; }
        const r = migrate_folio(c.k, h);
        if (r < 0) { failed++; c.k.vmstat.mod('pgmigrate_fail', c.k.mem.folioNrPages(h)); folio_putback_lru(c.k, h); }
        else folio_putback_lru(c.k, r);
      }
      return ret(failed);
    },
  },
];

