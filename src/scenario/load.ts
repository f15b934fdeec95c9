// Loading a scenario file: YAML → a validated Scenario (ast.ts), or a ScenarioFileError listing
// every problem as "file:line:col: message". Validation uses only the Backend's description of
// itself (ops, queries, machine arguments, constants, profiles): nothing runs here.

import {
  LineCounter, Scalar, isAlias, isMap, isScalar, isSeq, type Alias, type Node as YNode,
} from 'yaml';
import { knownProfile, type ArgSpec, type Backend, type Value } from './backend.js';
import type {
  Actor, ArgNode, Check, Comparison, EndSpec, Expected, ExploreSpec, FieldCheck, LeaksExpect, OpStep, PerProfile, RaiseExpect, Scenario, Step,
  StepExpect, ValueNode,
} from './ast.js';
import { ScenarioFileError, type Diagnostic, type SourcePos } from './errors.js';
import { ExprError, IDENTIFIER, RESERVED_WORDS, namesIn, parseExpr, scopeOf } from './expr.js';
import { MAX_DIAGNOSTICS, MAX_FILE_BYTES, MAX_NAME_LENGTH, MAX_SCENARIO_NAME } from './limits.js';
import { firstHidden, printable, quoted } from './printable.js';
import { FileInputError, checkScenarioText, decodeScenarioText, parseScenarioYaml, readScenarioBytes } from './source.js';
import { didYouMean, nearest } from './suggest.js';
import { notModelled } from './not-modelled.js';
import { evalTyped, nodeSource, nodeText, typeWord } from './values.js';

export const TOP_LEVEL_KEYS = ['name', 'description', 'source', 'profile', 'profiles', 'machine', 'tasks', 'steps', 'end'] as const;
/** The keys of a multi-actor scenario (docs/explorer.md), accepted beside TOP_LEVEL_KEYS. */
export const MULTI_ACTOR_KEYS = ['setup', 'actors', 'finally', 'explore'] as const;
export const EXPLORE_KEYS = ['fails', 'preemption_bound', 'allow_warns'] as const;
export const STEP_KEYS = ['task', 'as', 'expect', 'note', 'profiles', 'preempt'] as const;
export const STEP_EXPECT_KEYS = ['ret', 'warn', 'bug', 'checks'] as const;
export const COMPARISON_KEYS = ['delta', 'ge', 'le', 'ne', 'one_of'] as const;
export const END_KEYS = ['leaks', 'warns', 'no_warns'] as const;
export const DEFAULT_TASKS: readonly string[] = ['main'];

/** Names of tasks, files and other things an operation defines: identifiers, plus '.' and '-'. */
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

type N = YNode | null | undefined;

/** Thrown by Loader.err() at the MAX_DIAGNOSTICS-th problem: the file is not worth reading further. */
class TooManyProblems extends Error {}

interface Entry {
  readonly key: string;
  readonly keyPos: SourcePos;
  readonly value: N;
}

class Loader {
  readonly diags: Diagnostic[] = [];
  private lc = new LineCounter();
  /** Each alias and the node it stands for (source.ts resolves them once, under the size limit). */
  private aliases: ReadonlyMap<Alias, YNode> = new Map();
  private readonly constants: ReadonlySet<string>;
  /** Names bound with `as:` so far, in file order. */
  private readonly bound = new Set<string>();
  /** Every `as:` name in the file and the first step that binds it, for "bound later" hints. */
  private readonly bindsAt = new Map<string, number>();
  /** Tasks declared in `tasks:` (they exist at scenario start). */
  private startTasks: ReadonlySet<string> = new Set();
  /** Tasks declared or created by an earlier step (an argument named `child`). */
  private readonly tasks = new Set<string>();
  /** query-label.field of every check so far, for the delta rule. */
  private readonly checked = new Set<string>();
  /** Names of the `mark:` steps so far (a later `{delta: N, since: NAME}` compares with one). */
  private readonly marks = new Set<string>();
  /** Whether the first binding of a name (bindsAt) is an `as:` or a `let:`. */
  private readonly bindsVia = new Map<string, 'as' | 'let'>();

  constructor(readonly source: string, readonly file: string, readonly backend: Backend) {
    this.constants = new Set(Object.keys(backend.constants));
  }

  // ---- positions, diagnostics, YAML helpers --------------------------------------------------------

  at(offset: number): SourcePos {
    const { line, col } = this.lc.linePos(offset);
    return { file: this.file, line, col };
  }

  pos(n: N): SourcePos {
    return n?.range ? this.at(n.range[0]) : { file: this.file, line: 1, col: 1 };
  }

  /** Why a profile name is not one: the version rule that refuses it, or the known names. */
  unknownProfile(p: string, extra = ''): string {
    const why = this.backend.profileProblem?.(p);
    if (why) return `no profile for ${quoted(p)}: ${why}`;
    const versions = this.backend.acceptsProfile ? ', or a kernel version such as 6.12 or 6.1.176' : '';
    return `unknown profile ${quoted(p)}${didYouMean(p, this.backend.profiles)} (profiles: ${this.backend.profiles.join(', ')}${extra}${versions})`;
  }

  err(pos: SourcePos, message: string): null {
    this.diags.push({ pos, message });
    if (this.diags.length >= MAX_DIAGNOSTICS) throw new TooManyProblems();
    return null;
  }

  deref(n: unknown): N {
    if (isAlias(n)) {
      const target = this.aliases.get(n);
      if (target) return target;
      const a = printable(n.source, 40);
      this.err(this.pos(n), `YAML: no anchor &${a} for the alias *${a} (to write an expression starting with '*', quote it)`);
      // Stand in an empty scalar at the alias, so later messages point here too.
      return Object.assign(new Scalar(null), { range: n.range, source: '' });
    }
    return (n as YNode | null | undefined) ?? null;
  }

  /** The text of a scalar as written: plain scalars keep their source ("5.10" stays "5.10"). */
  text(s: Scalar): string {
    if (s.type === 'PLAIN' || s.type === undefined) return s.source ?? (s.value === null ? '' : String(s.value));
    return s.value === null || s.value === undefined ? '' : String(s.value);
  }

  isEmpty(n: N, nullWords = false): boolean {
    if (n === null || n === undefined) return true;
    if (!isScalar(n) || (n.type !== 'PLAIN' && n.type !== undefined)) return false;
    const t = this.text(n);
    return t === '' || t === '~' || (nullWords && t === 'null');
  }

