// The compact program encoding host/pinfuzz.c interprets, and its result lines.
//   program: "ID;OP TASK ARG...;OP TASK ARG..."             (one line)
//   result:  "ID|ret,dA,dR;...|T.S=P,P,... ...|dA,dR"      (one line; "ID|!crash N" etc. on failure)

import type { Program } from './program.js';

export function encodeProgram(p: Program): string {
  return [String(p.id), ...p.calls.map((c) => [c.op, c.task, ...c.a].join(' '))].join(';');
}

export function decodeProgram(line: string): Program {
  const [id, ...calls] = line.split(';');
  return {
    id: Number(id),
    calls: calls.map((s) => {
      const [op, task, ...a] = s.trim().split(/\s+/);
      return { op: op!, task: Number(task) as 0 | 1, a: a.map(Number) };
    }),
  };
}

/** One call's outcome: the return value (or -errno) and the pin counters' deltas across it. */
export interface CallResult {
  readonly ret: number;
  readonly dA: number;
  readonly dR: number;
}

/** What one run of a program showed (kernel or model): per call, end facts, whole-program deltas. */
export interface RunResult {
  readonly id: number;
  readonly calls: readonly CallResult[];
  /** "parent.0" → per page: '.', 'z' or the hex token. */
  readonly facts: Readonly<Record<string, readonly string[]>>;
  /** Counter deltas across the whole program including teardown (balanced: dA === dR). */
  readonly end: { readonly dA: number; readonly dR: number };
  /** The run did not complete: why (a crash, a setup failure, a model error). */
  readonly failure?: string;
}

const TASK_OF: Readonly<Record<string, string>> = { p: 'parent', c: 'child' };

export function parseResultLine(line: string): RunResult {
  const parts = line.split('|');
  const id = Number(parts[0]);
  if (!Number.isInteger(id)) throw new Error(`unreadable result line ${JSON.stringify(line.slice(0, 120))}`);
  if (parts[1]?.startsWith('!')) return { id, calls: [], facts: {}, end: { dA: 0, dR: 0 }, failure: parts[1].slice(1) };
  if (parts.length !== 4) throw new Error(`unreadable result line ${JSON.stringify(line.slice(0, 120))}`);
  const calls = parts[1] ? parts[1].split(';').map((c) => {
    const [ret, dA, dR] = c.split(',').map(Number);
    return { ret: ret!, dA: dA!, dR: dR! };
  }) : [];
  const facts: Record<string, string[]> = {};
  for (const f of parts[2]!.split(' ')) {
    if (!f) continue;
    const [key, pages] = f.split('=');
    const [t, s] = key!.split('.');
    facts[`${TASK_OF[t!] ?? t}.${s}`] = pages ? pages.split(',') : [];
  }
  const [dA, dR] = parts[3]!.split(',').map(Number);
  return { id, calls, facts, end: { dA: dA!, dR: dR! } };
}
