// Call-by-call comparison of a kernel run with a model run, and the pages whose content token
// cannot be compared (a partial-page copy: the model keeps one token per page, the kernel bytes).

import type { CallResult, RunResult } from './encode.js';
import { MEM_KINDS, PAGE, describeCall, type Program } from './program.js';

export interface Difference {
  /** 'call' (ret or a counter delta of call `call`), 'facts', 'end' (the balance after teardown), 'failure'. */
  readonly kind: 'call' | 'facts' | 'end' | 'failure';
  /** 0-based call index (kind 'call'). */
  readonly call?: number;
  readonly what: string;
  readonly kernel: unknown;
  readonly model: unknown;
}

/** "slot.page" keys whose token is not comparable; file f0 (or the block device) read into memory with a partial-page shape. */
export function taintedPages(p: Program): Set<string> {
  const out = new Set<string>();
  let fileTainted = false;
  const kinds = slotFileKinds(p);
  const mark = (slot: number, off: number, len: number) => {
    if (slot < 0 || len <= 0) return;
    // A shared file slot writes through to the file page (offset 0 mappings): every slot that maps
    // that page of the same file (memfd slots alias each other) sees the partial copy too.
    const shared = kinds.get(slot);
    for (let pg = Math.floor(off / PAGE); pg * PAGE < off + len; pg++) {
      out.add(`${slot}.${pg}`);
      if (shared?.endsWith('-shared')) out.add(`${shared.split('-')[0]}:${pg}`);
    }
    // Through an ext4-shared slot the copy lands in f0's page cache: what a later read of f0 copies
    // out is not comparable either (uml-5.10 seed 31337 p588: the block device's data reached s0 so).
    if (shared === 'ext4-shared') fileTainted = true;
  };
  const partial = (off: number, len: number) => off % PAGE !== 0 || len % PAGE !== 0;
  for (const c of p.calls) {
    const a = c.a;
    if (c.op === 'R') {
      if (a[0] === 1 || fileTainted || partial(a[2]!, a[3]!) || a[4]! % PAGE) mark(a[1]!, a[2]!, a[3]!);
    } else if (c.op === 'V') {
      const whole = a[0] === 1 || fileTainted || a[1]! % PAGE !== 0;
      for (let i = 0; i < a[2]!; i++) {
        const [s, off, len] = [a[3 + 3 * i]!, a[4 + 3 * i]!, a[5 + 3 * i]!];
        if (whole || partial(off, len)) mark(s, off, len);
      }
      // Once one iovec is partial, every later one lands shifted.
      if (!whole) {
        let shifted = false;
        for (let i = 0; i < a[2]!; i++) {
          const [s, off, len] = [a[3 + 3 * i]!, a[4 + 3 * i]!, a[5 + 3 * i]!];
          if (shifted) mark(s, off, len);
          if (partial(off, len)) shifted = true;
        }
      }
    } else if (c.op === 'W') {
      if (a[0] === 0 && (partial(a[2]!, a[3]!) || a[4]! % PAGE || out.has(`${a[1]}.${Math.floor(a[2]! / PAGE)}`))) fileTainted = true;
    } else if (c.op === 'K') {
      // Fixed I/O moves file data like pread/pwrite (a[0] write, a[1] file, a[3] slot, a[4] offset, a[5] length, a[6] file offset).
      if (a[0] === 0 && (a[1] === 1 || fileTainted || partial(a[4]!, a[5]!) || a[6]! % PAGE)) mark(a[3]!, a[4]!, a[5]!);
      if (a[0] === 1 && a[1] === 0 && (partial(a[4]!, a[5]!) || a[6]! % PAGE || out.has(`${a[3]}.${Math.floor(a[4]! / PAGE)}`))) fileTainted = true;
    } else if (c.op === 'Q') {
      const [write, slot, off, len, rslot, roff] = a as [number, number, number, number, number, number];
      if (partial(off, len) || partial(roff, len)) {
        mark(slot, off, len);
        mark(rslot, roff, len);
      }
      if (write ? [...out].some((k) => k.startsWith(`${slot}.`)) : [...out].some((k) => k.startsWith(`${rslot}.`))) {
        mark(write ? rslot : slot, write ? roff : off, len);
      }
    } else if (c.op === 'Z' && a[0] === 0) {
      // A shrink then a grow leaves the pages past the cut as holes on both sides: comparable.
    }
  }
  if (fileTainted) out.add('f0');
  return out;
}

/** Slot → memory kind, for the file-backed slots (the generator never gives a child its parent's slot numbers). */
function slotFileKinds(p: Program): Map<number, string> {
  const out = new Map<number, string>();
  for (const c of p.calls) {
    const kind = c.op === 'M' ? MEM_KINDS[c.a[1]!] : undefined;
    if (kind && !kind.startsWith('anon')) out.set(c.a[0]!, kind);
  }
  return out;
}

/** Whether page `page` of `slot` is tainted: by its own copies, or (a file slot) by a partial copy into the same file page through another slot. */
export function pageTainted(tainted: ReadonlySet<string>, p: Program, slot: number, page: number): boolean {
  if (tainted.has(`${slot}.${page}`)) return true;
  const kind = slotFileKinds(p).get(slot);
  return kind !== undefined && tainted.has(`${kind.split('-')[0]}:${page}`);
}

function sameCall(a: CallResult, b: CallResult): boolean {
  return a.ret === b.ret && a.dA === b.dA && a.dR === b.dR;
}

/** The first difference between the kernel's and the model's run, or null. */
/**
 * Kernel behaviour the model does not have and that shows in the facts only, counted rather than
 * reported (docs/fuzz.md): fault-around (mm/memory.c do_fault_around(), filemap_map_pages()) maps
 * the page-cache pages around a read fault on a file or shmem mapping (anonymous MAP_SHARED is
 * shmem too), which the model does not.
 */
