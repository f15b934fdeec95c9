// Running a loaded scenario against a Backend: one Session per profile, a verdict per expectation.

import {
  ScenarioError, knownProfile, type AllocFailureReport, type Backend, type BugReport, type Session, type StepOutcome, type Value, type Warning,
} from './backend.js';
import type { ArgNode, Check, Comparison, LetStep, OpStep, PerProfile, RaiseExpect, Scenario, Step, StepExpect } from './ast.js';
import { ScenarioFileError, type Diagnostic, type SourcePos } from './errors.js';
import { namesIn, scopeOf, type Scope } from './expr.js';
import { printable, quoted } from './printable.js';
import { canonical, evalNode, evalTyped, nodeText, shownList, valueEquals } from './values.js';

export interface RunOptions {
  /** Run on this profile only, whatever the file asks for. */
  readonly profile?: string;
  /** Keep each session's trace in the result. */
  readonly trace?: boolean;
}

/** What verdicts record as expected and actual values: JSON. */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [k: string]: Json };

export interface Verdict {
  /** 1-based step number; null for the end-of-run verdicts (leaks, warns). */
  readonly step: number | null;
  /** Where the expectation is written. */
  readonly location: SourcePos;
  /** "step 3 pin_user_pages_fast: ret == 4" */
  readonly description: string;
  readonly ok: boolean;
  readonly expected?: Json;
  readonly actual?: Json;
  /** Why it failed: "expected 4, got -EFAULT". */
  readonly message?: string;
}

export interface RunWarning extends Warning {
  /** The scenario step during which the warning appeared (null: at start or teardown). */
  readonly scenarioStep: number | null;
  /** Whether a `warn:` or `end: warns:` expectation accounts for it. */
  expected: boolean;
}

/** An allocation failure, with the scenario step during which it happened (null: at start or teardown). */
export interface RunAllocFailure extends AllocFailureReport {
  readonly scenarioStep: number | null;
}

export interface RunBug extends BugReport {
  readonly scenarioStep: number | null;
  /** Whether the step expected it (`bug:`): then the run stopped there, and that is a pass. */
  readonly expected: boolean;
}

export interface ScenarioResult {
  readonly file: string;
  readonly name: string;
  readonly profile: string;
  /** Every verdict passed. */
  readonly ok: boolean;
  readonly verdicts: readonly Verdict[];
  readonly warnings: readonly RunWarning[];
  /**
   * Allocations that failed for want of memory (what the kernel logs with warn_alloc()); they do
   * not fail a run by themselves, but explain what fails after them. `allocFailuresSuppressed`
   * counts those past the first ten.
   */
  readonly allocFailures: readonly RunAllocFailure[];
  readonly allocFailuresSuppressed: number;
  readonly bug: RunBug | null;
  /** Leak lines reported at teardown. */
  readonly leaks: readonly string[];
  /** Steps run (steps skipped for the profile, or after a BUG, are not counted). */
  readonly stepsRun: number;
  readonly trace?: unknown;
  /** What `as:` bound, in order: the step, the name, the value (`-v` prints them). */
  readonly bound: readonly BoundValue[];
  /** Likely mistakes in the file seen while running: a name bound to a failed call's -errno, used later. */
  readonly hints: readonly RunHint[];
}

export interface BoundValue { readonly step: number; readonly op: string; readonly name: string; readonly value: Json }
export interface RunHint { readonly step: number; readonly location: SourcePos; readonly message: string }

/** Run a scenario once per profile (the file's, or opts.profile). Throws ScenarioFileError for misuse found at run time. */
export function runScenario(scn: Scenario, backend: Backend, opts: RunOptions = {}): ScenarioResult[] {
  if (opts.profile !== undefined && !knownProfile(backend, opts.profile)) {
    throw new RangeError(`unknown profile '${opts.profile}' (profiles: ${backend.profiles.join(', ')})`);
  }
  const profiles = opts.profile !== undefined ? [opts.profile] : scn.profiles;
  return profiles.map((p) => new Runner(scn, backend, p, opts.trace ?? false).run());
}

