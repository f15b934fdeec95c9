// From a path to a YAML document, with the limits of limits.ts: read only regular files, never
// more than MAX_FILE_BYTES; text must be UTF-8 without control characters; YAML must be one
// document, nested at most MAX_YAML_DEPTH deep, without tags, its aliases expanding to at most
// MAX_FILE_BYTES. Each refusal is a located diagnostic (or, for a file that cannot be read at
// all, a FileInputError), never an exception from deep inside a library.

import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import {
  CST, Composer, Lexer, LineCounter, Parser, isAlias, isMap, isPair, isScalar, isSeq, type Alias, type Document, type Node as YNode,
} from 'yaml';
import type { Diagnostic, SourcePos } from './errors.js';
import { MAX_FILE_BYTES, MAX_YAML_DEPTH, MAX_YAML_VALUES } from './limits.js';
import { printable, quoted } from './printable.js';

/** A path that cannot be read as a scenario at all: "pinlab: PATH: message", exit status 2. */
export class FileInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FileInputError';
  }
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file', EACCES: 'permission denied', EPERM: 'permission denied', ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long', ENOTDIR: 'a component of the path is not a directory', EISDIR: 'is a directory',
  EIO: 'input/output error', ENXIO: 'no such device or address', EMFILE: 'too many open files', ENFILE: 'too many open files',
  ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded', EROFS: 'read-only file system', EFBIG: 'file too large',
  EBUSY: 'device or resource busy', ETXTBSY: 'text file busy',
};

/** The reason a file operation failed, in words (the errno name if there are none). */
export function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code !== undefined) return ERRNO_TEXT[code] ?? code;
  return printable(e instanceof Error ? e.message : String(e), 200);
}

/** What a non-regular file is, for "is a FIFO, not a regular file". */
export function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function sizeText(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${n} bytes`;
}

/**
 * The bytes of a scenario file, or a FileInputError; a file over the limit is a diagnostic at 1:1.
 * It never blocks and never reads more than MAX_FILE_BYTES + 1 bytes: a FIFO is opened without
 * waiting for a writer and then refused, and so is a device (/dev/zero would never end).
 */
export function readScenarioBytes(path: string, shown: string): { bytes: Buffer } | { tooLarge: Diagnostic } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw new FileInputError(`${printable(shown, 200)}: ${errnoText(e)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FileInputError(`${printable(shown, 200)}: ${fileKind(st)}, not a regular file: pinlab reads scenarios from regular files only`);
    const tooLarge = (size: string): { tooLarge: Diagnostic } => ({
      tooLarge: {
        pos: { file: shown, line: 1, col: 1 },
        message: `the file is ${size}; a scenario file may be at most ${sizeText(MAX_FILE_BYTES)} (docs/scenarios.md#limits)`,
      },
    });
    if (st.size > MAX_FILE_BYTES) return tooLarge(sizeText(st.size));
    // Read up to one byte past the limit, whatever the size said: the file may be growing.
    const buf = Buffer.alloc(MAX_FILE_BYTES + 1);
    let n = 0;
    while (n < buf.length) {
      let got: number;
      try {
        got = readSync(fd, buf, n, buf.length - n, null);
      } catch (e) {
        throw new FileInputError(`${printable(shown, 200)}: cannot read it: ${errnoText(e)}`);
      }
      if (got === 0) break;
      n += got;
    }
    if (n > MAX_FILE_BYTES) return tooLarge(`more than ${sizeText(MAX_FILE_BYTES)}`);
    return { bytes: buf.subarray(0, n) };
  } finally {
    closeSync(fd);
  }
}

