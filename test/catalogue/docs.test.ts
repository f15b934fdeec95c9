// docs/scenarios.md lists every operation and query the model offers.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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

test('docs/scenarios.md: the operation reference is what `pinlab ops` prints from the ops\' declarations', () => {
  const doc = readFileSync(join(root, 'docs', 'scenarios.md'), 'utf8');
  const block = /<!-- ops:begin[^\n]*-->\n```\n([\s\S]*?)\n```\n<!-- ops:end -->/.exec(doc);
  assert.ok(block, 'docs/scenarios.md has the ops:begin/ops:end block');
  const ops = execFileSync(process.execPath, [join(root, 'bin', 'pinlab.js'), 'ops'], { encoding: 'utf8' }).trimEnd();
  assert.equal(block[1], ops, 'docs/scenarios.md is out of date: run `npm run docs:ops` to regenerate its reference');
});

test('docs/host-check.md: the probe and case tables are what the code generates', async () => {
  const { fillMarkers, hostDocTables } = await import('../../src/host/doc.js');
  const path = join(root, 'docs', 'host-check.md');
  const doc = readFileSync(path, 'utf8');
  assert.equal(fillMarkers(doc, hostDocTables(join(root, 'test', 'host', 'probes'))), doc,
    'docs/host-check.md is out of date: run `npm run docs:host` to regenerate its tables');
});

test('docs/profiles.md: the switch tables are what the switch history generates', async () => {
  const { fillMarkers } = await import('../../src/host/doc.js');
  const { profileDocTables } = await import('../../src/profile-doc.js');
  const path = join(root, 'docs', 'profiles.md');
  const doc = readFileSync(path, 'utf8');
  assert.equal(fillMarkers(doc, profileDocTables()), doc,
    'docs/profiles.md is out of date: run `npm run docs:profiles` to regenerate its switch tables');
});