/** Value rendering for messages: -EFAULT for return values, hex for addresses, short arrays. */
export function renderValue(v: Value | undefined, constants: Readonly<Record<string, number>> = {}, asRet = false): string {
  if (v === undefined) return '(missing)';
  if (typeof v === 'number') {
    if (asRet && Number.isInteger(v) && v < 0 && v >= -4095) {
      const name = Object.keys(constants).find((k) => /^E[A-Z0-9]+$/.test(k) && constants[k] === -v);
      if (name) return `-${name}`;
    }
    if (Number.isInteger(v) && Math.abs(v) >= 2 ** 20) return `${v < 0 ? '-' : ''}0x${Math.abs(v).toString(16)}`;
    return String(v);
  }
  if (Array.isArray(v)) {
    const a = v as readonly Value[];
    const shown = a.slice(0, 8).map((x) => renderValue(x, constants));
    return `[${shown.join(', ')}${a.length > 8 ? `, ... (${a.length} items)` : ''}]`;
  }
  if (typeof v === 'string') return `"${printable(v)}"`;
  return printable(JSON.stringify(v), 200);
}

/** At most this many leak lines in a message (the JSON verdict keeps them all). */
const SHOWN_LEAKS = 20;

function leakLines(leaks: readonly string[]): string {
  const shown = leaks.slice(0, SHOWN_LEAKS).map((l) => printable(l, 300));
  if (leaks.length > SHOWN_LEAKS) shown.push(`... and ${leaks.length - SHOWN_LEAKS} more`);
  return shown.join('\n');
}

function stepLabel(s: Step): string {
  return `step ${s.index} ${s.kind === 'op' ? s.op : s.kind}`;
}

function comparisonText(c: Comparison): string {
  switch (c.kind) {
    case 'eq': return `== ${nodeText(c.value)}`;
    case 'ne': return `!= ${nodeText(c.value)}`;
    case 'ge': return `>= ${nodeText(c.value)}`;
    case 'le': return `<= ${nodeText(c.value)}`;
    case 'delta': return `changed by ${nodeText(c.value)}`;
    case 'one_of': return `one of ${shownList(c.values.map(nodeText))}`;
  }
}

/**
 * Runs one scenario on one profile. `run()` runs every step in order; the explorer drives it a step
 * at a time instead: `begin()`, then `runStep()` in any order it likes, then `end()`.
 */
const COMPARISON_TEXT = new WeakMap<Comparison, string>();
function cachedComparisonText(c: Comparison): string {
  let t = COMPARISON_TEXT.get(c);
  if (t === undefined) COMPARISON_TEXT.set(c, (t = comparisonText(c)));
  return t;
}

export class Runner {
  private readonly verdicts: Verdict[] = [];
  private readonly bindings = new Map<string, Value>();
  private readonly scope: Scope;
  /** The last value seen of each query+task+args+field (for delta), starting with the baselines. */
  private readonly observed = new Map<string, Value>();
  private readonly warnings: RunWarning[] = [];
  private warnSeen = 0;
  private readonly allocFailures: RunAllocFailure[] = [];
  /** Whether any check of this run compares by delta: (set by takeBaselines()). */
  private usesDelta = false;
  /** Steps stopped at a yield point, with the WARNs they raised so far. */
  private readonly pausedWarnings = new Map<Step, RunWarning[]>();
  private bug: RunBug | null = null;
  private stepsRun = 0;
  private session!: Session;
  private readonly bound: BoundValue[] = [];
  private readonly hints: RunHint[] = [];
  /** Names bound to the -errno of a failed call, with where (a later use gets a hint). */
  private readonly failedBindings = new Map<string, { step: number; op: string; errno: string }>();
  /** vmstat at each `mark:` step run so far. */
  private readonly marks = new Map<string, Readonly<Record<string, Value>>>();

  /**
   * `explore`: the explorer drives this runner — operations run preemptibly (they may stop at the
   * yield points a step names); with `lightweight`, the session also runs in the backend's explore
   * mode (no trace events: see Backend.start).
   */
  constructor(readonly scn: Scenario, readonly backend: Backend, readonly profile: string, readonly keepTrace: boolean,
    readonly explore: { lightweight: boolean } | null = null) {
    this.scope = scopeOf(backend.constants, this.bindings);
  }

  run(): ScenarioResult {
    this.begin();
    for (const step of this.scn.steps) {
      if (this.runStep(step)) break;
    }
    return this.end();
  }