  kind(n: N): string {
    if (this.isEmpty(n)) return 'an empty value';
    if (isMap(n)) return 'a mapping';
    if (isSeq(n)) return 'a list';
    if (isScalar(n)) {
      const t = this.text(n);
      return n.type === 'PLAIN' ? quoted(t) : `the string "${printable(t)}"`;
    }
    return 'something else';
  }

  entries(n: N, where: string): Entry[] | null {
    n = this.deref(n);
    if (!isMap(n)) return this.err(this.pos(n), `${where} must be a mapping, found ${this.kind(n)}`);
    const out: Entry[] = [];
    for (const pair of n.items) {
      const k = this.deref(pair.key);
      if (!isScalar(k)) {
        this.err(this.pos(k), `keys in ${where} must be plain names, found ${this.kind(k)}`);
        continue;
      }
      out.push({ key: this.text(k), keyPos: this.pos(k), value: this.deref(pair.value) });
    }
    return out;
  }

  items(n: N, where: string): N[] | null {
    n = this.deref(n);
    if (!isSeq(n)) return this.err(this.pos(n), `${where} must be a list, found ${this.kind(n)}`);
    return n.items.map((i) => this.deref(i));
  }

  unknownKey(e: Entry, allowed: readonly string[], where: string): null {
    return this.err(e.keyPos, `unknown key ${quoted(e.key)} in ${where}${keyHint(e.key, allowed)} (expected one of: ${allowed.join(', ')})`);
  }

  scalarString(n: N, what: string, allowEmpty = false): string | null {
    if (!isScalar(n) || (!allowEmpty && this.isEmpty(n))) {
      return this.err(this.pos(n), `${what} must be a string, found ${this.kind(n)}`);
    }
    return this.text(n);
  }

  nameValue(n: N, what: string): string | null {
    if (!isScalar(n) || this.isEmpty(n)) return this.err(this.pos(n), `${what} must be a name, found ${this.kind(n)}`);
    const t = this.text(n);
    if (!NAME.test(t)) return this.err(this.pos(n), `${what} must be a name (letters, digits, '_', '.', '-'), found ${quoted(t)}`);
    if (t.length > MAX_NAME_LENGTH) return this.err(this.pos(n), `${what} is ${t.length} characters long; names have at most ${MAX_NAME_LENGTH}`);
    return t;
  }

  // ---- values ------------------------------------------------------------------------------------

  /** A scalar read as an expression; errors point at the offending token inside it. */
  expr(s: Scalar): ValueNode | null {
    const quoted = s.type === 'QUOTE_DOUBLE' || s.type === 'QUOTE_SINGLE';
    const base = (s.range?.[0] ?? 0) + (quoted ? 1 : 0);
    // A plain scalar is read from the file as written (line breaks and indentation are spaces
    // to the expression), so that columns map back to the file even across lines.
    const src = s.type === 'PLAIN' && s.range ? this.source.slice(s.range[0], s.range[1]) : this.text(s);
    const at = (col: number) => this.at(base + col);
    try {
      return { kind: 'expr', src, expr: parseExpr(src), pos: at(0), at };
    } catch (e) {
      if (e instanceof ExprError) return this.err(at(e.col), e.message);
      throw e;
    }
  }

  /**
   * A value written in the file, by the type it must have. Plain scalars are expressions; quoted
   * ones are strings where a string is possible ('value', 'string', 'name'), else expressions.
   */
  value(n: N, type: ArgSpec['type'], what: string): ValueNode | null {
    n = this.deref(n);
    const pos = this.pos(n);
    if (type === 'value' && isSeq(n)) {
      const items: ValueNode[] = [];
      for (const i of n.items) {
        const v = this.value(this.deref(i), 'int', `an item of ${what}`);
        if (v) items.push(v);
      }
      return { kind: 'list', items, pos };
    }
    if (!isScalar(n)) return this.err(pos, `${what} must be ${typeWord(type)}, found ${this.kind(n)}`);
    if (type === 'name') {
      const t = this.nameValue(n, what);
      return t === null ? null : { kind: 'string', value: t, pos };
    }
    if (type === 'string') return { kind: 'string', value: this.text(n), pos };
    if (this.isEmpty(n)) return this.err(pos, `${what} must be ${typeWord(type)}, found an empty value`);
    if (type === 'value' && n.type !== 'PLAIN') return { kind: 'string', value: this.text(n), pos };
    return this.expr(n);
  }

  /** Check the names an expression uses; returns whether it uses any name bound with `as:`. */
  names(v: ValueNode | null): boolean {
    if (!v) return false;
    if (v.kind === 'list') return v.items.map((i) => this.names(i)).some(Boolean);
    if (v.kind !== 'expr') return false;
    let usesBound = false;
    for (const { name, col } of namesIn(v.expr)) {
      if (this.bound.has(name)) { usesBound = true; continue; }
      if (this.constants.has(name)) continue;
      const later = this.bindsAt.get(name);
      const hint = later !== undefined ? `; it is bound by '${this.bindsVia.get(name) ?? 'as'}:' at step ${later}, which comes later` : '';
      const nm = later === undefined ? notModelled(name, 'name') : null;
      const suggestion = didYouMean(name, [...this.bound, ...this.constants]);
      this.err(v.at(col), nm ?? `unknown name ${quoted(name)}${later !== undefined ? hint : suggestion}`);
    }
    return usesBound;
  }

  taskRef(n: N, what: string): { name: string; pos: SourcePos } | null {
    const name = this.nameValue(n, what);
    if (name === null) return null;
    if (!this.tasks.has(name)) {
      const known = [...this.tasks];
      return this.err(this.pos(n), `unknown task ${quoted(name)}${didYouMean(name, known)} (tasks so far: ${listed(known, false) || 'none'})`);
    }
    return { name, pos: this.pos(n) };
  }

  // ---- arguments --------------------------------------------------------------------------------

