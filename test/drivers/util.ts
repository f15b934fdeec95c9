// Shared setup for the driver tests: the common helpers plus a teardown that runs the drivers'
// teardown hooks (process exit closes rings, MRs, containers...) before the leak check.

import { findLeaks } from '../../src/check/leaks.js';
import type { Kernel } from '../../src/kernel.js';
import { do_exit } from '../../src/vm/exit.js';
import { dropFileCache, type File } from '../../src/fs/file.js';
import { step } from '../helpers.js';

/** Exit every task, run the teardown hooks, drop page caches; returns the leak lines. */
export function exitAll(k: Kernel): string[] {
  step(k, null, 'teardown', () => {
    for (const t of k.tasks.values()) do_exit(k, t);
    k.runTeardownHooks();
    const files = new Set<File>(k.files.values());
    for (const h of k.mem.allocatedHeads()) {
      const id = k.mem.mapping[h];
      const f = id > 0 ? k.fileById(id) : undefined;
      if (f) files.add(f);
    }
    for (const f of files) dropFileCache(k, f);
  });
  return findLeaks(k).map((l) => l.line);
}

/** Profiles with FOLL_PIN tracking, oldest first. */
export const TRACKED = ['5.7', '5.9', '5.19', '6.2', '6.5', 'current'] as const;
