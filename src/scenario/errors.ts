// Errors in scenario files, reported as "file:line:col: message" (line and column 1-based).

import { printable } from './printable.js';

/** A diagnostic's message is one line of at most this many characters, whatever it quotes. */
export const MAX_MESSAGE = 600;

export interface SourcePos {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export interface Diagnostic {
  readonly pos: SourcePos;
  readonly message: string;
}

/** file:line:col; the file name as given on the command line, escaped and cut like any user text. */
export function formatPos(p: SourcePos): string {
  return `${printable(p.file, 200)}:${p.line}:${p.col}`;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${formatPos(d.pos)}: ${d.message}`;
}

/**
 * One or more errors in a scenario file: found while loading (syntax, unknown names, bad
 * arguments) or while running (an argument the model refused, an expression that failed).
 * The message is the diagnostics, one per line, ready for stderr.
 */
export class ScenarioFileError extends Error {
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[]) {
    // The last line of defence: every message one printable line, however it was built.
    const bounded = diagnostics.map((d) => ({ pos: d.pos, message: printable(d.message, MAX_MESSAGE) }));
    super(bounded.map(formatDiagnostic).join('\n'));
    this.name = 'ScenarioFileError';
    this.diagnostics = bounded;
  }

  static at(pos: SourcePos, message: string): ScenarioFileError {
    return new ScenarioFileError([{ pos, message }]);
  }
}