  /** Start the session and take the delta baselines. */
  begin(): void {
    const scn = this.scn;
    const machine = { ...scn.machine };
    const problems: Diagnostic[] = [];
    for (;;) {
      try {
        const session = this.backend.start({ profile: this.profile, machine, tasks: scn.tasks, explore: this.explore?.lightweight ?? false });
        if (problems.length === 0) {
          this.session = session;
          break;
        }
        session.dispose?.();
        throw new ScenarioFileError(problems);
      } catch (e) {
        if (!(e instanceof ScenarioError)) throw e;
        const arg = e.arg !== undefined && Object.hasOwn(machine, e.arg) ? e.arg : undefined;
        problems.push({ pos: (arg !== undefined ? scn.machineKeys.get(arg) : undefined) ?? scn.machinePos, message: e.message });
        // The model names the setting it refused: start again without it, so that one run
        // reports every setting it refuses, not only the first.
        if (arg === undefined) throw new ScenarioFileError(problems);
        delete machine[arg];
      }
    }
    this.syncWarnings(null);
    this.takeBaselines();
  }

  /**
   * Run one step (skipped if not for this profile) with its expectations; returns true when the run
   * must stop (BUG). `thread`: the actor running it (several actors may share a task).
   */
  runStep(step: Step, thread?: string): boolean {
    if (step.profiles && !step.profiles.includes(this.profile)) return false;
    this.stepsRun++;
    let stop = false;
    if (step.kind === 'op') stop = this.runOp(step, false, thread);
    else if (step.kind === 'expect') this.runChecks(step.checks, step);
    else if (step.kind === 'let') this.runLet(step);
    else this.marks.set(step.name, this.session.query(null, 'vmstat', {}));
    this.syncWarnings(step.index);
    return stop;
  }

  /** Teardown, the end: expectations, and the result. */
  end(): ScenarioResult {
    const scn = this.scn;
    const leaks = this.finish();
    return {
      file: scn.file, name: scn.name, profile: this.profile, ok: this.verdicts.every((v) => v.ok),
      verdicts: this.verdicts, warnings: this.warnings, allocFailures: this.allocFailures,
      allocFailuresSuppressed: this.session.allocFailures?.().suppressed ?? 0, bug: this.bug, leaks, stepsRun: this.stepsRun,
      ...(this.keepTrace && { trace: this.session.trace() }), bound: this.bound, hints: this.hints,
    };
  }

  /**
   * Continue a step the explorer stopped at a yield point (runStep() left it paused); returns true
   * when the run must stop (BUG).
   */
  resumeStep(step: Step, thread?: string): boolean {
    if (step.kind !== 'op') throw new Error('only an operation can be resumed');
    const stop = this.runOp(step, true, thread);
    this.syncWarnings(step.index);
    return stop;
  }

  /** Whether runStep()/resumeStep() left this step stopped at a yield point. */
  isPaused(step: Step): boolean {
    return this.pausedWarnings.has(step);
  }

  /** The task a step runs in (null: none), as runStep() resolves it. */
  taskOfStep(step: Step): string | null {
    return step.kind === 'op' ? this.taskOf(step.needsTask, step.task) : null;
  }

  /** Whether a name bound by `as:` has a value yet. */
  isBound(name: string): boolean {
    return this.bindings.has(name);
  }

  /** The session (after begin()). */
  get current(): Session {
    return this.session;
  }

  /** The verdicts so far. */
  get verdictsSoFar(): readonly Verdict[] {
    return this.verdicts;
  }

  /** The WARN_ON_ONCE()s so far, each marked expected or not. */
  get warningsSoFar(): readonly RunWarning[] {
    return this.warnings;
  }

  /** The BUG that stopped the run, if any. */
  get bugSoFar(): RunBug | null {
    return this.bug;
  }

  // ---- helpers -----------------------------------------------------------------------------------

  private render(v: Value | undefined, asRet = false): string {
    return renderValue(v, this.backend.constants, asRet);
  }

  private verdict(v: Verdict): void {
    this.verdicts.push(v);
  }

