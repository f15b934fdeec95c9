// A JSON Schema (draft-07) of scenario files, generated from the backend's operation, query and
// machine tables, for editors: with the YAML language server, a file that starts with
//   # yaml-language-server: $schema=../../docs/scenario.schema.json
// completes operations, their arguments and flag constants, queries and their fields, and shows
// each one's summary on hover (docs/scenarios.md#editor-support). `pinlab schema` prints it;
// docs/scenario.schema.json is it, kept equal by a test. The loader stays the judge: the schema
// cannot say "one operation per step" or check expressions, only their shape.

import type { ArgSpec, ArgType, Backend } from './backend.js';

type Schema = Record<string, unknown>;

/**
 * The constants offered as completions for an argument, by its name: the prefix its declaration
 * gives (`flags().constants('FOLL_')`). One name has one prefix wherever it is declared.
 */
function constantPrefixes(backend: Backend): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of [...backend.ops.values(), ...backend.queries.values()]) {
    for (const a of d.args) {
      if (a.constants === undefined || (a.type !== 'int' && a.type !== 'flags')) continue;
      const had = out.get(a.name);
      if (had !== undefined && had !== a.constants) throw new Error(`argument '${a.name}' takes ${had} constants in one operation and ${a.constants} in ${d.name}`);
      out.set(a.name, a.constants);
    }
  }
  return out;
}

/** What a scalar of each argument type may be in YAML (definitions shared by every argument). */
function typeDefinitions(constants: readonly string[], prefixes: ReadonlyMap<string, string>): Record<string, Schema> {
  const expr = { type: 'string', description: 'an expression: constants, names bound by as:/let:, + - * / % | & ^ ~ << >>, len(), [i]' };
  const defs: Record<string, Schema> = {
    int: { anyOf: [{ type: 'integer' }, expr] },
    bool: { anyOf: [{ type: 'boolean' }, expr] },
    name: { type: ['string', 'number'] },
    string: { type: ['string', 'number', 'boolean'] },
    value: {},
  };
  for (const [arg, prefix] of prefixes) {
    defs[`flags_${arg}`] = { anyOf: [{ type: 'integer' }, expr], examples: constants.filter((c) => c.startsWith(prefix)) };
  }
  return defs;
}

/** An argument: a reference to its type's definition, with its documentation. */
function argSchema(a: ArgSpec): Schema {
  const t: ArgType = a.type;
  if (a.oneOf) return { enum: [...a.oneOf], ...(a.doc && { description: a.doc }) };
  const def = (t === 'flags' || t === 'int') && a.constants !== undefined ? `flags_${a.name}` : t === 'flags' ? 'int' : t;
  return { $ref: `#/definitions/${def}`, ...(a.doc && { description: a.doc }) };
}

/** The arguments of an operation or query: a mapping, or nothing for one that takes none (`exit:`). */
function argsSchema(args: readonly ArgSpec[], extra: Record<string, Schema> = {}): Schema {
  const required = args.filter((a) => a.required === true).map((a) => a.name);
  const obj: Schema = {
    type: 'object', additionalProperties: false,
    properties: { ...Object.fromEntries(args.map((a) => [a.name, argSchema(a)])), ...extra },
    ...(required.length > 0 && { required }),
  };
  return required.length > 0 ? obj : { anyOf: [obj, { type: 'null' }] };
}

const PROFILE_DOC = 'a kernel profile: a named one, or a version (6.12, 6.1.176)';

