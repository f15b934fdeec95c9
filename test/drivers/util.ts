// Shared setup for the driver tests: the common helpers plus a teardown that runs the drivers'
// teardown hooks (process exit closes rings, MRs, containers...) before the leak check.

import { findLeaks } from '../../src/check/leaks.js';
import type { Kernel } from '../../src/kernel.js';
import { teardown } from '../helpers.js';

/** Exit every task, run the teardown hooks, drop page caches; returns the leak lines. */
export function exitAll(k: Kernel): string[] {
  teardown(k);
  return findLeaks(k).map((l) => l.line);
}

/** Profiles with FOLL_PIN tracking, oldest first. */
export const TRACKED = ['5.7', '5.9', '5.19', '6.2', '6.5', 'current'] as const;
