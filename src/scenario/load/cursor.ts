// A cursor over a parsed YAML document that knows where every node came from: positions as
// file:line:col, the diagnostics list, aliases resolved to their anchors, and the readers every
// section of the grammar shares (a mapping's entries, a list's items, a scalar as written, a name).
// It knows nothing of scenarios: the section parsers (load/*.ts) build on it.

import { LineCounter, Scalar, isAlias, isMap, isScalar, isSeq, type Alias, type Node as YNode } from 'yaml';
import type { Diagnostic, SourcePos } from '../errors.js';
import { MAX_DIAGNOSTICS, MAX_NAME_LENGTH } from '../limits.js';
import { printable, quoted } from '../printable.js';
import { didYouMean } from '../suggest.js';

/** A node as the cursor hands it out: aliases already replaced by what they stand for. */
export type N = YNode | null | undefined;

/** Names of tasks, files and other things an operation defines: identifiers, plus '.' and '-'. */
export const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Thrown by Cursor.err() at the MAX_DIAGNOSTICS-th problem: the file is not worth reading further. */
export class TooManyProblems extends Error {}

/** One key of a mapping, where it is written, and its value. */
export interface Entry {
  readonly key: string;
  readonly keyPos: SourcePos;
  readonly value: N;
}

export class Cursor {
  readonly diags: Diagnostic[] = [];
  private lc = new LineCounter();
  /** Each alias and the node it stands for (source.ts resolves them once, under the size limit). */
  private aliases: ReadonlyMap<Alias, YNode> = new Map();

  constructor(readonly source: string, readonly file: string) {}

  /** The parsed document's line table and resolved aliases (source.ts parseScenarioYaml()). */
  setDocument(lc: LineCounter, aliases: ReadonlyMap<Alias, YNode>): void {
    this.lc = lc;
    this.aliases = aliases;
  }

  at(offset: number): SourcePos {
    const { line, col } = this.lc.linePos(offset);
    return { file: this.file, line, col };
  }

  pos(n: N): SourcePos {
    return n?.range ? this.at(n.range[0]) : { file: this.file, line: 1, col: 1 };
  }

  err(pos: SourcePos, message: string): null {
    this.diags.push({ pos, message });
    if (this.diags.length >= MAX_DIAGNOSTICS) throw new TooManyProblems();
    return null;
  }

  deref(n: unknown): N {
    if (isAlias(n)) {
      const target = this.aliases.get(n);
      if (target) return target;
      const a = printable(n.source, 40);
      this.err(this.pos(n), `YAML: no anchor &${a} for the alias *${a} (to write an expression starting with '*', quote it)`);
      // Stand in an empty scalar at the alias, so later messages point here too.
      return Object.assign(new Scalar(null), { range: n.range, source: '' });
    }
    return (n as YNode | null | undefined) ?? null;
  }

  /** The text of a scalar as written: plain scalars keep their source ("5.10" stays "5.10"). */
  text(s: Scalar): string {
    if (s.type === 'PLAIN' || s.type === undefined) return s.source ?? (s.value === null ? '' : String(s.value));
    return s.value === null || s.value === undefined ? '' : String(s.value);
  }

  isEmpty(n: N, nullWords = false): boolean {
    if (n === null || n === undefined) return true;
    if (!isScalar(n) || (n.type !== 'PLAIN' && n.type !== undefined)) return false;
    const t = this.text(n);
    return t === '' || t === '~' || (nullWords && t === 'null');
  }

  kind(n: N): string {
    if (this.isEmpty(n)) return 'an empty value';
    if (isMap(n)) return 'a mapping';
    if (isSeq(n)) return 'a list';
    if (isScalar(n)) {
      const t = this.text(n);
      return n.type === 'PLAIN' ? quoted(t) : `the string "${printable(t)}"`;
    }
    return 'something else';
  }

  entries(n: N, where: string): Entry[] | null {
    n = this.deref(n);
    if (!isMap(n)) return this.err(this.pos(n), `${where} must be a mapping, found ${this.kind(n)}`);
    const out: Entry[] = [];
    for (const pair of n.items) {
      const k = this.deref(pair.key);
      if (!isScalar(k)) {
        this.err(this.pos(k), `keys in ${where} must be plain names, found ${this.kind(k)}`);
        continue;
      }
      out.push({ key: this.text(k), keyPos: this.pos(k), value: this.deref(pair.value) });
    }
    return out;
  }

  items(n: N, where: string): N[] | null {
    n = this.deref(n);
    if (!isSeq(n)) return this.err(this.pos(n), `${where} must be a list, found ${this.kind(n)}`);
    return n.items.map((i) => this.deref(i));
  }

  unknownKey(e: Entry, allowed: readonly string[], where: string): null {
    return this.err(e.keyPos, `unknown key ${quoted(e.key)} in ${where}${keyHint(e.key, allowed)} (expected one of: ${allowed.join(', ')})`);
  }

  scalarString(n: N, what: string, allowEmpty = false): string | null {
    if (!isScalar(n) || (!allowEmpty && this.isEmpty(n))) {
      return this.err(this.pos(n), `${what} must be a string, found ${this.kind(n)}`);
    }
    return this.text(n);
  }

  nameValue(n: N, what: string): string | null {
    if (!isScalar(n) || this.isEmpty(n)) return this.err(this.pos(n), `${what} must be a name, found ${this.kind(n)}`);
    const t = this.text(n);
    if (!NAME.test(t)) return this.err(this.pos(n), `${what} must be a name (letters, digits, '_', '.', '-'), found ${quoted(t)}`);
    if (t.length > MAX_NAME_LENGTH) return this.err(this.pos(n), `${what} is ${t.length} characters long; names have at most ${MAX_NAME_LENGTH}`);
    return t;
  }
}

/** didYouMean(), and what to do instead of a YAML merge key. */
export function keyHint(key: string, allowed: Iterable<string>): string {
  if (key === '<<') return '; YAML merge keys (<<: *anchor) are not supported: write the keys out';
  return didYouMean(key, allowed);
}

/** Words from the file for a message: each cut (and quoted, unless they are checked names), at most 8 of them. */
export function listed(words: readonly string[], quote = true): string {
  const shown = words.slice(0, 8).map((w) => (quote ? quoted(w, 30) : printable(w, 30))).join(', ');
  return words.length > 8 ? `${shown}, ... (${words.length} in all)` : shown;
}

/** In file order, without repeats (a node may be looked at more than once). */
export function sortDiags(d: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return [...d].sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col).filter((x) => {
    const k = `${x.pos.line}:${x.pos.col}:${x.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
