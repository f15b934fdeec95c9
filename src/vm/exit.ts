// do_exit(): the task's mm goes away with it (kernel/exit.c, mm/mmap.c exit_mmap()), then what the
// subsystems hooked in (exit_files(): every descriptor closed, src/fs/fdtable.ts).

import type { Kernel } from '../kernel.js';
import type { Task } from './mm.js';
import { exit_mmap } from './mmap.js';
import { runExitHooks } from './mm.js';

export function do_exit(k: Kernel, task: Task, code = 0): void {
  if (task.exited) return;
  task.exited = true;
  task.exitCode = code;
  if (--task.mm.users === 0) exit_mmap(k, task.mm);
  // kernel/exit.c do_exit(): exit_mm() comes before exit_sem(), exit_shm() and exit_files().
  runExitHooks(k, task);
}