/** The offset of the first byte that is not part of well-formed UTF-8, or -1. */
export function invalidUtf8At(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    if (c < 0x80) { i++; continue; }
    let n: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) { n = 1; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; min = 0x10000; }
    else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const x = b[i + k];
      if (x === undefined || (x & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (x & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return i;
    i += n + 1;
  }
  return -1;
}

/**
 * The text of a file's bytes, or the diagnostic that says where it is not UTF-8. A leading
 * byte-order mark is dropped (YAML allows one; columns then count from after it).
 */
export function decodeScenarioText(bytes: Uint8Array, file: string): { text: string } | { error: Diagnostic } {
  const bad = invalidUtf8At(bytes);
  if (bad >= 0) {
    const lineStart = bad === 0 ? 0 : bytes.lastIndexOf(0x0a, bad - 1) + 1;
    let line = 1;
    for (let i = 0; i < lineStart; i++) if (bytes[i] === 0x0a) line++;
    const col = new TextDecoder().decode(bytes.subarray(lineStart, bad)).length + 1;
    const shown = `\\x${bytes[bad].toString(16).padStart(2, '0')}`;
    return { error: { pos: { file, line, col }, message: `the file is not UTF-8 text: the byte ${shown} here does not start a valid UTF-8 sequence` } };
  }
  return { text: new TextDecoder('utf-8').decode(bytes) };
}

/**
 * Why a scenario's text is not text, reported at the first offence: a control character (anything
 * but tab, line feed and carriage return), a line or paragraph separator, or a bidi control. Raw,
 * they can hide text from a reader or mislead the YAML lexer (which uses some as markers); inside a
 * double-quoted string an escape still writes one.
 */
export function checkScenarioText(text: string, file: string): Diagnostic | null {
  FORBIDDEN.lastIndex = 0;
  const m = FORBIDDEN.exec(text);
  if (!m) return null;
  let count = 1;
  while (FORBIDDEN.exec(text)) count++;
  const more = count > 1 ? ` (the file holds ${count} such characters${count > 20 ? '; is it a text file?' : ''})` : '';
  return {
    pos: { file, ...lineCol(text, m.index) },
    message: `control character ${printable(m[0])} in the file: scenario files are text; `
      + `inside a double-quoted string write an escape such as \\t if you mean one${more}`,
  };
}

/**
 * What printable() escapes less what a text file may hold: tab, line feed and carriage return,
 * a byte-order mark, zero-width spaces and joiners. (UTF-8 decoding leaves no lone surrogates.)
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2061-\u2069\ufff9-\ufffb]/g;

/** 1-based line and column of a string offset (columns count UTF-16 units, as the YAML parser does). */
export function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

// ---- YAML ---------------------------------------------------------------------------------------

export interface ParsedYaml {
  /** The (first) document; null when the text could not be parsed far enough to have one. */
  readonly doc: Document.Parsed | null;
  readonly lc: LineCounter;
  /** Every alias and the node it stands for (the last anchor of that name before it). */
  readonly aliases: ReadonlyMap<Alias, YNode>;
  /** Problems found before the scenario's own checks; `fatal` ones leave no document to check. */
  readonly diags: Diagnostic[];
  readonly fatal: boolean;
}

/**
 * What the lexer marks with characters that are not in the text (source.ts refuses them in files):
 * the start of a document, an unexpected end of flow, and the start of a plain scalar.
 */
const LEXER_MARKERS = new Set([CST.DOCUMENT, CST.FLOW_END, CST.SCALAR]);
/** Lexer tokens that start one YAML value each (a plain scalar by its marker, a block sequence item by its '-'). */
const VALUE_TOKENS = new Set(['single-quoted-scalar', 'double-quoted-scalar', 'block-scalar-header', 'alias', 'flow-map-start', 'flow-seq-start', 'seq-item-ind']);

/**
 * Parse YAML text into one document under the limits. Syntax errors: only the first (later ones
 * are usually its consequences). Duplicate keys: every one, and the document is still checked.
 */
export function parseScenarioYaml(text: string, file: string): ParsedYaml {
  const lc = new LineCounter();
  const diags: Diagnostic[] = [];
  const at = (offset: number): SourcePos => {
    const { line, col } = lc.linePos(offset);
    return { file, line, col };
  };
  const fatal = (pos: SourcePos, message: string): ParsedYaml => ({ doc: null, lc, aliases: new Map(), diags: [...diags, { pos, message }], fatal: true });

  // Count values first with the lexer, which keeps nothing: a megabyte of "[a,a,a,..." would make
  // half a million nodes, and the parser and composer hold about a kilobyte for each.
  let offset = 0;
  let values = 0;
  for (const tok of new Lexer().lex(text)) {
    const marker = LEXER_MARKERS.has(tok);
    if ((tok === CST.SCALAR || (!marker && VALUE_TOKENS.has(CST.tokenType(tok) ?? ''))) && ++values > MAX_YAML_VALUES) {
      return fatal({ file, ...lineCol(text, offset) }, `more than ${MAX_YAML_VALUES} YAML values (scalars, lists, mappings) in the file by here; `
        + 'a scenario has a few thousand at most (docs/scenarios.md#limits)');
    }
    if (!marker) offset += tok.length;
  }
  // The CST parser is iterative: check nesting and tags on it, before the (recursive) composer runs.
  const tokens = [...new Parser(lc.addNewLine).parse(text)];
  const cstProblem = checkCst(tokens);
  if (cstProblem) return fatal(at(cstProblem.offset), cstProblem.message);

  const docs: Document.Parsed[] = [];
  // Duplicate keys are found below in linear time (the library's check is quadratic in a mapping's size).
  for (const d of new Composer({ prettyErrors: false, uniqueKeys: false }).compose(tokens, true, text.length)) {
    docs.push(d);
    if (docs.length === 2) break;
  }
  if (docs.length > 1) {
    return fatal(at(docs[1].range[0]), "a second YAML document starts here ('---' or '...' ends the first): "
      + 'a scenario file holds one document, one scenario');
  }
  const doc = docs[0];
  const first = doc.errors[0] ?? doc.warnings[0];
  if (first) return fatal(at(first.pos[0]), `YAML: ${yamlMessage(first.code, first.message, text, at(first.pos[0]))}`);

  const walked = walkDocument(doc, text.length);
  if ('error' in walked) return fatal(at(walked.error.offset), walked.error.message);
  for (const d of walked.duplicates) {
    diags.push({ pos: at(d.offset), message: `key ${quoted(d.key)} is given twice in this mapping (first at line ${lc.linePos(d.first).line}); each key may appear once` });
  }
  return { doc, lc, aliases: walked.aliases, diags, fatal: false };
}

/** A YAML library message in pinlab's words, with a hint where the usual cause is known. */
function yamlMessage(code: string, message: string, text: string, pos: SourcePos): string {
  let msg = printable(message.replace(/\s+at line \d+, column \d+:?[\s\S]*$/, ''), 200);
  // Only the start of the offending line is looked at: a long line costs nothing.
  const lineStart = offsetOfLine(text, pos.line);
  const lineEnd = text.indexOf('\n', lineStart);
  const line = text.slice(lineStart, Math.min(lineEnd === -1 ? text.length : lineEnd, lineStart + 400));
  if (code === 'BAD_ALIAS' || /^\s*(-\s*)?[\w.]*:?\s*\*/.test(line)) msg += " (to write an expression starting with '*', quote it)";
  else if (line.includes('{') && /[\w)\]]\s*\[|\]\s*[\w(]/.test(line)) msg += " (inside { }, quote values that contain [ ] { } or ',': addr: \"P[1]\")";
  return msg;
}

