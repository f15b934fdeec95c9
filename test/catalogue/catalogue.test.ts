// The built-in catalogue is part of the test suite: every scenario, on every profile it names,
// must hold. A failing verdict prints the scenario's own file:line:col message.

import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { modelBackend } from '../../src/scenario/model-backend.js';
import { runScenario } from '../../src/scenario/run.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const dir = join(root, 'scenarios');

function yamlFiles(d: string): string[] {
  return readdirSync(d).flatMap((f) => {
    const p = join(d, f);
    return statSync(p).isDirectory() ? yamlFiles(p) : p.endsWith('.yaml') ? [p] : [];
  }).sort();
}

const backend = modelBackend();
const files = yamlFiles(dir);

test('the catalogue has at least 25 scenarios', () => {
  assert.ok(files.length >= 25, `only ${files.length} scenarios`);
});

for (const file of files) {
  const rel = relative(root, file);
  test(`catalogue: ${rel}`, () => {
    const scn = loadScenarioFile(file, backend, rel);
    const results = runScenario(scn, backend);
    assert.ok(results.length > 0);
    for (const r of results) {
      const failed = r.verdicts.filter((v) => !v.ok);
      assert.deepEqual(failed.map((v) => v.description), [], `${rel} [${r.profile}] failed:\n` +
        failed.map((v) => `  ${v.description}: expected ${JSON.stringify(v.expected)}, got ${JSON.stringify(v.actual)}`).join('\n'));
      assert.equal(r.bug && !r.bug.expected ? r.bug.message : null, null);
      assert.ok(r.ok, `${rel} [${r.profile}] is not ok`);
    }
  });
}

// Determinism (the explorer re-runs scenarios thousands of times in one process): the same
// scenario gives the same trace — ids of VMAs, files, bios and pipes are per kernel.
test('every catalogue scenario gives an identical trace when run twice in one process', () => {
  const differ: string[] = [];
  for (const file of files) {
    const rel = relative(root, file);
    const scn = loadScenarioFile(file, backend, rel);
    const a = JSON.stringify(runScenario(scn, backend, { trace: true }).map((r) => r.trace));
    const b = JSON.stringify(runScenario(scn, backend, { trace: true }).map((r) => r.trace));
    if (a !== b) differ.push(rel);
  }
  assert.deepEqual(differ, []);
});
