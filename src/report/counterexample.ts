// The failing schedule of `pinlab explore` / `pinlab replay` as a person reads it: one numbered
// line per operation an actor ran, `actor: operation(args) → result`, the arguments as the file
// writes them; an operation stopped at a yield point (or a wait) and continued later is one
// step, interrupted, and the line under it says where it stopped and what ran meanwhile; the
// failing check comes last. `--json` carries the same structure (docs/explorer.md).

import type { Scenario, Step, ValueNode } from '../scenario/ast.js';
import type { CheckRecord, EventRecord } from '../trace/schema.js';

/** What ran while a step was stopped: a part of another step. */
export interface GapPart {
  /** The step's number in the counterexample. */
  readonly n: number;
  /** The part began the step (false: it continued it). */
  readonly begins: boolean;
  /** Where the part stopped (null: the step ended). */
  readonly stoppedAt: string | null;
}

export interface Interruption {
  /** The yield point (or the wait: `mmap_lock`) where the step stopped. */
  readonly at: string;
  /** What ran before the step went on. */
  readonly meanwhile: readonly GapPart[];
}

export interface CounterexampleStep {
  readonly n: number;
  readonly actor: string;
  /** The task it ran in, when it is not the actor's own name. */
  readonly task: string | null;
  readonly op: string;
  /** Arguments as the file writes them (`start: buf + PAGE_SIZE`). */
  readonly args: Readonly<Record<string, string>>;
  /** The result in words: `1`, `-EAGAIN`, `BUG: ...`; null if it never finished (the run ended while it was stopped). */
  readonly result: string | null;
  readonly ret: unknown;
  /** `as:` and what it bound, when that is not the return value (a GUP call's PFNs). */
  readonly bound?: { readonly name: string; readonly value: unknown };
  readonly interruptions: readonly Interruption[];
  /** file:line:col of the step. */
  readonly pos: string | null;
}

export interface Counterexample {
  readonly steps: readonly CounterexampleStep[];
  /** The failing check, last: what failed and where it is written. */
  readonly failure: { readonly message: string; readonly pos: string | null } | null;
}

/** A step while it is being built. */
type Building = { -readonly [K in keyof CounterexampleStep]: CounterexampleStep[K] } & { interruptions: Interruption[] };

function valueText(v: ValueNode): string {
  if (v.kind === 'expr') return v.src;
  if (v.kind === 'string') return /^[\w.+-]*$/.test(v.value) && v.value !== '' ? v.value : JSON.stringify(v.value);
  return `[${v.items.map(valueText).join(', ')}]`;
}

/** The indices of the steps the actors run (between setup: and finally:). */
function actorStepIndices(scn: Scenario): Set<number> {
  const out = new Set<number>();
  for (const a of scn.actors ?? []) for (const s of a.steps) out.add(s.index);
  return out;
}

function resultText(e: EventRecord): string {
  if (e.bug !== undefined) return `BUG: ${e.bug}`;
  const warned = e.warnings.length > 0 ? ` with WARN ${e.warnings.join('; ')}` : '';
  if (e.errno !== undefined) return `${e.errno}${warned}`;
  if (e.ret === null || e.ret === undefined) return `done${warned}`;
  return `${typeof e.ret === 'number' && e.ret >= 0x10000 ? `0x${e.ret.toString(16)}` : JSON.stringify(e.ret)}${warned}`;
}

/**
 * The counterexample of a schedule from its trace events (the replay of the schedule with a
 * trace): the actors' operation steps, pause and resume joined into one step.
 */