function offsetOfLine(text: string, line: number): number {
  let off = 0;
  for (let l = 1; l < line; l++) {
    const i = text.indexOf('\n', off);
    if (i === -1) return off;
    off = i + 1;
  }
  return off;
}

/** The first CST problem: a collection nested too deep, or a tag. Iterative: the depth is unbounded here. */
function checkCst(tokens: readonly CST.Token[]): { offset: number; message: string } | null {
  const stack: [CST.Token, number][] = tokens.map((t) => [t, 0]);
  let found: { offset: number; message: string } | null = null;
  const note = (offset: number, message: string) => {
    if (!found || offset < found.offset) found = { offset, message };
  };
  const props = (list: readonly CST.Token[] | undefined) => {
    for (const t of list ?? []) {
      if (t.type === 'tag') {
        note(t.offset, `YAML tags (${printable((t as CST.SourceToken).source, 40)}) are not part of the scenario language`
          + " (to write text that starts with '!', quote it)");
      }
    }
  };
  while (stack.length) {
    const [t, depth] = stack.pop()!;
    const coll = t.type === 'block-map' || t.type === 'block-seq' || t.type === 'flow-collection';
    const d = depth + (coll ? 1 : 0);
    if (coll && d > MAX_YAML_DEPTH) {
      note(t.offset, `YAML nested more than ${MAX_YAML_DEPTH} levels deep here; a scenario needs about 8 (docs/scenarios.md#limits)`);
      continue;
    }
    // The fields of the token types that have them (documents, collections, block scalars).
    const o = t as unknown as { start?: CST.SourceToken | CST.SourceToken[]; props?: CST.Token[]; value?: CST.Token; items?: CST.CollectionItem[] };
    if (o.start) props(Array.isArray(o.start) ? o.start : [o.start]);
    props(o.props);
    if (o.value && typeof o.value === 'object') stack.push([o.value, d]);
    for (const it of o.items ?? []) {
      props(it.start);
      props(it.sep);
      if (it.key) stack.push([it.key, d]);
      if (it.value) stack.push([it.value, d]);
    }
  }
  return found;
}