  args(
    owner: string, specs: readonly ArgSpec[], n: N, ownerPos: SourcePos, kind: 'operation' | 'query', taskKey: boolean,
  ): { args: ArgNode[]; task: { name: string; pos: SourcePos } | null; usesBound: boolean } {
    const out: ArgNode[] = [];
    let task: { name: string; pos: SourcePos } | null = null;
    let usesBound = false;
    const seen = new Set<string>();
    if (!this.isEmpty(n, true)) {
      const es = this.entries(n, `the arguments of ${kind} '${owner}'`);
      if (!es) return { args: out, task, usesBound };
      for (const e of es) {
        seen.add(e.key);
        const spec = specs.find((s) => s.name === e.key);
        if (!spec && e.key === 'task' && taskKey) {
          task = this.taskRef(e.value, `the task of ${owner}`);
          if (task && !this.startTasks.has(task.name)) usesBound = true;
          continue;
        }
        if (!spec) {
          const names = specs.map((s) => s.name);
          let hint = keyHint(e.key, names);
          if (!hint && e.key === 'task' && kind === 'operation') hint = '; give the task beside the operation: `task: NAME` on the step';
          if (!hint && e.key === 'task') hint = `; query '${owner}' does not run in a task`;
          this.err(e.keyPos, `unknown argument ${quoted(e.key)} of ${kind} '${owner}'${hint} (it takes: ${argList(specs)})`);
          continue;
        }
        const v = this.value(e.value, spec.type, `argument '${e.key}'`);
        usesBound = this.names(v) || usesBound;
        if (v) out.push({ name: e.key, spec, keyPos: e.keyPos, value: v });
      }
    }
    for (const s of specs) {
      if (s.required === true && !seen.has(s.name)) {
        this.err(ownerPos, `missing argument '${s.name}' of ${kind} '${owner}' (it takes: ${argList(specs)})`);
      }
    }
    return { args: out, task, usesBound };
  }

  // ---- expectations -----------------------------------------------------------------------------

  byProfile<T>(n: N, keyPos: SourcePos, inner: (n: N) => T | null): PerProfile<T> | null {
    const map = this.deref(n);
    const es = this.entries(map, 'by_profile');
    if (!es) return null;
    if (es.length === 0) return this.err(this.pos(map), 'by_profile must list at least one profile');
    const cases = new Map<string, T>();
    let fallback: T | undefined;
    let ok = true;
    for (const e of es) {
      if (e.key !== 'default' && !knownProfile(this.backend, e.key)) {
        this.err(e.keyPos, this.unknownProfile(e.key, ', or default'));
        ok = false;
        continue;
      }
      const v = inner(e.value);
      if (v === null) { ok = false; continue; }
      if (e.key === 'default') fallback = v;
      else cases.set(e.key, v);
    }
    if (!ok) return null;
    return fallback === undefined ? { kind: 'by_profile', cases, pos: keyPos } : { kind: 'by_profile', cases, fallback, pos: keyPos };
  }

  /** A mapping `{by_profile: {...}}` → per-profile; anything else → the same for every profile. */
  perProfile<T>(n: N, inner: (n: N) => T | null): PerProfile<T> | null {
    n = this.deref(n);
    if (isMap(n) && n.items.length === 1) {
      const k = this.deref(n.items[0].key);
      if (isScalar(k) && this.text(k) === 'by_profile') return this.byProfile(this.deref(n.items[0].value), this.pos(k), inner);
    }
    const v = inner(n);
    return v === null ? null : { kind: 'all', value: v };
  }

  comparison(n: N, what: string): Comparison | null {
    n = this.deref(n);
    const pos = this.pos(n);
    if (isMap(n)) {
      const es = this.entries(n, what) ?? [];
      const sinceE = es.length === 2 ? es.find((x) => x.key === 'since') : undefined;
      if (sinceE) {
        const d = es.find((x) => x !== sinceE)!;
        if (d.key !== 'delta') return this.err(sinceE.keyPos, `since: goes with delta ({delta: N, since: MARK}), not with ${quoted(d.key)}`);
        const mark = this.scalarString(sinceE.value, 'since');
        if (mark === null) return null;
        if (!this.marks.has(mark)) {
          return this.err(this.pos(sinceE.value), `unknown mark ${quoted(mark)}${didYouMean(mark, this.marks)}: a mark is taken by an earlier step `
            + `\`- mark: NAME\`${this.marks.size ? ` (marks so far: ${listed([...this.marks], false)})` : ''}`);
        }
        const v = this.value(d.value, 'int', 'delta');
        this.names(v);
        return v ? { kind: 'delta', value: v, pos: d.keyPos, since: { name: mark, pos: this.pos(sinceE.value) } } : null;
      }
      if (es.length !== 1) {
        return this.err(pos, `an expected value written as a mapping must have exactly one key (${COMPARISON_KEYS.join(', ')} or by_profile), found ${es.length}`);
      }
      const e = es[0];
      if (e.key === 'by_profile') return this.err(e.keyPos, 'by_profile cannot be nested inside another by_profile');
      if (e.key === 'one_of') {
        const items = this.items(e.value, 'one_of');
        if (!items) return null;
        if (items.length === 0) return this.err(this.pos(e.value), 'one_of needs at least one value');
        const values: ValueNode[] = [];
        for (const i of items) {
          const v = this.value(i, 'value', 'a one_of value');
          this.names(v);
          if (v) values.push(v);
        }
        return values.length === items.length ? { kind: 'one_of', values, pos: e.keyPos } : null;
      }
      if (e.key === 'since') return this.err(e.keyPos, 'since: goes with delta: {delta: N, since: MARK}');
      if (e.key === 'delta' || e.key === 'ge' || e.key === 'le' || e.key === 'ne') {
        const v = this.value(e.value, e.key === 'ne' ? 'value' : 'int', e.key);
        this.names(v);
        return v ? { kind: e.key, value: v, pos: e.keyPos } : null;
      }
      return this.err(e.keyPos, `unknown comparison ${quoted(e.key)}${didYouMean(e.key, [...COMPARISON_KEYS, 'by_profile'])} (expected one of: ${COMPARISON_KEYS.join(', ')}, by_profile)`);
    }
    if (this.isEmpty(n)) return this.err(pos, `${what} has no expected value`);
    const v = this.value(n, 'value', what);
    this.names(v);
    return v ? { kind: 'eq', value: v, pos } : null;
  }

  expected(n: N, what: string): Expected | null {
    return this.perProfile(n, (x) => this.comparison(x, what));
  }

  raise(n: N, what: string): RaiseExpect | null {
    n = this.deref(n);
    if (!isScalar(n) || this.isEmpty(n)) {
      return this.err(this.pos(n), `${what} must be a substring to look for, true (any) or false/none, found ${this.kind(n)}`);
    }
    const t = this.text(n);
    if (n.type === 'PLAIN' && (t === 'false' || t === 'none')) return false;
    if (n.type === 'PLAIN' && t === 'true') return true;
    return t;
  }

