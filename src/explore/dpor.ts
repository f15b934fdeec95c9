// Source-set DPOR with sleep sets (Abdulla, Aronis, Jonsson, Sagonas,
// "Source Sets: A Foundation for Optimal Dynamic Partial Order Reduction",
// JACM 2017, Algorithm 1), stateless, driven by the footprints steps report.
//
// Every Mazurkiewicz trace of the program (under the footprint dependence
// relation) is explored at least once; source sets + sleep sets make most
// redundant executions disappear, but a few may still be run or be abandoned
// as "sleep-set blocked" (counted in schedulesPruned). Wakeup trees (optimal
// DPOR) are not implemented.
//
// Assumptions for soundness:
//  * determinism: re-running the same schedule gives the same steps/footprints;
//  * steps whose footprints do not conflict commute and do not change each
//    other's footprints.
// Enabledness is handled without footprints: if the execution reports blocked
// actors (Execution.blocked), a blocked actor's pending step is treated as
// racing with every write not ordered before it (an over-approximation); a step that makes actor q enabled
// is ordered before q's next step (a happens-before edge, never a race); a
// step that disables q makes DPOR also try q first at that point, and wakes q
// from the sleep set. If a race reversal needs an actor that is not enabled
// where the reversal would go, all enabled actors are added there (the
// Flanagan–Godefroid fallback).
//
// Preemption bound: refused (RangeError). Dropping the backtrack points beyond
// the bound does not cover every trace that has a bounded-preemption
// representative (Coons et al., "Bounded Partial-Order Reduction", OOPSLA 2013;
// loom's Path::backtrack adds a conservative point for it); nothing here
// proves such a scheme complete together with sleep sets, so a bounded search
// is exploreExhaustive's (exact).

import { dependent, isPreemption, Tally, type ExploreOptions, type ExploreResult, type Footprint, type Program } from './program.js';
import { NondeterminismError } from './exhaustive.js';

interface Node {
  enabled: readonly number[];
  /** actors to explore from here (includes those done) */
  backtrack: Set<number>;
  /** actors explored from here, with the footprint of their step */
  done: Map<number, Footprint>;
  /** sleep set on entry: actors whose step here is already covered */
  sleep: Map<number, Footprint>;
  /** backtrack entries dropped by the preemption bound */
  pruned: Set<number>;
  chosen: number;
  /** preemptions in the schedule before this node */
  preemptions: number;
}

interface Event {
  actor: number;
  fp: Footprint;
  /** clock[b] = index of the latest event of actor b that happens-before-or-equals this one, or -1 */
  clock: Int32Array;
  /** the event that made this actor enabled (it was disabled just before), if any */
  enabler?: number;
}

