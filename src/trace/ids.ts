// Object ids for traces and footprints, allocated per Kernel so that running the same scenario
// twice in one process (as the explorer does) gives identical traces.

export class IdSpace {
  private readonly next = new Map<string, number>();

  take(kind: string): number {
    const n = (this.next.get(kind) ?? 0) + 1;
    this.next.set(kind, n);
    return n;
  }
}
