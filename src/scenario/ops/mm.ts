// Scenario operations and queries for memory, address spaces and GUP.

import { File, sMaxbytes, type FsKind } from '../../fs/file.js';
import * as api from '../../gup/api.js';
import type { PageArray } from '../../gup/gup.js';
import * as unpin from '../../gup/unpin.js';
import { PAGE_SIZE } from '../../include/uapi.js';
import { memory_failure } from '../../vm/memory-failure.js';
import { PG_huge_zero, PG_writeback } from '../../mm/page-flags.js';
import { translate, userRead, userWrite } from '../../vm/access.js';
import { do_exit } from '../../vm/exit.js';
import { do_fork, do_fork_gen, FORK_YIELD_POINTS } from '../../vm/fork.js';
import { GUP_FAST_YIELD_POINTS } from '../../gup/fast.js';
import { runToEnd, type KernelGen } from '../../preempt.js';
import { collapse_huge_page, COLLAPSE_YIELD_POINTS } from '../../vm/khugepaged.js';
import { split_huge_page } from '../../vm/thp-split.js';
import { tlb_finish_mmu, tlb_gather_mmu, tlbGathered } from '../../vm/pgtable.js';
import { folio_isolate_lru, folio_putback_lru, migrate_folio } from '../../vm/migrate.js';
import { do_madvise, do_mmap, do_mprotect, do_munmap } from '../../vm/mmap.js';
import { bool, flags, handle, int, missing, name, oneOf, type ArgsOf } from '../args.js';
import { op, pfn, ret, task, taskNamed, type Ctx, type OpImpl } from './common.js';
import { ScenarioError, type StepOutcome } from '../backend.js';
import { peekTasks } from '../../vm/mm.js';
import { files, registerFile } from '../../mm/filemap.js';
import { dmaWritePage } from '../../drivers/device.js';

// ---- operations -----------------------------------------------------------------------------------

/**
 * The size of a file create_file makes: it stands for creating the file and setting its size, so a
 * size ftruncate() would refuse is a usage error that says what the kernel would answer — a
 * negative length -EINVAL (fs/open.c do_sys_ftruncate()), one past the filesystem's s_maxbytes
 * -EFBIG (fs/attr.c inode_newsize_ok()).
 */
export function fileSize(size: number, fs: FsKind): number {
  if (size < 0) throw new ScenarioError(`size must not be negative (ftruncate(fd, ${size}) is -EINVAL)`, 'size');
  const max = sMaxbytes(fs);
  if (size > max) throw new ScenarioError(`size ${size} is past what ${fs} can hold (s_maxbytes ${max}; ftruncate() would be -EFBIG)`, 'size');
  return size;
}

const GUP_ARGS = {
  start: int(), nr_pages: int(), gup_flags: flags('default 0').constants('FOLL_').default(0),
  pages: bool('pass a pages array (default true); false faults in only').default(true),
};
/** The remote calls name the address space too: the task whose mm they walk. */
const remote = (doc: string) => ({ mm: taskNamed(doc), ...GUP_ARGS });

/**
 * A GUP operation. With `gen` (the GUP-fast family), the op is lockless and preemptible: it can
 * stop after GUP-fast's grab (`preempt: [after_grab]`) and waits for mmap_lock before the slow path.
 */