export function exploreDpor(p: Program, opts: ExploreOptions = {}): ExploreResult {
  if (opts.preemptionBound !== undefined) {
    throw new RangeError('DPOR with a preemption bound is not complete (bounded partial-order reduction is not implemented): use exhaustive search for a bounded search');
  }
  const nActors = p.actors.length;
  const bound = Infinity;
  const max = opts.maxSchedules ?? Infinity;
  const nodes: Node[] = [];
  const events: Event[] = [];
  const tally = new Tally(opts);

  const hb = (i: number, j: number): boolean => i <= events[j].clock[events[i].actor];

  const addEvent = (actor: number, fp: Footprint, enabler: number | undefined): void => {
    const k = events.length;
    const clock = new Int32Array(nActors).fill(-1);
    for (let j = k - 1; j >= 0; j--) {
      const e = events[j];
      if (e.actor === actor) { // program order: everything before it is already joined
        for (let b = 0; b < nActors; b++) if (e.clock[b] > clock[b]) clock[b] = e.clock[b];
        break;
      }
    }
    for (let j = k - 1; j >= 0; j--) {
      const e = events[j];
      if (e.actor !== actor && clock[e.actor] < j && dependent(e.actor, e.fp, actor, fp)) {
        for (let b = 0; b < nActors; b++) if (e.clock[b] > clock[b]) clock[b] = e.clock[b];
      }
    }
    if (enabler !== undefined) {
      // enabling is a happens-before edge (never a reversible race)
      const e = events[enabler];
      for (let b = 0; b < nActors; b++) if (e.clock[b] > clock[b]) clock[b] = e.clock[b];
    }
    clock[actor] = k;
    events.push({ actor, fp, clock, enabler });
    analyzeRaces(k);
  };

  /** Race reversal for the new event k (Algorithm 1, lines 6–9). */
  const analyzeRaces = (k: number): void => {
    const ek = events[k];
    // join of the clocks of the events in (j, k) that happen-before k: j is
    // ordered before k through one of them iff j <= through[actor(j)]
    const through = new Int32Array(nActors).fill(-1);
    for (let j = k - 1; j >= 0; j--) {
      const ej = events[j];
      const via = j <= through[ej.actor];
      if (hb(j, k)) for (let b = 0; b < nActors; b++) if (ej.clock[b] > through[b]) through[b] = ej.clock[b];
      // a race: different actors, dependent, and no event in between ordered after j and before k
      if (via || ej.actor === ek.actor || j === ek.enabler || !dependent(ej.actor, ej.fp, ek.actor, ek.fp)) continue;
      // v = the events after j not ordered after it, then k; its initials
      const v: number[] = [];
      for (let m = j + 1; m < k; m++) if (!hb(j, m)) v.push(m);
      v.push(k);
      const initials = new Set<number>();
      for (let x = 0; x < v.length; x++) {
        let first = true;
        for (let y = 0; y < x && first; y++) if (hb(v[y], v[x])) first = false;
        if (first) initials.add(events[v[x]].actor);
      }
      addInitials(j, initials);
    }
  };

  /** Make sure backtrack(state j) contains one of `initials` (Algorithm 1, lines 8–9). */
  const addInitials = (j: number, initials: Set<number>): void => {
    const node = nodes[j];
    for (const q of initials) if (node.backtrack.has(q) || node.sleep.has(q)) return;
    const q = [...initials].find((a) => node.enabled.includes(a));
    if (q !== undefined) node.backtrack.add(q);
    else for (const a of node.enabled) node.backtrack.add(a);
  };

  /**
   * Actor q is blocked after the last event. Its pending step's footprint is
   * unknown, so treat it as racing with every step by another actor that
   * wrote something and is not ordered before q's last step.
   */
  const blockedRaces = (q: number): void => {
    const i = events.length;
    let last = -1;
    for (let m = i - 1; m >= 0; m--) if (events[m].actor === q) { last = m; break; }
    const qClock = last >= 0 ? events[last].clock : undefined;
    const before = (m: number): boolean => qClock !== undefined && m <= qClock[events[m].actor];
    for (let j = i - 1; j >= 0; j--) {
      const ej = events[j];
      if (ej.actor === q || ej.fp.writes.size === 0 || before(j)) continue;
      const v: number[] = [];
      for (let m = j + 1; m < i; m++) if (!hb(j, m)) v.push(m);
      const initials = new Set<number>();
      let qFirst = true;
      for (let x = 0; x < v.length; x++) {
        let first = true;
        for (let y = 0; y < x && first; y++) if (hb(v[y], v[x])) first = false;
        if (first) initials.add(events[v[x]].actor);
        if (before(v[x])) qFirst = false;
      }
      if (qFirst) initials.add(q);
      addInitials(j, initials);
    }
  };

  for (;;) {
    const exec = p.start();
    const sched: number[] = [];
    const fps: Footprint[] = [];
    const replayedEvents = events.length;
    let fail: string | undefined;
    let blocked = false;
    let preemptions = opts.rootPreemptions ?? 0;
    // sleep set for the next new node
    let childSleep = new Map<number, Footprint>(nodes.length === 0 ? opts.rootSleep ?? [] : []);
    // per actor: the event that last enabled it (it was disabled before that event)
    const enablerOf = new Map<number, number>();
    let enBefore: readonly number[] = [];
    for (let depth = 0; ; depth++) {
      const en = exec.enabled();
      if (depth > 0) {
        // enabledness changes caused by the previous step (event depth-1)
        for (const q of en) if (!enBefore.includes(q)) enablerOf.set(q, depth - 1);
        if (depth - 1 >= replayedEvents) {
          const pn = nodes[depth - 1];
          for (const q of enBefore) {
            if (q === pn.chosen || en.includes(q)) continue;
            // the step disabled q: q's step is in conflict with it; try q first there too
            if (!pn.sleep.has(q)) pn.backtrack.add(q);
          }
          for (const q of childSleep.keys()) if (!enBefore.includes(q) || !en.includes(q)) childSleep.delete(q);
        }
      }
      enBefore = en;
      const prev = depth === 0 ? opts.rootPrev : sched[sched.length - 1];
      let node = nodes[depth];
      if (node === undefined) {
        if (en.length === 0) break;
        const awake = en.filter((a) => !childSleep.has(a));
        if (awake.length === 0) { blocked = true; break; }
        const within = awake.filter((a) => preemptions + (isPreemption(prev, a, en) ? 1 : 0) <= bound);
        if (within.length === 0) { blocked = true; break; }
        const a = prev !== undefined && within.includes(prev) ? prev : within[0];
        node = { enabled: en, backtrack: new Set([a]), done: new Map(), pruned: new Set(), sleep: childSleep, chosen: a, preemptions };
        nodes.push(node);
      }
      const a = node.chosen;
      if (!en.includes(a)) throw new NondeterminismError(`replaying ${sched.join('.')}: actor ${a} is not enabled on re-execution`);
      if (isPreemption(prev, a, en)) preemptions++;
      const r = exec.step(a);
      sched.push(a);
      fps.push(r.footprint);
      const enabler = enablerOf.get(a);
      enablerOf.delete(a);
      if (depth >= events.length) {
        // a new step: the divergence point or beyond
        node.done.set(a, r.footprint);
        const next = new Map<number, Footprint>();
        for (const src of [node.sleep, node.done]) {
          for (const [q, f] of src) if (q !== a && !dependent(q, f, a, r.footprint)) next.set(q, f);
        }
        childSleep = next;
        addEvent(a, r.footprint, enabler);
        for (const q of exec.blocked?.() ?? []) blockedRaces(q);
      }
      if (r.failure !== undefined) {
        // A failing step ends the execution: it disables every other actor, so (as for any
        // disabling step) each of them is also tried first here. Without this, a race between
        // another actor's next step and an earlier step is never seen when that step fails.
        for (const q of en) if (q !== a && !node.sleep.has(q)) node.backtrack.add(q);
        fail = r.failure;
        break;
      }
    }
    if (blocked) {
      tally.schedulesPruned++;
    } else {
      if (tally.complete(exec, sched, fps, fail)) return tally.result('fail');
    }
    // backtrack: the deepest node with something left to explore
    nodes.length = sched.length;
    let resumed = false;
    while (nodes.length > 0) {
      const i = nodes.length - 1;
      const node = nodes[i];
      const prev = i > 0 ? nodes[i - 1].chosen : opts.rootPrev;
      for (const q of node.backtrack) {
        if (node.done.has(q) || node.pruned.has(q) || node.sleep.has(q) || !node.enabled.includes(q)) continue;
        if (node.preemptions + (isPreemption(prev, q, node.enabled) ? 1 : 0) > bound) {
          node.pruned.add(q);
          tally.schedulesPruned++;
          continue;
        }
        node.chosen = q;
        events.length = i;
        resumed = true;
        break;
      }
      if (resumed) break;
      nodes.pop();
    }
    if (!resumed) return tally.end('pass');
    if (tally.schedulesRun >= max) return tally.end('incomplete');
  }
}
