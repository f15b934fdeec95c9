// The gup_test debugfs file, /sys/kernel/debug/gup_test (CONFIG_GUP_TEST): mm/gup_test.c and
// mm/gup_test.h. The kernel's mm selftests (gup_test.c, cow.c, gup_longterm.c) drive GUP through
// its ioctls; this models them one call for one call.
//
// Two families share the file:
// - the struct gup_test commands (__gup_test_ioctl()): GUP or pin [addr, addr + size) in chunks of
//   nr_pages_per_call, check the pins (verify_dma_pinned()), optionally dump pages
//   (DUMP_USER_PAGES_TEST), release everything again (put_back_pages()), and copy the struct back
//   with .size = the bytes walked;
// - PIN_LONGTERM_TEST_START/READ/STOP (pin_longterm_test_*()): FOLL_LONGTERM pins that stay until
//   STOP or the release of any gup_test file — one test at a time, kernel-wide (static state).
//
// History (profile switches): the file and its struct gup_test commands exist from v5.11
// (9c84f229268f "mm/gup_benchmark: rename to mm/gup_test"; its series also renamed GUP_BENCHMARK /
// PIN_BENCHMARK to GUP_BASIC_TEST / PIN_BASIC_TEST and added DUMP_USER_PAGES_TEST; before it was
// /sys/kernel/debug/gup_benchmark with other commands, not modelled); PIN_LONGTERM_TEST_* from v6.1 (c77369b437f9 "mm/gup_test: start/stop/read
// functionality for PIN LONGTERM test", for cow.c).
//
// The ioctl's argument struct is given by value in the model (the selftests pass a struct on their
// stack), so copy_from_user()/copy_to_user() of the struct itself never fail here; READ's
// copy_to_user() of page contents into user memory does fault like the kernel's.

import * as api from '../gup/api.js';
import { put_page, unpin_user_pages } from '../gup/unpin.js';
import { EBADF, EFAULT, EINVAL, ENOENT, ENOMEM, ENOTTY, O_RDWR, PAGE_SIZE } from '../include/uapi.js';
import { FOLL_LONGTERM, FOLL_WRITE } from '../include/linux/mm.js';
import { stateKey, type Kernel } from '../kernel.js';
import { alloc_file_pseudo, fd_install, fdget, get_unused_fd_flags, type FileOperations, type OpenFile } from '../fs/fdtable.js';
import { folio_is_longterm_pinnable, folio_maybe_dma_pinned } from '../mm/folio.js';
import { import_ubuf } from '../lib/iov_iter/uio.js';
import { copy_page_to_iter } from '../lib/iov_iter/copy.js';
import type { Task } from '../vm/mm.js';
import { pageArray } from './common.js';
import { containerHandle } from './device.js';
import type { PhysMem } from '../mm/memory.js';

// include/uapi/asm-generic/ioctl.h _IOC(dir, 'g', nr, size); sizeof(struct gup_test) = 80,
// sizeof(struct pin_longterm_test) = 24 (x86-64 padding), sizeof(__u64) = 8.
const _IOC = (dir: number, nr: number, size: number): number => ((dir << 30) | (size << 16) | (0x67 << 8) | nr) >>> 0;
const GUP_TEST_SIZE = 80;

/** mm/gup_test.h: the ioctl commands, by name, with their numbers. */
export const GUP_TEST_CMDS = {
  GUP_FAST_BENCHMARK: _IOC(3, 1, GUP_TEST_SIZE),
  PIN_FAST_BENCHMARK: _IOC(3, 2, GUP_TEST_SIZE),
  PIN_LONGTERM_BENCHMARK: _IOC(3, 3, GUP_TEST_SIZE),
  GUP_BASIC_TEST: _IOC(3, 4, GUP_TEST_SIZE),
  PIN_BASIC_TEST: _IOC(3, 5, GUP_TEST_SIZE),
  DUMP_USER_PAGES_TEST: _IOC(3, 6, GUP_TEST_SIZE),
  PIN_LONGTERM_TEST_START: _IOC(1, 7, 24),
  PIN_LONGTERM_TEST_STOP: _IOC(0, 8, 0),
  PIN_LONGTERM_TEST_READ: _IOC(1, 9, 8),
} as const;
export type GupTestCmd = keyof typeof GUP_TEST_CMDS;