function gupOp<S extends typeof GUP_ARGS>(name: string, family: 'get' | 'pin', source: string, args: S,
  call: (c: Ctx, a: ArgsOf<S>, pages: PageArray | null) => number,
  gen?: (c: Ctx, a: ArgsOf<S>, pages: PageArray) => KernelGen<number>): OpImpl {
  // The GUP-fast calls take an int nr_pages (mm/gup.c get_user_pages_fast(), pin_user_pages_fast(),
  // get_user_pages_fast_only()): a negative one is an argument the kernel answers (gup_fast_fallback()).
  // The others take an unsigned long: -1 means 2^64-1 pages, and the caller's pages array would be
  // overrun long before the walk ends — there is no array the model could pass for it.
  const intNr = name.includes('_fast');
  const pagesFor = (a: ArgsOf<S>) => {
    const nr = a.nr_pages;
    if (nr < 0 && !intNr) {
      throw new ScenarioError(`nr_pages is an unsigned long: ${nr} is 2^64${nr} pages, more than any pages array holds`, 'nr_pages');
    }
    if (nr > 1 << 22) throw new ScenarioError('nr_pages is larger than the model allows (4M)', 'nr_pages');
    return a.pages ? new Array<number>(Math.max(nr, 0)).fill(-1) : null;
  };
  const done = (c: Ctx, r: number, pages: number[] | null) => {
    const got = pages ? pages.slice(0, Math.max(r, 0)) : [];
    if (r > 0 && pages) c.holders.push({ label: `${c.task?.name ?? '?'} ${name} at step ${c.stepNo}`, pfns: got });
    return ret(r, got);
  };
  return op({
    name, summary: `${name}(): ${family === 'pin' ? 'FOLL_PIN' : 'FOLL_GET'}; binds the pages array with 'as:'`,
    source, args, needsTask: true,
    run(c, a) {
      const pages = pagesFor(a);
      return done(c, call(c, a, pages), pages);
    },
    ...(gen && {
      yieldPoints: GUP_FAST_YIELD_POINTS, lockless: true,
      *steps(c: Ctx, a: ArgsOf<S>) {
        const pages = pagesFor(a);
        const r: number = yield* gen(c, a, pages ?? []);
        return done(c, r, pages);
      },
    }),
  });
}

const hasPin = (c: Ctx) => c.k.profile.pinApi;
/** The pages handle and how many of its entries a release call names (default: all of them). */
const RELEASE_ARGS = { pages: handle(), npages: int().optional() };
const npagesOf = (a: ArgsOf<typeof RELEASE_ARGS>) => a.npages ?? a.pages.length;

/** Yield point of a zap (munmap, MADV_DONTNEED): the PTEs cleared, their pages not freed yet. */
const ZAP_YIELD_POINTS = ['before_tlb_finish_mmu'] as const;

/**
 * A call that zaps page tables, stoppable between clearing the PTEs and freeing their pages
 * (mm/memory.c zap_pte_range() queues each page in the mmu_gather; mm/mmu_gather.c
 * tlb_finish_mmu() frees them after the TLB flush). While stopped the mm's mmap_lock counts as held
 * for writing: munmap holds it so (or downgraded to reading), MADV_DONTNEED for reading; the
 * model has one kind of holder, so readers wait too, which loses interleavings and adds none.
 */
function* zapping(c: Ctx, call: () => number): KernelGen<StepOutcome> {
  const mm = task(c).mm;
  tlb_gather_mmu(c.k);
  let r: number;
  let heads: number[];
  try {
    r = call();
  } finally {
    heads = tlbGathered(c.k);
  }
  if (heads.length > 0) {
    mm.mmapWriteLocked = true;
    try {
      yield { point: 'before_tlb_finish_mmu' };
    } finally {
      mm.mmapWriteLocked = false;
    }
    tlb_finish_mmu(c.k, heads);
  }
  return ret(r);
}

