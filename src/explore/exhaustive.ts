// Exhaustive exploration: every interleaving, by depth-first search with
// stateless re-execution (each schedule is run from a fresh start()).

import { isPreemption, Tally, type ExploreOptions, type ExploreResult, type Footprint, type Program } from './program.js';

interface Node {
  /** the actors that may be chosen here (enabled, within the preemption bound) */
  choices: number[];
  idx: number;
}

export class NondeterminismError extends Error {
  override name = 'NondeterminismError';
}

export function exploreExhaustive(p: Program, opts: ExploreOptions = {}): ExploreResult {
  const bound = opts.preemptionBound ?? Infinity;
  const max = opts.maxSchedules ?? Infinity;
  const stack: Node[] = [];
  const tally = new Tally(opts);

  for (;;) {
    const exec = p.start();
    const sched: number[] = [];
    const fps: Footprint[] = [];
    let preemptions = opts.rootPreemptions ?? 0;
    let fail: string | undefined;
    for (let depth = 0; ; depth++) {
      let node = stack[depth];
      const en = exec.enabled();
      const prev = depth === 0 ? opts.rootPrev : sched[sched.length - 1];
      if (node === undefined) {
        if (en.length === 0) break;
        const choices = en.filter((a) => preemptions + (isPreemption(prev, a, en) ? 1 : 0) <= bound);
        tally.schedulesPruned += en.length - choices.length;
        if (choices.length === 0) break; // cannot happen: a non-preemptive choice always exists
        node = { choices, idx: 0 };
        stack.push(node);
      }
      const a = node.choices[node.idx];
      if (!en.includes(a)) throw new NondeterminismError(`replaying ${sched.join('.')}: actor ${a} is not enabled on re-execution`);
      if (isPreemption(prev, a, en)) preemptions++;
      const r = exec.step(a);
      sched.push(a);
      fps.push(r.footprint);
      if (r.failure !== undefined) { fail = r.failure; break; }
    }
    stack.length = sched.length;
    if (tally.complete(exec, sched, fps, fail)) return tally.result('fail');
    while (stack.length > 0 && stack[stack.length - 1].idx + 1 >= stack[stack.length - 1].choices.length) stack.pop();
    if (stack.length === 0) return tally.end('pass');
    if (tally.schedulesRun >= max) return tally.end('incomplete');
    stack[stack.length - 1].idx++;
  }
}