export function counterexampleOf(scn: Scenario, events: readonly EventRecord[], failure: string | null,
  failedChecks: readonly CheckRecord[]): Counterexample {
  const byIndex = new Map<number, Step>();
  for (const s of scn.steps) byIndex.set(s.index, s);
  const actorSteps = actorStepIndices(scn);
  const steps: Array<Building> = [];
  /** Per thread: the step stopped at a yield point, and the parts that ran since. */
  const open = new Map<string, { step: Building; gap: GapPart[]; at: string }>();
  for (const e of events) {
    if (e.step === null || !actorSteps.has(e.step)) continue;
    const src = byIndex.get(e.step);
    const cur = open.get(e.thread);
    let step: Building;
    if (e.resumedFrom !== undefined && cur) {
      step = cur.step;
      step.interruptions.push({ at: cur.at, meanwhile: merged(cur.gap) });
      open.delete(e.thread);
    } else {
      const args: Record<string, string> = {};
      if (src?.kind === 'op') for (const a of src.args) args[a.name] = valueText(a.value);
      step = {
        n: steps.length + 1, actor: e.thread, task: e.task !== null && e.task !== e.thread ? e.task : null, op: e.op,
        args, result: null, ret: null, interruptions: [], pos: e.pos,
      };
      steps.push(step);
    }
    // This part ran while every other stopped step waited.
    const part: GapPart = { n: step.n, begins: e.resumedFrom === undefined, stoppedAt: e.pausedAt ?? null };
    for (const [t, o] of open) if (t !== e.thread) o.gap.push(part);
    if (e.pausedAt !== undefined) {
      open.set(e.thread, { step, gap: [], at: e.pausedAt });
      continue;
    }
    step.result = resultText(e);
    step.ret = e.ret;
    if (src?.kind === 'op' && src.bind && e.out !== undefined) step.bound = { name: src.bind.name, value: e.out };
  }
  // A step still stopped when the run ended (another step failed meanwhile).
  for (const o of open.values()) o.step.interruptions.push({ at: o.at, meanwhile: merged(o.gap) });
  // A stop where the same actor went straight on is no interruption.
  for (const st of steps) st.interruptions = st.interruptions.filter((i) => i.meanwhile.length > 0);
  const check = failedChecks[0];
  return {
    steps,
    failure: failure === null ? null : { message: failure, pos: check?.pos ?? null },
  };
}

/** Consecutive parts of one step read as one: "2 ran up to after_grab, 2 finished" is "2 ran". */
function merged(parts: readonly GapPart[]): GapPart[] {
  const out: GapPart[] = [];
  for (const p of parts) {
    const last = out[out.length - 1];
    if (last && last.n === p.n) out[out.length - 1] = { n: p.n, begins: last.begins, stoppedAt: p.stoppedAt };
    else out.push(p);
  }
  return out;
}

function gapText(parts: readonly GapPart[]): string {
  if (parts.length === 0) return 'nothing else ran';
  return parts.map((p) => {
    if (p.begins) return p.stoppedAt === null ? `${p.n} ran` : `${p.n} ran up to ${p.stoppedAt}`;
    return p.stoppedAt === null ? `${p.n} finished` : `${p.n} went on up to ${p.stoppedAt}`;
  }).join(', ');
}

/** The numbered lines, indented by `indent`; the failing check last. */
export function formatCounterexample(c: Counterexample, indent = '  '): string {
  const width = String(c.steps.length).length;
  const lines: string[] = [];
  for (const s of c.steps) {
    const num = `${String(s.n).padStart(width)}.`;
    const args = Object.entries(s.args).map(([k, v]) => `${k}: ${v}`).join(', ');
    const result = s.result === null ? '(still stopped when the run ended)'
      : `→ ${s.result}${s.bound ? `, ${s.bound.name} = ${JSON.stringify(s.bound.value)}` : ''}`;
    lines.push(`${indent}${num} ${s.actor}: ${s.op}(${args}) ${result}`);
    for (const i of s.interruptions) lines.push(`${indent}${' '.repeat(width + 2)}interrupted at ${i.at}: ${gapText(i.meanwhile)}`);
  }
  if (c.failure) lines.push(`${indent}${'✗'.padStart(width)}  ${c.failure.message}${c.failure.pos ? ` (${c.failure.pos})` : ''}`);
  return `${lines.join('\n')}\n`;
}
