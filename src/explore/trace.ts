// Mazurkiewicz traces: two schedules are equivalent iff they order every pair
// of dependent steps the same way.

import { dependent, type Footprint } from './program.js';
import type { Schedule } from './schedule.js';

/**
 * A canonical key of the Mazurkiewicz trace of an execution: the ordered
 * dependent pairs, with steps named "actor:n" (n-th step of the actor).
 */
export function traceKey(schedule: Schedule, footprints: readonly Footprint[]): string {
  const seen = new Map<number, number>();
  const names = schedule.map((a) => {
    const n = seen.get(a) ?? 0;
    seen.set(a, n + 1);
    return `${a}:${n}`;
  });
  const pairs: string[] = [];
  for (let j = 0; j < schedule.length; j++) {
    for (let i = 0; i < j; i++) {
      if (schedule[i] !== schedule[j] && dependent(schedule[i], footprints[i], schedule[j], footprints[j])) {
        pairs.push(`${names[i]}<${names[j]}`);
      }
    }
  }
  // Steps of one actor are ordered by their numbering; include the per-actor step counts.
  const counts = [...seen.entries()].sort((x, y) => x[0] - y[0]).map(([a, n]) => `${a}x${n}`);
  return counts.join(',') + '|' + pairs.sort().join(',');
}