/**
 * One pass over the document, in document order:
 * - each alias's node, found the way the YAML library does (the last anchor of the name before it)
 *   but once for all aliases, where the library walks the whole document for each one;
 * - the size of the document with its aliases expanded, which must stay within MAX_FILE_BYTES:
 *   aliases inside anchored nodes multiply ("billion laughs");
 * - keys given twice in a mapping (as the loader reads keys: the text of a plain scalar as written).
 */
function walkDocument(doc: Document.Parsed, textLength: number):
  { aliases: Map<Alias, YNode>; duplicates: { key: string; offset: number; first: number }[] } | { error: { offset: number; message: string } } {
  const aliases = new Map<Alias, YNode>();
  const duplicates: { key: string; offset: number; first: number }[] = [];
  const anchors = new Map<string, YNode>();
  // Aliases in document order with the running sum of what each adds once expanded.
  const offsets: number[] = [];
  const prefix: number[] = [0];
  /** What the aliases inside [start, end) add, by binary search on their offsets. */
  const addedWithin = (start: number, end: number): number => prefix[lowerBound(offsets, end)] - prefix[lowerBound(offsets, start)];
  let total = textLength;
  const stack: unknown[] = [doc.contents];
  while (stack.length) {
    const n = stack.pop();
    if (n === null || n === undefined) continue;
    if (isPair(n)) {
      stack.push(n.value, n.key);
      continue;
    }
    const node = n as YNode;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (!target) continue; // the loader reports an alias without an anchor where it meets it
      const [start, end] = node.range ?? [0, 0];
      const [ts, te] = target.range ?? [0, 0];
      if (start >= ts && start < te) {
        return { error: { offset: start, message: `the alias *${printable(node.source, 40)} is inside the node its anchor names: it would repeat itself forever` } };
      }
      aliases.set(node, target);
      const extra = te - ts + addedWithin(ts, te) - (end - start);
      total += extra;
      if (total > MAX_FILE_BYTES) {
        return {
          error: {
            offset: start,
            message: `with its aliases expanded, the scenario is larger than ${sizeText(MAX_FILE_BYTES)} from this alias on; `
              + 'aliases count as the text they repeat (docs/scenarios.md#limits)',
          },
        };
      }
      offsets.push(start);
      prefix.push(prefix[prefix.length - 1] + extra);
      continue;
    }
    const anchor = (node as { anchor?: string }).anchor;
    if (anchor) anchors.set(anchor, node);
    if (isMap(node)) {
      const seen = new Map<string, number>();
      for (const p of node.items) {
        const k = p.key;
        if (!isScalar(k)) continue;
        const key = k.type === 'PLAIN' ? k.source ?? String(k.value) : String(k.value ?? '');
        const at = k.range?.[0] ?? 0;
        const first = seen.get(key);
        if (first === undefined) seen.set(key, at);
        else duplicates.push({ key, offset: at, first });
      }
    }
    if (isMap(node) || isSeq(node)) {
      const items = node.items as unknown[];
      for (let i = items.length - 1; i >= 0; i--) stack.push(items[i]);
    }
  }
  return { aliases, duplicates };
}

function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
