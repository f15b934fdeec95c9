// Exhaustive exploration: every interleaving, by depth-first search with
// stateless re-execution (each schedule is run from a fresh start()).

import { isPreemption, type ExploreOptions, type ExploreResult, type Footprint, type Program } from './program.js';

interface Node {
  /** the actors that may be chosen here (enabled, within the preemption bound) */
  choices: number[];
  idx: number;
}

export class NondeterminismError extends Error {
  override name = 'NondeterminismError';
}

export function exploreExhaustive(p: Program, opts: ExploreOptions = {}): ExploreResult {
  const t0 = performance.now();
  const bound = opts.preemptionBound ?? Infinity;
  const max = opts.maxSchedules ?? Infinity;
  const endStates = new Set<string>();
  const stack: Node[] = [];
  let schedulesRun = 0;
  let schedulesPruned = 0;
  let failures = 0;
  let failure: ExploreResult['failure'];
  const result = (verdict: ExploreResult['verdict']): ExploreResult => ({
    verdict, schedulesRun, schedulesPruned, distinctEndStates: endStates.size, endStates, failure, failures,
    elapsedMs: performance.now() - t0,
  });

  for (;;) {
    const exec = p.start();
    const sched: number[] = [];
    const fps: Footprint[] = [];
    let preemptions = 0;
    let fail: string | undefined;
    for (let depth = 0; ; depth++) {
      let node = stack[depth];
      const en = exec.enabled();
      const prev = sched[sched.length - 1];
      if (node === undefined) {
        if (en.length === 0) break;
        const choices = en.filter((a) => preemptions + (isPreemption(prev, a, en) ? 1 : 0) <= bound);
        schedulesPruned += en.length - choices.length;
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
    if (fail === undefined) {
      const fin = exec.finish();
      endStates.add(exec.finalState());
      if (fin !== null) fail = fin;
    }
    schedulesRun++;
    opts.onSchedule?.(sched, fps, fail);
    if (fail !== undefined) {
      failures++;
      failure ??= { schedule: sched, message: fail };
      if (!opts.all) return result('fail');
    }
    while (stack.length > 0 && stack[stack.length - 1].idx + 1 >= stack[stack.length - 1].choices.length) stack.pop();
    if (stack.length === 0) return result(failures > 0 ? 'fail' : 'pass');
    if (schedulesRun >= max) return result(failures > 0 ? 'fail' : 'incomplete');
    stack[stack.length - 1].idx++;
  }
}