export const GUP_TEST_MAX_PAGES_TO_DUMP = 8;
export const GUP_TEST_FLAG_DUMP_PAGES_USE_PIN = 0x1;
export const PIN_LONGTERM_TEST_FLAG_USE_WRITE = 1;
export const PIN_LONGTERM_TEST_FLAG_USE_FAST = 2;
export const GUP_TEST_FLAG_NAMES: Readonly<Record<string, number>> = { GUP_TEST_FLAG_DUMP_PAGES_USE_PIN };
export const PIN_LONGTERM_TEST_FLAG_NAMES: Readonly<Record<string, number>> = {
  PIN_LONGTERM_TEST_FLAG_USE_WRITE, PIN_LONGTERM_TEST_FLAG_USE_FAST,
};

// ULONG_MAX and LONG_MAX are not doubles: "> ULONG_MAX" is written ">= 2 ** 64" (exact in a double).
const ULONG_LIMIT = 2 ** 64;
const LONG_LIMIT = 2 ** 63;
/** kvmalloc_node() refuses more than INT_MAX bytes (NULL, so kvcalloc() fails: -ENOMEM). */
const KVMALLOC_MAX = 2 ** 31 - 1;

/** struct gup_test, the fields a caller sets (the two *_delta_usec are outputs: timing, not modelled). */
export interface GupTestArgs {
  readonly addr: number;
  readonly size: number;
  readonly nr_pages_per_call: number;
  readonly gup_flags: number;
  readonly test_flags: number;
  /** 1-based page numbers to dump (0: nothing); at most GUP_TEST_MAX_PAGES_TO_DUMP. */
  readonly which_pages: readonly number[];
}

/** One dump_page() of DUMP_USER_PAGES_TEST. */
export interface DumpedPage {
  /** 0-based index into the pages got */
  readonly index: number;
  readonly pfn: number;
  readonly refcount: number;
  readonly mapcount: number;
  readonly pincount: number;
}

/** What the last struct gup_test command copied back to the caller, for queries. */
export interface GupTestResult {
  readonly cmd: GupTestCmd;
  /** gup->size on return: addr - gup->addr, the bytes the loop walked */
  readonly size: number;
  /** the pages GUP returned in total (the loop's i) */
  readonly nr_pages: number;
  /** .which_pages[] after dump_pages_test() zeroed the out-of-range entries */
  readonly which_pages: readonly number[];
  readonly dumped: readonly DumpedPage[];
}

/** The module's static state's footprint id: driver 6's container handle (VFIO is 5, device.ts). */
const GUP_TEST_HANDLE = containerHandle(6);

/**
 * The module's static state, pin_longterm_test_pages / _nr_pages (under pin_longterm_test_mutex):
 * private, so that every access records a read or write of its handle and two tasks' START/STOP/
 * release are ordered by the explorer. `last` is the model's record for queries only.
 */
class GupTestState {
  private pages_: number[] | null = null;
  private nr_pages_ = 0;
  last: GupTestResult | null = null;
  constructor(private readonly mem: PhysMem) {}

  /** pin_longterm_test_pages (null: no test active); records a read. */
  get pages(): number[] | null {
    this.mem.fp?.read('handle', GUP_TEST_HANDLE);
    return this.pages_;
  }

  set pages(v: number[] | null) {
    this.mem.fp?.write('handle', GUP_TEST_HANDLE);
    this.pages_ = v;
  }

  /** pin_longterm_test_nr_pages; records a read. */
  get nr_pages(): number {
    this.mem.fp?.read('handle', GUP_TEST_HANDLE);
    return this.nr_pages_;
  }

  set nr_pages(v: number) {
    this.mem.fp?.write('handle', GUP_TEST_HANDLE);
    this.nr_pages_ = v;
  }

  /** For observers (queries, holder labels): records nothing. */
  peek(): { readonly pages: readonly number[] | null; readonly nr_pages: number } {
    return { pages: this.pages_, nr_pages: this.nr_pages_ };
  }
}

const GUP_TEST_KEY = stateKey('drivers:gup_test', (k: Kernel) => {
  const s = new GupTestState(k.mem);
  // Pins still held at the end are released by the files' release at exit (gup_test_release()).
  k.onTeardown(() => pin_longterm_test_stop(k));
  return s;
});

export function gupTestState(k: Kernel): GupTestState {
  return k.state(GUP_TEST_KEY);
}

/**
 * Before v5.11 the file does not exist: open() is -ENOENT, what the selftests take as "gup_test
 * not available" (a SKIP). (CONFIG_GUP_BENCHMARK's gup_benchmark file is not modelled.)
 */
