// The public GUP / pin API with the kernel's names (mm/gup.c). Acquire functions take the kernel
// and the calling task ("current"); the _remote variants take the target mm.

import type { Kernel } from '../kernel.js';
import { EINVAL } from '../include/uapi.js';
import type { Mm, Task } from '../vm/mm.js';
import { try_grab_folio } from './grab.js';
import { gup_fast_fallback, gup_fast_fallback_gen } from './fast.js';
import { runToEnd, type KernelGen } from '../preempt.js';
import type { PageArray } from './gup.js';
import { __gup_longterm_locked } from './longterm.js';
import { FOLL_FAST_ONLY, FOLL_GET, FOLL_LONGTERM, FOLL_PCI_P2PDMA, FOLL_PIN, FOLL_REMOTE, FOLL_TOUCH, FOLL_UNLOCKABLE, INTERNAL_GUP_FLAGS, follFlagsString, GUP_PIN_COUNTING_BIAS } from '../include/linux/mm.js';
import { is_zero_folio, folio_has_pincount } from '../mm/folio.js';
import { ApiUnavailable } from '../check/bug.js';

type Family = 'get' | 'pin';

function requireApi(k: Kernel, fn: string, family: Family, flags: number): void {
  const p = k.profile;
  if (family === 'pin' && !p.pinApi)
    throw new ApiUnavailable(`${fn}() does not exist in profile ${p.name} (pin_user_pages*() arrived in v5.6, tracking in v5.7)`);
  if (flags & FOLL_LONGTERM && !p.follLongterm)
    throw new ApiUnavailable(`FOLL_LONGTERM does not exist in profile ${p.name} (v5.2 replaced get_user_pages_longterm() with it)`);
  if (flags & FOLL_PIN && !p.pinApi)
    throw new ApiUnavailable(`FOLL_PIN does not exist in profile ${p.name}`);
}

/**
 * is_valid_gup_args() (v6.3+): false (with a WARN) for internal flags, *locked != 1, GET with PIN,
 * LONGTERM without PIN, GET/PIN without a pages array, LONGTERM with PCI_P2PDMA. Older profiles:
 * the per-function checks of their time (pin_* refuse FOLL_GET, get_* refuse FOLL_PIN).
 */
function is_valid_gup_args(k: Kernel, fn: string, pages: PageArray | null, locked: number[] | null, flags: number,
  toSet: number): number | null {
  const site = (what: string) => `mm/gup.c:is_valid_gup_args:${what}`;
  if (!k.profile.is_valid_gup_args) {
    if (toSet & FOLL_PIN && k.WARN_ON_ONCE((flags & FOLL_GET) !== 0, `mm/gup.c:${fn}:FOLL_GET`,
      `${fn}(): FOLL_GET passed to a pin_user_pages*() call`)) return null;
    if (toSet & FOLL_GET && k.WARN_ON_ONCE((flags & FOLL_PIN) !== 0, `mm/gup.c:${fn}:FOLL_PIN`,
      `${fn}(): FOLL_PIN is internal to the pin_user_pages*() calls`)) return null;
    return flags | toSet;
  }
  if (k.WARN_ON_ONCE((flags & INTERNAL_GUP_FLAGS) !== 0, site('internal'),
    `${fn}(): internal flags ${follFlagsString(flags & INTERNAL_GUP_FLAGS)} passed by the caller`)) return null;
  let f = flags | toSet;
  if (locked) {
    if (k.WARN_ON_ONCE(locked[0] !== 1, site('locked'), `${fn}(): *locked must be 1, is ${locked[0]}`)) return null;
    f |= FOLL_UNLOCKABLE;
  }
  if (k.WARN_ON_ONCE((f & (FOLL_PIN | FOLL_GET)) === (FOLL_PIN | FOLL_GET), site('GET|PIN'),
    `${fn}(): FOLL_GET and FOLL_PIN together`)) return null;
  if (k.WARN_ON_ONCE(!(f & FOLL_PIN) && (f & FOLL_LONGTERM) !== 0, site('LONGTERM-without-PIN'),
    `${fn}(): FOLL_LONGTERM without FOLL_PIN`)) return null;
  if (k.WARN_ON_ONCE((f & (FOLL_GET | FOLL_PIN)) !== 0 && !pages, site('no-pages'),
    `${fn}(): FOLL_GET/FOLL_PIN without a pages array`)) return null;
  if (k.WARN_ON_ONCE((f & FOLL_LONGTERM) !== 0 && (f & FOLL_PCI_P2PDMA) !== 0, site('LONGTERM|P2PDMA'),
    `${fn}(): FOLL_LONGTERM with FOLL_PCI_P2PDMA`)) return null;
  return f;
}

