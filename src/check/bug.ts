// BUG() and WARN_ON_ONCE() of the model.

/** A modelled kernel BUG(): stops the run. The message says what the kernel would have printed. */
export class KernelBug extends Error {
  constructor(message: string, readonly details: string[] = []) {
    super(message);
    this.name = 'KernelBug';
  }
}

export interface WarnRecord {
  /** The site: "mm/gup.c:is_valid_gup_args:FOLL_PIN|FOLL_GET" — one WARN_ON_ONCE per site. */
  readonly id: string;
  readonly message: string;
  readonly step: number;
}

/** WARN_ON_ONCE(): records the first hit of each site; later hits of the same site are counted only. */
export class Warnings {
  readonly list: WarnRecord[] = [];
  private readonly seen = new Map<string, number>();
  step = 0;

  warnOnce(id: string, message: string): void {
    const n = this.seen.get(id) ?? 0;
    this.seen.set(id, n + 1);
    if (n === 0) this.list.push({ id, message, step: this.step });
  }

  hits(id: string): number {
    return this.seen.get(id) ?? 0;
  }
}

/** Calling a function, or passing a flag, that the selected kernel profile does not have. */
export class ApiUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApiUnavailable';
  }
}