export type Explained = 'fault-around' | 'uml-stale-mapping';

/**
 * UML before 6.12 (seen on 5.10.46 and 6.1.176, not on 6.12.113 or a real 6.18): a child's load from
 * a page its parent had faulted in (a store, where the parent's PTE was writable) succeeds
 * although the guest kernel gave the child no mapping there (MADV_DONTFORK), and the guest's own
 * pagemap says "not present" afterwards: the child's host process still maps the parent's page.
 * No kernel can do that (an access through no PTE faults, and a fault that succeeds maps the
 * page), so it is UML's, not a divergence.
 */
function umlStaleAccess(p: Program, i: number, kernel: RunResult, model: CallResult): boolean {
  const c = p.calls[i]!;
  const k = kernel.calls[i]!;
  if (c.op !== 'T' || k.ret !== 0 || model.ret !== -14 || k.dA || k.dR) return false;
  // Nothing later in that task may have unmapped the slot (then "not present" would prove nothing).
  if (p.calls.slice(i + 1).some((l) => l.task === c.task && 'UAMX'.includes(l.op) && (l.op === 'X' || l.a[0] === c.a[0]))) return false;
  const facts = kernel.facts[`${c.task === 0 ? 'parent' : 'child'}.${c.a[0]}`];
  if (!facts) return false;
  for (let pg = c.a[1]!; pg < c.a[1]! + c.a[2]!; pg++) if (facts[pg] !== '.') return false;
  return true;
}

/** The kernels whose fuzz results can show umlStaleRead(). */
export const UML_STALE_MAPPINGS: readonly string[] = ['uml-5.10', 'uml-6.1'];

export function firstDifference(
  p: Program, kernel: RunResult, model: RunResult, kinds: ReadonlyMap<string, string> = new Map(), explained: Explained[] = [],
  opts: { staleMappings?: boolean } = {},
): Difference | null {
  if (kernel.failure) return { kind: 'failure', what: `the kernel run failed: ${kernel.failure}`, kernel: kernel.failure, model: model.failure ?? null };
  for (let i = 0; i < p.calls.length; i++) {
    const k = kernel.calls[i];
    const m = model.calls[i];
    if (!m && model.failure) return { kind: 'failure', call: i, what: `the model failed at call ${i + 1} ${describeCall(p.calls[i]!)}: ${model.failure}`, kernel: k ?? null, model: model.failure };
    if (!k || !m) return { kind: 'failure', call: i, what: `call ${i + 1} has no result`, kernel: k ?? null, model: m ?? null };
    if (!sameCall(k, m) && opts.staleMappings && umlStaleAccess(p, i, kernel, m)) {
      if (!explained.includes('uml-stale-mapping')) explained.push('uml-stale-mapping');
      continue;
    }
    if (!sameCall(k, m)) return { kind: 'call', call: i, what: `call ${i + 1} ${describeCall(p.calls[i]!)}`, kernel: k, model: m };
  }
  if (model.failure) return { kind: 'failure', what: `the model failed after the calls: ${model.failure}`, kernel: null, model: model.failure };
  const tainted = taintedPages(p);
  const keys = new Set([...Object.keys(kernel.facts), ...Object.keys(model.facts)]);
  for (const key of [...keys].sort()) {
    const kf = kernel.facts[key];
    const mf = model.facts[key];
    if (!kf || !mf) return { kind: 'facts', what: `${key}: mapped on one side only`, kernel: kf ?? null, model: mf ?? null };
    const slot = key.split('.')[1]!;
    const kind = kinds.get(key) ?? 'anon';
    const fileSlot = kind.startsWith('ext4') && tainted.has('f0');
    for (let i = 0; i < Math.max(kf.length, mf.length); i++) {
      const a = kf[i] ?? '?';
      const b = mf[i] ?? '?';
      if (a === b) continue;
      if ((fileSlot || pageTainted(tainted, p, Number(slot), i)) && a !== '.' && b !== '.') continue;
      // MAP_SHARED|MAP_ANONYMOUS is shmem too (shmem_zero_setup()): only private anonymous memory has no fault-around.
      if (b === '.' && a !== 'z' && kind !== 'anon-private') {
        if (!explained.includes('fault-around')) explained.push('fault-around');
        continue;
      }
      return { kind: 'facts', what: `${key} page ${i} (${describe(a)} on the kernel, ${describe(b)} in the model)`, kernel: kf.join(','), model: mf.join(',') };
    }
  }
  if (kernel.end.dA !== model.end.dA || kernel.end.dR !== model.end.dR) {
    return { kind: 'end', what: 'pin counters across the whole program and its teardown', kernel: kernel.end, model: model.end };
  }
  return null;
}

function describe(f: string): string {
  return f === '.' ? 'not present' : f === 'z' ? 'the zero page' : f === '?' ? 'no page' : `token ${f}`;
}

/** "task.slot" → memory kind of the slot's mmap (by the kernel's rets; a child inherits its parent's), for the facts comparison. */
export function slotKinds(p: Program, kernel: RunResult, kindNames: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  p.calls.forEach((c, i) => {
    const r = kernel.calls[i]?.ret;
    const task = c.task === 0 ? 'parent' : 'child';
    if (c.op === 'M' && r !== undefined && (r === 0 || r <= -1000)) out.set(`${task}.${c.a[0]}`, kindNames[c.a[1]!]!);
    if (c.op === 'F') for (const [k, v] of [...out]) if (k.startsWith('parent.')) out.set(`child.${k.slice(7)}`, v);
  });
  return out;
}
