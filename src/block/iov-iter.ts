// struct iov_iter (include/linux/uio.h, lib/iov_iter.c). CONTRACT SKELETON: the iov_iter work
// replaces the bodies; the exported names and signatures are what fs/, block/ and drivers/ use.

import type { Kernel } from '../kernel.js';
import type { Mm } from '../vm/mm.js';

/** enum iter_type */
export type IterType = 'ITER_UBUF' | 'ITER_IOVEC' | 'ITER_KVEC' | 'ITER_BVEC' | 'ITER_FOLIOQ' | 'ITER_XARRAY' | 'ITER_DISCARD' | 'ITER_PIPE';
/** ITER_SOURCE: the memory is read (a write to a file); ITER_DEST: the memory is written (a read). */
export type IterDir = 'ITER_SOURCE' | 'ITER_DEST';

export interface Iovec { base: number; len: number }
/** A bio_vec-like segment: a physical page, offset and length. */
export interface BvecSeg { pfn: number; offset: number; len: number }

export class IovIter {
  /** Bytes left. */
  count = 0;
  /** Offset into the current segment. */
  iovOffset = 0;
  /** Index of the current segment. */
  seg = 0;
  constructor(
    readonly type: IterType,
    readonly dir: IterDir,
    /** The mm a user-backed iterator refers to. */
    readonly mm: Mm | null,
    readonly iov: Iovec[] = [],
    readonly bvec: BvecSeg[] = [],
  ) {}
}

export function import_ubuf(_dir: IterDir, _mm: Mm, _addr: number, _len: number): IovIter {
  throw new Error('iov_iter: not implemented yet');
}

export function import_iovec(_dir: IterDir, _mm: Mm, _iov: Iovec[]): IovIter {
  throw new Error('iov_iter: not implemented yet');
}

export function iov_iter_bvec(_dir: IterDir, _bvec: BvecSeg[], _count: number): IovIter {
  throw new Error('iov_iter: not implemented yet');
}

export function iov_iter_advance(_i: IovIter, _bytes: number): void {
  throw new Error('iov_iter: not implemented yet');
}

export function iov_iter_revert(_k: Kernel, _i: IovIter, _bytes: number): void {
  throw new Error('iov_iter: not implemented yet');
}

export function user_backed_iter(i: IovIter): boolean {
  return i.type === 'ITER_UBUF' || i.type === 'ITER_IOVEC';
}

export function iov_iter_extract_will_pin(i: IovIter): boolean {
  return user_backed_iter(i);
}

/**
 * iov_iter_extract_pages(): up to maxpages pages covering up to maxsize bytes from the current
 * position, pinned (FOLL_PIN) for user-backed iterators, no reference for kernel-backed ones.
 * Advances the iterator. Returns { bytes, pages, offset0 } or a negative errno in bytes.
 */
export function iov_iter_extract_pages(_k: Kernel, _i: IovIter, _maxsize: number, _maxpages: number,
  _extractionFlags: number): { bytes: number; pages: number[]; offset0: number } {
  throw new Error('iov_iter: not implemented yet');
}

/** iov_iter_get_pages2(): the older FOLL_GET extraction (references for every iterator type). */
export function iov_iter_get_pages2(_k: Kernel, _i: IovIter, _maxsize: number, _maxpages: number):
  { bytes: number; pages: number[]; offset0: number } {
  throw new Error('iov_iter: not implemented yet');
}

/** Copy content tokens between an iterator and a page (copy_page_to_iter / copy_page_from_iter). */
export function copy_page_to_iter(_k: Kernel, _pfn: number, _offset: number, _bytes: number, _i: IovIter): number {
  throw new Error('iov_iter: not implemented yet');
}

export function copy_page_from_iter(_k: Kernel, _pfn: number, _offset: number, _bytes: number, _i: IovIter): number {
  throw new Error('iov_iter: not implemented yet');
}
