// pinlab fuzz on real kernels: this host (root, Linux, cc) and one User-Mode Linux kernel (one
// short boot) when it is cached. A fixed program must give exactly the model's results there, and
// generated programs must all come back (no crash of the interpreter, no lost program). Where a
// kernel cannot be run the tests skip and say why.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { firstDifference } from '../../src/fuzz/compare.js';
import { decodeProgram, encodeProgram } from '../../src/fuzz/encode.js';
import { generateProgram } from '../../src/fuzz/generate.js';
import { UML_CAPS, hostTarget, kernelUnavailable, runOnHost, runOnUml } from '../../src/fuzz/kernel.js';
import { runOnModel } from '../../src/fuzz/model.js';
import type { Program } from '../../src/fuzz/program.js';
import { modelBackend } from '../../src/scenario/model-backend.js';

const backend = modelBackend();
/** anon memory written, an O_DIRECT read into it, a registration and its release, a fork and a remote read. */
const FIXED: Program = decodeProgram('100000;M 0 0 0 8 3 0;T 0 0 0 4 1 77;R 0 0 0 0 16384 0;I 0 0 0 8192 1;J 0;F 0;Q 1 0 0 0 8192 0 0;X 1');

const hostWhy = kernelUnavailable('host');
describe('fuzz: this host', { skip: hostWhy ?? false }, () => {
  test('the fixed program gives the model\'s results; 40 generated programs all come back', () => {
    const t = hostTarget();
    const progs = [FIXED, ...Array.from({ length: 40 }, (_, i) => generateProgram(77, i, t.caps))];
    const b = runOnHost(progs);
    for (const p of progs) {
      const k = b.results.get(p.id);
      assert.ok(k, `no result for ${encodeProgram(p)}`);
      assert.equal(k.failure, undefined, `${encodeProgram(p)}: ${k.failure}`);
      assert.equal(k.calls.length, p.calls.length);
    }
    const m = runOnModel(backend, FIXED, { profile: t.profile, machine: t.machine, blkdev: false });
    // The host's counters are global: another process's pin can land in a call; one clean run of three is enough.
    const diffs = [firstDifference(FIXED, b.results.get(FIXED.id)!, m.result)];
    for (let i = 0; i < 2 && diffs[diffs.length - 1] !== null; i++) diffs.push(firstDifference(FIXED, runOnHost([FIXED]).results.get(FIXED.id)!, m.result));
    assert.equal(diffs[diffs.length - 1], null, JSON.stringify(diffs));
  });
});

const UML = 'uml-6.12' as const;
const umlWhy = kernelUnavailable(UML);
describe(`fuzz: ${UML} (one boot)`, { skip: umlWhy ?? false }, () => {
  test('the fixed program gives the model\'s results on the exact release; 30 generated programs all come back', async () => {
    const progs = [FIXED, ...Array.from({ length: 30 }, (_, i) => generateProgram(78, i, UML_CAPS))];
    const { target, batch } = await runOnUml(UML, progs);
    assert.equal(target.profile, '6.12.113');
    assert.equal(target.machine.gup_fast, false);
    for (const p of progs) assert.equal(batch.results.get(p.id)?.failure, undefined, encodeProgram(p));
    const m = runOnModel(backend, FIXED, { profile: target.profile, machine: target.machine, blkdev: true });
    assert.equal(firstDifference(FIXED, batch.results.get(FIXED.id)!, m.result), null);
  });
});