/** What an invalid call returns: -EINVAL, except pin_user_pages(), _remote() and _unlocked(), which return 0 (R16). */
function invalid(k: Kernel, zeroOnInvalid: boolean): number {
  return k.profile.is_valid_gup_args && zeroOnInvalid ? 0 : -EINVAL;
}

export function get_user_pages(k: Kernel, current: Task, start: number, nr_pages: number, gup_flags: number,
  pages: PageArray | null): number {
  requireApi(k, 'get_user_pages', 'get', gup_flags);
  const f = is_valid_gup_args(k, 'get_user_pages', pages, null, gup_flags, FOLL_TOUCH);
  if (f === null) return -EINVAL;
  return __gup_longterm_locked(k, current.mm, start, nr_pages, pages, f);
}

export function get_user_pages_remote(k: Kernel, mm: Mm, start: number, nr_pages: number, gup_flags: number,
  pages: PageArray | null, locked: number[] | null = null): number {
  requireApi(k, 'get_user_pages_remote', 'get', gup_flags);
  const f = is_valid_gup_args(k, 'get_user_pages_remote', pages, locked, gup_flags, FOLL_TOUCH | FOLL_REMOTE);
  if (f === null) return -EINVAL;
  return __gup_longterm_locked(k, mm, start, nr_pages, pages, f);
}

export function get_user_pages_unlocked(k: Kernel, current: Task, start: number, nr_pages: number,
  pages: PageArray | null, gup_flags: number): number {
  requireApi(k, 'get_user_pages_unlocked', 'get', gup_flags);
  const f = is_valid_gup_args(k, 'get_user_pages_unlocked', pages, null, gup_flags, FOLL_TOUCH | FOLL_UNLOCKABLE);
  if (f === null) return -EINVAL;
  return __gup_longterm_locked(k, current.mm, start, nr_pages, pages, f);
}

export function get_user_pages_fast(k: Kernel, current: Task, start: number, nr_pages: number, gup_flags: number,
  pages: PageArray): number {
  return runToEnd(k, get_user_pages_fast_gen(k, current, start, nr_pages, gup_flags, pages));
}

/** get_user_pages_fast() with GUP-fast's yield points. */
export function* get_user_pages_fast_gen(k: Kernel, current: Task, start: number, nr_pages: number, gup_flags: number,
  pages: PageArray): KernelGen<number> {
  requireApi(k, 'get_user_pages_fast', 'get', gup_flags);
  const f = is_valid_gup_args(k, 'get_user_pages_fast', pages, null, gup_flags, FOLL_GET);
  if (f === null) return -EINVAL;
  return yield* gup_fast_fallback_gen(k, current.mm, start, nr_pages, f, pages);
}

/** get_user_pages_fast_only(): never falls back, never sleeps. */
export function get_user_pages_fast_only(k: Kernel, current: Task, start: number, nr_pages: number, gup_flags: number,
  pages: PageArray): number {
  requireApi(k, 'get_user_pages_fast_only', 'get', gup_flags);
  const f = is_valid_gup_args(k, 'get_user_pages_fast_only', pages, null, gup_flags, FOLL_GET | FOLL_FAST_ONLY);
  if (f === null) return -EINVAL;
  return gup_fast_fallback(k, current.mm, start, nr_pages, f, pages);
}

