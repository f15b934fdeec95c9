// The files the command line names: scenario files and directories to read, trace files to write.
// Every problem is a UsageError (exit status 2) saying which path and why, never an exception
// from node:fs.

import { closeSync, constants, openSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { printable } from '../scenario/printable.js';
import { errnoText, fileKind } from '../scenario/source.js';

/** A usage or file error: "pinlab: ..." on stderr, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A path as messages show it: escaped and cut like any text a user typed. */
export function shownPath(p: string): string {
  return printable(p, 200);
}

/** Directories a walk never enters: dependencies and hidden ones (.git, editors' state). */
function skipped(name: string): boolean {
  return name.startsWith('.') || name === 'node_modules';
}

const SCENARIO_FILE = /\.ya?ml$/;

/**
 * The scenario files (.yaml, .yml) under a directory, in name order, depth first. Hidden files and
 * directories and node_modules are skipped; symbolic links to directories are not followed (so a
 * link loop cannot trap the walk), links to files are.
 */
export function scenarioFilesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch (e) {
      throw new UsageError(`pinlab: ${shownPath(d)}: cannot list the directory: ${errnoText(e)}`);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (skipped(e.name)) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (SCENARIO_FILE.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * What a path named on the command line is: a regular file (possibly through a link), a
 * directory, or a UsageError saying why it is neither (missing, a FIFO, a device...).
 */
export function pathKind(abs: string, shown: string): 'file' | 'directory' {
  let st;
  try {
    st = statSync(abs);
  } catch (e) {
    throw new UsageError(`pinlab: ${shownPath(shown)}: ${errnoText(e)}`);
  }
  if (st.isDirectory()) return 'directory';
  if (st.isFile()) return 'file';
  throw new UsageError(`pinlab: ${shownPath(shown)}: ${fileKind(st)}, not a regular file: pinlab reads scenarios from regular files only`);
}

/**
 * Check, before a long run, that `path` can be written: an existing file is opened for writing
 * (not truncated); a new one is created and removed again. `what` names the option.
 */
export function checkWritable(abs: string, shown: string, what: string): void {
  const fail = (why: string) => new UsageError(`pinlab: ${what} ${shownPath(shown)}: cannot write there: ${why}`);
  let exists = true;
  try {
    const st = statSync(abs);
    if (st.isDirectory()) throw fail('it is a directory');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fail(errnoText(e));
    exists = false;
  }
  try {
    // O_NONBLOCK: a FIFO without a reader fails at once (ENXIO) instead of hanging here.
    const fd = openSync(abs, exists ? constants.O_WRONLY | constants.O_NONBLOCK : constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL);
    closeSync(fd);
    if (!exists) unlinkSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw fail(code === 'ENXIO' ? 'a FIFO with no reader' : code === 'ENOENT' && !exists ? 'its directory does not exist' : errnoText(e));
  }
}

/** Write a JSON document to `path`, or a UsageError: too large to serialise, or the write failed. */
export function writeJsonFile(abs: string, shown: string, what: string, doc: unknown): void {
  let text: string;
  try {
    text = `${JSON.stringify(doc)}\n`;
  } catch (e) {
    // V8 strings stop at about 512 MB: a trace that large cannot be one JSON document.
    if (e instanceof RangeError) throw new UsageError(`pinlab: ${what} ${shownPath(shown)}: the trace is too large to write as one JSON document (over 512 MB); trace fewer steps`);
    throw e;
  }
  try {
    writeFileSync(abs, text);
  } catch (e) {
    throw new UsageError(`pinlab: ${what} ${shownPath(shown)}: cannot write it: ${errnoText(e)}`);
  }
}
