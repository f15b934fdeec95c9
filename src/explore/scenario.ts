// A multi-actor scenario (setup: + actors:, docs/explorer.md) as a Program for the explorer.
// Each schedule runs the setup on a fresh session, then one actor step at a time through the
// scenario runner (so expectations, bindings and the end: checks mean what they mean in
// `pinlab run`); a step's footprint is that of the trace events it appended.

import type { Backend } from '../scenario/backend.js';
import type { ArgNode, Check, Scenario, Step, ValueNode } from '../scenario/ast.js';
import { namesIn } from '../scenario/expr.js';
import { Runner, type Verdict } from '../scenario/run.js';
import type { Execution, Footprint, Program, StepResult } from './program.js';
import type { FootprintSink } from '../trace/footprint.js';
import { GraphSnapshot } from './snapshot.js';

/** Above this many folio PFNs in one step, the step's folio footprint is the coarse id `folio:*`. */
export const FOLIO_ID_CAP = 4096;

interface TraceEventLike { footprint: { reads: Record<string, Array<[number, number]>>; writes: Record<string, Array<[number, number]>> } }

function namesOfValue(v: ValueNode, out: Set<string>): void {
  if (v.kind === 'list') for (const i of v.items) namesOfValue(i, out);
  else if (v.kind === 'expr') for (const { name } of namesIn(v.expr)) out.add(name);
}

function namesOfArgs(args: readonly ArgNode[], out: Set<string>): void {
  for (const a of args) namesOfValue(a.value, out);
}

function namesOfChecks(checks: readonly Check[], out: Set<string>): void {
  for (const c of checks) {
    namesOfArgs(c.args, out);
    for (const f of c.fields) {
      const cmps = f.expected.kind === 'all' ? [f.expected.value] : [...f.expected.cases.values(), ...(f.expected.fallback ? [f.expected.fallback] : [])];
      for (const cmp of cmps) {
        if (cmp.kind === 'one_of') for (const v of cmp.values) namesOfValue(v, out);
        else namesOfValue(cmp.value, out);
      }
    }
  }
}

/** The names bound by `as:` that a step uses (in its arguments or expectations). */
function boundNamesUsed(step: Step, bindable: ReadonlySet<string>): string[] {
  const names = new Set<string>();
  if (step.kind === 'op') {
    namesOfArgs(step.args, names);
    if (step.expect) namesOfChecks(step.expect.checks, names);
    const ret = step.expect?.ret?.expected;
    if (ret) {
      const cmps = ret.kind === 'all' ? [ret.value] : [...ret.cases.values(), ...(ret.fallback ? [ret.fallback] : [])];
      for (const cmp of cmps) {
        if (cmp.kind === 'one_of') for (const v of cmp.values) namesOfValue(v, names);
        else namesOfValue(cmp.value, names);
      }
    }
  } else if (step.kind === 'expect') namesOfChecks(step.checks, names);
  else if (step.kind === 'let') for (const b of step.bindings) namesOfValue(b.value, names);
  return [...names].filter((n) => bindable.has(n));
}

/** Object id strings, interned per kind: the same id is the same string, built once. */
const ID_CACHE = new Map<string, string[]>();
function idCache(kind: string): string[] {
  let c = ID_CACHE.get(kind);
  if (!c) ID_CACHE.set(kind, (c = []));
  return c;
}
function objectId(c: string[], kind: string, i: number): string {
  if (i >= 0 && i < 1 << 20) return (c[i] ??= `${kind}:${i}`);
  return `${kind}:${i}`;
}

/**
 * Expand trace-event footprints to object ids: folio runs → `folio:<pfn>` (capped), other kinds →
 * `<kind>:<id>`; vmstat ignored. A step that touches folios also reads `folio:*`, and a step over the
 * cap is coarse (`folio:*` written): it conflicts with every step that touches a folio, while two
 * fine steps conflict only through the folios they share.
 */