function gupTestExists(k: Kernel): boolean {
  if (!k.profile.gupTest) k.note(`gup_test: no /sys/kernel/debug/gup_test in profile ${k.profile.name} (v5.11, 9c84f229268f)`);
  return k.profile.gupTest;
}

/**
 * Before v6.1 gup_test_ioctl()'s switch does not know PIN_LONGTERM_TEST_*: its default, -EINVAL,
 * which cow.c and gup_longterm.c report as a SKIP.
 */
function longtermTestExists(k: Kernel, cmd: string): boolean {
  if (!k.profile.gupTestLongterm) k.note(`gup_test: ${cmd} is an unknown command in profile ${k.profile.name} (v6.1, c77369b437f9)`);
  return k.profile.gupTestLongterm;
}

/** gup_test_release(): closing any gup_test file stops the (kernel-wide) long-term pin test. */
function gup_test_release(k: Kernel): void {
  pin_longterm_test_stop(k);
}

/** gup_test_fops: nonseekable_open, ->unlocked_ioctl = gup_test_ioctl, ->release = gup_test_release. */
export const gup_test_fops: FileOperations = { name: 'gup_test_fops', fsync: false, release: gup_test_release };

/**
 * open("/sys/kernel/debug/gup_test", O_RDWR): a descriptor or -errno. The debugfs file is a struct
 * file with gup_test_fops (modelled as a pseudo file: no page cache, no read/write).
 */
export function gup_test_open(k: Kernel, current: Task): number {
  if (!gupTestExists(k)) return -ENOENT;
  gupTestState(k);
  const fd = get_unused_fd_flags(k, current);
  if (fd < 0) return fd;
  fd_install(k, current, fd, alloc_file_pseudo(k, gup_test_fops, O_RDWR, null));
  return fd;
}

/** put_back_pages(): put_page() for GET commands, unpin_user_pages() for PIN ones (and DUMP by its flag). */
function put_back_pages(k: Kernel, cmd: GupTestCmd, pages: number[], nr_pages: number, test_flags: number): void {
  const put = () => { for (let i = 0; i < nr_pages; i++) put_page(k, pages[i]); };
  switch (cmd) {
    case 'GUP_FAST_BENCHMARK': case 'GUP_BASIC_TEST': put(); break;
    case 'PIN_FAST_BENCHMARK': case 'PIN_BASIC_TEST': case 'PIN_LONGTERM_BENCHMARK': unpin_user_pages(k, pages, nr_pages); break;
    case 'DUMP_USER_PAGES_TEST':
      if (test_flags & GUP_TEST_FLAG_DUMP_PAGES_USE_PIN) unpin_user_pages(k, pages, nr_pages);
      else put();
      break;
    default: break;
  }
}

/** verify_dma_pinned(): WARN (once per site in the model) at the first page of a PIN command that is not pinned / not pinnable. */
function verify_dma_pinned(k: Kernel, cmd: GupTestCmd, pages: number[], nr_pages: number): void {
  if (cmd !== 'PIN_FAST_BENCHMARK' && cmd !== 'PIN_BASIC_TEST' && cmd !== 'PIN_LONGTERM_BENCHMARK') return;
  for (let i = 0; i < nr_pages; i++) {
    if (k.WARN_ON_ONCE(!folio_maybe_dma_pinned(k, pages[i]), 'mm/gup_test.c:verify_dma_pinned:not-pinned',
      `pages[${i}] is NOT dma-pinned`)) break;
    if (cmd === 'PIN_LONGTERM_BENCHMARK' && k.WARN_ON_ONCE(!folio_is_longterm_pinnable(k, k.mem.head(pages[i])),
      'mm/gup_test.c:verify_dma_pinned:not-pinnable', `pages[${i}] is NOT pinnable but pinned`)) break;
  }
}

/** dump_pages_test(): zero the out-of-range (1-based) entries, dump_page() the others. */
function dump_pages_test(k: Kernel, which: number[], pages: number[], nr_pages: number, addr: number): DumpedPage[] {
  const out: DumpedPage[] = [];
  for (let i = 0; i < GUP_TEST_MAX_PAGES_TO_DUMP; i++) {
    if (which[i] > nr_pages) {
      k.note(`gup_test: ZEROING due to out of range: .which_pages[${i}]: ${which[i]}`);
      which[i] = 0;
    }
  }
  for (let i = 0; i < GUP_TEST_MAX_PAGES_TO_DUMP; i++) {
    if (!which[i]) continue;
    const index = which[i] - 1;
    const pfn = pages[index];
    const head = k.mem.head(pfn);
    const d: DumpedPage = { index, pfn, refcount: k.mem.ref(head), mapcount: k.mem.mapcountOf(pfn), pincount: k.mem.pincount(head) };
    k.note(`gup_test: ---- page #${index}, starting from user virt addr: 0x${addr.toString(16)}; dump_page(pfn ${pfn}): ` +
      `refcount:${d.refcount} mapcount:${d.mapcount} pincount:${d.pincount}`);
    out.push(d);
  }
  return out;
}

