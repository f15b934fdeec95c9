// A KTAP version 1 reader for the tests: the grammar of the kernel's
// tools/testing/kunit/kunit_parser.py (parse_test(), its regular expressions and its errors),
// written again here, plus the indentation rule of Documentation/dev-tools/ktap.rst (two spaces per
// nesting level) that kunit_parser.py does not check. Anything kunit_parser.py would record as an
// error (test.add_error) is an error here.

export type Status = 'SUCCESS' | 'FAILURE' | 'SKIPPED' | 'TEST_CRASHED' | 'NO_TESTS';

export interface KtapTest {
  name: string;
  status: Status;
  /** the directive after '#' on the result line, if any ("XFAIL ...", "SKIP ...") */
  directive: string | null;
  expectedCount: number | null;
  subtests: KtapTest[];
  log: string[];
  errors: string[];
}

const KTAP_START = /^\s*KTAP version ([0-9]+)$/;
const TAP_START = /^\s*TAP version ([0-9]+)$/;
const TEST_HEADER = /^\s*# Subtest: (.*)$/;
const TEST_PLAN = /^\s*1\.\.([0-9]+)/;
const TEST_RESULT = /^\s*(ok|not ok) ([0-9]+) (- )?([^#]*)( # .*)?$/;
const TEST_RESULT_SKIP = /^\s*(ok|not ok) ([0-9]+) (- )?(.*) # SKIP(.*)$/;

class Lines {
  i = 0;
  constructor(readonly lines: string[]) {}
  get more(): boolean { return this.i < this.lines.length; }
  peek(): string { return this.lines[this.i] ?? ''; }
  pop(): string { return this.lines[this.i++]; }
}

function newTest(): KtapTest {
  return { name: '', status: 'SUCCESS', directive: null, expectedCount: null, subtests: [], log: [], errors: [] };
}

function parseDiagnostic(l: Lines): string[] {
  const log: string[] = [];
  while (l.more && ![TEST_RESULT, TEST_HEADER, KTAP_START, TAP_START, TEST_PLAN].some((re) => re.test(l.peek()))) log.push(l.pop());
  return log;
}

function parseHeader(l: Lines, t: KtapTest): boolean {
  const k = KTAP_START.exec(l.peek());
  const tp = TAP_START.exec(l.peek());
  if (k) { if (Number(k[1]) !== 1) t.errors.push(`KTAP version ${k[1]} is not 1`); }
  else if (tp) { if (![13, 14].includes(Number(tp[1]))) t.errors.push(`TAP version ${tp[1]}`); }
  else return false;
  l.pop();
  return true;
}

function parsePlan(l: Lines, t: KtapTest): void {
  const m = TEST_PLAN.exec(l.peek());
  if (!m) { t.expectedCount = null; return; }
  t.expectedCount = Number(m[1]);
  l.pop();
}

function nameMatches(l: Lines, t: KtapTest): boolean {
  const m = TEST_RESULT.exec(l.peek());
  return m !== null && m[4] === t.name;
}

function parseResult(l: Lines, t: KtapTest, expectedNum: number): boolean {
  const line = l.peek();
  const m = TEST_RESULT.exec(line);
  if (!m) return false;
  const skip = TEST_RESULT_SKIP.exec(line);
  l.pop();
  t.name = skip ? skip[4] : m[4];
  t.directive = m[5] ? m[5].slice(3) : null;
  if (Number(m[2]) !== expectedNum) t.errors.push(`Expected test number ${expectedNum} but found ${m[2]}`);
  t.status = skip ? 'SKIPPED' : m[1] === 'ok' ? 'SUCCESS' : 'FAILURE';
  return true;
}

function parseTest(l: Lines, expectedNum: number, log: string[], isSubtest: boolean): KtapTest {
  const t = newTest();
  t.log.push(...log, ...parseDiagnostic(l));
  let parent: boolean;
  if (!isSubtest) {
    t.name = 'main';
    if (!parseHeader(l, t)) t.errors.push('no KTAP version line');
    t.log.push(...parseDiagnostic(l));
    parsePlan(l, t);
    parent = true;
  } else {
    const ktap = parseHeader(l, t);
    const header = TEST_HEADER.exec(l.peek());
    if (header) { t.name = header[1]; l.pop(); }
    parent = ktap || header !== null;
    if (parent) {
      t.log.push(...parseDiagnostic(l));
      parsePlan(l, t);
    }
  }
  let num = 1;
  while (parent && (t.expectedCount === null || num <= t.expectedCount)) {
    const subLog = parseDiagnostic(l);
    if (!l.more || (nameMatches(l, t) && isSubtest)) {
      if (t.expectedCount !== null && num <= t.expectedCount) {
        t.errors.push('missing expected subtest!');
        t.subtests.push({ ...newTest(), status: 'TEST_CRASHED', log: subLog });
      } else {
        t.log.push(...subLog);
        break;
      }
    } else t.subtests.push(parseTest(l, num, subLog, true));
    num++;
  }
  if (isSubtest) {
    t.log.push(...parseDiagnostic(l));
    if (t.name !== '' && !nameMatches(l, t)) t.errors.push('missing subtest result line!');
    else if (!parseResult(l, t, expectedNum)) t.errors.push('no result line');
  }
  if (parent && t.subtests.length === 0 && (t.status === 'SUCCESS' || t.status === 'TEST_CRASHED')) {
    t.status = 'NO_TESTS';
    t.errors.push('0 tests run!');
  }
  return t;
}

/** Every error in the tree, with the test's path. */
export function allErrors(t: KtapTest, path = ''): string[] {
  const here = path ? `${path}.${t.name}` : t.name;
  return [...t.errors.map((e) => `${here}: ${e}`), ...t.subtests.flatMap((s) => allErrors(s, here))];
}

/**
 * Parse KTAP text as kunit_parser.py does; also report lines whose indentation is not two spaces
 * per level of nesting (ktap.rst), and lines left over after the main test.
 */
export function parseKtap(text: string): { main: KtapTest; errors: string[] } {
  const lines = text.replace(/\n$/, '').split('\n');
  const errors: string[] = [];
  // Indentation: each KTAP version line after the first opens a level two spaces further in; a
  // result line one level out closes it (the parent's result). Diagnostic lines may be anywhere.
  let depth = 0;
  lines.forEach((line, i) => {
    const ind = line.length - line.trimStart().length;
    const body = line.trimStart();
    if (body.startsWith('#') || body === '') return;
    if (KTAP_START.test(line) && i > 0) depth++;
    if (TEST_RESULT.test(line) && depth > 0 && ind === 2 * (depth - 1)) { depth--; return; }
    if (ind !== 2 * depth) errors.push(`line ${i + 1}: indented ${ind}, expected ${2 * depth}: ${line}`);
  });
  if (depth !== 0) errors.push(`${depth} nested levels are never closed`);
  const l = new Lines(lines);
  const main = parseTest(l, 0, [], false);
  const rest = parseDiagnostic(l).filter((x) => !x.trimStart().startsWith('#'));
  if (l.more || rest.length) errors.push(`lines after the main test: ${[...rest, ...lines.slice(l.i)].join(' | ')}`);
  return { main, errors: [...allErrors(main), ...errors] };
}

/** The kselftest totals line, parsed. */
export function totals(text: string): Record<string, number> | null {
  const m = /^# Totals: pass:(\d+) fail:(\d+) xfail:(\d+) xpass:(\d+) skip:(\d+) error:(\d+)$/m.exec(text);
  if (!m) return null;
  const [pass, fail, xfail, xpass, skip, error] = m.slice(1).map(Number);
  return { pass, fail, xfail, xpass, skip, error };
}
