// What the loader knows while it reads a file top to bottom: the backend's description of itself,
// and the names the file has declared so far (tasks, `as:`/`let:` bindings, marks, checks), which
// later sections are checked against. The section parsers (values, expect, steps, sections) take it.

import { isSeq } from 'yaml';
import { knownProfile, type Backend } from '../backend.js';
import { quoted } from '../printable.js';
import { didYouMean } from '../suggest.js';
import { Cursor, type N } from './cursor.js';

export class LoadState extends Cursor {
  readonly constants: ReadonlySet<string>;
  /** Names bound with `as:` so far, in file order. */
  readonly bound = new Set<string>();
  /** Every `as:` name in the file and the first step that binds it, for "bound later" hints. */
  readonly bindsAt = new Map<string, number>();
  /** Tasks declared in `tasks:` (they exist at scenario start). */
  startTasks: ReadonlySet<string> = new Set();
  /** Tasks declared or created by an earlier step (an argument named `child`). */
  readonly tasks = new Set<string>();
  /** query-label.field of every check so far, for the delta rule. */
  readonly checked = new Set<string>();
  /** Names of the `mark:` steps so far (a later `{delta: N, since: NAME}` compares with one). */
  readonly marks = new Set<string>();
  /** Whether the first binding of a name (bindsAt) is an `as:` or a `let:`. */
  readonly bindsVia = new Map<string, 'as' | 'let'>();

  constructor(source: string, file: string, readonly backend: Backend) {
    super(source, file);
    this.constants = new Set(Object.keys(backend.constants));
  }

  /** Why a profile name is not one: the version rule that refuses it, or the known names. */
  unknownProfile(p: string, extra = ''): string {
    const why = this.backend.profileProblem?.(p);
    if (why) return `no profile for ${quoted(p)}: ${why}`;
    const versions = this.backend.acceptsProfile ? ', or a kernel version such as 6.12 or 6.1.176' : '';
    return `unknown profile ${quoted(p)}${didYouMean(p, this.backend.profiles)} (profiles: ${this.backend.profiles.join(', ')}${extra}${versions})`;
  }

  /** A list of profiles (or one); every problem in it is reported, and then the list is null. */
  profileList(n: N, what: string): string[] | null {
    n = this.deref(n);
    const list = isSeq(n) ? n.items.map((i) => this.deref(i)) : [n];
    const out: string[] = [];
    let ok = true;
    for (const i of list) {
      const p = this.scalarString(i, `a profile in ${what}`);
      if (p === null) { ok = false; continue; }
      if (!knownProfile(this.backend, p)) {
        this.err(this.pos(i), this.unknownProfile(p));
        ok = false;
      } else if (out.includes(p)) {
        this.err(this.pos(i), `profile '${p}' is listed twice`);
        ok = false;
      } else out.push(p);
    }
    if (!ok) return null;
    if (out.length === 0) return this.err(this.pos(n), `${what} lists no profile`);
    return out;
  }
}