export function footprintIds(events: readonly TraceEventLike[]): Footprint {
  const ids = new IdCollector();
  for (const e of events) {
    for (const side of [false, true]) {
      const m = side ? e.footprint.writes : e.footprint.reads;
      for (const kind in m) {
        const runs = m[kind];
        for (let j = 0; j < runs.length; j++) ids.run(side, kind, runs[j][0], runs[j][1]);
      }
    }
  }
  return ids.result();
}

/** footprintIds() fed run by run (Session.takeFootprintRuns(): the explorer's per-step path). */
class IdCollector implements FootprintSink {
  private readonly reads = new Set<string>();
  private readonly writes = new Set<string>();
  private folios = [0, 0];
  private coarse = [false, false];
  private touches = false;

  run(write: boolean, kind: string, lo: number, hi: number): void {
    if (kind === 'vmstat') return;
    const side = write ? 1 : 0;
    if (kind === 'folio') {
      this.touches = true;
      if (this.coarse[side]) return;
      this.folios[side] += hi - lo + 1;
      if (this.folios[side] > FOLIO_ID_CAP) { this.coarse[side] = true; return; }
    }
    const out = write ? this.writes : this.reads;
    const c = idCache(kind); // once per run, not per id
    for (let i = lo; i <= hi; i++) out.add(objectId(c, kind, i));
  }

  result(): Footprint {
    for (const side of [0, 1]) {
      const out = side ? this.writes : this.reads;
      if (this.coarse[side]) for (const id of [...out]) if (id.startsWith('folio:')) out.delete(id);
    }
    if (this.touches) this.reads.add('folio:*');
    if (this.coarse[0] || this.coarse[1]) { this.reads.add('folio:*'); this.writes.add('folio:*'); }
    return { reads: this.reads, writes: this.writes };
  }
}

function failureOf(v: Verdict): string {
  const said = v.message !== undefined && v.description.includes(v.message.replace(/^[^:]*: /, ''));
  return `${v.description}${v.message && !said ? `: ${v.message}` : ''}`;
}

/**
 * The explorer's view of a multi-actor scenario on one profile. Throws RangeError if the
 * scenario has no actors.
 */
export interface ScenarioProgram extends Program {
  /** The trace of the session of the most recent execution (for `pinlab replay --trace`). */
  lastTrace(): unknown;
  /** The verdicts of the most recent execution (its failing checks, for traces and reports). */
  lastVerdicts(): readonly Verdict[];
  /** The runner of the most recent execution (the snapshot tests compare its whole state). */
  lastRunner(): Runner | null;
  /** What a schedule's restore writes (null: no snapshot taken, schedules replay the setup). */
  snapshotCensus(): ReturnType<GraphSnapshot['census']> | null;
}

export interface ScenarioProgramOptions {
  /**
   * Keep the full trace (for `replay --trace` and counterexamples). Without it the session runs in
   * the backend's explore mode: footprints only, invariants checked on what each step touched.
   */
  trace?: boolean;
  /**
   * Restore a snapshot of the state after the setup for each schedule instead of replaying the
   * setup on a new session (default true; off with trace, and when the state cannot be captured,
   * snapshot.ts). Off: every schedule starts from scratch (the tests compare the two).
   */
  snapshot?: boolean;
}