export function pin_user_pages(k: Kernel, current: Task, start: number, nr_pages: number, gup_flags: number,
  pages: PageArray | null): number {
  requireApi(k, 'pin_user_pages', 'pin', gup_flags);
  const f = is_valid_gup_args(k, 'pin_user_pages', pages, null, gup_flags, FOLL_PIN);
  if (f === null) return invalid(k, true);
  return __gup_longterm_locked(k, current.mm, start, nr_pages, pages, f);
}

export function pin_user_pages_remote(k: Kernel, mm: Mm, start: number, nr_pages: number, gup_flags: number,
  pages: PageArray | null, locked: number[] | null = null): number {
  requireApi(k, 'pin_user_pages_remote', 'pin', gup_flags);
  const f = is_valid_gup_args(k, 'pin_user_pages_remote', pages, locked, gup_flags, FOLL_PIN | FOLL_TOUCH | FOLL_REMOTE);
  if (f === null) return invalid(k, true);
  return __gup_longterm_locked(k, mm, start, nr_pages, pages, f);
}

export function pin_user_pages_unlocked(k: Kernel, current: Task, start: number, nr_pages: number,
  pages: PageArray | null, gup_flags: number): number {
  requireApi(k, 'pin_user_pages_unlocked', 'pin', gup_flags);
  const f = is_valid_gup_args(k, 'pin_user_pages_unlocked', pages, null, gup_flags, FOLL_PIN | FOLL_TOUCH | FOLL_UNLOCKABLE);
  if (f === null) return invalid(k, true);
  return __gup_longterm_locked(k, current.mm, start, nr_pages, pages, f);
}

export function pin_user_pages_fast(k: Kernel, current: Task, start: number, nr_pages: number, gup_flags: number,
  pages: PageArray | null): number {
  return runToEnd(k, pin_user_pages_fast_gen(k, current, start, nr_pages, gup_flags, pages));
}

/** pin_user_pages_fast() with GUP-fast's yield points (the explorer's `preempt:`). */
export function* pin_user_pages_fast_gen(k: Kernel, current: Task, start: number, nr_pages: number, gup_flags: number,
  pages: PageArray | null): KernelGen<number> {
  requireApi(k, 'pin_user_pages_fast', 'pin', gup_flags);
  const f = is_valid_gup_args(k, 'pin_user_pages_fast', pages, null, gup_flags, FOLL_PIN);
  if (f === null) return -EINVAL;
  return yield* gup_fast_fallback_gen(k, current.mm, start, nr_pages, f, pages!);
}

/**
 * folio_add_pin() (v6.5): one more pin on a folio already pinned by the caller — without
 * counting nr_foll_pin_acquired (R71); a no-op on the zero page.
 */
export function folio_add_pin(k: Kernel, head: number): void {
  if (!k.profile.folioAddPinApi) throw new ApiUnavailable(`folio_add_pin() does not exist in profile ${k.profile.name}`);
  const mem = k.mem;
  head = mem.head(head);
  if (is_zero_folio(k, head)) return;
  if (folio_has_pincount(k, head)) {
    mem.refAdd(head, 1);
    mem.pincountAdd(head, 1);
  } else {
    mem.refAdd(head, GUP_PIN_COUNTING_BIAS);
  }
}

/** folio_add_pins(): n more pins via try_grab_folio(), so they are counted. */
export function folio_add_pins(k: Kernel, head: number, n: number): number {
  if (!k.profile.unpinFolioApi) throw new ApiUnavailable(`folio_add_pins() does not exist in profile ${k.profile.name}`);
  return try_grab_folio(k, k.mem.head(head), n, FOLL_PIN);
}

