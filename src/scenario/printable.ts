// Printing text that came from a user (names, keys, values, descriptions, paths): control
// characters and the invisible characters that reorder or hide text are escaped, so a scenario
// cannot move the cursor, clear a line or forge a "PASS" line on a terminal; and long text is cut,
// so no message repeats a megabyte of input.

import { SHOWN_CHARS } from './limits.js';

/**
 * Characters that are never printed as they are: C0 and C1 controls, DEL, the line and paragraph
 * separators, bidi marks, embeddings, overrides and isolates (the "Trojan Source" characters),
 * zero-width characters and the byte-order mark, and lone surrogates.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const HIDDEN_G = new RegExp(HIDDEN.source, 'g');

const NAMED: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** The escape for one hidden character: \t \n \r, \xNN below U+0100, else \u{XXXX}. */
function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const cp = c.charCodeAt(0);
  return cp < 0x100 ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16).toUpperCase()}}`;
}

/** Whether the text holds a character printable() would escape. */
export function hasHidden(s: string): boolean {
  return HIDDEN.test(s);
}

/** The first character printable() would escape, with its index, or null. */
export function firstHidden(s: string): { index: number; shown: string } | null {
  const m = HIDDEN.exec(s);
  return m ? { index: m.index, shown: escapeChar(m[0]) } : null;
}

/**
 * User text as it may appear inside a message: hidden characters escaped (line breaks too: the
 * result is one line) and at most about `max` characters, the rest summarised. Costs O(max), not
 * O(length): it is safe on a megabyte of input.
 */
export function printable(s: string, max: number = SHOWN_CHARS): string {
  const head = s.length > max ? s.slice(0, max) : s;
  let out = head.replace(HIDDEN_G, escapeChar);
  let kept = head.length;
  if (out.length > max) {
    // Escapes made it longer: keep whole characters up to the bound.
    out = '';
    kept = 0;
    for (const c of head) {
      const piece = HIDDEN.test(c) ? escapeChar(c) : c;
      if (out.length + piece.length > max) break;
      out += piece;
      kept += c.length;
    }
  } else if (kept < s.length && /[\ud800-\udbff]$/.test(head)) {
    // Do not cut a surrogate pair in two.
    out = out.slice(0, -1);
    kept--;
  }
  const rest = s.length - kept;
  return rest > 0 ? `${out}…(${rest} more character${rest === 1 ? '' : 's'})` : out;
}

/** printable() in single quotes, the way messages quote what the file says: 'PROT_RAED'. */
export function quoted(s: string, max: number = SHOWN_CHARS): string {
  return `'${printable(s, max)}'`;
}

/**
 * Text on its way to a terminal or a pipe: every hidden character except the line break escaped.
 * `keep` matches the escape sequences the caller itself emits (colours), which stay.
 */
export function escapeOutput(text: string, keep?: RegExp): string {
  if (!HIDDEN.test(text)) return text;
  if (!keep) return text.replace(HIDDEN_G, (c) => (c === '\n' ? c : escapeChar(c)));
  const parts: string[] = [];
  let last = 0;
  const k = new RegExp(keep.source, 'g');
  for (let m = k.exec(text); m; m = k.exec(text)) {
    parts.push(escapeOutput(text.slice(last, m.index)), m[0]);
    last = m.index + m[0].length;
    if (m[0].length === 0) k.lastIndex++;
  }
  parts.push(escapeOutput(text.slice(last)));
  return parts.join('');
}

/** HIDDEN less what JSON.stringify already escapes (and the line breaks of its indentation). */
const JSON_HIDDEN = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;

/**
 * JSON for stdout: JSON.stringify escapes C0 controls and lone surrogates itself; this also
 * escapes DEL, C1 controls and the invisible characters above (as \uXXXX, still valid JSON).
 */
export function jsonText(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replace(JSON_HIDDEN, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}


/**
 * Strings in a JSON document cut to `max` characters: a verdict's expected value can be any text
 * of the file (a megabyte), and no output line should be that long. Everything else is kept.
 */
export function boundStrings(v: unknown, max = 600): unknown {
  if (typeof v === 'string') return v.length > max ? `${v.slice(0, max)}…(${v.length - max} more characters)` : v;
  if (Array.isArray(v)) return v.map((x) => boundStrings(x, max));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, boundStrings(x, max)]));
  return v;
}
