// Which objects a step read and wrote. The explorer uses footprints for partial-order
// reduction; the viewer uses them to highlight what a step touched. Folio sets are kept as
// sorted-on-close runs so a step that pins a million pages costs a few runs, not a million entries.

import type { FootprintJSON } from './schema.js';

export type { FootprintJSON } from './schema.js';

// 'file' is an inode and its page cache (src/include/linux/fs.ts, src/mm/filemap.ts); 'filp' an open file (struct file:
// f_count, f_pos); 'fdtable' a task's descriptor table (struct files_struct, by pid); 'ring' an
// io_uring context and its registered buffers; 'zone' a zone's free-page count (struct zone
// vm_stat NR_FREE_PAGES), which every allocation and free changes; 'user' the user_struct's
// locked_vm (one user: shared by every mm, so no mm id fits); 'task' a task's own state by pid
// (exited, RLIMIT_MEMLOCK, CAP_IPC_LOCK), and id 0 the task list (fork adds, rmap walks iterate).
export type ObjKind = 'folio' | 'vma' | 'mm' | 'file' | 'vmstat' | 'bio' | 'dev' | 'handle' | 'pipe' | 'filp' | 'fdtable' | 'ring' | 'zone' | 'user' | 'task';

/** Receives a footprint's runs one by one (Footprint.takeRuns()): no JSON built in between. */
export interface FootprintSink {
  run(write: boolean, kind: string, lo: number, hi: number): void;
}

class RunSet {
  // Runs [lo[i], hi[i]] for i < n; the arrays keep their capacity across reset() (a step re-uses
  // them: truncating an array's length is a slow builtin call, a count is a store).
  private readonly lo: number[] = [];
  private readonly hi: number[] = [];
  private n = 0;

  add(id: number): void {
    const n = this.n;
    if (n > 0) {
      const h = this.hi[n - 1];
      if (id >= this.lo[n - 1] && id <= h) return;
      if (id === h + 1) {
        this.hi[n - 1] = id;
        return;
      }
      // Accessors alternate between two folios (a head and its mapping's folio): the run before
      // the last catches the repeats, so the set does not grow by one run per access.
      if (n > 1 && id >= this.lo[n - 2] && id <= this.hi[n - 2]) return;
    }
    if (n < this.lo.length) {
      this.lo[n] = id;
      this.hi[n] = id;
    } else {
      this.lo.push(id);
      this.hi.push(id);
    }
    this.n = n + 1;
  }

  addRange(lo: number, hi: number): void {
    for (let i = lo; i <= hi; i++) this.add(i);
  }

  /** Merged, sorted [lo, hi] runs. */
  runs(): Array<[number, number]> {
    const r = this.rawRuns().sort((a, b) => a[0] - b[0]);
    const out: Array<[number, number]> = [];
    for (const [l, h] of r) {
      const last = out[out.length - 1];
      if (last && l <= last[1] + 1) last[1] = Math.max(last[1], h);
      else out.push([l, h]);
    }
    return out;
  }

  /** The runs as added (unsorted, possibly overlapping): enough for building id sets. */
  rawRuns(): Array<[number, number]> {
    const lo = this.lo, hi = this.hi, n = this.n;
    const out = new Array<[number, number]>(n);
    for (let i = 0; i < n; i++) out[i] = [lo[i], hi[i]];
    return out;
  }

  /** Forget every run; the arrays are kept for the next step (no allocation per step). */
  reset(): void {
    this.n = 0;
  }

  /** Each run as added to `sink` (unsorted, possibly overlapping). */
  visit(sink: FootprintSink, write: boolean, kind: string): void {
    const lo = this.lo, hi = this.hi, n = this.n;
    for (let i = 0; i < n; i++) sink.run(write, kind, lo[i], hi[i]);
  }

  get empty(): boolean {
    return this.n === 0;
  }
}

function resetSet(s: RunSet): void {
  s.reset();
}

function rawSide(m: Map<ObjKind, RunSet>): Record<string, Array<[number, number]>> {
  const out: Record<string, Array<[number, number]>> = {};
  for (const [k, s] of m) if (!s.empty) out[k] = s.rawRuns();
  return out;
}

export class Footprint {
  enabled = true;
  private readonly r = new Map<ObjKind, RunSet>();
  private readonly w = new Map<ObjKind, RunSet>();
  // The folio sets, cached out of the maps: the folio table's accessors record on every access.
  private rFolio: RunSet | null = null;
  private wFolio: RunSet | null = null;

  /** read('folio', pfn) without the map lookup (PhysMem's accessors). */
  readFolio(pfn: number): void {
    if (!this.enabled) return;
    let s = this.rFolio;
    if (s === null) {
      s = this.r.get('folio') ?? new RunSet();
      this.r.set('folio', s);
      this.rFolio = s;
    }
    s.add(pfn);
  }

  /** write('folio', pfn) without the map lookup. */
  writeFolio(pfn: number): void {
    if (!this.enabled) return;
    let s = this.wFolio;
    if (s === null) {
      s = this.w.get('folio') ?? new RunSet();
      this.w.set('folio', s);
      this.wFolio = s;
    }
    s.add(pfn);
  }

  read(kind: ObjKind, id: number): void {
    if (!this.enabled) return;
    let s = this.r.get(kind);
    if (!s) this.r.set(kind, (s = new RunSet()));
    s.add(id);
  }

  write(kind: ObjKind, id: number): void {
    if (!this.enabled) return;
    let s = this.w.get(kind);
    if (!s) this.w.set(kind, (s = new RunSet()));
    s.add(id);
  }

  writtenFolios(): Array<[number, number]> {
    return this.w.get('folio')?.runs() ?? [];
  }

  /** The written folio runs as added (unsorted, possibly overlapping): cheaper, for checks that dedupe. */
  writtenFolioRuns(): Array<[number, number]> {
    return this.w.get('folio')?.rawRuns() ?? [];
  }

  /** Start a new footprint: the run sets stay in the maps, emptied (a step re-uses them). */
  clear(): void {
    this.r.forEach(resetSet);
    this.w.forEach(resetSet);
  }

  /** Every run (unsorted, unmerged) into `sink`, reads then writes: toRawJSON() without the object. */
  visitRaw(sink: FootprintSink): void {
    // forEach: no [key, value] entry array per set, as for..of over the map makes
    this.r.forEach((s, k) => s.visit(sink, false, k));
    this.w.forEach((s, k) => s.visit(sink, true, k));
  }

  /** Like toJSON() but with runs unsorted and unmerged (cheaper; the explorer only collects ids). */
  toRawJSON(): FootprintJSON {
    return { reads: rawSide(this.r), writes: rawSide(this.w) };
  }

  toJSON(): FootprintJSON {
    const conv = (m: Map<ObjKind, RunSet>): Record<string, Array<[number, number]>> =>
      Object.fromEntries([...m].filter(([, s]) => !s.empty).map(([k, s]) => [k, s.runs()]));
    return { reads: conv(this.r), writes: conv(this.w) };
  }
}