  check(n: N, where: string): Check | null {
    n = this.deref(n);
    const es = this.entries(n, `a check (${where})`);
    if (!es) return null;
    const queries = this.backend.queries;
    const qEntry = es.find((e) => queries.has(e.key));
    if (!qEntry) {
      const qNames = [...queries.keys()];
      const stepOnly = es.find((e) => (['ret', 'warn', 'bug'] as string[]).includes(e.key));
      if (stepOnly) {
        return this.err(stepOnly.keyPos, `'${stepOnly.key}' is not a query: ${stepOnly.key}: belongs in the expect: of an operation step `
          + '(an expect step holds checks of queries)');
      }
      for (const e of es) {
        const near = nearest(e.key, qNames);
        if (near !== undefined) return this.err(e.keyPos, `unknown query ${quoted(e.key)}; did you mean '${near}'?`);
      }
      return this.err(this.pos(n), `a check must name one query (one of: ${qNames.join(', ')}), found keys: ${listed(es.map((e) => e.key)) || 'none'}`);
    }
    const q = queries.get(qEntry.key)!;
    const { args, task, usesBound } = this.args(q.name, q.args, qEntry.value, qEntry.keyPos, 'query', q.needsTask);
    const labelOf = (text: (v: ValueNode) => string) => `${q.name}${args.length || task ? `{${[
      ...(task ? [`task: ${task.name}`] : []), ...args.map((a) => `${a.name}: ${text(a.value)}`),
    ].join(', ')}}` : ''}`;
    const label = labelOf(nodeText);
    // The delta rule compares checks by their arguments in full (the label may be cut).
    const fullLabel = labelOf(nodeSource);
    const fields: FieldCheck[] = [];
    for (const e of es) {
      if (e === qEntry || e.key === 'note') continue;
      if (!q.fields.includes(e.key)) {
        if (queries.has(e.key)) this.err(e.keyPos, `a check names one query; '${e.key}' is a second one (put it in a check of its own)`);
        else this.err(e.keyPos, `unknown field ${quoted(e.key)} of query '${q.name}'${didYouMean(e.key, q.fields)} (fields: ${q.fields.join(', ')})`);
        continue;
      }
      const expected = this.expected(e.value, `field '${e.key}'`);
      if (!expected) continue;
      const key = `${fullLabel}.${e.key}`;
      const cmps = expected.kind === 'all' ? [expected.value] : [...expected.cases.values(), ...(expected.fallback ? [expected.fallback] : [])];
      const since = cmps.find((c) => c.kind === 'delta' && c.since !== undefined);
      if (since && since.kind === 'delta' && q.name !== 'vmstat') {
        this.err(since.since!.pos, `since: compares with a mark, and a mark records the vmstat counters: it applies to vmstat checks, not ${q.name}`);
      }
      const hasDelta = cmps.some((c) => c.kind === 'delta' && c.since === undefined);
      if (hasDelta && usesBound && !this.checked.has(key)) {
        this.err(e.keyPos, `{delta: N} compares with the previous check of ${label}.${e.key}, and there is none before this one; `
          + 'a first check may use delta only when its query arguments are constants (its baseline is taken at scenario start), '
          + 'so check the absolute value first');
      }
      this.checked.add(key);
      fields.push({ field: e.key, pos: e.keyPos, expected });
    }
    if (fields.length === 0 && es.every((e) => e === qEntry || e.key === 'note')) {
      this.err(qEntry.keyPos, `this check of '${q.name}' compares no field (fields: ${q.fields.join(', ')})`);
    }
    return {
      query: q.name, queryPos: qEntry.keyPos, task, needsTask: q.needsTask, args, fields, label, staticArgs: !usesBound,
    };
  }

  checks(n: N, where: string): Check[] {
    n = this.deref(n);
    const list = isSeq(n) ? n.items.map((i) => this.deref(i)) : [n];
    if (isSeq(n) && list.length === 0) this.err(this.pos(n), `${where} has no checks`);
    const out: Check[] = [];
    for (const c of list) {
      const chk = this.check(c, where);
      if (chk) out.push(chk);
    }
    return out;
  }

  stepExpect(n: N, stepNo: number, op: string): StepExpect | null {
    n = this.deref(n);
    if (isSeq(n)) {
      return this.err(this.pos(n), `the expect of step ${stepNo} must be a mapping (ret:, warn:, bug:, checks:), found a list; `
        + 'put the checks under checks:');
    }
    const es = this.entries(n, `the expect of step ${stepNo}`);
    if (!es) return null;
    let ret: StepExpect['ret'];
    let warn: StepExpect['warn'];
    let bug: StepExpect['bug'];
    let checks: Check[] = [];
    for (const e of es) {
      switch (e.key) {
        case 'ret': {
          const expected = this.expected(e.value, 'ret');
          const comparisons = !expected ? [] : expected.kind === 'all' ? [expected.value]
            : [...expected.cases.values(), ...(expected.fallback ? [expected.fallback] : [])];
          const delta = comparisons.find((c) => c.kind === 'delta');
          if (delta) this.err(delta.pos, 'ret cannot be compared with delta: a return value has no earlier value');
          else if (expected) ret = { expected, pos: e.keyPos };
          break;
        }
        case 'warn':
        case 'bug': {
          const expected = this.perProfile(e.value, (x) => this.raise(x, e.key));
          if (expected && e.key === 'warn') warn = { expected, pos: e.keyPos };
          if (expected && e.key === 'bug') bug = { expected, pos: e.keyPos };
          break;
        }
        case 'checks':
          checks = this.checks(e.value, `step ${stepNo} (${op})`);
          break;
        default: {
          let hint = '';
          if (this.backend.queries.has(e.key)) hint = '; put query checks in a list under checks:';
          this.err(e.keyPos, `unknown key ${quoted(e.key)} in the expect of a step${hint || keyHint(e.key, STEP_EXPECT_KEYS)} (expected one of: ${STEP_EXPECT_KEYS.join(', ')})`);
        }
      }
    }
    const out: StepExpect = { pos: this.pos(n), checks };
    return { ...out, ...(ret && { ret }), ...(warn && { warn }), ...(bug && { bug }) };
  }