/** __gup_test_ioctl(): 0 or -errno; a GUP failure is not an error (the loop stops, .size says where). */
function __gup_test_ioctl(k: Kernel, current: Task, cmd: GupTestCmd, gup: GupTestArgs): number {
  if (gup.addr >= ULONG_LIMIT || gup.size >= ULONG_LIMIT) return -EINVAL;
  const end = gup.addr + gup.size;
  if (end >= ULONG_LIMIT) return -EINVAL; // check_add_overflow()
  let nr_pages = Math.floor(gup.size / PAGE_SIZE);
  if (nr_pages * 8 > KVMALLOC_MAX) return -ENOMEM; // kvcalloc()
  const pages: number[] = [];
  let i = 0;
  let nr = gup.nr_pages_per_call;
  let addr = gup.addr;
  // Each chunk is nr_pages_per_call pages (the last one cut at end); a short chunk ends the loop
  // after it is counted, a failed (<= 0) one before.
  for (; addr < end; ) {
    if (nr !== gup.nr_pages_per_call) break;
    let next = addr + nr * PAGE_SIZE;
    if (next > end) {
      next = end;
      nr = Math.floor((next - addr) / PAGE_SIZE);
    }
    const chunk = pageArray(nr);
    switch (cmd) {
      case 'GUP_FAST_BENCHMARK': nr = api.get_user_pages_fast(k, current, addr, nr, gup.gup_flags, chunk); break;
      case 'GUP_BASIC_TEST': nr = api.get_user_pages(k, current, addr, nr, gup.gup_flags, chunk); break;
      case 'PIN_FAST_BENCHMARK': nr = api.pin_user_pages_fast(k, current, addr, nr, gup.gup_flags, chunk); break;
      case 'PIN_BASIC_TEST': nr = api.pin_user_pages(k, current, addr, nr, gup.gup_flags, chunk); break;
      case 'PIN_LONGTERM_BENCHMARK': nr = api.pin_user_pages(k, current, addr, nr, gup.gup_flags | FOLL_LONGTERM, chunk); break;
      case 'DUMP_USER_PAGES_TEST':
        nr = gup.test_flags & GUP_TEST_FLAG_DUMP_PAGES_USE_PIN
          ? api.pin_user_pages(k, current, addr, nr, gup.gup_flags, chunk)
          : api.get_user_pages(k, current, addr, nr, gup.gup_flags, chunk);
        break;
      default: return -EINVAL;
    }
    if (nr <= 0) break;
    for (let j = 0; j < nr; j++) pages.push(chunk[j]);
    i += nr;
    addr = next;
  }
  nr_pages = i;
  verify_dma_pinned(k, cmd, pages, nr_pages);
  const which = [...gup.which_pages, ...new Array<number>(GUP_TEST_MAX_PAGES_TO_DUMP).fill(0)].slice(0, GUP_TEST_MAX_PAGES_TO_DUMP);
  const dumped = cmd === 'DUMP_USER_PAGES_TEST' ? dump_pages_test(k, which, pages, nr_pages, gup.addr) : [];
  put_back_pages(k, cmd, pages, nr_pages, gup.test_flags);
  gupTestState(k).last = { cmd, size: addr - gup.addr, nr_pages, which_pages: which, dumped };
  return 0;
}

/** pin_longterm_test_stop(): unpin what START pinned; nothing if no test is active. */
export function pin_longterm_test_stop(k: Kernel): void {
  const s = gupTestState(k);
  if (!s.pages) return;
  if (s.nr_pages) unpin_user_pages(k, s.pages, s.nr_pages);
  s.pages = null;
  s.nr_pages = 0;
}

