// The JSON Schema of scenario files (src/scenario/json-schema.ts): every file of the catalogue is
// valid under it, the mistakes an editor should flag are not, and docs/scenario.schema.json is
// what `pinlab schema` prints.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { scenarioSchema } from '../../src/scenario/json-schema.js';
import { modelBackend } from '../../src/scenario/model-backend.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const schema = scenarioSchema(modelBackend());
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(f) ? [p] : [];
  });
}

function problems(text: string): string[] {
  const ok = validate(parse(text, { maxAliasCount: -1 }));
  return ok ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

test('every catalogue scenario is valid under the schema', () => {
  const files = yamlFiles(join(ROOT, 'scenarios'));
  assert.ok(files.length > 40);
  for (const f of files) assert.deepEqual(problems(readFileSync(f, 'utf8')), [], f);
});

test('the schema flags a misspelt operation, an unknown argument, a missing argument, a misspelt field and top-level key', () => {
  const base = 'name: t\nsteps:\n  - mmap: { length: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE|MAP_ANONYMOUS }\n    as: buf\n';
  assert.deepEqual(problems(base), []);
  assert.notDeepEqual(problems(`${base}  - pin_user_page_fast: { start: buf, nr_pages: 1 }\n`), []);
  assert.notDeepEqual(problems(`${base}  - pin_user_pages_fast: { start: buf, nr_page: 1 }\n`), []);
  assert.notDeepEqual(problems(`${base}  - pin_user_pages_fast: { start: buf }\n`), []);
  assert.notDeepEqual(problems(`${base}  - expect:\n      - page: { addr: buf }\n        refcont: 1\n`), []);
  assert.notDeepEqual(problems(`${base}stpes: []\n`), []);
  // a word argument takes only its words (create_file's fs)
  assert.deepEqual(problems(`${base}  - create_file: { name: f, size: PAGE_SIZE, fs: tmpfs }\n`), []);
  assert.notDeepEqual(problems(`${base}  - create_file: { name: f, size: PAGE_SIZE, fs: xfs }\n`), []);
  // let:, mark: and since: are part of the language
  assert.deepEqual(problems(`${base}  - let: { n: 4 }\n  - mark: m\n  - expect:\n      - vmstat: {}\n        nr_foll_pin_acquired: { delta: 0, since: m }\n`), []);
});

test('flag arguments offer their constants for completion, operations their summary on hover', () => {
  const defs = schema.definitions as Record<string, { examples?: string[] }>;
  assert.ok(defs.flags_gup_flags.examples!.includes('FOLL_LONGTERM'));
  assert.ok(defs.flags_prot.examples!.includes('PROT_WRITE'));
  const step = (schema.definitions as Record<string, { properties: Record<string, { description?: string }> }>).step;
  assert.match(step.properties.pin_user_pages_fast.description ?? '', /mm\/gup\.c/);
});

test('docs/scenario.schema.json is what pinlab schema prints (npm run docs:ops regenerates it)', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'scenario.schema.json'), 'utf8');
  assert.equal(doc, `${JSON.stringify(schema, null, 2)}\n`, 'docs/scenario.schema.json is stale: run npm run docs:ops');
});