export function scenarioProgram(scn: Scenario, backend: Backend, profile: string, opts: ScenarioProgramOptions = {}): ScenarioProgram {
  if (!scn.actors) throw new RangeError(`${scn.file}: not a multi-actor scenario (it has no actors:)`);
  const forProfile = (s: Step) => !s.profiles || s.profiles.includes(profile);
  const setup = (scn.setup ?? []).filter(forProfile);
  const bindable = new Set<string>();
  for (const s of scn.steps) {
    if (s.kind === 'op' && s.bind) bindable.add(s.bind.name);
    if (s.kind === 'let') for (const b of s.bindings) bindable.add(b.name);
  }
  const actors = scn.actors.map((a) => {
    const steps = a.steps.filter(forProfile);
    return { name: a.name, steps, needs: steps.map((s) => boundNamesUsed(s, bindable)) };
  });
  const finalSteps = (scn.final ?? []).filter(forProfile);
  const allowWarns = scn.explore?.allowWarns ?? [];

  let last: Runner | null = null;
  // The state after the setup (the first schedule captures it), restored for every later one.
  let snapshots = !opts.trace && opts.snapshot !== false;
  let base: { snap: GraphSnapshot; runner: Runner; stopped: boolean } | null = null;
  return {
    actors: actors.map((a) => a.name),
    lastTrace: () => last?.current.trace() ?? null,
    lastVerdicts: () => last?.verdictsSoFar ?? [],
    lastRunner: () => last,
    snapshotCensus: () => base?.snap.census() ?? null,
    start(): Execution {
      let runner: Runner;
      let stopped = false;
      if (base !== null) {
        base.snap.restore();
        runner = base.runner;
        stopped = base.stopped;
      } else {
        runner = new Runner(scn, backend, profile, false, { lightweight: !opts.trace });
        runner.begin();
        for (const s of setup) {
          if (runner.runStep(s)) { stopped = true; break; }
        }
      }
      last = runner;
      const session = runner.current;
      const direct = !opts.trace && session.takeFootprint !== undefined;
      const setupFailure = runner.verdictsSoFar.find((v) => !v.ok);
      const next = actors.map(() => 0);
      let seen = direct ? 0 : (session.trace() as { events: unknown[] }).events.length;
      if (direct) {
        if (session.takeFootprintRuns) session.takeFootprintRuns(new IdCollector());
        else session.takeFootprint!();
      }
      if (base === null && snapshots && direct) {
        // The state after the setup, for the next schedules (the setup's footprint taken first).
        const snap = GraphSnapshot.capture([runner], [scn, backend]);
        if (snap) base = { snap, runner, stopped };
        else snapshots = false;
      }
      const dispose = () => { if (!opts.trace && base === null) session.dispose?.(); };
      let verdictsSeen = runner.verdictsSoFar.length;
      let final: string | null = null;
      const written = new Set<string>();
      // An actor inside an operation stopped at a yield point (preempt:) resumes it next.
      const mid = actors.map(() => false);
      const ready = (a: number) => {
        const st = actors[a].steps[next[a]];
        const blockedOn = session.blockedOn;
        const th = actors[a].name;
        if (mid[a]) return !blockedOn || blockedOn.call(session, th, runner.taskOfStep(st), null) === null;
        for (const n of actors[a].needs[next[a]]) if (!runner.isBound(n)) return false;
        return !blockedOn || st.kind !== 'op' || blockedOn.call(session, th, runner.taskOfStep(st), st.op) === null;
      };
      const pending = (a: number) => !stopped && next[a] < actors[a].steps.length;
      const which = (wantReady: boolean): number[] => {
        const out: number[] = [];
        if (setupFailure) return out;
        for (let a = 0; a < actors.length; a++) if (pending(a) && ready(a) === wantReady) out.push(a);
        return out;
      };
      const snapshot = (): string => {
        const s = runner.current;
        const d = s.query(null, 'digest', {});
        const vm = s.query(null, 'vmstat', {});
        let out = `${String(d.tasks)}\n${String(d.files)}\n`;
        for (const k in vm) if (vm[k] !== 0 && vm[k] !== null) out += `${k}=${String(vm[k])} `;
        const warns = new Set<string>();
        for (const w of s.warnings()) warns.add(w.id);
        return `${out}\nwarn ${[...warns].sort().join(',')}\nbug ${s.bug()?.message ?? '-'}`;
      };
      // A WARN is a kernel bug report: one no expectation accounts for and explore: allow_warns does
      // not allow fails the schedule.
      let warnsSeen = runner.warningsSoFar.length;
      const unexpectedWarn = (): string | null => {
        const ws = runner.warningsSoFar;
        for (let i = warnsSeen; i < ws.length; i++) {
          const w = ws[i];
          if (!w.expected && !allowWarns.some((x) => w.id.includes(x))) {
            warnsSeen = ws.length;
            return `WARN ${w.id}: ${w.message}`;
          }
        }
        warnsSeen = ws.length;
        return null;
      };
      return {
        enabled: () => which(true),
        blocked: () => which(false),
        step(a: number): StepResult {
          const step = actors[a].steps[next[a]];
          const stop = mid[a] ? runner.resumeStep(step, actors[a].name) : runner.runStep(step, actors[a].name);
          mid[a] = !stop && runner.isPaused(step);
          if (!mid[a]) next[a]++;
          if (stop) stopped = true;
          let fp: Footprint;
          if (direct && session.takeFootprintRuns) {
            const ids = new IdCollector();
            session.takeFootprintRuns(ids);
            fp = ids.result();
          } else if (direct) fp = footprintIds([{ footprint: session.takeFootprint!() }]);
          else {
            const events = (session.trace() as { events: TraceEventLike[] }).events;
            fp = footprintIds(events.slice(seen));
            seen = events.length;
          }
          // A step that checks queries reads whatever was written before it.
          const checks = step.kind === 'expect' || step.kind === 'mark' || (step.kind === 'op' && (step.expect?.checks.length ?? 0) > 0);
          if (checks) fp = { reads: new Set([...fp.reads, ...written]), writes: fp.writes };
          for (const w of fp.writes) written.add(w);
          const fresh = runner.verdictsSoFar.slice(verdictsSeen);
          verdictsSeen = runner.verdictsSoFar.length;
          const bad = fresh.find((v) => !v.ok);
          const bug = runner.bugSoFar;
          const failure = bad ? failureOf(bad) : stop && bug && !bug.expected ? `BUG: ${bug.message}` : unexpectedWarn();
          if (failure === null) return { footprint: fp };
          // The execution ends here: keep its end state, then recycle its memory.
          final = snapshot();
          dispose();
          return { footprint: fp, failure: `${actors[a].name}: ${failure}` };
        },
        finalState: () => final ?? snapshot(),
        finish(): string | null {
          if (setupFailure) return `setup: ${failureOf(setupFailure)}`;
          const stuck = stopped ? [] : actors.flatMap((x, a) => (pending(a) ? [x.name] : []));
          if (stuck.length > 0) {
            final = snapshot();
            const why = stuck.map((n) => {
              const a = actors.findIndex((x) => x.name === n);
              const st = actors[a].steps[next[a]];
              return `${n}: ${session.blockedOn?.(n, runner.taskOfStep(st), mid[a] || st.kind !== 'op' ? null : st.op) ?? `waits for ${actors[a].needs[next[a]].join(', ')}`}`;
            });
            dispose();
            return `deadlock: ${stuck.join(', ')} can never run (${why.join('; ')})`;
          }
          // finally: runs once every actor is done (not after a BUG stopped the run).
          let before = runner.verdictsSoFar.length;
          if (!stopped) {
            for (const s of finalSteps) if (runner.runStep(s)) break;
          }
          const finalBad = runner.verdictsSoFar.slice(before).find((v) => !v.ok);
          const bug = runner.bugSoFar;
          final = snapshot();
          const early = finalBad ? failureOf(finalBad) : bug && !bug.expected && !stopped ? `BUG: ${bug.message}` : unexpectedWarn();
          if (early !== null) {
            dispose();
            return `finally: ${early}`;
          }
          before = runner.verdictsSoFar.length;
          const res = runner.end();
          const bad = res.verdicts.slice(before).find((v) => !v.ok) ?? res.verdicts.find((v) => !v.ok);
          const warnEnd = bad ? null : unexpectedWarn();
          dispose();
          if (bad) return failureOf(bad);
          return warnEnd ? `teardown: ${warnEnd}` : null;
        },
      };
    },
  };
}
