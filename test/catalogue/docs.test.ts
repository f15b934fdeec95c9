// docs/scenarios.md lists every operation and query the model offers.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { modelBackend } from '../../src/scenario/model-backend.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('docs/scenarios.md names every operation and query', () => {
  const doc = readFileSync(join(root, 'docs', 'scenarios.md'), 'utf8');
  const b = modelBackend();
  const missing = [...b.ops.keys(), ...b.queries.keys()].filter((n) => !doc.includes(`${n}(`));
  assert.deepEqual(missing, [], 'docs/scenarios.md is missing operations: run `npm run docs:ops` to regenerate its reference');
});
