// The sections of a scenario besides its steps: the name, machine:, explore: and end:.

import { isScalar, isSeq } from 'yaml';
import type { Value } from '../backend.js';
import type { EndSpec, ExploreSpec, LeaksExpect } from '../ast.js';
import { ScenarioFileError, type SourcePos } from '../errors.js';
import { scopeOf } from '../expr.js';
import { MAX_SCENARIO_NAME } from '../limits.js';
import { firstHidden, quoted } from '../printable.js';
import { didYouMean } from '../suggest.js';
import { evalTyped } from '../values.js';
import type { N } from './cursor.js';
import { readPerProfile } from './expect.js';
import { END_KEYS, EXPLORE_KEYS } from './keys.js';
import type { LoadState } from './state.js';
import { argList, checkNames, readValue } from './values.js';

/** The scenario's name: printed at the head of every result line, so one line of printable text. */
export function readScenarioName(ld: LoadState, n: N): string | null {
  const name = ld.scalarString(n, 'name');
  if (name === null) return null;
  const hidden = firstHidden(name);
  if (hidden) {
    return ld.err(ld.pos(n), `the name holds the control character ${hidden.shown} (at character ${hidden.index + 1}): `
      + 'a name is one line of printable text');
  }
  if (name.trim() === '') return ld.err(ld.pos(n), 'the name is blank');
  if (name.length > MAX_SCENARIO_NAME) return ld.err(ld.pos(n), `the name is ${name.length} characters long; a name has at most ${MAX_SCENARIO_NAME}`);
  return name;
}

export function readMachine(ld: LoadState, n: N): { machine: Record<string, Value>; keys: Map<string, SourcePos> } {
  const machine: Record<string, Value> = {};
  const keys = new Map<string, SourcePos>();
  const specs = ld.backend.machineArgs;
  const seen = new Set<string>();
  const es = n === undefined ? [] : ld.isEmpty(n, true) ? [] : ld.entries(n, 'machine') ?? [];
  const scope = scopeOf(ld.backend.constants);
  for (const e of es) {
    seen.add(e.key);
    const spec = specs.find((s) => s.name === e.key);
    if (!spec) {
      ld.err(e.keyPos, `unknown machine setting ${quoted(e.key)}${didYouMean(e.key, specs.map((s) => s.name))} (settings: ${argList(specs)})`);
      continue;
    }
    const v = readValue(ld, e.value, spec.type, `machine setting '${e.key}'`);
    if (!v) continue;
    const before = ld.diags.length;
    checkNames(ld, v);
    if (ld.diags.length > before) continue;
    try {
      machine[e.key] = evalTyped(v, spec.type, scope, `machine setting '${e.key}'`);
      keys.set(e.key, e.keyPos);
    } catch (err) {
      if (err instanceof ScenarioFileError) ld.diags.push(...err.diagnostics);
      else throw err;
    }
  }
  for (const s of specs) {
    if (s.required === true && !seen.has(s.name)) ld.err(ld.pos(n), `missing machine setting '${s.name}'`);
  }
  return { machine, keys };
}

/** `explore:` of a multi-actor scenario: which profiles the explorer must find failing, and its options. */
export function readExplore(ld: LoadState, n: N, profiles: readonly string[]): ExploreSpec | undefined {
  const es = ld.entries(n, 'explore');
  if (!es) return undefined;
  const fails = new Map<string, { text: string; pos: SourcePos }>();
  let preemptionBound: number | undefined;
  const allowWarns: string[] = [];
  for (const e of es) {
    switch (e.key) {
      case 'fails': {
        for (const f of ld.entries(e.value, 'explore: fails (profile: text the failure must contain)') ?? []) {
          if (!profiles.includes(f.key)) {
            ld.err(f.keyPos, `profile ${quoted(f.key)} is not one of the scenario's profiles (${profiles.join(', ')})`);
            continue;
          }
          const text = ld.scalarString(f.value, `the failure expected on ${f.key} (text it must contain)`);
          if (text !== null) fails.set(f.key, { text, pos: f.keyPos });
        }
        break;
      }
      case 'preemption_bound': {
        const v = ld.deref(e.value);
        const t = isScalar(v) ? ld.text(v) : '';
        if (!/^\d+$/.test(t)) ld.err(ld.pos(v), `preemption_bound must be a whole number, found ${ld.kind(v)}`);
        else preemptionBound = Number(t);
        break;
      }
      case 'allow_warns': {
        const v = ld.deref(e.value);
        for (const i of isSeq(v) ? v.items.map((x) => ld.deref(x)) : [v]) {
          const w = ld.scalarString(i, 'a WARN id');
          if (w !== null) allowWarns.push(w);
        }
        break;
      }
      default:
        ld.unknownKey(e, EXPLORE_KEYS, 'explore');
    }
  }
  return { pos: ld.pos(n), fails, allowWarns, ...(preemptionBound !== undefined && { preemptionBound }) };
}

export function readEnd(ld: LoadState, n: N): EndSpec {
  const none: EndSpec = { pos: null, leaks: { expected: { kind: 'all', value: 'none' }, pos: null } };
  if (n === undefined || ld.isEmpty(n, true)) return none;
  const es = ld.entries(n, 'end');
  if (!es) return none;
  let leaks: EndSpec['leaks'] = none.leaks;
  let warns: EndSpec['warns'];
  let noWarns: EndSpec['noWarns'];
  const stringList = (x: N, what: string): string[] | null => {
    x = ld.deref(x);
    const list = isSeq(x) ? x.items.map((i) => ld.deref(i)) : [x];
    const out: string[] = [];
    for (const i of list) {
      const s = ld.scalarString(i, what);
      if (s === null) return null;
      out.push(s);
    }
    return out;
  };
  for (const e of es) {
    switch (e.key) {
      case 'leaks': {
        const expected = readPerProfile<LeaksExpect>(ld, e.value, (x) => {
          if (isScalar(x) && x.type === 'PLAIN' && (ld.text(x) === 'none' || ld.text(x) === 'any')) {
            return ld.text(x) as 'none' | 'any';
          }
          if (!isSeq(x)) return ld.err(ld.pos(x), `leaks must be none, any, or a list of substrings of the expected leak lines, found ${ld.kind(x)}`);
          return stringList(x, 'an expected leak');
        });
        if (expected) leaks = { expected, pos: e.keyPos };
        break;
      }
      case 'warns': {
        const expected = readPerProfile(ld, e.value, (x) => stringList(x, 'a WARN id'));
        if (expected) warns = { expected, pos: e.keyPos };
        break;
      }
      case 'no_warns': {
        const expected = readPerProfile(ld, e.value, (x) => {
          if (isScalar(x) && x.type === 'PLAIN' && (ld.text(x) === 'true' || ld.text(x) === 'false')) return ld.text(x) === 'true';
          return ld.err(ld.pos(x), `no_warns must be true or false, found ${ld.kind(x)}`);
        });
        if (expected) noWarns = { expected, pos: e.keyPos };
        break;
      }
      default:
        ld.unknownKey(e, END_KEYS, 'end');
    }
  }
  return { pos: ld.pos(n), leaks, ...(warns && { warns }), ...(noWarns && { noWarns }) };
}
