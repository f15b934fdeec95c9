// Unsigned 64-bit syscall arguments in a model whose numbers are JS numbers.
//
// The rule (docs/scenarios.md "Integers wider than 53 bits"): an argument the kernel takes as
// unsigned (size_t, unsigned long: lengths, addresses, offsets of mmap) is given as the
// two's-complement value the kernel sees. A negative number n stands for 2^64 + n: -1 is
// (size_t)-1 = 2^64 - 1, -PAGE_SIZE is 2^64 - 4096. Numbers in [0, 2^53) stand for themselves.
// Values in between (2^53 .. 2^64 - 2^53) cannot be written; every cut-off the model checks
// (TASK_SIZE, s_maxbytes, MAX_RW_COUNT, the sign bit) lies outside that band, so a value from it
// would be answered like its nearest writable neighbour.
//
// The range checks of the syscalls are done on these values with BigInt, so that what wraps in
// the kernel wraps here: PAGE_ALIGN((size_t)-1) is 0, start + len can overflow.

import { PAGE_SIZE } from './uapi.js';

export const U64 = 1n << 64n;
const PAGE = BigInt(PAGE_SIZE);
const PAGE_MASK = U64 - PAGE;

/** The 64-bit value the kernel sees for a JS number (two's complement for negatives). */
export function u64(n: number): bigint {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${n} is not an integer the model can take (|n| < 2^53)`);
  return n < 0 ? U64 + BigInt(n) : BigInt(n);
}

/** Reduce modulo 2^64, as unsigned long arithmetic does. */
export function wrap64(x: bigint): bigint {
  const r = x % U64;
  return r < 0n ? r + U64 : r;
}

/** PAGE_ALIGN() of an unsigned long: rounds up, and wraps to 0 for the last page of the space. */
export function pageAlign64(x: bigint): bigint {
  return wrap64(x + PAGE - 1n) & PAGE_MASK;
}

/** ALIGN(x, a) of an unsigned long, a a power of two. */
export function align64(x: bigint, a: number): bigint {
  const A = BigInt(a);
  return wrap64(x + A - 1n) & (U64 - A);
}

/** offset_in_page() */
export function offsetInPage64(x: bigint): bigint {
  return x & (PAGE - 1n);
}

/** (ssize_t)x < 0 / (loff_t)x < 0: the sign bit of the 64-bit value. */
export function negative64(x: bigint): boolean {
  return x >= 1n << 63n;
}

/** A 64-bit value known to be small (below 2^53) back to a number. */
export function num(x: bigint): number {
  if (x >= 1n << 53n) throw new RangeError(`0x${x.toString(16)} does not fit the model's numbers`);
  return Number(x);
}
