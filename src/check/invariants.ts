// Invariants checked after every step. Each is a consequence of a kernel rule; a broken one is
// reported like a BUG with the rule it breaks.

import type { Kernel } from '../kernel.js';
import { PG_anon, PG_anon_exclusive, PG_buddy } from '../mm/page-flags.js';
import { PTE_SPECIAL } from '../include/linux/mm.js';
import { peekTasks } from '../vm/mm.js';

/**
 * Check every invariant. With `written` (the folio runs the step wrote), only folios that were
 * written or are mapped are checked: the explorer's mode, since a folio nobody wrote and nobody
 * maps cannot have changed. Page tables are always walked in full (they are what is mapped).
 */
export function checkInvariants(k: Kernel, written?: ReadonlyArray<readonly [number, number]>): string[] {
  const mem = k.mem;
  const out: string[] = [];
  // 1. Recount mappings from the page tables: mapcount and entire_mapcount must match (rmap).
  const ptes = new Map<number, number>();
  const pmds = new Map<number, number>();
  for (const t of peekTasks(k).values()) {
    if (t.peekExited()) continue;
    // A fork the explorer paused half-way: the child's page tables already map pages.
    for (const v of t.mm.peekRmapVmas()) {
      for (const e of v.peekPmdLeaves().values()) {
        if (mem.isHugeZero(e.pfn)) continue;
        if (mem.isFree(e.pfn)) out.push(`PMD in ${t.name} maps free pfn ${e.pfn} (use after free)`);
        pmds.set(e.pfn, (pmds.get(e.pfn) ?? 0) + 1);
      }
      for (let i = 0, n = v.nrPages; i < n; i++) {
        const p = v.peekPte(i);
        if (p < 0 || v.peekPteBits(i) & PTE_SPECIAL) continue;
        if (mem.isFree(p)) out.push(`PTE ${t.name}:0x${(v.start + i * 4096).toString(16)} maps free pfn ${p} (use after free)`);
        ptes.set(p, (ptes.get(p) ?? 0) + 1);
      }
    }
  }
  for (const head of written ? scopedHeads(k, written, ptes, pmds) : mem.allocatedHeads()) {
    const nr = mem.folioNrPages(head);
    let mapRefs = pmds.get(head) ?? 0;
    if (mem.entireMapcount(head) !== mapRefs)
      out.push(`folio ${head}: entire_mapcount ${mem.entireMapcount(head)} but ${mapRefs} PMD mapping(s)`);
    for (let i = 0; i < nr; i++) {
      const p = head + i;
      const mapped = ptes.get(p) ?? 0;
      if (mem.mapcountOf(p) !== mapped) out.push(`pfn ${p}: mapcount ${mem.mapcountOf(p)} but ${mapped} PTE(s) map it`);
      mapRefs += mapped;
    }
    const ref = mem.ref(head);
    const pin = mem.pincount(head);
    // 2. Every mapping holds a reference (R1); a wrapped (negative) refcount is the overflow case of R119.
    if (ref >= 0 && ref < mapRefs + (mem.mappingOf(head) > 0 ? 1 : 0))
      out.push(`folio ${head}: refcount ${ref} below its ${mapRefs} mapping(s)${mem.mappingOf(head) > 0 ? ' + page cache' : ''}`);
    // 3. A large folio's pins are also references (R3).
    if (pin < 0) out.push(`folio ${head}: negative pincount ${pin}`);
    if (ref >= 0 && pin > ref) out.push(`folio ${head}: pincount ${pin} above refcount ${ref}`);
    // 4. Pinned anonymous pages stay exclusive (R44, sanity_check_pinned_pages()).
    if (k.profile.anonExclusive && pin > 0 && mem.test(head, PG_anon)) {
      let anyExclusive = false;
      for (let i = 0; i < nr && !anyExclusive; i++) anyExclusive = (mem.flagsOf(head + i) & PG_anon_exclusive) !== 0;
      if (!anyExclusive && mapRefs > 0) out.push(`folio ${head}: pinned anonymous folio with no PageAnonExclusive page`);
    }
  }
  // 5. The zero page is never pinned from v6.5 (R4): its refcount only moves with GETs.
  for (const z of mem.zeroPfns) {
    if (mem.flagsOf(z) & PG_buddy) out.push(`zero page ${z} on a free list`);
    if (mem.ref(z) <= 0 && mem.ref(z) > -(2 ** 30)) out.push(`zero page ${z}: refcount ${mem.ref(z)}`);
  }
  return out;
}

/** Allocated folio heads among the written runs and the mapped pfns, each once (in a deterministic order). */
function scopedHeads(k: Kernel, written: ReadonlyArray<readonly [number, number]>, ptes: Map<number, number>, pmds: Map<number, number>): Set<number> {
  const mem = k.mem;
  const heads = new Set<number>();
  const add = (p: number) => {
    if (p < 0 || p >= mem.nrPages || mem.isFree(p)) return;
    heads.add(mem.head(p));
  };
  for (const [lo, hi] of written) for (let p = lo; p <= hi; p++) add(p);
  for (const p of ptes.keys()) add(p);
  for (const p of pmds.keys()) add(p);
  return heads;
}