  /** A list of profiles (or one); every problem in it is reported, and then the list is null. */
  profileList(n: N, what: string): string[] | null {
    n = this.deref(n);
    const list = isSeq(n) ? n.items.map((i) => this.deref(i)) : [n];
    const out: string[] = [];
    let ok = true;
    for (const i of list) {
      const p = this.scalarString(i, `a profile in ${what}`);
      if (p === null) { ok = false; continue; }
      if (!knownProfile(this.backend, p)) {
        this.err(this.pos(i), this.unknownProfile(p));
        ok = false;
      } else if (out.includes(p)) {
        this.err(this.pos(i), `profile '${p}' is listed twice`);
        ok = false;
      } else out.push(p);
    }
    if (!ok) return null;
    if (out.length === 0) return this.err(this.pos(n), `${what} lists no profile`);
    return out;
  }

  // ---- steps -------------------------------------------------------------------------------------

  step(n: N, index: number): Step | null {
    n = this.deref(n);
    const es = this.entries(n, `step ${index}`);
    if (!es) return null;
    const special = es.find((e) => e.key === 'let' || e.key === 'mark');
    if (special) return this.letOrMark(special, es, index);
    const ops = this.backend.ops;
    const stepKeys: readonly string[] = STEP_KEYS;
    const opEntries = es.filter((e) => !stepKeys.includes(e.key));
    const get = (k: string) => es.find((e) => e.key === k);
    const expectE = get('expect');
    const valid = opEntries.filter((e) => ops.has(e.key));
    const opNamesAndExpect = [...ops.keys(), 'expect', 'let', 'mark'];
    for (const e of opEntries) {
      if (ops.has(e.key)) continue;
      if (valid.length > 0 || expectE) {
        this.err(e.keyPos, `unknown key ${quoted(e.key)} in step ${index}${keyHint(e.key, [...stepKeys, ...ops.keys()])} (a step has one operation and: ${stepKeys.join(', ')})`);
      } else {
        this.err(e.keyPos, notModelled(e.key, 'operation') ?? `unknown operation ${quoted(e.key)}${keyHint(e.key, opNamesAndExpect)}`);
      }
    }
    if (valid.length > 1) {
      return this.err(valid[1].keyPos, `step ${index} has a second operation '${valid[1].key}' after '${valid[0].key}': one step runs one operation`);
    }
    if (opEntries.length > valid.length) return null;
    const note = get('note');
    const noteText = note ? this.scalarString(note.value, 'note', true) ?? undefined : undefined;
    const profE = get('profiles');
    const profiles = profE ? this.profileList(profE.value, `the profiles of step ${index}`) ?? undefined : undefined;
    const common = { index, ...(noteText !== undefined && { note: noteText }), ...(profiles && { profiles }) };

    if (valid.length === 0) {
      if (!expectE) {
        return this.err(this.pos(n), `step ${index} has no operation: expected an operation (see \`pinlab ops\`) or expect`);
      }
      for (const k of ['task', 'as', 'preempt'] as const) {
        const e = get(k);
        if (e) this.err(e.keyPos, `'${k}' has no meaning on an expect step${k === 'task' ? ' (give the task in the query: {task: NAME, ...})' : ''}`);
      }
      const checks = this.checks(expectE.value, `step ${index} (expect)`);
      return { kind: 'expect', ...common, pos: expectE.keyPos, checks };
    }

    const opE = valid[0];
    const op = ops.get(opE.key)!;
    let task: OpStep['task'] = null;
    const taskE = get('task');
    if (taskE) {
      if (!op.needsTask) this.err(taskE.keyPos, `operation '${op.name}' does not run in a task; remove task:`);
      else task = this.taskRef(taskE.value, 'task');
    } else if (op.needsTask && this.startTasks.size === 0) {
      this.err(opE.keyPos, `operation '${op.name}' runs in a task, but the scenario declares no tasks (tasks: [NAME])`);
    }
    const { args } = this.args(op.name, op.args, opE.value, opE.keyPos, 'operation', false);
    // The step's own expectations may use what it creates: the tasks it forks (an argument
    // named `child`) and the name it binds with `as:` (bound before its checks run).
    for (const a of args) {
      if (a.name === 'child' && a.spec.type === 'name' && a.value.kind === 'string') this.tasks.add(a.value.value);
    }
    let bind: OpStep['bind'];
    const asE = get('as');
    if (asE) {
      const name = this.scalarString(asE.value, 'as');
      if (name !== null) {
        const pos = this.pos(asE.value);
        if (!IDENTIFIER.test(name)) this.err(pos, `as: must be a name (letters, digits and '_'), found ${quoted(name)}`);
        else if (name.length > MAX_NAME_LENGTH) this.err(pos, `as: names a binding of ${name.length} characters; names have at most ${MAX_NAME_LENGTH}`);
        else if (RESERVED_WORDS.has(name)) this.err(pos, `'${name}' is a reserved word; choose another name`);
        else if (this.constants.has(name)) this.err(pos, `'${name}' is a constant; choose another name`);
        else {
          bind = { name, pos };
          this.bound.add(name);
        }
      }
    }
    const expect = expectE ? this.stepExpect(expectE.value, index, op.name) ?? undefined : undefined;
    let preempt: string[] | undefined;
    const preE = get('preempt');
    if (preE) {
      const points = op.yieldPoints ?? [];
      const v = this.deref(preE.value);
      preempt = [];
      for (const i of isSeq(v) ? v.items.map((x) => this.deref(x)) : [v]) {
        const name = this.scalarString(i, 'a yield point');
        if (name === null) continue;
        if (points.length === 0) this.err(this.pos(i), `operation '${op.name}' has no yield points: it always runs as one atomic step`);
        else if (!points.includes(name)) {
          this.err(this.pos(i), `operation '${op.name}' has no yield point ${quoted(name)}${didYouMean(name, points)} (its yield points: ${points.join(', ')})`);
        } else preempt.push(name);
      }
    }
    return {
      kind: 'op', ...common, pos: opE.keyPos, op: op.name, needsTask: op.needsTask, task, args,
      ...(bind && { bind }), ...(expect && { expect }), ...(preempt && { preempt }),
    };
  }

  /** Remember which step first binds each name (`as:`, `let:`), for "bound later" messages. */
  private noteBindings(s: N, index: number): void {
    if (!isMap(s)) return;
    for (const p of s.items) {
      if (!isScalar(p.key)) continue;
      const k = this.text(p.key);
      const v = this.deref(p.value as N);
      const names = k === 'as' && isScalar(v) ? [this.text(v)] : k === 'let' && isMap(v) ? v.items.flatMap((x) => (isScalar(x.key) ? [this.text(x.key)] : [])) : [];
      for (const n of names) {
        if (this.bindsAt.has(n)) continue;
        this.bindsAt.set(n, index);
        this.bindsVia.set(n, k === 'let' ? 'let' : 'as');
      }
    }
  }