  private syncWarnings(step: number | null): RunWarning[] {
    const all = this.session.warnings();
    const fresh: RunWarning[] = [];
    for (let i = this.warnSeen; i < all.length; i++) {
      const w = { id: all[i].id, message: all[i].message, step: all[i].step, scenarioStep: step, expected: false };
      fresh.push(w);
      this.warnings.push(w);
    }
    this.warnSeen = all.length;
    const af = this.session.allocFailures?.().reports ?? [];
    for (let i = this.allocFailures.length; i < af.length; i++) this.allocFailures.push({ ...af[i], scenarioStep: step });
    return fresh;
  }

  private resolve<T>(pp: PerProfile<T>): T {
    if (pp.kind === 'all') return pp.value;
    const v = pp.cases.get(this.profile) ?? pp.fallback;
    if (v === undefined) {
      throw ScenarioFileError.at(pp.pos, `no expectation for profile ${this.profile} (by_profile lists ${[...pp.cases.keys()].join(', ')}; `
        + 'add default: to cover the other profiles)');
    }
    return v;
  }

  private evalArgs(args: readonly ArgNode[]): Record<string, Value> {
    const out: Record<string, Value> = {};
    for (const a of args) out[a.name] = evalTyped(a.value, a.spec.type, this.scope, `argument '${a.name}'`);
    return out;
  }

  private obsKey(c: Check, task: string | null, args: Record<string, Value>, field: string): string {
    return `${c.query}\u0000${task ?? ''}\u0000${canonical(args)}\u0000${field}`;
  }

  private taskOf(needsTask: boolean, named: { name: string } | null): string | null {
    return needsTask ? named?.name ?? this.scn.tasks[0] ?? null : null;
  }

  private query(c: Check, task: string | null, args: Record<string, Value>): Readonly<Record<string, Value>> {
    try {
      return this.session.query(task, c.query, args);
    } catch (e) {
      if (e instanceof ScenarioError) {
        const pos = e.arg === 'task' ? c.task?.pos : c.args.find((a) => a.name === e.arg)?.keyPos;
        throw ScenarioFileError.at(pos ?? c.queryPos, e.message);
      }
      throw e;
    }
  }

  /** Snapshot, at scenario start, every field compared with delta by a check whose arguments are constants. */
  private takeBaselines(): void {
    for (const step of this.scn.steps) {
      if (step.profiles && !step.profiles.includes(this.profile)) continue;
      const checks = step.kind === 'expect' ? step.checks : step.kind === 'op' ? step.expect?.checks ?? [] : [];
      for (const c of checks) {
        const deltaFields = c.fields.filter((f) => {
          const e = f.expected;
          return e.kind === 'all' ? e.value.kind === 'delta' : (e.cases.get(this.profile) ?? e.fallback)?.kind === 'delta';
        });
        if (deltaFields.length === 0) continue;
        this.usesDelta = true;
        if (!c.staticArgs) continue;
        const args = this.evalArgs(c.args);
        const task = this.taskOf(c.needsTask, c.task);
        let result: Readonly<Record<string, Value>> | null = null;
        for (const f of deltaFields) {
          const key = this.obsKey(c, task, args, f.field);
          if (this.observed.has(key)) continue;
          result ??= this.query(c, task, args);
          if (Object.hasOwn(result, f.field)) this.observed.set(key, result[f.field]);
        }
      }
    }
  }

  // ---- steps -------------------------------------------------------------------------------------

