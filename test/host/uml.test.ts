// host-check against User-Mode Linux kernels (src/host/uml.ts): the guest's plan and what comes
// back from it, the machine a recorded guest probe maps to, a guest that hangs or stops, and —
// when `pinlab kernels fetch` has put the kernels in the cache — the real comparison: every case
// MATCH or SKIP with a reason, at least 20 MATCH per kernel. Without the kernels those tests skip
// and say why.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { premiseMissing } from '../../src/host/check.js';
import { UML_KERNELS, cachedKernel, kernelMissing, type CachedKernel } from '../../src/host/kernels.js';
import { parseProbe } from '../../src/host/probe.js';
import { GUEST_BLKDEV, JOB_TIMEOUT_S, bootGuest, guestPlan, parseGuestOutput, planForGuest, planText, runUmlCheck } from '../../src/host/uml.js';
import { WORKLOADS, runModel, workload } from '../../src/host/workloads.js';
import { modelBackend } from '../../src/scenario/model-backend.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const backend = modelBackend();
const tmp = mkdtempSync(join(tmpdir(), 'pinlab-uml-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const fixture = (f: string) => readFileSync(join(ROOT, 'test/host', f), 'utf8');
const umlProbe = (name: string) => parseProbe(JSON.parse(fixture(`probes/${name}.json`)));
/** The lines of a UML kernel config that matter here (the real ones: no HAVE_FAST_GUP, no SMP). */
const UML_CONFIG = 'CONFIG_UML=y\nCONFIG_64BIT=y\nCONFIG_NR_CPUS=1\nCONFIG_IO_URING=y\nCONFIG_EXT4_FS=y\n# CONFIG_CMA is not set\n';

describe('uml: the guest plan', () => {
  test('the probe first, then each case with the guest paths, one job a line', () => {
    const jobs = guestPlan(['dio-read-anon', 'blkdev-read'], { pages: 16, reps: 3 });
    assert.deepEqual(jobs.map((j) => j.out), ['probe.json', 'dio-read-anon.json', 'blkdev-read.json']);
    assert.deepEqual(jobs[0].args, ['--probe', '--dir', '/mnt/work', '--blkdev', GUEST_BLKDEV]);
    assert.deepEqual(jobs[1].args, ['dio-read-anon', '--pages', '16', '--reps', '3', '--dir', '/mnt/work', '--blkdev', GUEST_BLKDEV]);
    const text = planText(jobs);
    assert.equal(text.split('\n').length, 4);
    assert.match(text, new RegExp(`^${JOB_TIMEOUT_S} dio-read-anon.json dio-read-anon --pages 16 `, 'm'));
  });
  test('a word umlinit would split or a shell would read is refused', () => {
    assert.throws(() => planText([{ out: 'x.json', args: ['a b'], timeoutS: 1 }]), /unsafe/);
    assert.throws(() => planText([{ out: 'x;rm.json', args: [], timeoutS: 1 }]), /unsafe/);
  });
});

describe('uml: what a guest run returns', () => {
  const opts = { pages: 16, reps: 1 };
  const probeText = fixture('probes/uml-6.1-6.1.176.json');
  const caseText = fixture('guest/uml-6.1-pvm-readv-cow.json');

  test('a recorded run: the probe and the case as the guest measured them', () => {
    const g = parseGuestOutput({ status: fixture('guest/uml-6.1-status.jsonl'), files: { 'probe.json': probeText, 'pvm-readv-cow.json': caseText } },
      ['pvm-readv-cow'], opts);
    assert.ok(g.finished);
    assert.equal(g.probe.status, 'ok');
    if (g.probe.status === 'ok') assert.equal(g.probe.probe.kernel, '6.1.176');
    const h = g.outcomes.get('pvm-readv-cow')!;
    assert.equal(h.status, 'ok');
    if (h.status !== 'ok') return;
    assert.deepEqual(h.phases, [{ name: 'process_vm_readv', ret: 65536, dA: 16, dR: 16 }]);
    assert.equal(h.obs.same_pfn_after, 0, 'R/O FOLL_PIN unshared the COW-shared pages (v5.19)');
    assert.equal(h.env.ncpus, 1);
  });

  test('killed, crashed, failed and never-run jobs are errors that say which', () => {
    const status = [
      '{"out": "probe.json", "exit": 0, "ms": 10}',
      '{"out": "a.json", "signal": 9, "timeout": true, "ms": 60001}',
      '{"out": "b.json", "signal": 11, "timeout": false, "ms": 5}',
      '{"out": "c.json", "exit": 1, "ms": 5}',
      '{"event": "mount-failed", "detail": "/mnt", "errno": 22}',
      '{"event": "done", "detail": "", "errno": 0}',
    ].join('\n');
    const g = parseGuestOutput({
      status,
      files: { 'probe.json': probeText, 'c.json': '{"error": "MADV_HUGEPAGE", "stage": "madvise", "errno": 22, "strerror": "Invalid argument"}' },
    }, ['a', 'b', 'c', 'd'], opts);
    const msg = (c: string) => {
      const h = g.outcomes.get(c)!;
      return h.status === 'error' ? h.message : `not an error: ${h.status}`;
    };
    assert.match(msg('a'), /killed after \d+ s in the guest/);
    assert.match(msg('b'), /killed by signal 11/);
    assert.match(msg('c'), /failed at madvise: MADV_HUGEPAGE \[errno 22 Invalid argument\]/);
    assert.match(msg('d'), /the guest did not run it/);
    assert.deepEqual(g.events, ['mount-failed /mnt (errno 22)']);
  });

  test('a guest that stopped early: the jobs after it never ran, and the probe can be missing', () => {
    const g = parseGuestOutput({ status: '', files: {} }, ['a'], opts);
    assert.equal(g.finished, false);
    assert.equal(g.probe.status, 'skip');
    if (g.probe.status === 'skip') assert.match(g.probe.reason, /stopped before it ran/);
    const h = g.outcomes.get('a')!;
    assert.ok(h.status === 'error' && /stopped before it ran/.test(h.message));
  });
});

describe('uml: the machine of a guest', () => {
  for (const name of ['uml-5.10-5.10.46', 'uml-6.1-6.1.176', 'uml-6.12-6.12.113']) {
    test(`${name}: no THP, no hugetlb, the zero page on read faults, no GUP-fast`, () => {
      const p = umlProbe(name);
      const plan = planForGuest(p, 256, UML_CONFIG);
      assert.equal(plan.machine.thp, 'never');
      assert.deepEqual(plan.machine.mthp_orders, []);
      assert.equal(plan.machine.hugetlb_pages, 0);
      assert.equal(plan.machine.forbids_zeropage, false);
      assert.equal(plan.machine.gup_fast, false);
      assert.equal(plan.machine.uml_uaccess, true, 'arch/um copy_from_user() reads through any present PTE');
      assert.deepEqual(plan.traits, { readFaultMapsZeroPage: true, hugeReadFault: 'pte', thp: false });
      assert.deepEqual(plan.limits, {});
      assert.ok(plan.mapping.some((m) => m.setting === 'gup_fast' && /not set/.test(m.observed)));
      // THP cases are SKIP with the reason; a blkdev case can run (the guest has /dev/ubdb).
      assert.match(premiseMissing(workload('dio-read-thp')!, p, plan) ?? '', /no THP \(built without CONFIG_TRANSPARENT_HUGEPAGE\)/);
      assert.equal(premiseMissing(workload('blkdev-read')!, p, plan), null);
    });
  }
  test('a config with GUP-fast keeps it; no config leaves the default', () => {
    const p = umlProbe('uml-6.12-6.12.113');
    assert.equal(planForGuest(p, 64, 'CONFIG_HAVE_GUP_FAST=y\n').machine.gup_fast, true);
    assert.equal(planForGuest(p, 64, 'CONFIG_HAVE_FAST_GUP=y\n').machine.gup_fast, true);
    assert.equal(planForGuest(p, 64, null).machine.gup_fast, undefined);
    assert.equal(planForGuest(p, 64, 'CONFIG_HAVE_GUP_FAST=y\n').machine.uml_uaccess, undefined, 'no CONFIG_UML: x86 uaccess');
  });
  test('every workload runs on the model with a guest machine and each version profile', () => {
    const plan = planForGuest(umlProbe('uml-6.1-6.1.176'), 32, UML_CONFIG);
    for (const profile of ['5.10.46', '6.1.176', '6.12.113']) {
      for (const w of WORKLOADS) {
        const m = runModel(w, 32, backend, { profile, machine: plan.machine });
        assert.notEqual(m.status, 'error', `${w.name} on ${profile}: ${m.status === 'error' ? m.message : ''}`);
      }
    }
  });
});

describe('uml: a guest that does not finish', () => {
  /** A stand-in for the kernel binary: a script that prints a panic and then behaves as told. */
  function fakeKernel(body: string): CachedKernel {
    const bin = join(tmp, `fake-${Math.random().toString(36).slice(2)}`);
    writeFileSync(bin, `#!/bin/sh\necho "Kernel panic - not syncing: Attempted to kill init!"\n${body}\n`);
    chmodSync(bin, 0o755);
    return {
      spec: UML_KERNELS[0], dir: tmp, binary: bin,
      meta: { name: 'uml-5.10', release: '5.10.46', package: 'fake', version: '0', builtUsing: '-', suite: '-', mirror: '-', size: 0, fetched: '-' },
    };
  }
  const jobs = guestPlan([], { pages: 1, reps: 1 });

  test('one that hangs is killed at the deadline, with the console tail', { skip: process.platform !== 'linux' }, async () => {
    const b = await bootGuest(fakeKernel('sleep 60'), jobs, { deadlineS: 1 });
    assert.match(b.error ?? '', /did not power off within 1 s and was killed/);
    assert.match(b.console, /Kernel panic/);
    assert.ok(b.seconds < 30, `${b.seconds} s`);
  });

  test('one that stops before the end of its plan is an error, not a result', { skip: process.platform !== 'linux' }, async () => {
    const b = await bootGuest(fakeKernel('exit 1'), jobs, { deadlineS: 20 });
    assert.match(b.error ?? '', /stopped before the end of its plan/);
    assert.match(b.console, /Kernel panic/);
  });
});

describe('uml: the real kernels (when `pinlab kernels fetch` has cached them)', () => {
  for (const k of UML_KERNELS) {
    const missing = kernelMissing(k.name);
    test(`${k.name}: every case MATCH or SKIP with a reason, at least 20 MATCH`, { skip: missing ?? (process.platform !== 'linux' && 'not Linux') ?? false }, async () => {
      const rep = await runUmlCheck(backend, k.name, { pages: 64 });
      const bad = rep.results.filter((r) => r.verdict !== 'MATCH' && r.verdict !== 'SKIP');
      assert.deepEqual(bad.map((r) => `${r.verdict} ${r.name}: ${r.reason}`), [], rep.console);
      for (const r of rep.results) if (r.verdict === 'SKIP') assert.ok(r.reason.length > 10, r.name);
      assert.ok(rep.counts.MATCH >= 20, `${rep.counts.MATCH} MATCH`);
      assert.equal(rep.release, cachedKernel(k.name)!.meta.release);
      assert.equal(rep.profile, rep.release, 'compared on the exact point release');
    });
  }
});