export const MM_OPS: OpImpl[] = [
  op({
    name: 'mmap', summary: 'mmap(): returns the address or -errno', source: 'mm/mmap.c do_mmap()', needsTask: true,
    args: { addr: int().default(0), length: int(), prot: flags().constants('PROT_'), flags: flags().constants('MAP_'),
      file: name('a file made by create_file').optional(), offset: int().default(0) },
    run(c, a) {
      const file = a.file === null ? null : files(c.k).get(a.file);
      if (a.file !== null && !file) throw new ScenarioError(`no file named '${a.file}' (create it with create_file)`, 'file');
      return ret(do_mmap(c.k, task(c).mm, {
        addr: a.addr, length: a.length, prot: a.prot, flags: a.flags, file: file ?? null, offset: a.offset,
      }));
    },
  }),
  op({
    name: 'munmap', summary: 'munmap()', source: 'mm/mmap.c do_munmap()', needsTask: true,
    args: { addr: int(), length: int() },
    run: (c, a) => ret(do_munmap(c.k, task(c).mm, a.addr, a.length)),
    yieldPoints: ZAP_YIELD_POINTS,
    steps: (c, a) => zapping(c, () => do_munmap(c.k, task(c).mm, a.addr, a.length)),
  }),
  op({
    name: 'mprotect', summary: 'mprotect()', source: 'mm/mprotect.c', needsTask: true,
    args: { addr: int(), length: int(), prot: flags().constants('PROT_') },
    run: (c, a) => ret(do_mprotect(c.k, task(c).mm, a.addr, a.length, a.prot)),
  }),
  op({
    name: 'madvise', summary: 'madvise(): DONTNEED, DONTFORK, DOFORK, HUGEPAGE, NOHUGEPAGE, WIPEONFORK', source: 'mm/madvise.c',
    needsTask: true, args: { addr: int(), length: int(), advice: int().constants('MADV_') },
    run: (c, a) => ret(do_madvise(c.k, task(c).mm, a.addr, a.length, a.advice)),
    yieldPoints: ZAP_YIELD_POINTS,
    steps: (c, a) => zapping(c, () => do_madvise(c.k, task(c).mm, a.addr, a.length, a.advice)),
  }),
  op({
    name: 'write', summary: 'a CPU store of a content token into every page of a range (faults like user space)',
    source: 'arch/x86/mm/fault.c, mm/memory.c', needsTask: true,
    args: { addr: int(), length: int('default PAGE_SIZE; at least 1').default(PAGE_SIZE), value: int() },
    run(c, a) {
      // Not write(2) (that is sys_write): a store instruction stores at least a byte, and a range
      // of length <= 0 names nothing to store to, so it is a usage error rather than an errno.
      if (a.length <= 0) throw new ScenarioError(`length must be at least 1 (a CPU store into [addr, addr + length)), not ${a.length}`, 'length');
      return ret(userWrite(c.k, task(c).mm, a.addr, a.length, a.value));
    },
  }),
  op({
    name: 'read', summary: 'a CPU load: returns the content token at addr (faults like user space) or -EFAULT',
    source: 'arch/x86/mm/fault.c, mm/memory.c', needsTask: true, args: { addr: int() },
    run: (c, a) => ret(userRead(c.k, task(c).mm, a.addr)),
  }),
  op({
    name: 'fork', summary: 'fork(): creates the task named by child; returns its pid or -errno', source: 'kernel/fork.c dup_mmap()',
    needsTask: true, args: { child: name().newTask() }, yieldPoints: FORK_YIELD_POINTS,
    run(c, a) {
      if (peekTasks(c.k).has(a.child)) throw new ScenarioError(`a task named '${a.child}' already exists`, 'child');
      const r = do_fork(c.k, task(c), a.child);
      return ret(typeof r === 'number' ? r : r.pid);
    },
    *steps(c, a) {
      if (peekTasks(c.k).has(a.child)) throw new ScenarioError(`a task named '${a.child}' already exists`, 'child');
      const r = yield* do_fork_gen(c.k, task(c), a.child);
      return ret(typeof r === 'number' ? r : r.pid);
    },
  }),
  op({
    name: 'exit', summary: 'exit(): tears the address space down', source: 'kernel/exit.c do_exit()', needsTask: true, args: {},
    run: (c) => { do_exit(c.k, task(c)); return ret(0); },
  }),
  op({
    name: 'create_file',
    summary: 'a file in the page cache (ext4: page_mkwrite and writeback; tmpfs: neither). Without content: it is all holes: '
      + 'no block on disk, reads see zeros, and an O_DIRECT read of it pins nothing (iomap reports a hole and zeroes the user buffer)',
    source: 'mm/filemap.c, mm/shmem.c', needsTask: false,
    args: { name: name(), size: int(), fs: oneOf(['ext4', 'tmpfs', 'ext4-dax', 'vfat'], 'ext4 (default), tmpfs, ext4-dax, or vfat (legacy direct I/O)').default('ext4'),
      content: int('a content token (1..2^32-1) every page of the file holds: its blocks are written on disk '
        + '(tmpfs: its pages read it when first touched); default: holes').optional() },
    run(c, a) {
      if (files(c.k).has(a.name)) throw new ScenarioError(`a file named '${a.name}' already exists`, 'name');
      const f = new File(a.name, a.fs, fileSize(a.size, a.fs));
      if (a.content !== null) {
        const token = a.content;
        if (token < 1 || token > 0xffffffff) throw new ScenarioError(`content must be a token from 1 to 2^32-1, not ${token} (0 is what a hole reads as)`, 'content');
        const pages = Math.ceil(f.size / PAGE_SIZE);
        if (pages > 1 << 20) throw new ScenarioError(`content: the model writes at most 2^20 pages (4 GiB) of contents at creation, not ${pages}`, 'content');
        for (let i = 0; i < pages; i++) f.disk.set(i, token);
      }
      files(c.k).set(a.name, f);
      registerFile(c.k, f);
      return ret(0);
    },
  }),
  gupOp('get_user_pages', 'get', 'mm/gup.c get_user_pages()', GUP_ARGS, (c, a, p) =>
    api.get_user_pages(c.k, task(c), a.start, a.nr_pages, a.gup_flags, p)),
  gupOp('get_user_pages_fast', 'get', 'mm/gup.c get_user_pages_fast()', GUP_ARGS, (c, a, p) =>
    api.get_user_pages_fast(c.k, task(c), a.start, a.nr_pages, a.gup_flags, p ?? []),
  (c, a, p) => api.get_user_pages_fast_gen(c.k, task(c), a.start, a.nr_pages, a.gup_flags, p)),
  gupOp('get_user_pages_fast_only', 'get', 'mm/gup.c get_user_pages_fast_only()', GUP_ARGS, (c, a, p) =>
    api.get_user_pages_fast_only(c.k, task(c), a.start, a.nr_pages, a.gup_flags, p ?? [])),
  gupOp('get_user_pages_unlocked', 'get', 'mm/gup.c get_user_pages_unlocked()', GUP_ARGS, (c, a, p) =>
    api.get_user_pages_unlocked(c.k, task(c), a.start, a.nr_pages, p, a.gup_flags)),
  gupOp('get_user_pages_remote', 'get', 'mm/gup.c get_user_pages_remote()', remote('the task whose address space is read'), (c, a, p) =>
    api.get_user_pages_remote(c.k, a.mm.mm, a.start, a.nr_pages, a.gup_flags, p)),
  gupOp('pin_user_pages', 'pin', 'mm/gup.c pin_user_pages()', GUP_ARGS, (c, a, p) =>
    api.pin_user_pages(c.k, task(c), a.start, a.nr_pages, a.gup_flags, p)),
  gupOp('pin_user_pages_fast', 'pin', 'mm/gup.c pin_user_pages_fast()', GUP_ARGS, (c, a, p) =>
    api.pin_user_pages_fast(c.k, task(c), a.start, a.nr_pages, a.gup_flags, p),
  (c, a, p) => api.pin_user_pages_fast_gen(c.k, task(c), a.start, a.nr_pages, a.gup_flags, p)),
  gupOp('pin_user_pages_unlocked', 'pin', 'mm/gup.c pin_user_pages_unlocked()', GUP_ARGS, (c, a, p) =>
    api.pin_user_pages_unlocked(c.k, task(c), a.start, a.nr_pages, p, a.gup_flags)),
  gupOp('pin_user_pages_remote', 'pin', 'mm/gup.c pin_user_pages_remote()', remote('the task whose address space is pinned'), (c, a, p) =>
    api.pin_user_pages_remote(c.k, a.mm.mm, a.start, a.nr_pages, a.gup_flags, p)),
  op({
    name: 'unpin_user_pages', summary: 'unpin_user_pages(pages, npages)', source: 'mm/gup.c unpin_user_pages()', needsTask: false,
    args: { pages: handle(), npages: int('default: the whole handle').optional() }, exists: hasPin,
    run: (c, a) => { unpin.unpin_user_pages(c.k, a.pages, npagesOf(a)); return ret(null); },
  }),
  op({
    name: 'unpin_user_page', summary: 'unpin_user_page(page)', source: 'mm/gup.c unpin_user_page()', needsTask: false,
    args: { page: pfn() }, exists: hasPin,
    run: (c, a) => { unpin.unpin_user_page(c.k, a.page); return ret(null); },
  }),
  op({
    name: 'unpin_user_pages_dirty_lock', summary: 'unpin_user_pages_dirty_lock(pages, npages, make_dirty)',
    source: 'mm/gup.c unpin_user_pages_dirty_lock()', needsTask: false,
    args: { ...RELEASE_ARGS, make_dirty: bool() }, exists: hasPin,
    run: (c, a) => { unpin.unpin_user_pages_dirty_lock(c.k, a.pages, npagesOf(a), a.make_dirty); return ret(null); },
  }),
  op({
    name: 'unpin_user_page_range_dirty_lock', summary: 'unpin_user_page_range_dirty_lock(page, npages, make_dirty)',
    source: 'mm/gup.c unpin_user_page_range_dirty_lock()', needsTask: false,
    args: { page: pfn(), npages: int(), make_dirty: bool() }, exists: hasPin,
    run: (c, a) => { unpin.unpin_user_page_range_dirty_lock(c.k, a.page, a.npages, a.make_dirty); return ret(null); },
  }),
  op({
    name: 'unpin_folio', summary: 'unpin_folio(folio)', source: 'mm/gup.c unpin_folio()', needsTask: false,
    args: { folio: pfn() }, exists: (c) => c.k.profile.unpinFolioApi,
    run: (c, a) => { unpin.unpin_folio(c.k, a.folio); return ret(null); },
  }),
  op({
    name: 'unpin_folios', summary: 'unpin_folios(folios, nfolios)', source: 'mm/gup.c unpin_folios()', needsTask: false,
    args: { folios: handle(), nfolios: int().optional() }, exists: (c) => c.k.profile.unpinFolioApi,
    run: (c, a) => { unpin.unpin_folios(c.k, a.folios, a.nfolios ?? a.folios.length); return ret(null); },
  }),
  op({
    name: 'put_page', summary: 'put_page(page): drop one reference', source: 'include/linux/mm.h put_page()', needsTask: false,
    args: { page: pfn() },
    run: (c, a) => { unpin.put_page(c.k, a.page); return ret(null); },
  }),
  op({
    name: 'release_pages', summary: 'release_pages(pages, nr): put_page() on each entry', source: 'mm/swap.c release_pages()',
    needsTask: false, args: RELEASE_ARGS,
    run: (c, a) => { for (let i = 0; i < npagesOf(a); i++) unpin.put_page(c.k, a.pages[i]); return ret(null); },
  }),
  op({
    name: 'folio_put', summary: 'folio_put(folio)', source: 'include/linux/mm.h folio_put()', needsTask: false,
    args: { folio: pfn() },
    run: (c, a) => { unpin.folio_put(c.k, a.folio); return ret(null); },
  }),
  op({
    name: 'set_page_dirty_lock', summary: 'set_page_dirty_lock(page)', source: 'mm/page-writeback.c set_page_dirty_lock()',
    needsTask: false, args: { page: pfn() },
    run: (c, a) => { unpin.set_page_dirty_lock(c.k, a.page); return ret(null); },
  }),
  op({
    name: 'put_user_page', summary: 'put_user_page(page): v5.2 alias of put_page()', source: 'include/linux/mm.h (v5.2)',
    needsTask: false, args: { page: pfn() }, exists: (c) => c.k.profile.putUserPageApi,
    run: (c, a) => { unpin.put_user_page(c.k, a.page); return ret(null); },
  }),
  op({
    name: 'put_user_pages', summary: 'put_user_pages(pages, npages)', source: 'mm/gup.c (v5.2)', needsTask: false,
    args: RELEASE_ARGS, exists: (c) => c.k.profile.putUserPageApi,
    run: (c, a) => { unpin.put_user_pages(c.k, a.pages, npagesOf(a)); return ret(null); },
  }),
  op({
    name: 'put_user_pages_dirty', summary: 'put_user_pages_dirty(pages, npages)', source: 'mm/gup.c (v5.2, v5.3)', needsTask: false,
    args: RELEASE_ARGS, exists: (c) => c.k.profile.putUserPageApi && c.k.profile.putUserPagesDirtySplit,
    run: (c, a) => { unpin.put_user_pages_dirty(c.k, a.pages, npagesOf(a)); return ret(null); },
  }),
  op({
    name: 'put_user_pages_dirty_lock', summary: 'put_user_pages_dirty_lock(pages, npages[, make_dirty])', source: 'mm/gup.c (v5.2 .. v5.5)',
    needsTask: false, args: { ...RELEASE_ARGS, make_dirty: bool('v5.4+; default true').default(true) },
    exists: (c) => c.k.profile.putUserPageApi,
    run: (c, a) => { unpin.put_user_pages_dirty_lock(c.k, a.pages, npagesOf(a), a.make_dirty); return ret(null); },
  }),
  op({
    name: 'folio_add_pin', summary: 'folio_add_pin(folio): one more pin, not counted in nr_foll_pin_acquired', source: 'mm/gup.c folio_add_pin()',
    needsTask: false, args: { folio: pfn() }, exists: (c) => c.k.profile.folioAddPinApi,
    run: (c, a) => { api.folio_add_pin(c.k, a.folio); return ret(null); },
  }),
  op({
    name: 'folio_ref_add', summary: 'folio_ref_add(folio, nr): references held elsewhere (e.g. to approach refcount overflow)',
    source: 'include/linux/page_ref.h folio_ref_add()', needsTask: false, args: { folio: pfn(), nr: int() },
    run(c, a) { c.k.mem.refAdd(c.k.mem.head(a.folio), a.nr); return ret(null); },
  }),
  op({
    name: 'folio_put_refs', summary: 'folio_put_refs(folio, nr)', source: 'include/linux/mm.h folio_put_refs()', needsTask: false,
    args: { folio: pfn(), nr: int() },
    run(c, a) { c.k.mem.putRefs(c.k.mem.head(a.folio), a.nr); return ret(null); },
  }),
  op({
    name: 'dma_write', summary: 'a device writes a content token into pinned pages (all, or one index)', source: 'a DMA-capable device',
    needsTask: false, args: { pages: handle(), value: int(), index: int().optional() },
    run(c, a) {
      const h = a.pages;
      const idx = a.index;
      if (idx !== null && (idx < 0 || idx >= h.length)) throw new ScenarioError(`index ${idx} outside the handle (0..${h.length - 1})`, 'index');
      for (const p of idx === null ? h : [h[idx]]) {
        dmaWritePage(c.k, p, a.value);
      }
      return ret(0);
    },
  }),
  op({
    name: 'memory_failure', summary: 'memory_failure(pfn): poison a page; its mappings become hwpoison entries',
    source: 'mm/memory-failure.c memory_failure()', needsTask: true,
    args: { pfn: pfn().optional(), addr: int('or the page a task maps at addr').optional() },
    run(c, a) {
      const p = a.pfn !== null ? a.pfn : translate(task(c).mm, a.addr ?? missing('addr'), c.k);
      if (p < 0) throw new ScenarioError('no page mapped at addr', 'addr');
      return ret(memory_failure(c.k, p));
    },
  }),
  op({
    name: 'split_huge_page', summary: 'split the THP mapped at addr into small folios: 0, or -EAGAIN if it may be pinned',
    source: 'mm/huge_memory.c split_huge_page_to_list_to_order(), can_split_folio()', needsTask: true, args: { addr: int() },
    run(c, a) {
      const p = translate(task(c).mm, a.addr, c.k);
      if (p < 0) throw new ScenarioError('nothing is mapped at addr', 'addr');
      return ret(split_huge_page(c.k, p));
    },
  }),
  op({
    name: 'collapse_huge_page',
    summary: 'khugepaged collapses the PMD range at addr into one THP: 0, -EAGAIN if a page has references its mappings do not explain (a pin), -EINVAL if the range cannot hold a THP',
    source: 'mm/khugepaged.c collapse_huge_page()', needsTask: true, args: { addr: int() }, yieldPoints: COLLAPSE_YIELD_POINTS,
    run: (c, a) => ret(runToEnd(c.k, collapse_huge_page(c.k, task(c).mm, a.addr))),
    *steps(c, a) {
      return ret(yield* collapse_huge_page(c.k, task(c).mm, a.addr));
    },
  }),
  op({
    name: 'migrate_pages', summary: 'migrate the folios mapped in a range (compaction / NUMA balancing): returns how many failed',
    source: 'mm/migrate.c migrate_pages()', needsTask: true, args: { addr: int(), length: int() },
    run(c, a) {
      const t = task(c);
      const start = a.addr;
      const heads = new Set<number>();
      for (let x = start; x < start + a.length; x += PAGE_SIZE) {
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
  }),
];
