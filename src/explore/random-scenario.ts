// Random multi-actor scenarios built from the model's real operations, for the DPOR soundness
// property test (test/explore/real-model-property.test.ts, npm run soundness). Each scenario is
// YAML text in the scenario language (docs/explorer.md), so a failing case prints as a file that
// `pinlab explore --mode dpor` and `--mode exhaustive` reproduce.
//
// The world: one task `app` with a private anonymous mapping (`anon`, 2 pages), a MAP_SHARED
// mapping of an ext4 file (`fmap`, 2 pages of file `f`), an O_DIRECT descriptor of `f` (`dfd`),
// sometimes a MAP_PRIVATE mapping of `f` (`pmap`) or a MAP_SHARED tmpfs file (`shm`), and on a
// THP machine a 2 MiB anonymous mapping (`thp`); some of them populated in setup. Actors
// draw steps from the operations below: CPU stores and loads, pins and unpins (FOLL_LONGTERM,
// GUP-fast stopped before or after its grab), DMA into pinned pages, fork stopped before its
// write-protect, munmap and MADV_DONTNEED stopped before freeing, mprotect, migrate_pages, split_huge_page, THP collapse stopped
// after its isolation, writeback and its completion, reclaim, truncate and ftruncate, O_DIRECT
// reads (sync, stopped while waiting for the bio, and async with the device completing in its
// own step), io_uring buffer registration stopped between pinning and charging.

import { Rng } from './rng.js';

export interface RandomScenarioOptions {
  /** number of actors: 2 or 3 (default: random) */
  actors?: number;
  /** most templates per actor (default 2); a template is one to three steps */
  maxTemplates?: number;
}

interface World { thp: boolean; thpPopulated: boolean; regions: string[] }

const T = '      task: app';

/** One template: the steps it adds to an actor (YAML list items, indented for actors:). */
type Template = (w: World, rng: Rng, id: string) => string[] | null;

const pick = <X>(rng: Rng, xs: readonly X[]): X => xs[rng.int(xs.length)];

function region(w: World, rng: Rng): string {
  const r = pick(rng, w.regions);
  return rng.int(3) === 0 ? `${r} + PAGE_SIZE` : r;
}

let token = 100;

/** Half the zaps stop between clearing the PTEs and freeing the pages. */
const zapStop = (rng: Rng) => (rng.int(2) === 0 ? '\n      preempt: [before_tlb_finish_mmu]' : '');