/** pin_longterm_test_start(): 0 or -errno. All pinned or none (a GUP error undoes the pins so far). */
function pin_longterm_test_start(k: Kernel, current: Task, addr: number, size: number, flags: number): number {
  const s = gupTestState(k);
  if (s.pages) return -EINVAL; // one test at a time
  if (flags & ~(PIN_LONGTERM_TEST_FLAG_USE_WRITE | PIN_LONGTERM_TEST_FLAG_USE_FAST)) return -EINVAL;
  if ((addr % PAGE_SIZE) || (size % PAGE_SIZE)) return -EINVAL;
  if (size >= LONG_LIMIT) return -EINVAL; // size > LONG_MAX
  const nr_pages = size / PAGE_SIZE;
  if (!nr_pages) return -EINVAL;
  if (nr_pages * 8 > KVMALLOC_MAX) return -ENOMEM;
  let gup_flags = FOLL_LONGTERM;
  if (flags & PIN_LONGTERM_TEST_FLAG_USE_WRITE) gup_flags |= FOLL_WRITE;
  const fast = (flags & PIN_LONGTERM_TEST_FLAG_USE_FAST) !== 0;
  s.pages = pageArray(nr_pages);
  s.nr_pages = 0;
  while (nr_pages - s.nr_pages) {
    const remaining = nr_pages - s.nr_pages;
    const at = addr + s.nr_pages * PAGE_SIZE;
    const chunk = pageArray(remaining);
    const cur = fast
      ? api.pin_user_pages_fast(k, current, at, remaining, gup_flags, chunk)
      : api.pin_user_pages(k, current, at, remaining, gup_flags, chunk);
    if (cur < 0) {
      pin_longterm_test_stop(k);
      return cur;
    }
    // The kernel loops again on 0 (no progress, no error): it would never return.
    if (cur === 0) k.BUG(`pin_longterm_test_start: ${fast ? 'pin_user_pages_fast' : 'pin_user_pages'}() returned 0 pages; the kernel loops forever`);
    for (let j = 0; j < cur; j++) s.pages[s.nr_pages + j] = chunk[j];
    s.nr_pages += cur;
  }
  return 0;
}

/** pin_longterm_test_read(): copy every pinned page to user memory at user_addr, page after page. */
function pin_longterm_test_read(k: Kernel, current: Task, user_addr: number): number {
  const s = gupTestState(k);
  if (!s.pages) return -EINVAL;
  for (let i = 0; i < s.nr_pages; i++) {
    const iter = import_ubuf('ITER_DEST', current.mm, user_addr, PAGE_SIZE, k);
    if (copy_page_to_iter(k, s.pages[i], 0, PAGE_SIZE, iter) !== PAGE_SIZE) return -EFAULT;
    user_addr += PAGE_SIZE;
  }
  return 0;
}

/** The arguments of one ioctl: struct gup_test's fields, struct pin_longterm_test's, or READ's __u64. */
export interface GupTestIoctlArgs extends GupTestArgs {
  /** struct pin_longterm_test.flags */
  readonly flags: number;
  /** PIN_LONGTERM_TEST_READ: the user address the pages are copied to */
  readonly user_addr: number;
}

/** The command a number or name stands for, or null (unknown: the kernel's -EINVAL). */
export function gupTestCmd(cmd: string | number): GupTestCmd | null {
  if (typeof cmd === 'string') return cmd in GUP_TEST_CMDS ? (cmd as GupTestCmd) : null;
  const e = Object.entries(GUP_TEST_CMDS).find(([, v]) => v === cmd >>> 0);
  return e ? (e[0] as GupTestCmd) : null;
}

/**
 * ioctl(fd, cmd, arg) on the gup_test file: gup_test_ioctl() / pin_longterm_test_ioctl(). 0 or
 * -errno; -EBADF for no open file, -ENOTTY for another file, -EINVAL for an unknown command.
 */
export function gup_test_ioctl(k: Kernel, current: Task, fd: number, cmd: GupTestCmd | null, a: GupTestIoctlArgs): number {
  const filp: OpenFile | null = fdget(k, current, fd);
  if (!filp) return -EBADF;
  if (filp.f_op !== gup_test_fops) return -ENOTTY;
  if (cmd === null) return -EINVAL;
  switch (cmd) {
    case 'PIN_LONGTERM_TEST_START':
      if (!longtermTestExists(k, cmd)) return -EINVAL;
      return pin_longterm_test_start(k, current, a.addr, a.size, a.flags);
    case 'PIN_LONGTERM_TEST_STOP':
      if (!longtermTestExists(k, cmd)) return -EINVAL;
      pin_longterm_test_stop(k);
      return 0;
    case 'PIN_LONGTERM_TEST_READ':
      if (!longtermTestExists(k, cmd)) return -EINVAL;
      return pin_longterm_test_read(k, current, a.user_addr);
    default:
      return __gup_test_ioctl(k, current, cmd, a);
  }
}
