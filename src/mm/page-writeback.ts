// mm/page-writeback.c: folio_mark_dirty(), which hands the folio to its mapping's ->dirty_folio.

import type { Kernel } from '../kernel.js';
import type { File } from '../include/linux/fs.js';
import { PG_dirty } from './page-flags.js';
import { folio_file } from './filemap.js';

/** noop_dirty_folio() / the flag half of every ->dirty_folio: PG_dirty set. */
export function noop_dirty_folio(k: Kernel, _file: File | null, head: number): void {
  k.mem.set(head, PG_dirty);
}

/**
 * folio_mark_dirty() (mm/page-writeback.c): through the mapping's ->dirty_folio, or
 * noop_dirty_folio() when the folio has no mapping (anonymous, or truncated while someone held it:
 * only the flag is set, spec R109).
 */
export function folio_mark_dirty(k: Kernel, head: number): void {
  const file = folio_file(k, head);
  if (file) file.a_ops.dirty_folio(k, file, head);
  else noop_dirty_folio(k, null, head);
}
