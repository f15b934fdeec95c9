// Errors in scenario files, reported as "file:line:col: message" (line and column 1-based).

export interface SourcePos {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export interface Diagnostic {
  readonly pos: SourcePos;
  readonly message: string;
}

export function formatPos(p: SourcePos): string {
  return `${p.file}:${p.line}:${p.col}`;
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
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'ScenarioFileError';
    this.diagnostics = diagnostics;
  }

  static at(pos: SourcePos, message: string): ScenarioFileError {
    return new ScenarioFileError([{ pos, message }]);
  }
}