  /** A binding name (`as:`, `let:`): an identifier that is no constant nor reserved word; null after reporting why not. */
  private bindingName(name: string, pos: SourcePos, what: string): string | null {
    if (!IDENTIFIER.test(name)) return this.err(pos, `${what} must be a name (letters, digits and '_'), found ${quoted(name)}`);
    if (name.length > MAX_NAME_LENGTH) return this.err(pos, `${what} names a binding of ${name.length} characters; names have at most ${MAX_NAME_LENGTH}`);
    if (RESERVED_WORDS.has(name)) return this.err(pos, `'${name}' is a reserved word; choose another name`);
    if (this.constants.has(name)) return this.err(pos, `'${name}' is a constant; choose another name`);
    return name;
  }

  /** `- let: {NAME: EXPR, ...}` or `- mark: NAME`, with note: and profiles: only. */
  private letOrMark(e: { key: string; keyPos: SourcePos; value: N }, es: ReadonlyArray<{ key: string; keyPos: SourcePos; value: N }>, index: number): Step | null {
    const allowed = [e.key, 'note', 'profiles'];
    for (const x of es) {
      if (allowed.includes(x.key)) continue;
      this.err(x.keyPos, x.key === 'let' || x.key === 'mark' || this.backend.ops.has(x.key) || x.key === 'expect'
        ? `a ${e.key} step has no other operation or expect: put ${quoted(x.key)} in a step of its own`
        : `unknown key ${quoted(x.key)} in a ${e.key} step${keyHint(x.key, allowed)} (a ${e.key} step has: ${allowed.join(', ')})`);
    }
    const note = es.find((x) => x.key === 'note');
    const noteText = note ? this.scalarString(note.value, 'note', true) ?? undefined : undefined;
    const profE = es.find((x) => x.key === 'profiles');
    const profiles = profE ? this.profileList(profE.value, `the profiles of step ${index}`) ?? undefined : undefined;
    const common = { index, pos: e.keyPos, ...(noteText !== undefined && { note: noteText }), ...(profiles && { profiles }) };
    if (e.key === 'mark') {
      const name = this.scalarString(e.value, 'mark');
      if (name === null || this.bindingName(name, this.pos(e.value), 'mark:') === null) return null;
      this.marks.add(name);
      return { kind: 'mark', ...common, name };
    }
    const v = this.deref(e.value);
    if (!isMap(v)) return this.err(this.pos(v), `let: takes a mapping of names to values ({addr: buf + PAGE_SIZE, n: 4}), found ${this.kind(v)}`);
    const entries = this.entries(v, 'let') ?? [];
    if (entries.length === 0) return this.err(this.pos(v), 'let: binds no name');
    const bindings: Array<{ name: string; pos: SourcePos; value: ValueNode }> = [];
    for (const b of entries) {
      const value = this.value(b.value, 'value', `let ${b.key}`);
      this.names(value);
      const name = this.bindingName(b.key, b.keyPos, 'let:');
      if (name === null || value === null) continue;
      this.bound.add(name);
      bindings.push({ name, pos: b.keyPos, value });
    }
    return bindings.length === entries.length ? { kind: 'let', ...common, bindings } : null;
  }

  // ---- the whole file ----------------------------------------------------------------------------

  /** The scenario's name: printed at the head of every result line, so one line of printable text. */
  scenarioName(n: N): string | null {
    const name = this.scalarString(n, 'name');
    if (name === null) return null;
    const hidden = firstHidden(name);
    if (hidden) {
      return this.err(this.pos(n), `the name holds the control character ${hidden.shown} (at character ${hidden.index + 1}): `
        + 'a name is one line of printable text');
    }
    if (name.trim() === '') return this.err(this.pos(n), 'the name is blank');
    if (name.length > MAX_SCENARIO_NAME) return this.err(this.pos(n), `the name is ${name.length} characters long; a name has at most ${MAX_SCENARIO_NAME}`);
    return name;
  }

  machine(n: N): { machine: Record<string, Value>; keys: Map<string, SourcePos> } {
    const machine: Record<string, Value> = {};
    const keys = new Map<string, SourcePos>();
    const specs = this.backend.machineArgs;
    const seen = new Set<string>();
    const es = n === undefined ? [] : this.isEmpty(n, true) ? [] : this.entries(n, 'machine') ?? [];
    const scope = scopeOf(this.backend.constants);
    for (const e of es) {
      seen.add(e.key);
      const spec = specs.find((s) => s.name === e.key);
      if (!spec) {
        this.err(e.keyPos, `unknown machine setting ${quoted(e.key)}${didYouMean(e.key, specs.map((s) => s.name))} (settings: ${argList(specs)})`);
        continue;
      }
      const v = this.value(e.value, spec.type, `machine setting '${e.key}'`);
      if (!v) continue;
      const before = this.diags.length;
      this.names(v);
      if (this.diags.length > before) continue;
      try {
        machine[e.key] = evalTyped(v, spec.type, scope, `machine setting '${e.key}'`);
        keys.set(e.key, e.keyPos);
      } catch (err) {
        if (err instanceof ScenarioFileError) this.diags.push(...err.diagnostics);
        else throw err;
      }
    }
    for (const s of specs) {
      if (s.required === true && !seen.has(s.name)) this.err(this.pos(n), `missing machine setting '${s.name}'`);
    }
    return { machine, keys };
  }

  /** `explore:` of a multi-actor scenario: which profiles the explorer must find failing, and its options. */
  explore(n: N, profiles: readonly string[]): ExploreSpec | undefined {
    const es = this.entries(n, 'explore');
    if (!es) return undefined;
    const fails = new Map<string, { text: string; pos: SourcePos }>();
    let preemptionBound: number | undefined;
    const allowWarns: string[] = [];
    for (const e of es) {
      switch (e.key) {
        case 'fails': {
          for (const f of this.entries(e.value, 'explore: fails (profile: text the failure must contain)') ?? []) {
            if (!profiles.includes(f.key)) {
              this.err(f.keyPos, `profile ${quoted(f.key)} is not one of the scenario's profiles (${profiles.join(', ')})`);
              continue;
            }
            const text = this.scalarString(f.value, `the failure expected on ${f.key} (text it must contain)`);
            if (text !== null) fails.set(f.key, { text, pos: f.keyPos });
          }
          break;
        }
        case 'preemption_bound': {
          const v = this.deref(e.value);
          const t = isScalar(v) ? this.text(v) : '';
          if (!/^\d+$/.test(t)) this.err(this.pos(v), `preemption_bound must be a whole number, found ${this.kind(v)}`);
          else preemptionBound = Number(t);
          break;
        }
        case 'allow_warns': {
          const v = this.deref(e.value);
          for (const i of isSeq(v) ? v.items.map((x) => this.deref(x)) : [v]) {
            const w = this.scalarString(i, 'a WARN id');
            if (w !== null) allowWarns.push(w);
          }
          break;
        }
        default:
          this.unknownKey(e, EXPLORE_KEYS, 'explore');
      }
    }
    return { pos: this.pos(n), fails, allowWarns, ...(preemptionBound !== undefined && { preemptionBound }) };
  }