export function scenarioSchema(backend: Backend): Schema {
  const constants = Object.keys(backend.constants);
  const profile: Schema = { $ref: '#/definitions/profile' };
  const profileDef: Schema = {
    description: PROFILE_DOC,
    anyOf: [{ enum: [...backend.profiles] }, { type: 'string', pattern: '^[0-9]+\\.[0-9]+(\\.[0-9]+)?$' }, { type: 'number' }],
  };
  const profiles: Schema = { anyOf: [profile, { type: 'array', items: profile, minItems: 1 }] };
  const byProfile = (inner: Schema): Schema => ({
    anyOf: [inner, {
      type: 'object', additionalProperties: false, required: ['by_profile'],
      properties: { by_profile: { type: 'object', additionalProperties: inner, description: 'PROFILE: value, ..., default: value' } },
    }],
  });
  const scalarOrList: Schema = { type: ['string', 'number', 'boolean', 'null', 'array'] };
  const comparison: Schema = {
    anyOf: [scalarOrList, {
      type: 'object', additionalProperties: false, minProperties: 1, maxProperties: 2,
      properties: {
        ne: {}, ge: { type: ['integer', 'string'] }, le: { type: ['integer', 'string'] }, one_of: { type: 'array', minItems: 1 },
        delta: { type: ['integer', 'string'], description: 'changed by N since the previous check of the same field (or since: MARK)' },
        since: { type: 'string', description: 'a mark taken by an earlier `- mark: NAME` step (vmstat checks)' },
      },
    }],
  };
  const expected = { $ref: '#/definitions/expected' };
  const queries = [...backend.queries.values()];
  const check: Schema = {
    type: 'object',
    anyOf: queries.map((q) => ({
      required: [q.name],
      properties: {
        [q.name]: { ...argsSchema(q.args, q.needsTask ? { task: { type: 'string', description: 'the task (default: the first)' } } : {}), description: q.summary },
        ...Object.fromEntries(q.fields.map((f) => [f, expected])), note: { type: 'string' },
      },
      additionalProperties: false,
    })),
  };
  const checks: Schema = { anyOf: [{ type: 'array', items: { $ref: '#/definitions/check' } }, { $ref: '#/definitions/check' }] };
  const raise: Schema = byProfile({ type: ['string', 'boolean'] });
  const stepExpect: Schema = {
    type: 'object', additionalProperties: false,
    properties: { ret: expected, warn: raise, bug: raise, checks },
  };
  const ops = [...backend.ops.values()];
  const common = { note: { type: 'string' }, profiles };
  const step: Schema = {
    type: 'object',
    properties: {
      ...Object.fromEntries(ops.map((o) => [o.name, {
        ...argsSchema(o.args), description: `${o.summary}${o.source ? ` (${o.source})` : ''}${o.needsTask ? ' [task]' : ''}`,
      }])),
      task: { type: 'string', description: 'the task the operation runs in' },
      as: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'bind the result (the pages of a GUP call, else the return value)' },
      expect: { anyOf: [stepExpect, checks], description: 'on an operation step: ret, warn, bug, checks; as a step of its own: checks' },
      let: { type: 'object', additionalProperties: {}, minProperties: 1, description: 'NAME: value, ...: bind computed values in order' },
      mark: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'record the vmstat counters for {delta: N, since: NAME}' },
      preempt: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], description: 'yield points where the explorer may stop the operation' },
      ...common,
    },
    additionalProperties: false,
    anyOf: [...ops.map((o) => ({ required: [o.name] })), { required: ['expect'] }, { required: ['let'] }, { required: ['mark'] }],
  };
  const stepList: Schema = { type: 'array', items: { $ref: '#/definitions/step' } };
  const leaks: Schema = byProfile({ anyOf: [{ enum: ['none', 'any'] }, { type: 'array', items: { type: 'string' } }] });
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'pinlab scenario',
    description: 'A pinlab scenario file (docs/scenarios.md). Generated from the model\'s operation table by `pinlab schema`.',
    type: 'object',
    additionalProperties: false,
    properties: {
      name: { type: 'string', maxLength: 100, description: 'the scenario\'s name, printed in results' },
      description: { type: 'string' },
      source: { type: 'string', description: 'the kernel source, commit or selftest it comes from' },
      profile, profiles,
      machine: {
        type: 'object', additionalProperties: false,
        properties: Object.fromEntries(backend.machineArgs.map((m) => [m.name, argSchema(m)])),
      },
      tasks: { type: 'array', items: { type: 'string' } },
      steps: stepList,
      setup: stepList,
      actors: { type: 'object', additionalProperties: stepList, description: 'actor name: its steps (each atomic for the explorer)' },
      finally: stepList,
      explore: {
        type: 'object', additionalProperties: false,
        properties: {
          fails: { type: 'object', additionalProperties: { type: 'string' }, description: 'PROFILE: text the failure must contain' },
          allow_warns: { type: 'array', items: { type: 'string' } },
          preemption_bound: { type: 'integer', minimum: 0 },
        },
      },
      end: {
        type: 'object', additionalProperties: false,
        properties: { leaks, warns: byProfile({ type: 'array', items: { type: 'string' } }), no_warns: byProfile({ type: 'boolean' }) },
      },
    },
    required: ['name'],
    definitions: { step, check, expected: byProfile(comparison), profile: profileDef, ...typeDefinitions(constants, constantPrefixes(backend)) },
  };
}