  /** Run an operation step and its expectations; returns true when the run must stop (BUG). */
  private runOp(step: OpStep, resume = false, thread?: string): boolean {
    const label = stepLabel(step);
    const task = this.taskOf(step.needsTask, step.task);
    const bugBefore = this.session.bug();
    let outcome: StepOutcome | null = null;
    try {
      const s = this.session;
      const th = thread ?? task ?? 'kernel';
      if (resume) outcome = s.resume!(th);
      else {
        this.hintFailedBindings(step);
        const args = this.evalArgs(step.args);
        s.beginStep?.(step.index);
        // The explorer runs every operation that can stop preemptibly: even without preempt:, it may
        // have to wait (GUP's slow path for the mmap_lock of a paused fork).
        outcome = this.explore && s.stepPreemptible ? s.stepPreemptible(task, step.op, args, step.preempt ?? [], th) : s.step(task, step.op, args);
      }
    } catch (e) {
      if (!(bugBefore === null && this.session.bug() !== null)) {
        if (e instanceof ScenarioError) {
          const pos = e.arg === 'task' ? step.task?.pos : step.args.find((a) => a.name === e.arg)?.keyPos;
          throw ScenarioFileError.at(pos ?? step.pos, e.message);
        }
        throw e;
      }
    }
    let fresh = this.syncWarnings(step.index);
    const before = this.pausedWarnings.get(step);
    if (before) fresh = [...before, ...fresh];
    if (outcome?.paused !== undefined && this.session.bug() === null) {
      // Stopped at a yield point: the step's expectations wait for its end.
      this.pausedWarnings.set(step, fresh);
      return false;
    }
    this.pausedWarnings.delete(step);
    const exp = step.expect;
    const bugExp: RaiseExpect = exp?.bug ? this.resolve(exp.bug.expected) : false;
    const bug = bugBefore === null ? this.session.bug() : null;
    const bugPos = exp?.bug?.pos ?? step.pos;
    const bugText = bugExp === true ? 'raises BUG' : `raises BUG containing ${quoted(String(bugExp))}`;
    if (bug) {
      const matches = bugExp === true || (typeof bugExp === 'string' && bug.message.includes(bugExp));
      this.bug = { ...bug, scenarioStep: step.index, expected: matches };
      if (bugExp === false) {
        this.verdict({ step: step.index, location: step.pos, description: `${label}: BUG: ${bug.message}`, ok: false, actual: bug.message,
          message: `unexpected BUG: ${bug.message}` });
      } else {
        this.verdict({ step: step.index, location: bugPos, description: `${label}: ${bugText}`, ok: matches,
          expected: bugExp, actual: bug.message, ...(!matches && { message: `got BUG: ${bug.message}` }) });
      }
      // The step did not complete: no return value, no checks; but what it raised before the BUG counts.
      if (exp?.warn) this.warnVerdict(step, label, fresh, exp.warn);
      return true;
    }
    if (exp?.bug) {
      this.verdict({ step: step.index, location: bugPos, description: `${label}: ${bugExp === false ? 'raises no BUG' : bugText}`,
        ok: bugExp === false, expected: bugExp, actual: false, ...(bugExp !== false && { message: 'no BUG was raised' }) });
    }
    if (!outcome) return false;
    if (step.bind) this.bindValue(step, outcome);
    if (exp?.ret) this.compare(outcome.ret, this.resolve(exp.ret.expected), step.index, exp.ret.pos, `${label}: ret`, null, true);
    if (exp?.warn) this.warnVerdict(step, label, fresh, exp.warn);
    if (exp) this.runChecks(exp.checks, step);
    return false;
  }

  /** A `let:` step: evaluate and bind each value in order. */
  private runLet(step: LetStep): void {
    for (const b of step.bindings) {
      const v = evalNode(b.value, this.scope);
      this.bindings.set(b.name, v);
      this.bound.push({ step: step.index, op: 'let', name: b.name, value: v as Json });
      this.failedBindings.delete(b.name);
    }
  }

  /** Bind `as:`; remember a binding to a failed call's -errno (its later use is likely a mistake). */
  private bindValue(step: OpStep, outcome: StepOutcome): void {
    const name = step.bind!.name;
    const value = outcome.out ?? outcome.ret;
    this.bindings.set(name, value);
    this.bound.push({ step: step.index, op: step.op, name, value: value as Json });
    const ret = outcome.ret;
    const errno = typeof ret === 'number' && ret < 0 && ret >= -4095
      ? Object.keys(this.backend.constants).find((k) => /^E[A-Z0-9]+$/.test(k) && this.backend.constants[k] === -ret) : undefined;
    if (errno !== undefined) this.failedBindings.set(name, { step: step.index, op: step.op, errno: `-${errno}` });
    else this.failedBindings.delete(name);
  }

  /** A step whose arguments use a name bound to a failed call's -errno: say so once per step and name. */
  private hintFailedBindings(step: OpStep): void {
    if (this.failedBindings.size === 0) return;
    const seen = new Set<string>();
    const visit = (v: ArgNode['value']): void => {
      if (v.kind === 'list') { v.items.forEach(visit); return; }
      if (v.kind !== 'expr') return;
      for (const { name, col } of namesIn(v.expr)) {
        const f = this.failedBindings.get(name);
        if (!f || seen.has(name)) continue;
        seen.add(name);
        this.hints.push({ step: step.index, location: v.at(col), message: `step ${step.index} ${step.op} uses '${name}', which step ${f.step} `
          + `${f.op} bound to ${f.errno}: that call failed, so '${name}' is an error code, not ${f.op === 'mmap' ? 'an address' : 'what it returns on success'}` });
      }
    };
    for (const a of step.args) visit(a.value);
  }