  end(n: N): EndSpec {
    const none: EndSpec = { pos: null, leaks: { expected: { kind: 'all', value: 'none' }, pos: null } };
    if (n === undefined || this.isEmpty(n, true)) return none;
    const es = this.entries(n, 'end');
    if (!es) return none;
    let leaks: EndSpec['leaks'] = none.leaks;
    let warns: EndSpec['warns'];
    let noWarns: EndSpec['noWarns'];
    const stringList = (x: N, what: string): string[] | null => {
      x = this.deref(x);
      const list = isSeq(x) ? x.items.map((i) => this.deref(i)) : [x];
      const out: string[] = [];
      for (const i of list) {
        const s = this.scalarString(i, what);
        if (s === null) return null;
        out.push(s);
      }
      return out;
    };
    for (const e of es) {
      switch (e.key) {
        case 'leaks': {
          const expected = this.perProfile<LeaksExpect>(e.value, (x) => {
            if (isScalar(x) && x.type === 'PLAIN' && (this.text(x) === 'none' || this.text(x) === 'any')) {
              return this.text(x) as 'none' | 'any';
            }
            if (!isSeq(x)) return this.err(this.pos(x), `leaks must be none, any, or a list of substrings of the expected leak lines, found ${this.kind(x)}`);
            return stringList(x, 'an expected leak');
          });
          if (expected) leaks = { expected, pos: e.keyPos };
          break;
        }
        case 'warns': {
          const expected = this.perProfile(e.value, (x) => stringList(x, 'a WARN id'));
          if (expected) warns = { expected, pos: e.keyPos };
          break;
        }
        case 'no_warns': {
          const expected = this.perProfile(e.value, (x) => {
            if (isScalar(x) && x.type === 'PLAIN' && (this.text(x) === 'true' || this.text(x) === 'false')) return this.text(x) === 'true';
            return this.err(this.pos(x), `no_warns must be true or false, found ${this.kind(x)}`);
          });
          if (expected) noWarns = { expected, pos: e.keyPos };
          break;
        }
        default:
          this.unknownKey(e, END_KEYS, 'end');
      }
    }
    return { pos: this.pos(n), leaks, ...(warns && { warns }), ...(noWarns && { noWarns }) };
  }

