// A small seeded PRNG (splitmix32). Deterministic for a seed; no Math.random.

export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed | 0; }
  /** A seed for stream i of a seed (one splitmix step over seed and i). */
  static mix(seed: number, i: number): number {
    return new Rng((seed | 0) ^ Math.imul(i + 1, 0x9e3779b9)).next();
  }
  /** uniform 32-bit unsigned integer */
  next(): number {
    this.s = (this.s + 0x9e3779b9) | 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
  /** uniform integer in [0, n) */
  int(n: number): number {
    if (!(n > 0)) throw new RangeError(`Rng.int(${n})`);
    return Math.floor((this.next() / 0x100000000) * n);
  }
  /** Fisher–Yates shuffle, in place */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }
}
