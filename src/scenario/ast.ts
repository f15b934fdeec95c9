// A loaded, validated scenario: what load.ts produces and run.ts executes.

import type { ArgSpec, Value } from './backend.js';
import type { SourcePos } from './errors.js';
import type { Expr } from './expr.js';

/** A value written in the file, evaluated when the step runs (names bound by `as:` have values only then). */
export type ValueNode =
  | {
    readonly kind: 'expr';
    readonly src: string;
    readonly expr: Expr;
    readonly pos: SourcePos;
    /** The file position of a column (0-based) of src, for errors inside the expression. */
    readonly at: (col: number) => SourcePos;
  }
  | { readonly kind: 'string'; readonly value: string; readonly pos: SourcePos }
  | { readonly kind: 'list'; readonly items: readonly ValueNode[]; readonly pos: SourcePos };

export interface ArgNode {
  readonly name: string;
  readonly spec: ArgSpec;
  readonly keyPos: SourcePos;
  readonly value: ValueNode;
}

/** A value that may differ per profile: `{by_profile: {"5.1": A, current: B, default: C}}`. */
export type PerProfile<T> =
  | { readonly kind: 'all'; readonly value: T }
  | {
    readonly kind: 'by_profile';
    readonly cases: ReadonlyMap<string, T>;
    readonly fallback?: T;
    readonly pos: SourcePos;
  };

export type Comparison =
  | { readonly kind: 'eq'; readonly value: ValueNode; readonly pos: SourcePos }
  | { readonly kind: 'ne'; readonly value: ValueNode; readonly pos: SourcePos }
  | { readonly kind: 'ge' | 'le'; readonly value: ValueNode; readonly pos: SourcePos }
  /** `{delta: N}`; with `since: MARK`, compared with the value a `mark:` step recorded (vmstat checks). */
  | { readonly kind: 'delta'; readonly value: ValueNode; readonly pos: SourcePos; readonly since?: { readonly name: string; readonly pos: SourcePos } }
  | { readonly kind: 'one_of'; readonly values: readonly ValueNode[]; readonly pos: SourcePos };

export type Expected = PerProfile<Comparison>;

export interface FieldCheck {
  readonly field: string;
  readonly pos: SourcePos;
  readonly expected: Expected;
}

export interface Check {
  readonly query: string;
  readonly queryPos: SourcePos;
  /** The task given inside the query's arguments (`task: child`), for queries that run in a task. */
  readonly task: { readonly name: string; readonly pos: SourcePos } | null;
  readonly needsTask: boolean;
  readonly args: readonly ArgNode[];
  readonly fields: readonly FieldCheck[];
  /** "page{addr: buf}" — the query as written, for verdict descriptions. */
  readonly label: string;
  /**
   * Whether the arguments are known at scenario start (constants only, and a task declared in
   * `tasks:`): then a `{delta: N}` on the first check compares against a snapshot taken at start.
   */
  readonly staticArgs: boolean;
}

/** `warn:` / `bug:` on a step: a substring of the id (WARN) or message (BUG), true = any, false = none. */
export type RaiseExpect = string | boolean;

export interface StepExpect {
  readonly pos: SourcePos;
  readonly ret?: { readonly expected: Expected; readonly pos: SourcePos };
  readonly warn?: { readonly expected: PerProfile<RaiseExpect>; readonly pos: SourcePos };
  readonly bug?: { readonly expected: PerProfile<RaiseExpect>; readonly pos: SourcePos };
  readonly checks: readonly Check[];
}

interface StepCommon {
  /** 1-based position in `steps:`. */
  readonly index: number;
  /** Position of the op key (or of `expect` for an expectation step). */
  readonly pos: SourcePos;
  readonly note?: string;
  /** Only run on these profiles. */
  readonly profiles?: readonly string[];
}

export interface OpStep extends StepCommon {
  readonly kind: 'op';
  readonly op: string;
  readonly needsTask: boolean;
  readonly task: { readonly name: string; readonly pos: SourcePos } | null;
  readonly args: readonly ArgNode[];
  readonly bind?: { readonly name: string; readonly pos: SourcePos };
  readonly expect?: StepExpect;
  /** `preempt:`: yield points of the operation where the explorer may run other actors. */
  readonly preempt?: readonly string[];
}

export interface ExpectStep extends StepCommon {
  readonly kind: 'expect';
  readonly checks: readonly Check[];
}

/** `let: {NAME: EXPR, ...}`: bind computed values, in order (a later one may use an earlier one). */
export interface LetStep extends StepCommon {
  readonly kind: 'let';
  readonly bindings: ReadonlyArray<{ readonly name: string; readonly pos: SourcePos; readonly value: ValueNode }>;
}

/** `mark: NAME`: record the vmstat counters now, for a later `{delta: N, since: NAME}`. */
export interface MarkStep extends StepCommon {
  readonly kind: 'mark';
  readonly name: string;
}

export type Step = OpStep | ExpectStep | LetStep | MarkStep;

export type LeaksExpect = 'none' | 'any' | readonly string[];

export interface EndSpec {
  readonly pos: SourcePos | null;
  readonly leaks: { readonly expected: PerProfile<LeaksExpect>; readonly pos: SourcePos | null };
  readonly warns?: { readonly expected: PerProfile<readonly string[]>; readonly pos: SourcePos };
  readonly noWarns?: { readonly expected: PerProfile<boolean>; readonly pos: SourcePos };
}

export interface Scenario {
  readonly file: string;
  readonly name: string;
  readonly description?: string;
  readonly source?: string;
  /** The profiles the file asks for (`profiles:`, or `[profile]`, or the backend's default). */
  readonly profiles: readonly string[];
  /** Whether the file named its profile(s) itself. */
  readonly profilesGiven: boolean;
  readonly pos: SourcePos;
  readonly machine: Readonly<Record<string, Value>>;
  readonly machinePos: SourcePos;
  readonly machineKeys: ReadonlyMap<string, SourcePos>;
  readonly tasks: readonly string[];
  /** Every step, in the sequential order `pinlab run` uses (for a multi-actor file: setup, then each actor's steps in turn). */
  readonly steps: readonly Step[];
  readonly end: EndSpec;
  /** A multi-actor scenario (`setup:` + `actors:`): the setup steps (a prefix of `steps`). */
  readonly setup?: readonly Step[];
  /** A multi-actor scenario: the actors in declaration order; their steps follow the setup in `steps`. */
  readonly actors?: readonly Actor[];
  /** A multi-actor scenario: `finally:` steps, run after every actor has finished (the last of `steps`). */
  readonly final?: readonly Step[];
  /** A multi-actor scenario: what the explorer must find (`explore:`). */
  readonly explore?: ExploreSpec;
}

/** `explore:`: the verdict expected of `pinlab explore` per profile, and its options. */
export interface ExploreSpec {
  readonly pos: SourcePos;
  /** Profiles on which some schedule must fail, with text the failure must contain; every other profile must pass. */
  readonly fails: ReadonlyMap<string, { readonly text: string; readonly pos: SourcePos }>;
  /** The default --preemption-bound. */
  readonly preemptionBound?: number;
  /** WARN ids (substrings) a schedule may raise without failing. */
  readonly allowWarns: readonly string[];
}

/** One actor of a multi-actor scenario: a list of atomic steps run in its task. */
export interface Actor {
  readonly name: string;
  readonly pos: SourcePos;
  /** The task its steps run in when they give none (a task of the actor's name, created if not declared). */
  readonly task: string;
  readonly steps: readonly Step[];
}