  load(): Scenario | null {
    // Syntax errors stop here (only the first: the ones after it are usually its consequences);
    // duplicate keys are reported, and the rest of the file is still checked.
    const parsed = parseScenarioYaml(this.source, this.file);
    this.lc = parsed.lc;
    this.aliases = parsed.aliases;
    for (const d of parsed.diags) this.err(d.pos, d.message);
    if (parsed.fatal || !parsed.doc) return null;
    const root = this.deref(parsed.doc.contents);
    if (this.isEmpty(root)) return this.err(this.pos(root), 'the file is empty: expected a scenario (a mapping with name: and steps:)');
    if (!isMap(root)) return this.err(this.pos(root), `expected a scenario (a mapping with name: and steps:), found ${this.kind(root)}`);
    const es = this.entries(root, 'a scenario') ?? [];
    const get = (k: string) => es.find((e) => e.key === k);
    for (const e of es) {
      if (!(TOP_LEVEL_KEYS as readonly string[]).includes(e.key) && !(MULTI_ACTOR_KEYS as readonly string[]).includes(e.key)) {
        this.unknownKey(e, [...TOP_LEVEL_KEYS, ...MULTI_ACTOR_KEYS], 'the scenario');
      }
    }

    const rootPos = this.pos(root);
    const nameE = get('name');
    const name = nameE ? this.scenarioName(nameE.value) : this.err(rootPos, 'missing key name: (the scenario\'s name)');
    const descE = get('description');
    const description = descE ? this.scalarString(descE.value, 'description', true) ?? undefined : undefined;
    const srcE = get('source');
    const source = srcE ? this.scalarString(srcE.value, 'source', true) ?? undefined : undefined;

    const profE = get('profile');
    const profsE = get('profiles');
    let profiles: string[] = [this.backend.defaultProfile];
    if (profE && profsE) this.err(profsE.keyPos, 'give either profile: or profiles:, not both');
    else if (profE) {
      const p = this.scalarString(profE.value, 'profile');
      if (p !== null && !knownProfile(this.backend, p)) {
        this.err(this.pos(profE.value), this.unknownProfile(p));
      } else if (p !== null) profiles = [p];
    } else if (profsE) {
      profiles = this.profileList(profsE.value, 'profiles') ?? profiles;
    }

    const machE = get('machine');
    const { machine, keys: machineKeys } = this.machine(machE?.value);

    const tasksE = get('tasks');
    let tasks: string[] = [...DEFAULT_TASKS];
    if (tasksE) {
      tasks = [];
      for (const t of this.items(tasksE.value, 'tasks') ?? []) {
        const name = this.nameValue(t, 'a task name');
        if (name === null) continue;
        if (tasks.includes(name)) this.err(this.pos(t), `task '${name}' is declared twice`);
        else tasks.push(name);
      }
    }
    // A multi-actor scenario: each actor's task (its own name) exists from the start.
    const actorsE = get('actors');
    const setupE = get('setup');
    const actorEntries = actorsE ? this.entries(actorsE.value, 'actors') ?? [] : [];
    if (actorsE && actorEntries.length === 0 && isMap(actorsE.value)) this.err(actorsE.keyPos, 'actors: lists no actor');
    for (const a of actorEntries) {
      if (!NAME.test(a.key)) this.err(a.keyPos, `an actor's name must be a name (letters, digits, '_', '.', '-'), found ${quoted(a.key)}`);
      else if (a.key.length > MAX_NAME_LENGTH) this.err(a.keyPos, `an actor's name has ${a.key.length} characters; names have at most ${MAX_NAME_LENGTH}`);
      else if (!tasks.includes(a.key)) tasks.push(a.key);
    }
    this.startTasks = new Set(tasks);
    for (const t of tasks) this.tasks.add(t);

    const stepsE = get('steps');
    const finallyE = get('finally');
    const exploreE = get('explore');
    const steps: Step[] = [];
    let setup: Step[] | undefined;
    let actors: Actor[] | undefined;
    let final: Step[] | undefined;
    if (!actorsE) {
      for (const e of [finallyE, exploreE]) if (e) this.err(e.keyPos, `${e.key}: belongs to a multi-actor scenario: add actors:`);
    }
    if (actorsE || setupE) {
      if (stepsE) this.err(stepsE.keyPos, 'a multi-actor scenario has setup: and actors:, not steps:');
      if (!actorsE) this.err(setupE!.keyPos, 'setup: belongs to a multi-actor scenario: add actors:');
      const setupList = setupE ? this.items(setupE.value, 'setup') ?? [] : [];
      const lists = actorEntries.map((a) => ({ a, list: this.items(a.value, `the steps of actor ${quoted(a.key)}`) ?? [] }));
      const finalList = finallyE ? this.items(finallyE.value, 'finally') ?? [] : [];
      const all = [...setupList, ...lists.flatMap((l) => l.list), ...finalList];
      all.forEach((s, i) => {
        this.noteBindings(s, i + 1);
      });
      setup = [];
      for (const s of setupList) {
        const st = this.step(s, steps.length + setup.length + 1);
        if (st) setup.push(st);
      }
      steps.push(...setup);
      let index = setupList.length;
      actors = [];
      for (const { a, list } of lists) {
        const actorSteps: Step[] = [];
        for (const s of list) {
          index++;
          const st = this.step(s, index);
          if (!st) continue;
          actorSteps.push(st.kind === 'op' && st.needsTask && st.task === null ? { ...st, task: { name: a.key, pos: st.pos } } : st);
        }
        if (list.length === 0) this.err(a.keyPos, `actor ${quoted(a.key)} has no steps`);
        actors.push({ name: a.key, pos: a.keyPos, task: a.key, steps: actorSteps });
        steps.push(...actorSteps);
      }
      if (finallyE) {
        final = [];
        for (const s of finalList) {
          index++;
          const st = this.step(s, index);
          if (st) final.push(st);
        }
        steps.push(...final);
      }
    } else if (!stepsE) this.err(rootPos, 'missing key steps: (the list of steps)');
    else {
      const list = this.items(stepsE.value, 'steps') ?? [];
      list.forEach((s, i) => {
        this.noteBindings(s, i + 1);
      });
      list.forEach((s, i) => {
        const st = this.step(s, i + 1);
        if (st) steps.push(st);
      });
    }
    const end = this.end(get('end')?.value);
    const explore = exploreE && actorsE ? this.explore(exploreE.value, profiles) : undefined;
    if (this.diags.length || name === null) return null;
    return {
      file: this.file, name, ...(description !== undefined && { description }), ...(source !== undefined && { source }),
      profiles, profilesGiven: Boolean(profE || profsE), pos: rootPos, machine, machinePos: machE ? machE.keyPos : rootPos,
      machineKeys, tasks, steps, end, ...(setup && { setup }), ...(actors && { actors }), ...(final && { final }),
      ...(explore && { explore }),
    };
  }
}

/** didYouMean(), and what to do instead of a YAML merge key. */
function keyHint(key: string, allowed: Iterable<string>): string {
  if (key === '<<') return '; YAML merge keys (<<: *anchor) are not supported: write the keys out';
  return didYouMean(key, allowed);
}

/** Words from the file for a message: each cut (and quoted, unless they are checked names), at most 8 of them. */
function listed(words: readonly string[], quote = true): string {
  const shown = words.slice(0, 8).map((w) => (quote ? quoted(w, 30) : printable(w, 30))).join(', ');
  return words.length > 8 ? `${shown}, ... (${words.length} in all)` : shown;
}

function argList(specs: readonly ArgSpec[]): string {
  return specs.length ? specs.map((s) => (s.required === true ? s.name : `${s.name}?`)).join(', ') : 'no arguments';
}

/** In file order, without repeats (a node may be looked at more than once). */
function sortDiags(d: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return [...d].sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col).filter((x) => {
    const k = `${x.pos.line}:${x.pos.col}:${x.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Parse and validate a scenario; throws ScenarioFileError with every problem found (up to
 * MAX_DIAGNOSTICS; then a last one says where the loader stopped).
 */
export function loadScenario(text: string, file: string, backend: Backend): Scenario {
  if (text.startsWith('\ufeff')) text = text.slice(1);
  if (text.length > MAX_FILE_BYTES) {
    throw ScenarioFileError.at({ file, line: 1, col: 1 }, `the scenario is ${text.length} characters long; the limit is ${MAX_FILE_BYTES} (docs/scenarios.md#limits)`);
  }
  const notText = checkScenarioText(text, file);
  if (notText) throw new ScenarioFileError([notText]);
  const l = new Loader(text, file, backend);
  let s: Scenario | null;
  try {
    s = l.load();
  } catch (e) {
    if (!(e instanceof TooManyProblems)) throw e;
    const diags = sortDiags(l.diags);
    const last = diags[diags.length - 1].pos;
    throw new ScenarioFileError([...diags, { pos: last, message: `too many problems (${MAX_DIAGNOSTICS}); the rest of the file was not checked` }]);
  }
  if (!s) throw new ScenarioFileError(sortDiags(l.diags.length ? l.diags : [{ pos: { file, line: 1, col: 1 }, message: 'invalid scenario' }]));
  return s;
}

/**
 * Read and load a scenario file; messages name it `name` (default: the path as given). Throws
 * FileInputError when the path cannot be read as a file at all (source.ts), ScenarioFileError for
 * everything in it.
 */
export function loadScenarioFile(path: string, backend: Backend, name: string = path): Scenario {
  const read = readScenarioBytes(path, name);
  if ('tooLarge' in read) throw new ScenarioFileError([read.tooLarge]);
  const text = decodeScenarioText(read.bytes, name);
  if ('error' in text) throw new ScenarioFileError([text.error]);
  return loadScenario(text.text, name, backend);
}

export { FileInputError };
