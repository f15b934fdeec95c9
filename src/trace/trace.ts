// The trace: one event per model step. The explorer, the viewer and the tests all read it.

import type { FolioChange, FootprintJSON } from './schema.js';

export type { FolioChange } from './schema.js';

export interface TraceEvent {
  seq: number;
  /** The scenario step (1-based, as messages number them) the kernel step belongs to; absent outside the steps. */
  step?: number;
  actor: string;
  op: string;
  args: Record<string, unknown>;
  result: unknown;
  /** vmstat items that changed, with their deltas. */
  vmstat: Record<string, number>;
  /** State after the step of the folios it wrote (the first few). */
  changes: FolioChange[];
  /** How many folios the step wrote in all. */
  foliosWritten: number;
  footprint: FootprintJSON;
  warnings: string[];
  /** Allocation failures the kernel would log (warn_alloc()), if the step had any. */
  allocFailures?: string[];
  bug?: string;
  /** Sub-operations the step performed, in order ("fault", "migrate", "unshare"...). */
  notes: string[];
}

export class Trace {
  readonly events: TraceEvent[] = [];
  enabled = true;

  push(e: TraceEvent): void {
    if (this.enabled) this.events.push(e);
  }

  toJSON(): { events: TraceEvent[] } {
    return { events: this.events };
  }
}
