// Synthetic programs over shared integer variables: each step reads/writes
// named variables; the footprint is exactly those names. Each actor also has
// private registers (not part of any footprint).

import type { Execution, Program, StepResult } from '../../src/explore/program.js';

export type Env = Record<string, number>;
export interface Op {
  reads: string[];
  writes: string[];
  /** may return a failure message */
  run(g: Env, regs: Env): string | void;
  /** the step is enabled only while this holds (a blocking step) */
  guard?: (g: Env) => boolean;
}
export interface ActorDef { name: string; ops: Op[] }

/** r := x */
export const load = (x: string, r: string = x): Op => ({ reads: [x], writes: [], run: (g, l) => { l[r] = g[x]; } });
/** x := f(regs) */
export const store = (x: string, f: (l: Env) => number): Op => ({ reads: [], writes: [x], run: (g, l) => { g[x] = f(l); } });
/** x := x + 1, atomically */
export const incr = (x: string): Op => ({ reads: [x], writes: [x], run: (g) => { g[x]++; } });
/** x := c */
export const set = (x: string, c: number): Op => ({ reads: [], writes: [x], run: (g) => { g[x] = c; } });
/** block until x != 0, then r := x */
export const awaitNonZero = (x: string, r: string = 'w_' + x): Op => ({
  reads: [x], writes: [], guard: (g) => g[x] !== 0, run: (g, l) => { l[r] = g[x]; },
});
/** a local step touching nothing shared */
export const local = (): Op => ({ reads: [], writes: [], run: () => undefined });
/** non-atomic x := x + 1 (read step, then write step) */
export const racyIncr = (x: string): Op[] => [load(x, 'r_' + x), store(x, (l) => l['r_' + x] + 1)];

export function sharedVars(actors: ActorDef[], init: Env, check?: (g: Env) => string | null): Program & { executions: number } {
  const prog = {
    actors: actors.map((a) => a.name),
    executions: 0,
    start(): Execution {
      prog.executions++;
      const g: Env = { ...init };
      const regs: Env[] = actors.map(() => ({}));
      const pc = actors.map(() => 0);
      return {
        enabled: () => actors.flatMap((a, i) => {
          const op = a.ops[pc[i]];
          return op && (!op.guard || op.guard(g)) ? [i] : [];
        }),
        blocked: () => actors.flatMap((a, i) => {
          const op = a.ops[pc[i]];
          return op && op.guard && !op.guard(g) ? [i] : [];
        }),
        step(i: number): StepResult {
          const op = actors[i].ops[pc[i]];
          if (!op) throw new Error(`actor ${i} has no step left`);
          pc[i]++;
          const failure = op.run(g, regs[i]) ?? undefined;
          const res: StepResult = { footprint: { reads: new Set(op.reads), writes: new Set(op.writes) } };
          if (failure) res.failure = failure;
          return res;
        },
        finalState: () => JSON.stringify([pc, Object.keys(g).sort().map((k) => [k, g[k]]), regs.map((r) => Object.keys(r).sort().map((k) => [k, r[k]]))]),
        finish: () => (check ? check(g) : null),
      };
    },
  };
  return prog;
}

/** Two actors each doing a non-atomic x := x+1; the check demands x == 2. */
export function lostUpdate(): Program & { executions: number } {
  return sharedVars(
    [{ name: 'A', ops: racyIncr('x') }, { name: 'B', ops: racyIncr('x') }],
    { x: 0 },
    (g) => (g.x === 2 ? null : `lost update: x = ${g.x}, expected 2`),
  );
}
