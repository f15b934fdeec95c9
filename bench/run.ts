// npm run bench: the model's pin/unpin cost per page, next to the running kernel's (io_uring
// buffer registration pins with FOLL_WRITE|FOLL_LONGTERM, as tools/testing/selftests/mm/gup_test.c
// style workloads do), and the model's memory per simulated page.

import { performance } from 'node:perf_hooks';
import { pin_user_pages_fast } from '../src/gup/api.js';
import { unpin_user_pages } from '../src/gup/unpin.js';
import { MAP_ANONYMOUS, MAP_POPULATE, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../src/include/uapi.js';
import { Kernel } from '../src/kernel.js';
import { PhysMem } from '../src/mm/memory.js';
import { do_mmap } from '../src/vm/mmap.js';
import { actorsBench, exploreBench, parallelBench, printActorsRows, printExploreRows, printParallelRows } from './explore.js';
import { kernelColumn, type KernelRow } from './kernel.js';
import { FOLL_LONGTERM, FOLL_WRITE } from '../src/include/linux/mm.js';
import { createTask } from '../src/vm/mm.js';

interface Case { label: string; sizeBytes: number; thp: boolean }

const MiB = 1 << 20;
const CASES: Case[] = [
  { label: '256 MiB 4K', sizeBytes: 256 * MiB, thp: false },
  { label: '256 MiB THP', sizeBytes: 256 * MiB, thp: true },
  { label: '1 GiB 4K', sizeBytes: 1024 * MiB, thp: false },
  { label: '1 GiB THP', sizeBytes: 1024 * MiB, thp: true },
];
const REPS = Number(process.env.PINLAB_BENCH_REPS ?? 7);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

interface ModelRow { label: string; pages: number; pinNs: number; unpinNs: number; bytesPerPage: number; pinned: number }

function measureModel(c: Case): ModelRow {
  const pages = c.sizeBytes / PAGE_SIZE;
  const k = new Kernel({
    profile: 'current',
    machine: { normal: c.sizeBytes + 64 * MiB, thp: c.thp ? 'always' : 'never' },
    trace: false,
    invariants: false,
  });
  const t = createTask(k, 'bench');
  const before = process.memoryUsage().arrayBuffers;
  const addr = do_mmap(k, t.mm, {
    addr: 0, length: c.sizeBytes, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
  });
  const ptBytes = process.memoryUsage().arrayBuffers - before;
  const arr = new Int32Array(pages);
  const pin: number[] = [];
  const unpin: number[] = [];
  let pinned = 0;
  for (let r = 0; r < REPS + 1; r++) {
    const t0 = performance.now();
    pinned = pin_user_pages_fast(k, t, addr, pages, FOLL_WRITE | FOLL_LONGTERM, arr);
    const t1 = performance.now();
    unpin_user_pages(k, arr, pinned);
    const t2 = performance.now();
    if (r === 0) continue; // warm-up (JIT)
    pin.push(((t1 - t0) * 1e6) / pages);
    unpin.push(((t2 - t1) * 1e6) / pages);
  }
  if (pinned !== pages) throw new Error(`${c.label}: pinned ${pinned} of ${pages}`);
  const acq = k.vmstat.get('nr_foll_pin_acquired');
  const rel = k.vmstat.get('nr_foll_pin_released');
  if (acq !== rel || acq !== pages * (REPS + 1)) throw new Error(`${c.label}: counters ${acq}/${rel}`);
  const bytesPerPage = PhysMem.BYTES_PER_PAGE + Math.max(0, ptBytes) / pages;
  return { label: c.label, pages, pinNs: median(pin), unpinNs: median(unpin), bytesPerPage, pinned };
}

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const noKernel = process.argv.includes('--no-kernel');
  if (process.argv.includes('--explore-only')) {
    const rows = exploreBench();
    const actors = actorsBench();
    const par = await parallelBench();
    if (json) console.log(JSON.stringify({ explore: rows, actors, parallel: par }, null, 2));
    else { printExploreRows(rows); printActorsRows(actors); printParallelRows(par); }
    return;
  }
  // The explorer first: its small kernels should not pay for the 1 GiB heaps of the pin cases.
  const explore = process.argv.includes('--no-explore') ? [] : exploreBench();
  const parallel = explore.length ? await parallelBench() : null;
  measureModel({ label: 'warm-up', sizeBytes: 64 * MiB, thp: false }); // JIT warm-up
  measureModel({ label: 'warm-up', sizeBytes: 64 * MiB, thp: true });
  const model = CASES.map(measureModel);
  const kcol = noKernel ? { supported: false as const, reason: '--no-kernel' } : kernelColumn(CASES, REPS);
  const krow = (label: string): KernelRow | undefined => (kcol.supported ? kcol.rows.find((r) => r.label === label) : undefined);
  if (json) {
    console.log(JSON.stringify({ model, kernel: kcol, explore, parallel }, null, 2));
    return;
  }
  console.log(`pin_user_pages_fast(FOLL_WRITE|FOLL_LONGTERM) + unpin_user_pages, ${REPS} reps, medians`);
  if (!kcol.supported) console.log(`kernel column skipped: ${kcol.reason}`);
  else console.log(`kernel: ${kcol.kernel}, io_uring IORING_(UN)REGISTER_BUFFERS of the same buffers`);
  console.log('case            pages    model pin  model unpin  kernel pin  kernel unpin  pin ratio  unpin ratio  bytes/page');
  for (const m of model) {
    const kr = krow(m.label);
    const kp = kr && kr.ok ? kr.pinNsPerPage : NaN;
    const ku = kr && kr.ok ? kr.unpinNsPerPage : NaN;
    console.log(
      `${m.label.padEnd(14)} ${String(m.pages).padStart(7)} ${fmt(m.pinNs).padStart(9)} ns ${fmt(m.unpinNs).padStart(9)} ns ` +
      `${fmt(kp).padStart(8)} ns ${fmt(ku, 2).padStart(9)} ns ${fmt(m.pinNs / kp, 2).padStart(9)}x ${fmt(m.unpinNs / ku, 2).padStart(10)}x ` +
      `${fmt(m.bytesPerPage).padStart(10)}`,
    );
    if (kr && !kr.ok) console.log(`  kernel: ${kr.error}`);
  }
  console.log('bytes/page = folio table (26) + page tables of the mapping; THP kernel unpin includes no per-page work (coalesced at registration).');
  if (explore.length) printExploreRows(explore);
  if (parallel) printParallelRows(parallel);
}

await main();
