// do_exit(): the task's mm goes away with it (kernel/exit.c, mm/mmap.c exit_mmap()).

import type { Kernel } from '../kernel.js';
import type { Task } from './mm.js';
import { exit_mmap } from './mmap.js';

export function do_exit(k: Kernel, task: Task, code = 0): void {
  if (task.exited) return;
  task.exited = true;
  task.exitCode = code;
  if (--task.mm.users === 0) exit_mmap(k, task.mm);
}