  private warnVerdict(step: OpStep, label: string, fresh: readonly RunWarning[], warn: NonNullable<StepExpect['warn']>): void {
    const w = this.resolve(warn.expected);
    const ids = fresh.map((x) => x.id);
    let ok: boolean;
    let description: string;
    if (w === false) {
      ok = fresh.length === 0;
      description = 'raises no WARN';
    } else {
      const hits = fresh.filter((x) => w === true || x.id.includes(w));
      for (const h of hits) h.expected = true;
      ok = hits.length > 0;
      description = w === true ? 'raises a WARN' : `raises WARN ${quoted(w)}`;
    }
    this.verdict({ step: step.index, location: warn.pos, description: `${label}: ${description}`, ok, expected: w, actual: ids,
      ...(!ok && { message: ids.length ? `raised ${ids.map((i) => `'${i}'`).join(', ')}` : 'no WARN was raised' }) });
  }

  private runChecks(checks: readonly Check[], step: Step): void {
    const label = stepLabel(step);
    for (const c of checks) {
      const args = this.evalArgs(c.args);
      const task = this.taskOf(c.needsTask, c.task);
      const result = this.query(c, task, args);
      for (const f of c.fields) {
        const actual = Object.hasOwn(result, f.field) ? result[f.field] : undefined;
        // Observations are kept only for delta: comparisons (the key is costly to build).
        const key = this.usesDelta ? this.obsKey(c, task, args, f.field) : null;
        const cmp = this.resolve(f.expected);
        let since: Value | undefined;
        if (cmp.kind === 'delta' && cmp.since) {
          const mark = this.marks.get(cmp.since.name);
          if (!mark) throw ScenarioFileError.at(cmp.since.pos, `since: mark '${cmp.since.name}' has not been taken on this run (its step did not run for profile ${this.profile})`);
          since = mark[f.field];
        }
        this.compare(actual, cmp, step.index, f.pos, `${label}: ${c.label}.${f.field}`, key, false, since);
        if (key !== null && actual !== undefined) this.observed.set(key, actual);
      }
    }
  }

  private compare(
    actual: Value | undefined, cmp: Comparison, step: number | null, location: SourcePos, what: string, key: string | null, asRet: boolean,
    since?: Value,
  ): void {
    const description = `${what} ${cachedComparisonText(cmp)}`;
    const r = (v: Value | undefined) => this.render(v, asRet);
    // The message is built only for a failure (the explorer runs passing checks by the million).
    const push = (ok: boolean, expected: Json, message: () => string, shownActual: Json | undefined = actual) => {
      this.verdict({ step, location, description, ok, expected, ...(shownActual !== undefined && { actual: shownActual }),
        ...(!ok && { message: message() }) });
    };
    switch (cmp.kind) {
      case 'eq': {
        const e = evalNode(cmp.value, this.scope);
        push(valueEquals(actual, e), e, () => `expected ${r(e)}, got ${r(actual)}`);
        return;
      }
      case 'ne': {
        const e = evalNode(cmp.value, this.scope);
        push(actual !== undefined && !valueEquals(actual, e), e, () => `expected anything but ${r(e)}, got ${r(actual)}`);
        return;
      }
      case 'ge':
      case 'le': {
        const n = evalTyped(cmp.value, 'int', this.scope, cmp.kind) as number;
        const ok = typeof actual === 'number' && (cmp.kind === 'ge' ? actual >= n : actual <= n);
        push(ok, n, () => `expected ${cmp.kind === 'ge' ? '>=' : '<='} ${r(n)}, got ${r(actual)}`);
        return;
      }
      case 'one_of': {
        const es = cmp.values.map((v) => evalNode(v, this.scope));
        push(es.some((e) => valueEquals(actual, e)), es, () => `expected one of ${es.map((e) => r(e)).join(', ')}, got ${r(actual)}`);
        return;
      }
      case 'delta': {
        const n = evalTyped(cmp.value, 'int', this.scope, 'delta') as number;
        const prev = since !== undefined ? since : key === null ? undefined : this.observed.get(key);
        if (prev === undefined) {
          throw ScenarioFileError.at(cmp.pos, `delta: there is no earlier value of ${what.replace(/^step \d+ [^:]*: /, '')} to compare with `
            + '(no earlier check of it ran with these arguments); check its absolute value first');
        }
        if (typeof actual !== 'number' || typeof prev !== 'number') {
          push(false, n, () => `expected a change of ${n}, but the value is ${r(actual)} (was ${r(prev)})`);
          return;
        }
        const d = actual - prev;
        push(d === n, n, () => `expected a change of ${n}, got ${d} (from ${r(prev)} to ${r(actual)})`, d);
        return;
      }
    }
  }