const TEMPLATES: Array<[string, Template]> = [
  ['write', (w, rng) => [`    - write: {addr: ${region(w, rng)}, value: ${++token}}\n${T}`]],
  ['read', (w, rng) => [`    - read: {addr: ${region(w, rng)}}\n${T}`]],
  ['pin', (w, rng, id) => {
    const flags = pick(rng, ['FOLL_WRITE', 'FOLL_WRITE|FOLL_LONGTERM', '0', 'FOLL_LONGTERM']);
    const fast = rng.int(2) === 0;
    const stops = fast ? pick(rng, ['after_grab', 'before_grab', 'before_grab, after_grab']) : '';
    const out = [`    - ${fast ? 'pin_user_pages_fast' : 'pin_user_pages'}: {start: ${region(w, rng)}, nr_pages: 1, gup_flags: ${flags}}\n${T}\n      as: P${id}${fast ? `\n      preempt: [${stops}]` : ''}`];
    if (rng.int(2) === 0) out.push(`    - dma_write: {pages: P${id}, value: ${++token}}`);
    out.push(`    - unpin_user_pages: {pages: P${id}}`);
    return out;
  }],
  ['gup', (w, rng, id) => [
    `    - get_user_pages: {start: ${region(w, rng)}, nr_pages: 1, gup_flags: ${pick(rng, ['0', 'FOLL_WRITE'])}}\n${T}\n      as: G${id}`,
    `    - release_pages: {pages: G${id}}`,
  ]],
  // (not stopped where a THP may be split: 512 stops, a search too large for this test)
  ['fork', (w, rng, id) => [`    - fork: {child: c${id}}\n${T}${!w.thp && rng.int(2) === 0 ? '\n      preempt: [before_wrprotect]' : ''}`]],
  ['munmap', (w, rng) => [`    - munmap: {addr: ${region(w, rng)}, length: PAGE_SIZE}\n${T}${zapStop(rng)}`]],
  ['madvise', (w, rng) => [`    - madvise: {addr: ${region(w, rng)}, length: PAGE_SIZE, advice: MADV_DONTNEED}\n${T}${zapStop(rng)}`]],
  ['mprotect', (w, rng) => [`    - mprotect: {addr: ${region(w, rng)}, length: PAGE_SIZE, prot: ${pick(rng, ['PROT_READ', 'PROT_NONE', 'PROT_READ|PROT_WRITE'])}}\n${T}`]],
  ['migrate', (w, rng) => [`    - migrate_pages: {addr: ${pick(rng, w.regions)}, length: 2 * PAGE_SIZE}\n${T}`]],
  ['split', (w) => (w.thpPopulated ? [`    - split_huge_page: {addr: thp}\n${T}`] : null)],
  // THP collapse of the 2 MiB mapping (small pages there after a split, or never faulted as a THP)
  ['collapse', (w, rng) => (w.thp ? [`    - collapse_huge_page: {addr: thp}\n${T}${rng.int(2) === 0 ? '\n      preempt: [after_isolate]' : ''}`] : null)],
  ['writeback', (_w, rng) => (rng.int(2) === 0
    ? ['    - writeback: {file: f}', '    - writeback_complete: {file: f}']
    : ['    - writeback: {file: f, sync: true}'])],
  ['reclaim', () => ['    - reclaim: {file: f}']],
  ['truncate', (_w, rng) => (rng.int(2) === 0
    ? [`    - truncate: {path: f, length: ${pick(rng, ['0', 'PAGE_SIZE'])}}`]
    : [`    - ftruncate: {fd: dfd, length: ${pick(rng, ['0', 'PAGE_SIZE', '2 * PAGE_SIZE'])}}\n${T}`])],
  ['dio', (w, rng) => (rng.int(2) === 0
    ? [`    - pread: {fd: dfd, buf: ${region(w, rng)}, count: PAGE_SIZE, offset: 0}\n${T}${rng.int(2) === 0 ? '\n      preempt: [bio_wait]' : ''}`]
    : [`    - aio_pread: {fd: dfd, buf: ${region(w, rng)}, count: PAGE_SIZE, offset: 0}\n${T}`, '    - blk_complete: {}'])],
  ['complete', () => ['    - blk_complete: {}']],
  ['dio-write', (w, rng) => (rng.int(2) === 0
    ? [`    - pwrite: {fd: dfd, buf: ${region(w, rng)}, count: PAGE_SIZE, offset: PAGE_SIZE}\n${T}`]
    : [`    - aio_pwrite: {fd: dfd, buf: ${region(w, rng)}, count: PAGE_SIZE, offset: 0}\n${T}`, '    - blk_complete: {}'])],
  ['buffered', (w, rng) => [`    - ${pick(rng, ['pread', 'pwrite'])}: {fd: bfd, buf: ${region(w, rng)}, count: PAGE_SIZE, offset: ${pick(rng, ['0', 'PAGE_SIZE'])}}\n${T}`,
    ...(rng.int(2) === 0 ? [`    - fsync: {fd: bfd}\n${T}`] : [])]],
  ['drop_caches', () => ['    - drop_caches: {}']],
  ['remote', (w, rng, id) => [
    `    - pin_user_pages_remote: {mm: app, start: ${region(w, rng)}, nr_pages: 1, gup_flags: ${pick(rng, ['FOLL_WRITE', 'FOLL_WRITE|FOLL_LONGTERM'])}}\n      task: other\n      as: R${id}`,
    `    - unpin_user_pages_dirty_lock: {pages: R${id}, make_dirty: true}`,
  ]],
  // The ring is app's: the buffer is in app's memory, so the registration pins and may stop
  // between pinning and charging.
  ['io_uring', (w, rng, id) => [
    `    - io_uring_setup: {}\n${T}\n      as: U${id}`,
    `    - io_uring_register: {ring: U${id}, opcode: IORING_REGISTER_BUFFERS, addr: ${region(w, rng)}, len: PAGE_SIZE}\n${T}${rng.int(2) === 0 ? '\n      preempt: [after_pin_pages]' : ''}`,
    `    - io_uring_fixed_dma: {ring: U${id}, addr: ${region(w, rng)}, len: PAGE_SIZE, value: ${++token}}\n${T}`,
    `    - close: {fd: U${id}}\n${T}`,
  ]],
  ['mmap', (_w, rng, id) => [
    `    - mmap: {length: PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS}\n${T}\n      as: M${id}`,
    rng.int(2) === 0 ? `    - write: {addr: M${id}, value: ${++token}}\n${T}` : `    - munmap: {addr: M${id}, length: PAGE_SIZE}\n${T}`,
  ]],
];

