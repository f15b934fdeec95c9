// Shrinking a diverging program: drop calls, then shrink lengths and counts, keeping a candidate
// only when both sides, re-run, still differ in the same way (the same signature: the kind of
// difference and the call it is at). Each round evaluates all its candidates in one kernel batch
// (one process on the host, one boot under UML), so a round costs one batch, not one per candidate.

import { PAGE, type Call, type Program } from './program.js';

/** Whether the calls make sense as a program: child calls between its fork and its exit, one fork. */
export function wellFormed(calls: readonly Call[]): boolean {
  let child = false;
  let forked = false;
  if (!calls.length) return false;
  for (const c of calls) {
    if (c.op === 'F') {
      if (forked) return false;
      forked = child = true;
      continue;
    }
    if (c.op === 'X') {
      if (!child) return false;
      child = false;
      continue;
    }
    if (c.task === 1 && !child) return false;
    if (c.op === 'Q' && !child) return false;
  }
  return true;
}

/** Candidates with one chunk of `size` calls removed, at every chunk position. */
function removals(p: Program, size: number): Program[] {
  const out: Program[] = [];
  for (let i = 0; i + size <= p.calls.length; i += size) {
    const calls = [...p.calls.slice(0, i), ...p.calls.slice(i + size)];
    if (wellFormed(calls)) out.push({ id: p.id, calls });
  }
  return out;
}

/** Argument positions that are sizes (pages or bytes), per op. */
const SIZE_ARGS: Readonly<Record<string, readonly number[]>> = {
  M: [2], U: [2], P: [2], A: [2], T: [2], R: [3], W: [3], I: [2, 3], K: [5], Q: [3], S: [2],
};

function smaller(v: number, bytes: boolean): number[] {
  if (bytes) {
    const pages = Math.floor(v / PAGE);
    const rest = v % PAGE;
    const out: number[] = [];
    if (pages > 1) out.push(Math.ceil(pages / 2) * PAGE + rest, PAGE + rest);
    return out.filter((x) => x < v && x > 0);
  }
  return [...new Set([1, Math.ceil(v / 2), v - 1])].filter((x) => x < v && x > 0);
}

/** Candidates with one size argument made smaller. */
function reductions(p: Program): Program[] {
  const out: Program[] = [];
  p.calls.forEach((c, i) => {
    for (const ix of SIZE_ARGS[c.op] ?? []) {
      const bytes = (c.op === 'R' || c.op === 'W' || c.op === 'Q' || c.op === 'S' || (c.op === 'I' && ix === 2) || c.op === 'K');
      for (const v of smaller(c.a[ix]!, bytes)) {
        const a = [...c.a];
        a[ix] = v;
        out.push({ id: p.id, calls: p.calls.map((x, j) => (j === i ? { ...c, a } : x)) });
      }
    }
  });
  return out;
}

/**
 * Shrink `p`. `stillDiverges` runs candidates on both sides and says, per candidate, whether it
 * diverges with the same signature. `rounds` bounds the batches.
 */
export async function shrinkProgram(
  p: Program, stillDiverges: (cands: readonly Program[]) => Promise<boolean[]>, opts: { rounds?: number } = {},
): Promise<{ program: Program; rounds: number }> {
  let cur = p;
  let rounds = 0;
  const max = opts.rounds ?? 24;
  const attempt = async (cands: Program[]): Promise<boolean> => {
    if (!cands.length || rounds >= max) return false;
    rounds++;
    const ok = await stillDiverges(cands);
    const i = ok.indexOf(true);
    if (i < 0) return false;
    cur = cands[i]!;
    return true;
  };
  let size = Math.max(1, Math.floor(cur.calls.length / 2));
  while (rounds < max) {
    if (await attempt(removals(cur, size))) continue;
    if (size > 1) {
      size = Math.max(1, Math.floor(size / 2));
      continue;
    }
    break;
  }
  while (rounds < max && await attempt(reductions(cur)));
  return { program: cur, rounds };
}