  // ---- the end of the run ------------------------------------------------------------------------

  private finish(): string[] {
    const scn = this.scn;
    const end = scn.end;
    let leaks: string[] = [];
    const bugBefore = this.session.bug();
    try {
      leaks = [...this.session.teardown().leaks];
    } catch (e) {
      if (!(bugBefore === null && this.session.bug() !== null)) {
        if (e instanceof ScenarioError) throw ScenarioFileError.at(end.pos ?? scn.pos, `at teardown: ${e.message}`);
        throw e;
      }
    }
    this.syncWarnings(null);
    const endPos = end.pos ?? scn.pos;
    const tbug = bugBefore === null ? this.session.bug() : null;
    if (tbug && !this.bug) {
      this.bug = { ...tbug, scenarioStep: null, expected: false };
      this.verdict({ step: null, location: endPos, description: `end: BUG at teardown: ${tbug.message}`, ok: false, actual: tbug.message,
        message: `unexpected BUG at teardown: ${tbug.message}` });
    }
    // After a BUG the model's state is whatever the BUG left: leaks are reported, not judged.
    if (!this.bug) {
      const le = this.resolve(end.leaks.expected);
      const location = end.leaks.pos ?? endPos;
      if (le === 'none') {
        this.verdict({ step: null, location, description: 'end: no leaks', ok: leaks.length === 0, expected: [], actual: leaks,
          ...(leaks.length > 0 && { message: `${leaks.length} leak${leaks.length === 1 ? '' : 's'}:\n${leakLines(leaks)}` }) });
      } else if (le !== 'any') {
        const missing = le.filter((s) => !leaks.some((l) => l.includes(s)));
        const extra = leaks.filter((l) => !le.some((s) => l.includes(s)));
        const problems = [
          ...missing.map((s) => `no leak matches ${quoted(s)}`),
          ...extra.map((l) => `unexpected leak: ${l}`),
        ];
        const shownProblems = problems.length > SHOWN_LEAKS
          ? [...problems.slice(0, SHOWN_LEAKS), `... and ${problems.length - SHOWN_LEAKS} more`] : problems;
        this.verdict({ step: null, location, description: `end: leaks match ${shownList(le.map((s) => quoted(s)))}`,
          ok: problems.length === 0, expected: [...le], actual: leaks, ...(problems.length > 0 && { message: shownProblems.join('\n') }) });
      }
    }
    if (end.warns) {
      for (const s of this.resolve(end.warns.expected)) {
        const hits = this.warnings.filter((w) => w.id.includes(s));
        for (const h of hits) h.expected = true;
        this.verdict({ step: null, location: end.warns.pos, description: `end: WARN ${quoted(s)} raised`, ok: hits.length > 0, expected: s,
          actual: this.warnings.map((w) => w.id),
          ...(hits.length === 0 && { message: this.warnings.length ? `raised only ${this.warnings.map((w) => `'${w.id}'`).join(', ')}` : 'no WARN was raised' }) });
      }
    }
    if (end.noWarns && this.resolve(end.noWarns.expected)) {
      const ids = this.warnings.map((w) => w.id);
      this.verdict({ step: null, location: end.noWarns.pos, description: 'end: no WARN raised', ok: ids.length === 0, expected: [],
        actual: ids, ...(ids.length > 0 && { message: `raised ${ids.map((i) => `'${i}'`).join(', ')}` }) });
    }
    return leaks;
  }
}