/** The names of the step templates (for docs and the soundness command's output). */
export const TEMPLATE_NAMES: readonly string[] = TEMPLATES.map(([n]) => n);

/** A random multi-actor scenario (YAML) for `seed`: the same seed gives the same text. */
export function randomScenario(seed: number, opts: RandomScenarioOptions = {}): string {
  const rng = new Rng(seed);
  token = 100;
  const thp = rng.int(3) === 0;
  const w: World = { thp, thpPopulated: false, regions: ['anon', 'fmap'] };
  // Sometimes also a MAP_PRIVATE mapping of f (COW of page-cache pages) and a MAP_SHARED tmpfs file.
  const more = rng.int(3);
  const setup: string[] = [
    '  - create_file: {name: f, size: 2 * PAGE_SIZE, fs: ext4, content: 5}',
    '  - mmap: {length: 2 * PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS}\n    task: app\n    as: anon',
    '  - mmap: {length: 2 * PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_SHARED, file: f}\n    task: app\n    as: fmap',
    "  - open: {path: f, flags: 'O_RDWR|O_DIRECT'}\n    task: app\n    as: dfd",
    "  - open: {path: f, flags: 'O_RDWR'}\n    task: app\n    as: bfd",
  ];
  if (more === 1) {
    setup.push('  - mmap: {length: 2 * PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE, file: f}\n    task: app\n    as: pmap');
    w.regions.push('pmap');
  } else if (more === 2) {
    setup.push('  - create_file: {name: s, size: 2 * PAGE_SIZE, fs: tmpfs}');
    setup.push('  - mmap: {length: 2 * PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_SHARED, file: s}\n    task: app\n    as: shm');
    w.regions.push('shm');
  }
  if (thp) {
    setup.push('  - mmap: {length: HPAGE_PMD_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS}\n    task: app\n    as: thp');
    w.regions.push('thp');
  }
  for (const r of w.regions) {
    if (rng.int(2) === 0) {
      setup.push(`  - write: {addr: ${r}, length: 2 * PAGE_SIZE, value: ${++token}}\n    task: app`);
      if (r === 'thp') w.thpPopulated = true;
    }
  }
  const nActors = opts.actors ?? 2 + rng.int(2);
  const maxT = opts.maxTemplates ?? 2;
  const actors: string[] = [];
  for (let a = 0; a < nActors; a++) {
    const steps: string[] = [];
    const n = 1 + rng.int(nActors === 3 ? 1 : maxT);
    for (let i = 0; i < n; i++) {
      let s: string[] | null = null;
      while (s === null) s = pick(rng, TEMPLATES)[1](w, rng, `${a}${i}`);
      steps.push(...s);
    }
    actors.push(`  a${a}:\n${steps.join('\n')}`);
  }
  return [
    `name: random-${seed >>> 0}`,
    'profiles: [current]',
    `machine: {normal: ${thp ? 8 : 4} << 20${thp ? ', thp: always' : ''}}`,
    'tasks: [app, other]',
    'setup:',
    ...setup,
    'actors:',
    ...actors,
    'end:',
    '  leaks: none',
    '',
  ].join('\n');
}
