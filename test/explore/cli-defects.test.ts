// The explorer defects of issue 11, reproduced through `pinlab explore`/`replay` (exploreCommand):
// replay refuses a schedule it cannot follow and names the entry; bounded and sampled results say
// so (text and JSON); PCT counts distinct interleavings.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { exploreCommand, type ExploreCliOptions } from '../../src/cli/explore.js';
import { modelBackend } from '../../src/scenario/model-backend.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GUP_FAST_FORK = 'scenarios/explore/gup-fast-vs-fork.yaml';
const backend = modelBackend();

async function run(cmd: 'explore' | 'replay', file: string, o: Partial<ExploreCliOptions>): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io = { out: (t: string) => { out += t; }, err: (t: string) => { err += t; }, isTTY: false, cwd: ROOT, env: {} };
  const status = await exploreCommand(cmd, io, backend, file, { json: false, ...o });
  return { status, out, err };
}

test('replay: an entry naming an actor that has finished is refused with its index and actor, exit 2', async () => {
  const r = await run('replay', GUP_FAST_FORK, { profile: 'current', schedule: 'parent,parent,parent,parent' });
  assert.equal(r.status, 2);
  assert.match(r.out, /^ERROR gup-fast-vs-fork \[current\] schedule not feasible/);
  assert.match(r.err, /entry 4 of --schedule \('parent'\) cannot run: it has finished/);
  assert.doesNotMatch(r.out, /PASS/);
});

test('replay: an entry naming a blocked actor is refused as blocked (a paused fork holds mmap_lock)', async () => {
  // fork stops at before_wrprotect holding the parent's mmap_lock for writing; the driver's
  // GUP-fast slow path then waits for it: after parent,driver the driver is blocked.
  const r = await run('replay', GUP_FAST_FORK, { profile: 'current', schedule: 'parent,driver,driver' });
  assert.equal(r.status, 2, r.out + r.err);
  assert.match(r.err, /entry 3 of --schedule \('driver'\) cannot run: it is blocked/);
});

test('replay: entries after a failing step are reported as not run; the run is a FAIL, exit 1', async () => {
  const r = await run('replay', GUP_FAST_FORK, { profile: '5.9', schedule: 'parent,driver,driver,driver,parent,parent' });
  assert.equal(r.status, 1);
  assert.match(r.out, /^FAIL/);
  // A step that fails (the device writes a freed page), then an entry that cannot run after it.
  const f = await run('replay', 'test/explore/races/dma-after-free.yaml', { profile: 'current', schedule: 'driver,driver,app,driver,app' });
  assert.equal(f.status, 1, f.out + f.err);
  // The counterexample: numbered steps, the failing check last.
  assert.match(f.out, /^FAIL .*\n {2}1\. driver: get_user_pages\(start: buf, nr_pages: 1, gup_flags: FOLL_WRITE\) → 1, G = \[\d+\]\n(?: {2}\d\. .*\n){2} {2}4\. driver: dma_write\(pages: G, value: 9\) → 0 with WARN .*dma-use-after-free.*\n {2}✗ {2}driver: WARN pinlab:dma-use-after-free/);
  assert.equal(f.err, "pinlab: entry 5 of --schedule ('app') did not run: the run ended at the failure of entry 4\n");
});

test('replay: a short schedule runs to the end (every actor and finally:), never stops half-way', async () => {
  const r = await run('replay', GUP_FAST_FORK, { profile: 'current', schedule: 'parent' });
  assert.equal(r.status, 0, r.out + r.err);
  assert.match(r.out, /^PASS gup-fast-vs-fork \[current\] schedule parent,parent,parent,driver,driver,driver\n/);
});

test('a bounded search says so, in text and JSON, for DPOR and exhaustive search', async () => {
  for (const mode of ['dpor', 'exhaustive']) {
    const r = await run('explore', GUP_FAST_FORK, { profile: 'current', mode, preemptionBound: '1' });
    assert.equal(r.status, 0, r.out + r.err);
    assert.match(r.out, new RegExp(`^PASS gup-fast-vs-fork \\[current\\] ${mode} \\(bounded: schedules with at most 1 preemptions\\)`));
  }
  const j = await run('explore', GUP_FAST_FORK, { profile: 'current', preemptionBound: '1', json: true });
  const rec = (JSON.parse(j.out) as { runs: Array<Record<string, unknown>> }).runs[0];
  assert.equal(rec.coverage, 'bounded');
  assert.equal(rec.preemptionBound, 1);
});

test('PCT says "sampled" and how many distinct interleavings its runs covered', async () => {
  const r = await run('explore', GUP_FAST_FORK, { profile: 'current', mode: 'pct', runs: '50' });
  const m = /^PASS gup-fast-vs-fork \[current\] pct \(sampled\): 50 schedules run, (\d+) distinct interleavings/.exec(r.out);
  assert.ok(m, r.out);
  const n = Number(m[1]);
  // 13 Mazurkiewicz traces exist (exhaustive search); 50 PCT runs repeat some of them.
  assert.ok(n >= 2 && n <= 13, `${n}`);
  const j = await run('explore', GUP_FAST_FORK, { profile: 'current', mode: 'pct', runs: '50', json: true });
  const rec = (JSON.parse(j.out) as { runs: Array<Record<string, unknown>> }).runs[0];
  assert.equal(rec.coverage, 'sampled');
  assert.equal(rec.interleavings, n);
  const d = await run('explore', GUP_FAST_FORK, { profile: 'current', json: true });
  assert.equal((JSON.parse(d.out) as { runs: Array<Record<string, unknown>> }).runs[0].coverage, 'complete');
});
