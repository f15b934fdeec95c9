// The pinlab command line: run scenario files against the model and report verdicts.
//
// Exit status: 0 every verdict passed; 1 some verdict failed; 2 usage error or an error in a
// scenario file (anything a user can type or point at); 3 internal error (a bug in pinlab: the
// stack is printed only with PINLAB_DEBUG=1).
//
// Everything written goes through escapeOutput(): text from files, paths and arguments is already
// escaped where it is quoted (printable()), and any control character that still reaches the
// output, other than the line break and pinlab's own colour codes, is escaped there.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { knownProfile, type ArgSpec, type Backend, type Value } from '../scenario/backend.js';
import type { Scenario } from '../scenario/ast.js';
import { MAX_MESSAGE, ScenarioFileError, formatPos, type Diagnostic } from '../scenario/errors.js';
import { MAX_FILE_BYTES, MAX_SCENARIO_NAME } from '../scenario/limits.js';
import { FileInputError, loadScenarioFile } from '../scenario/load.js';
import { boundStrings, escapeOutput, jsonText, printable, quoted } from '../scenario/printable.js';
import { renderValue, runScenario, type ScenarioResult, type Verdict } from '../scenario/run.js';
import { didYouMean } from '../scenario/suggest.js';
import { ktapReport, type KtapFile } from '../report/ktap.js';
import { errorRecord, runRecordOf } from '../report/records.js';
import { traceOutput, type TraceFormat } from '../trace/chrome.js';
import { traceDoc, withoutEvents, type RunRecord } from '../trace/format.js';
import { ExploreUsageError, exploreCommand } from './explore.js';
import { UsageError, checkWritable, pathKind, scenarioFilesUnder, shownPath, writeJsonFile } from './files.js';

/** Where the CLI writes and what it knows of its environment (tests pass their own). */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly isTTY: boolean;
  readonly cwd: string;
}

export const USAGE = `Usage: pinlab [command] [options]

Commands:
  (none)              run every scenario of the catalogue (the package's scenarios/ directory)
  run FILE|DIR...     run scenario files (a directory: every .yaml file under it)
  list                list the catalogue: name, profiles, description
  ops                 list the operations, queries, machine settings and profiles scenarios can use
  schema              print the JSON Schema of scenario files, generated from the operation table (editors:
                      # yaml-language-server: $schema=PATH; docs/scenarios.md#editor-support)
  host-check          measure pinning workloads on this machine's kernel and compare with the model
                      (--case NAME, repeatable; --reps N; --json; --kernel host|uml-5.10|uml-6.1|uml-6.12|all
                      boots that User-Mode Linux kernel instead, see docs/host-check.md)
  fuzz                differential fuzzing: generated programs on a real kernel and on the model, call by call
                      (--kernel host|uml-5.10|uml-6.1|uml-6.12|all, --programs N, --seed S, --out DIR for the
                      shrunk scenarios, --json; exit 1 on a divergence; see docs/fuzz.md)
  kernels fetch|list  download the UML kernels host-check --kernel boots into the cache ($PINLAB_CACHE); list them
  explore FILE        explore the interleavings of a multi-actor scenario (setup: + actors:) on each of its profiles;
                      exit 0 when each profile passes, or fails where the file's explore: fails: says it must
                      (--mode dpor|exhaustive|pct, --preemption-bound N, --jobs N worker threads, --runs N,
                      --seed S and --depth D for pct, --trace OUT for the failing schedule; see docs/explorer.md)
  replay FILE         run one schedule of a multi-actor scenario (--schedule S, e.g. "driver,flusher,driver" or "0.1.0")
  view FILE -o OUT.html
                      one self-contained HTML page of a scenario's runs (a multi-actor file: its minimised failing
                      schedule, or --schedule S) or of a --trace file: swimlanes, steps, pages (docs/viewer.md)
  help                show this help

Options:
  --profile P         run on profile P only, whatever the files ask for (a name, or a version: 6.12, 6.1.176; give it once)
  --json              print one JSON document with every result instead of text
  --trace OUT.json    write the trace of every run to OUT.json ("format": "pinlab-trace/1", docs/trace.md);
                      checked for writing before anything runs
  --trace-format F    pinlab (the default) or chrome: Chrome trace-event JSON for Perfetto UI and chrome://tracing
  --ktap              print KTAP version 1 (kselftest, KUnit's kunit_parser.py) instead of text (run, explore)
  -v, --verbose       print every verdict, not only the failing ones
  -h, --help          show this help
  --version           print pinlab's version

Files: regular files of at most ${MAX_FILE_BYTES >> 20} MiB (docs/scenarios.md#limits); a directory stands for the .yaml/.yml
  files under it, skipping node_modules, hidden files and directories, and links to directories.
Exit status: 0 all verdicts passed, 1 some verdict failed, 2 usage or scenario-file error, 3 internal error.
Environment: NO_COLOR (set and not empty: no colours), PINLAB_DEBUG=1 (stacks on internal errors),
  PINLAB_BACKEND=MODULE (a module exporting modelBackend(), instead of the model),
  PINLAB_SCENARIOS=DIR (the catalogue directory).
See docs/scenarios.md for the scenario format.
`;

const COMMANDS = ['run', 'list', 'ops', 'schema', 'host-check', 'fuzz', 'kernels', 'explore', 'replay', 'view', 'help'];
const EXPLORE_OPTIONS = ['mode', 'preemption-bound', 'seed', 'runs', 'schedule', 'depth', 'jobs'] as const;

/** An error with an exit status and a message for stderr. */
class CliError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

/** The escape sequences pinlab itself writes: colours (stdout, host-check) and the progress line's erase (stderr). */
// eslint-disable-next-line no-control-regex -- these are the escape sequences to keep
const OWN_COLOURS = /\x1b\[[0-9]{1,2}m/;
// eslint-disable-next-line no-control-regex -- these are the escape sequences to keep
const OWN_PROGRESS = /\r\x1b\[2K/;

/** Colour only on a terminal, and not when NO_COLOR is set to something (no-color.org: an empty value does not count). */
export function colourWanted(io: { readonly isTTY: boolean; readonly env: Readonly<Record<string, string | undefined>> }): boolean {
  return io.isTTY && (io.env.NO_COLOR ?? '') === '';
}

/**
 * No line written is longer than this: messages are bounded where they are built (600 characters
 * and a path), so only text no one bounded (a backend's, host-check's) is ever cut here.
 */
const MAX_OUTPUT_LINE = 2000;

function cutLongLines(t: string): string {
  if (t.length <= MAX_OUTPUT_LINE) return t;
  return t.split('\n').map((l) => (l.length > MAX_OUTPUT_LINE ? `${l.slice(0, MAX_OUTPUT_LINE)}…(${l.length - MAX_OUTPUT_LINE} more characters)` : l)).join('\n');
}

/** The same Io, with every write escaped (escapeOutput) except pinlab's own escape sequences, and long lines cut. */
function safeIo(io: Io): Io {
  const colour = colourWanted(io);
  return {
    out: (t) => io.out(cutLongLines(escapeOutput(t, colour ? OWN_COLOURS : undefined))),
    err: (t) => io.err(cutLongLines(escapeOutput(t, io.isTTY ? OWN_PROGRESS : undefined))),
    env: io.env, isTTY: io.isTTY, cwd: io.cwd,
  };
}

/** pinlab's version, from its package.json. */
function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

function processIo(): Io {
  return {
    out: (t) => { process.stdout.write(t); },
    err: (t) => { process.stderr.write(t); },
    env: process.env,
    isTTY: Boolean(process.stdout.isTTY),
    cwd: process.cwd(),
  };
}

interface Colours {
  pass(s: string): string;
  fail(s: string): string;
  warn(s: string): string;
  dim(s: string): string;
}

function colours(on: boolean): Colours {
  const c = (code: number) => (s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { pass: c(32), fail: c(31), warn: c(33), dim: c(2) };
}

/** The package root: the nearest directory above this module with a package.json. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the pinlab package directory');
    dir = up;
  }
  return dir;
}

async function loadBackend(io: Io): Promise<Backend> {
  const custom = io.env.PINLAB_BACKEND;
  const spec = custom ? pathToFileURL(resolve(io.cwd, custom)).href : '../scenario/model-backend.js';
  const what = custom ? `PINLAB_BACKEND=${shownPath(custom)}` : 'the model (src/scenario/model-backend.ts)';
  // A PINLAB_BACKEND the user set is a usage error (2); the model itself missing is pinlab's (3).
  const status = custom ? 2 : 3;
  let mod: { modelBackend?: unknown };
  try {
    mod = (await import(spec)) as { modelBackend?: unknown };
  } catch (e) {
    throw new CliError(`pinlab: cannot load ${what}: ${printable(e instanceof Error ? e.message : String(e), 300)}${custom ? '' : ' (is it built? run npx tsc -b)'}`, status);
  }
  if (typeof mod.modelBackend !== 'function') throw new CliError(`pinlab: ${what} does not export modelBackend()`, status);
  return (mod.modelBackend as () => Backend)();
}

interface Options {
  readonly profile?: string;
  readonly json: boolean;
  readonly trace?: string;
  readonly traceFormat: TraceFormat;
  readonly ktap: boolean;
  readonly verbose: boolean;
}

interface RunReport {
  readonly results: ScenarioResult[];
  readonly errors: Diagnostic[];
  /** Scenario runs that failed (a failing verdict, or an error in the file). */
  failed: number;
  passed: number;
  internal: number;
  /** Files that could not be read at all (FileInputError). */
  fileErrors: number;
}

class Cli {
  private readonly c: Colours;

  constructor(readonly io: Io) {
    this.c = colours(colourWanted(io));
  }

  private display(p: string): string {
    const rel = relative(this.io.cwd, p);
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
  }

  /** The catalogue directory, and whether PINLAB_SCENARIOS chose it. */
  catalogueDir(): { dir: string; custom: boolean } {
    const custom = this.io.env.PINLAB_SCENARIOS;
    return custom ? { dir: resolve(this.io.cwd, custom), custom: true } : { dir: join(packageRoot(), 'scenarios'), custom: false };
  }

  catalogue(): string[] {
    const { dir, custom } = this.catalogueDir();
    if (!existsSync(dir)) {
      if (custom) throw new CliError(`pinlab: PINLAB_SCENARIOS=${shownPath(this.io.env.PINLAB_SCENARIOS!)}: no such directory`, 2);
      return [];
    }
    if (pathKind(dir, dir) !== 'directory') throw new CliError(`pinlab: PINLAB_SCENARIOS=${shownPath(dir)}: not a directory`, 2);
    return scenarioFilesUnder(dir).map((f) => this.display(f));
  }

  /**
   * The files named on the command line; a directory stands for the scenario files under it and
   * must hold at least one. Every bad path is reported (exit 2) before anything runs.
   */
  filesOf(args: readonly string[]): string[] {
    const problems: string[] = [];
    const files = args.flatMap((a) => {
      try {
        const abs = resolve(this.io.cwd, a);
        if (pathKind(abs, a) === 'file') return [a];
        const under = scenarioFilesUnder(abs);
        if (under.length === 0) {
          problems.push(`pinlab: ${shownPath(a)}: no scenario files (.yaml, .yml) under this directory `
            + '(node_modules, hidden directories and links to directories are skipped)');
        }
        return under.map((f) => this.display(f));
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        problems.push(e.message);
        return [];
      }
    });
    if (problems.length) throw new CliError(problems.join('\n'), 2);
    return files;
  }

  /** One FILE for explore and replay: a directory is refused (explore each file in turn). */
  oneFile(arg: string, cmd: string): string {
    try {
      if (pathKind(resolve(this.io.cwd, arg), arg) === 'directory') {
        throw new CliError(`pinlab: ${cmd} takes one scenario FILE; ${shownPath(arg)} is a directory (run ${cmd} on each of its files)`, 2);
      }
    } catch (e) {
      if (e instanceof UsageError) throw new CliError(e.message, 2);
      throw e;
    }
    return arg;
  }

  /** Report a file's problems once each: a file's machine errors come back on every profile. */
  private reportErrors(diags: readonly Diagnostic[], report: RunReport, shown: Set<string>): void {
    for (const d of diags) {
      const line = `${formatPos(d.pos)}: ${d.message}`;
      if (shown.has(line)) continue;
      shown.add(line);
      report.errors.push(d);
      this.io.err(`${line}\n`);
    }
  }

  private load(file: string, backend: Backend, report: RunReport, shown: Set<string>): Scenario | null {
    try {
      return loadScenarioFile(resolve(this.io.cwd, file), backend, file);
    } catch (e) {
      if (e instanceof ScenarioFileError) {
        this.reportErrors(e.diagnostics, report, shown);
        return null;
      }
      if (e instanceof FileInputError) {
        report.fileErrors++;
        this.io.err(`pinlab: ${e.message}\n`);
        return null;
      }
      // A bug in pinlab while loading one file: say so, and go on with the other files.
      report.internal++;
      this.internalError(e, `loading ${shownPath(file)}`);
      return null;
    }
  }

  private printResult(r: ScenarioResult, opts: Options): void {
    const { c } = this;
    const failed = r.verdicts.filter((v) => !v.ok);
    const n = r.verdicts.length;
    const counts = `(${n} check${n === 1 ? '' : 's'}${failed.length ? `, ${failed.length} failed` : ''})`;
    this.io.out(`${r.ok ? c.pass('PASS') : c.fail('FAIL')} ${printable(r.name, MAX_SCENARIO_NAME)} [${r.profile}] ${counts}\n`);
    for (const v of opts.verbose ? r.verdicts : failed) this.io.out(this.verdictLine(v, opts.verbose));
    for (const hnt of r.hints ?? []) this.io.out(`  ${c.warn('HINT')} ${c.dim(`${formatPos(hnt.location)}:`)} ${printable(hnt.message, MAX_MESSAGE)}\n`);
    if (opts.verbose) {
      for (const b of r.bound ?? []) this.io.out(`  ${c.dim('bound')} ${b.name} = ${renderValue(b.value as Value, undefined, true)} (step ${b.step} ${b.op})\n`);
    }
    if (r.bug?.expected && opts.verbose) this.io.out(`  ${c.dim(`BUG (expected) at step ${r.bug.scenarioStep}: ${printable(r.bug.message, MAX_MESSAGE)}`)}\n`);
    for (const w of r.warnings) {
      if (w.expected && !opts.verbose) continue;
      const when = w.scenarioStep === null ? 'outside the steps' : `step ${w.scenarioStep}`;
      this.io.out(`  ${c.warn('WARN')} ${printable(w.id)}: ${printable(w.message, MAX_MESSAGE)} (${when}${w.expected ? ', expected' : ''})\n`);
    }
    // Out of memory, where it happened: what the kernel's log would say (warn_alloc()).
    for (const f of r.allocFailures) {
      const when = f.scenarioStep === null ? 'outside the steps' : `step ${f.scenarioStep} ${f.op}`;
      this.io.out(`  ${c.warn('ALLOC')} ${f.message} (${when})\n`);
    }
    if (r.allocFailuresSuppressed) this.io.out(`  ${c.warn('ALLOC')} ${r.allocFailuresSuppressed} more allocation failures (ratelimited)\n`);
  }

  private verdictLine(v: Verdict, verbose: boolean): string {
    const { c } = this;
    const mark = verbose ? (v.ok ? `${c.pass('ok')}   ` : `${c.fail('FAIL')} `) : '';
    const msg = v.ok || !v.message ? '' : `: ${v.message}`;
    // A verdict's message may hold several lines (leak lists): each one printable and bounded.
    const lines = `${v.description}${msg}`.split('\n').map((l) => printable(l, MAX_MESSAGE));
    return `  ${mark}${c.dim(`${formatPos(v.location)}:`)} ${lines.join('\n      ')}\n`;
  }

  async run(files: readonly string[], opts: Options): Promise<number> {
    const backend = await loadBackend(this.io);
    if (opts.profile !== undefined && !knownProfile(backend, opts.profile)) {
      const why = backend.profileProblem?.(opts.profile);
      if (why) throw new CliError(`pinlab: no profile for ${quoted(opts.profile)}: ${why}`, 2);
      throw new CliError(`pinlab: unknown profile ${quoted(opts.profile)}${didYouMean(opts.profile, backend.profiles)} `
        + `(profiles: ${backend.profiles.join(', ')}${backend.acceptsProfile ? ', or a kernel version such as 6.12 or 6.1.176' : ''})`, 2);
    }
    // Find out now, not after the whole run, that the trace cannot be written, or would overwrite a scenario.
    if (opts.trace !== undefined) {
      const trace = resolve(this.io.cwd, opts.trace);
      if (files.some((f) => sameFile(resolve(this.io.cwd, f), trace))) {
        throw new CliError(`pinlab: --trace ${shownPath(opts.trace)} is one of the scenario files to run: the trace would overwrite it`, 2);
      }
      checkWritable(trace, opts.trace, '--trace');
    }
    const report: RunReport = { results: [], errors: [], failed: 0, passed: 0, internal: 0, fileErrors: 0 };
    const records: RunRecord[] = [];
    const ktap: KtapFile[] = [];
    const quiet = opts.json || opts.ktap;
    for (const file of files) {
      const shown = new Set<string>();
      const errorsBefore = report.errors.length;
      const scn = this.load(file, backend, report, shown);
      if (!scn) {
        report.failed++;
        ktap.push({ name: file, runs: [], errors: report.errors.slice(errorsBefore).map((d) => `${formatPos(d.pos)}: ${d.message}`) });
        continue;
      }
      const fileRuns: RunRecord[] = [];
      ktap.push({ name: scn.name, runs: fileRuns, errors: [] });
      for (const profile of opts.profile !== undefined ? [opts.profile] : scn.profiles) {
        let r: ScenarioResult;
        try {
          r = runScenario(scn, backend, { profile, trace: opts.trace !== undefined })[0];
        } catch (e) {
          report.failed++;
          if (e instanceof ScenarioFileError) {
            this.reportErrors(e.diagnostics, report, shown);
            const rec = errorRecord('run', scn, profile, e.diagnostics.map((d) => `${formatPos(d.pos)}: ${d.message}`).join('\n'));
            records.push(rec);
            fileRuns.push(rec);
            if (!quiet) this.io.out(`${this.c.fail('ERROR')} ${printable(scn.name, MAX_SCENARIO_NAME)} [${profile}]\n`);
          } else {
            report.internal++;
            this.internalError(e, `${shownPath(file)} [${profile}]`);
          }
          continue;
        }
        report.results.push(r);
        if (r.ok) report.passed++;
        else report.failed++;
        const rec = runRecordOf(r, scn, backend, opts.trace !== undefined);
        records.push(rec);
        fileRuns.push(rec);
        if (!quiet) this.printResult(r, opts);
      }
    }
    // One shape for --json and --trace (docs/trace.md): the runs, the files' errors, the counts.
    const errors = report.errors.map((d) => ({ ...d.pos, message: d.message }));
    const counts = { passed: report.passed, failed: report.failed };
    if (opts.json) {
      this.io.out(`${jsonText(boundStrings(traceDoc('run', records.map(withoutEvents), errors, counts)))}\n`);
    } else if (opts.ktap) {
      this.io.out(ktapReport(ktap));
    } else {
      this.io.out(`${report.passed} passed, ${report.failed} failed\n`);
    }
    if (opts.trace !== undefined) {
      writeJsonFile(resolve(this.io.cwd, opts.trace), opts.trace, '--trace', traceOutput(traceDoc('run', records, errors, counts), opts.traceFormat));
    }
    if (report.internal) return 3;
    if (report.errors.length || report.fileErrors) return 2;
    return report.failed ? 1 : 0;
  }

  async list(json: boolean): Promise<number> {
    const backend = await loadBackend(this.io);
    const report: RunReport = { results: [], errors: [], failed: 0, passed: 0, internal: 0, fileErrors: 0 };
    const rows: { file: string; name: string; profiles: readonly string[]; description: string }[] = [];
    for (const file of this.catalogue()) {
      const scn = this.load(file, backend, report, new Set());
      if (scn) rows.push({ file, name: scn.name, profiles: scn.profiles, description: firstSentence(scn.description ?? '') });
    }
    if (json) this.io.out(`${jsonText(boundStrings(rows))}\n`);
    else {
      // Names and descriptions escaped and cut: a line per scenario, whatever its description holds.
      const shown = rows.map((r) => ({ ...r, name: printable(r.name, MAX_SCENARIO_NAME), description: printable(r.description, 400) }));
      const w1 = Math.max(0, ...shown.map((r) => r.name.length));
      const w2 = Math.max(0, ...shown.map((r) => r.profiles.join(',').length + 2));
      for (const r of shown) {
        this.io.out(`${r.name.padEnd(w1)}  ${`[${r.profiles.join(',')}]`.padEnd(w2)}  ${r.description}`.trimEnd() + '\n');
      }
      if (rows.length === 0 && report.errors.length === 0 && report.fileErrors === 0 && report.internal === 0) {
        this.io.out('no scenarios in the catalogue\n');
      }
    }
    if (report.internal) return 3;
    return report.errors.length || report.fileErrors ? 2 : 0;
  }

  async ops(json: boolean): Promise<number> {
    const b = await loadBackend(this.io);
    if (json) {
      this.io.out(`${JSON.stringify({
        operations: [...b.ops.values()], queries: [...b.queries.values()], machine: b.machineArgs,
        profiles: b.profiles, defaultProfile: b.defaultProfile, constants: b.constants,
      }, null, 2)}\n`);
      return 0;
    }
    const sig = (args: readonly ArgSpec[]) => args.map((a) => `${a.name}${a.required === true ? '' : '?'}: ${a.type}${a.constants ? ` ${a.constants}*` : ''}`).join(', ');
    const docs = (args: readonly ArgSpec[]) => args.filter((a) => a.doc).map((a) => `      ${a.name}: ${a.doc}\n`).join('');
    const out: string[] = [];
    out.push(`Operations (${b.ops.size}); a step is {OP: {ARG: VALUE, ...}}, [task] = runs in a task (task: on the step):\n`);
    for (const o of b.ops.values()) {
      out.push(`  ${o.name}(${sig(o.args)})${o.needsTask ? '  [task]' : ''}\n`);
      out.push(`      ${o.summary}${o.source ? ` (${o.source})` : ''}\n`, docs(o.args));
      if (o.yieldPoints?.length) out.push(`      preempt: ${o.yieldPoints.join(', ')} (yield points for the explorer)\n`);
    }
    out.push(`\nQueries (${b.queries.size}); a check is {QUERY: {ARG: VALUE, ...}, FIELD: EXPECTED, ...}, [task] = task: in the arguments:\n`);
    for (const q of b.queries.values()) {
      out.push(`  ${q.name}(${sig(q.args)})${q.needsTask ? '  [task]' : ''}\n`);
      out.push(`      ${q.summary}\n`, docs(q.args), '      fields:\n', wrap(q.fields, '        ', 100));
    }
    out.push('\nMachine settings (machine:):\n');
    for (const m of b.machineArgs) out.push(`  ${m.name}: ${m.type}${m.doc ? ` — ${m.doc}` : ''}\n`);
    out.push(`\nProfiles: ${b.profiles.join(', ')} (default ${b.defaultProfile})${b.acceptsProfile ? '; and any kernel version, e.g. 6.12 or 6.1.176 (docs/profiles.md)' : ''}\n`);
    out.push('Constants (for expressions):\n', wrap(Object.keys(b.constants), '  ', 100));
    this.io.out(out.join(''));
    return 0;
  }

  internalError(e: unknown, where?: string): void {
    const msg = printable(e instanceof Error ? e.message : String(e), MAX_MESSAGE);
    this.io.err(`pinlab: internal error: ${msg}${where ? ` (in ${where})` : ''}\n`);
    if (this.io.env.PINLAB_DEBUG === '1' && e instanceof Error && e.stack) this.io.err(`${e.stack}\n`);
  }
}

/**
 * The first sentence of a description, whole: its lines joined, up to the first '.', '!' or '?'
 * that ends a sentence (followed by a space and a capital, or the end) — not "e.g." or "v5.4".
 */
export function firstSentence(text: string): string {
  const flat = text.replace(/[ \t]*\n[ \t]*/g, ' ').trim();
  const m = /^(.*?[.!?])(?= [A-Z(`'"]|$)/.exec(flat);
  return m ? m[1] : flat;
}

/** Whether two paths name the same existing file (through links). */
function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** Words joined with ", " in lines of at most `width` columns, each line indented. */
function wrap(words: readonly string[], indent: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    const next = line ? `${line}, ${w}` : w;
    if (line && indent.length + next.length + 1 > width) {
      lines.push(`${indent}${line},`);
      line = w;
    } else line = next;
  }
  if (line) lines.push(`${indent}${line}`);
  return lines.map((l) => `${l}\n`).join('');
}

/** Run the command line; returns the exit status. */
export async function main(argv: readonly string[], rawIo: Io = processIo()): Promise<number> {
  const io = safeIo(rawIo);
  const cli = new Cli(io);
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: [...argv], allowPositionals: true, strict: true, tokens: true,
        options: {
          profile: { type: 'string' }, json: { type: 'boolean' }, trace: { type: 'string' },
          verbose: { type: 'boolean', short: 'v' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' },
          case: { type: 'string', multiple: true }, reps: { type: 'string' }, kernel: { type: 'string', multiple: true },
          mode: { type: 'string' }, 'preemption-bound': { type: 'string' }, seed: { type: 'string' }, runs: { type: 'string' },
          schedule: { type: 'string' }, depth: { type: 'string' }, jobs: { type: 'string' },
          'trace-format': { type: 'string' }, ktap: { type: 'boolean' }, output: { type: 'string', short: 'o' },
          programs: { type: 'string' }, out: { type: 'string' },
        },
      });
    } catch (e) {
      throw new CliError(`pinlab: ${printable((e as Error).message, 300)}\n\n${USAGE}`, 2);
    }
    const { values: v, positionals, tokens } = parsed;
    // parseArgs keeps the last value of a repeated option; a second --profile (or --trace...) is
    // more likely a mistake than a wish to drop the first, so it is a usage error (only --case
    // repeats). A repeated flag (-v -v) loses nothing and is fine.
    const given = new Map<string, number>();
    for (const t of tokens) {
      if (t.kind === 'option' && t.value !== undefined && t.name !== 'case') given.set(t.name, (given.get(t.name) ?? 0) + 1);
    }
    const twice = [...given].find(([, n]) => n > 1);
    if (twice) {
      throw new CliError(`pinlab: --${twice[0]} is given ${twice[1]} times; give it once${twice[0] === 'profile' ? ' (a run uses one profile, or the file\'s profiles)' : ''}\n\n${USAGE}`, 2);
    }
    if (v.version) {
      io.out(`pinlab ${version()}\n`);
      return 0;
    }
    const [cmd, ...rest] = positionals;
    if (cmd === 'fuzz' && !v.help) {
      const bad = (['profile', 'trace', 'verbose', 'case', 'reps', 'mode', 'preemption-bound', 'runs', 'schedule', 'depth', 'jobs', 'output'] as const).find((x) => v[x] !== undefined);
      if (bad) throw new CliError(`pinlab: --${bad} does not apply to fuzz\n\n${USAGE}`, 2);
      if (positionals.length > 1) throw new CliError(`pinlab: fuzz takes no arguments\n\n${USAGE}`, 2);
      const { fuzzCommand, FuzzUsageError } = await import('./fuzz.js');
      try {
        return await fuzzCommand(io, await loadBackend(io), {
          json: v.json ?? false, ...(v.kernel && { kernels: v.kernel }), ...(v.programs !== undefined && { programs: v.programs }),
          ...(v.seed !== undefined && { seed: v.seed }), ...(v.out !== undefined && { out: v.out }),
        });
      } catch (e) {
        if (e instanceof FuzzUsageError) throw new CliError(e.message, 2);
        throw e;
      }
    }
    if (v.programs !== undefined || v.out !== undefined) throw new CliError(`pinlab: --${v.programs !== undefined ? 'programs' : 'out'} only applies to fuzz\n\n${USAGE}`, 2);
    if (cmd !== 'host-check' && (v.case !== undefined || v.reps !== undefined || v.kernel !== undefined)) {
      throw new CliError(`pinlab: --${v.case !== undefined ? 'case' : v.reps !== undefined ? 'reps' : 'kernel'} only applies to host-check\n\n${USAGE}`, 2);
    }
    const exploreOpt = EXPLORE_OPTIONS.find((k) => v[k] !== undefined);
    if (exploreOpt !== undefined && cmd !== 'explore' && cmd !== 'replay' && !(cmd === 'view' && exploreOpt === 'schedule')) {
      throw new CliError(`pinlab: --${exploreOpt} only applies to explore and replay\n\n${USAGE}`, 2);
    }
    if (v.help || cmd === 'help') {
      io.out(USAGE);
      return 0;
    }
    const traceFormat = v['trace-format'] ?? 'pinlab';
    if (traceFormat !== 'pinlab' && traceFormat !== 'chrome') throw new CliError(`pinlab: --trace-format must be pinlab or chrome, found ${quoted(traceFormat)}\n\n${USAGE}`, 2);
    if (v['trace-format'] !== undefined && v.trace === undefined) throw new CliError(`pinlab: --trace-format needs --trace OUT\n\n${USAGE}`, 2);
    if (v.ktap && v.json) throw new CliError(`pinlab: --ktap and --json are two formats of the same report; give one\n\n${USAGE}`, 2);
    if (v.ktap && cmd !== undefined && cmd !== 'run' && cmd !== 'explore') throw new CliError(`pinlab: --ktap only applies to run and explore\n\n${USAGE}`, 2);
    if (v.output !== undefined && cmd !== 'view') throw new CliError(`pinlab: -o/--output only applies to view\n\n${USAGE}`, 2);
    const opts: Options = {
      json: v.json ?? false, verbose: v.verbose ?? false, traceFormat, ktap: v.ktap ?? false,
      ...(v.profile !== undefined && { profile: v.profile }), ...(v.trace !== undefined && { trace: v.trace }),
    };
    const onlyJson = (name: string) => {
      const bad = (['profile', 'trace', 'verbose'] as const).filter((k) => v[k] !== undefined);
      if (rest.length) throw new CliError(`pinlab: ${name} takes no arguments\n\n${USAGE}`, 2);
      if (bad.length) throw new CliError(`pinlab: --${bad[0]} does not apply to ${name}\n\n${USAGE}`, 2);
    };
    switch (cmd) {
      case undefined: {
        const files = cli.catalogue();
        if (files.length === 0) throw new CliError(`pinlab: no scenarios in the catalogue (${shownPath(cli.catalogueDir().dir)})`, 2);
        return await cli.run(files, opts);
      }
      case 'run':
        if (rest.length === 0) throw new CliError(`pinlab: run needs at least one FILE\n\n${USAGE}`, 2);
        return await cli.run(cli.filesOf(rest), opts);
      case 'list':
        onlyJson('list');
        return await cli.list(opts.json);
      case 'ops':
        onlyJson('ops');
        return await cli.ops(opts.json);
      case 'schema': {
        onlyJson('schema');
        const { scenarioSchema } = await import('../scenario/json-schema.js');
        io.out(`${JSON.stringify(scenarioSchema(await loadBackend(io)), null, 2)}\n`);
        return 0;
      }
      case 'host-check': {
        onlyJson('host-check');
        const { hostCheckCommand } = await import('../host/command.js');
        return await hostCheckCommand(io, await loadBackend(io), {
          json: opts.json, ...(v.case && { cases: v.case }), ...(v.reps !== undefined && { reps: v.reps }), ...(v.kernel && { kernels: v.kernel }),
        });
      }
      case 'kernels': {
        const bad = (['profile', 'trace', 'verbose'] as const).find((k) => v[k] !== undefined);
        if (bad) throw new CliError(`pinlab: --${bad} does not apply to kernels\n\n${USAGE}`, 2);
        const { kernelsCommand } = await import('./kernels.js');
        return kernelsCommand(io, rest, { json: opts.json });
      }
      case 'explore':
      case 'replay': {
        if (rest.length !== 1) throw new CliError(`pinlab: ${cmd} needs exactly one FILE\n\n${USAGE}`, 2);
        const file = cli.oneFile(rest[0], cmd);
        try {
          return await exploreCommand(cmd, io, await loadBackend(io), file, {
            ...opts, ...(v.mode !== undefined && { mode: v.mode }), ...(v['preemption-bound'] !== undefined && { preemptionBound: v['preemption-bound'] }),
            ...(v.seed !== undefined && { seed: v.seed }), ...(v.runs !== undefined && { runs: v.runs }),
            ...(v.schedule !== undefined && { schedule: v.schedule }), ...(v.depth !== undefined && { depth: v.depth }),
            ...(v.jobs !== undefined && { jobs: v.jobs }),
          });
        } catch (e) {
          if (e instanceof ExploreUsageError) throw new CliError(/needs --schedule/.test(e.message) ? `${e.message}\n\n${USAGE}` : e.message, 2);
          throw e;
        }
      }
      case 'view': {
        if (rest.length !== 1) throw new CliError(`pinlab: view needs exactly one FILE (a scenario or a --trace file)\n\n${USAGE}`, 2);
        const bad = (['json', 'trace', 'verbose', 'ktap'] as const).find((k) => v[k] !== undefined);
        if (bad) throw new CliError(`pinlab: --${bad} does not apply to view\n\n${USAGE}`, 2);
        const { viewCommand } = await import('./view.js');
        return await viewCommand(io, await loadBackend(io), cli.oneFile(rest[0], 'view'), {
          ...(v.output !== undefined && { output: v.output }), ...(v.profile !== undefined && { profile: v.profile }),
          ...(v.schedule !== undefined && { schedule: v.schedule }),
        });
      }
      default: {
        let hint = didYouMean(cmd, COMMANDS);
        if (!hint && /\.ya?ml$/.test(cmd)) hint = `; did you mean 'pinlab run ${shownPath(cmd)}'?`;
        throw new CliError(`pinlab: unknown command ${quoted(cmd)}${hint}\n\n${USAGE}`, 2);
      }
    }
  } catch (caught) {
    const e = caught instanceof UsageError ? new CliError(caught.message, 2) : caught;
    if (e instanceof CliError) {
      io.err(e.message.endsWith('\n') ? e.message : `${e.message}\n`);
      return e.status;
    }
    cli.internalError(e);
    return 3;
  }
}
