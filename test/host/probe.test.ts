// The probe → machine mapping of host-check, on recorded probe outputs: a stock 6.18, the
// zero-page-disabled 6.18 of issue 8, and two constructed hosts. For each, the model on the
// machine the probe describes gives what a kernel with those traits shows (the workloads'
// expectations), so the suite holds on any of them whichever one runs it.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { modelPremiseMissing, premiseMissing } from '../../src/host/check.js';
import { ProbeError, describeProbe, parseProbe, planFromProbe, type HostProbe } from '../../src/host/probe.js';
import { WORKLOADS, runModel, workload } from '../../src/host/workloads.js';
import { modelBackend } from '../../src/scenario/model-backend.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DIR = join(ROOT, 'test/host/probes');
const N = 32;
const backend = modelBackend();

const raw = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(DIR, name), 'utf8')) as Record<string, unknown>;
const probe = (name: string): HostProbe => parseProbe(raw(name));

describe('probe: parsing pinhost --probe output', () => {
  test('every recorded probe parses', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 4, files.join(', '));
    for (const f of files) assert.doesNotThrow(() => probe(f), f);
  });
  test('a malformed field is named', () => {
    const r = raw('linux-6.18-stock.json');
    const bad = (edit: (p: Record<string, unknown>) => void): string => {
      const copy = JSON.parse(JSON.stringify(r)) as { probe: Record<string, unknown> };
      edit(copy.probe);
      try {
        parseProbe(copy);
      } catch (e) {
        assert.ok(e instanceof ProbeError);
        return e.message;
      }
      return 'no error';
    };
    assert.match(bad((p) => { p.anon_read = 'maybe'; }), /anon_read is 'maybe', not one of/);
    assert.match(bad((p) => { p.page_size = '4k'; }), /page_size is not a number/);
    assert.match(bad((p) => { p.thp_sizes = { big: 'never' }; }), /thp_sizes\.big/);
    assert.match(bad((p) => { delete p.io_uring; }), /io_uring is not a boolean/);
    assert.throws(() => parseProbe({ ok: true }), /no "probe" and "env"/);
  });
});

describe('probe → machine', () => {
  test('stock 6.18: the zero page and the huge zero folio; THP madvise, no mTHP', () => {
    const plan = planFromProbe(probe('linux-6.18-stock.json'), N);
    assert.deepEqual(plan.machine, {
      normal: 64 << 20, forbids_zeropage: false, thp: 'madvise', mthp_orders: [], use_zero_page: true, hugetlb_pages: 0, zero_page_colors: 1,
    });
    assert.deepEqual(plan.traits, { readFaultMapsZeroPage: true, hugeReadFault: 'huge_zero', thp: true });
    assert.deepEqual(plan.limits, {});
  });
  test('6.18 with the zero page disabled: forbids_zeropage, and use_zero_page follows what was mapped, not sysfs', () => {
    const p = probe('linux-6.18-nozero.json');
    assert.equal(p.thpUseZeroPage, '1');
    const plan = planFromProbe(p, N);
    assert.equal(plan.machine.forbids_zeropage, true);
    assert.equal(plan.machine.use_zero_page, false);
    assert.deepEqual(plan.traits, { readFaultMapsZeroPage: false, hugeReadFault: 'thp', thp: true });
  });
  test('THP never, no io_uring, tmpfs: the premises are missing and say why', () => {
    const p = probe('linux-6.18-thp-never-tmpfs.json');
    const plan = planFromProbe(p, N);
    assert.equal(plan.machine.thp, 'never');
    assert.equal(plan.traits.thp, false);
    assert.equal(plan.traits.hugeReadFault, 'pte');
    assert.match(modelPremiseMissing(workload('dio-read-thp')!, plan) ?? '', /THP is 'never'/);
    assert.match(premiseMissing(workload('dio-read-anon')!, p, plan) ?? '', /on tmpfs, not ext4/);
    assert.match(premiseMissing(workload('iouring-anon')!, p, plan) ?? '', /io_uring is unavailable \(Operation not permitted; io_uring_disabled 2\)/);
    assert.equal(premiseMissing(workload('pvm-readv-untouched')!, p, plan), null);
  });
  test('per-size THP modes the machine cannot express: THP cases SKIP, the rest still compare; hugetlb pools are reserved', () => {
    const p = probe('linux-6.18-mixed-mthp.json');
    const plan = planFromProbe(p, N);
    assert.equal(plan.traits.thp, null);
    assert.match(plan.limits.thp ?? '', /per-size THP modes \(64kB always; 2048kB madvise\)/);
    assert.deepEqual(plan.machine.mthp_orders, [2], '16kB inherits madvise, like the PMD size');
    assert.match(premiseMissing(workload('dio-read-thp')!, p, plan) ?? '', /per-size THP modes/);
    assert.equal(premiseMissing(workload('dio-read-anon')!, p, plan), null);
    assert.equal(plan.machine.hugetlb_pages, 16);
    assert.equal(plan.machine.normal, (64 << 20) + 16 * (2 << 20));
  });
  test('pages the model does not have, or no pin counters: nothing compares', () => {
    const small = { ...probe('linux-6.18-stock.json'), pageSize: 16384 };
    assert.match(premiseMissing(workload('vmsplice')!, small, planFromProbe(small, N)) ?? '', /16384-byte pages/);
    const old = { ...probe('linux-6.18-stock.json'), pinCounters: false };
    assert.match(premiseMissing(workload('vmsplice')!, old, planFromProbe(old, N)) ?? '', /no nr_foll_pin_acquired/);
  });
  test('an unknown read-fault answer is not guessed: the cases that depend on it SKIP', () => {
    const p = { ...probe('linux-6.18-stock.json'), anonRead: 'unknown' as const };
    const plan = planFromProbe(p, N);
    assert.equal(plan.traits.readFaultMapsZeroPage, null);
    assert.equal('forbids_zeropage' in plan.machine, false);
    assert.match(premiseMissing(workload('dio-write-zero')!, p, plan) ?? '', /could not tell what a read fault/);
    assert.equal(premiseMissing(workload('dio-read-anon')!, p, plan), null);
  });
  test('model memory grows with the workload size', () => {
    assert.equal(planFromProbe(probe('linux-6.18-stock.json'), 65536).machine.normal, 65536 * 8 * 4096);
  });
  test('the header names every probed fact and the machine', () => {
    const p = probe('linux-6.18-nozero.json');
    const text = describeProbe(p, planFromProbe(p, N)).join('\n');
    assert.match(text, /Linux 6\.18\.44-nozero x86_64, 4096-byte pages, 2 CPUs, temp dir on ext4/);
    assert.match(text, /read fault, private anon: a fresh page; aligned MADV_HUGEPAGE read fault: a THP/);
    assert.match(text, /THP: enabled madvise, use_zero_page 1; sizes: 16kB never/);
    assert.match(text, /hugetlb: 2048kB 0\/0 free, 1048576kB 0\/0 free; io_uring: available/);
    assert.match(text, /model machine: normal 64 MiB, forbids_zeropage true, thp madvise, mthp_orders \[\], use_zero_page false/);
  });
});

// The model on each recorded host's machine gives what a kernel with that host's traits shows.
for (const file of readdirSync(DIR).filter((f) => f.endsWith('.json')).sort()) {
  describe(`model on the machine of ${file}`, () => {
    const p = probe(file);
    const plan = planFromProbe(p, N);
    for (const w of WORKLOADS) {
      test(w.name, (t) => {
        const why = modelPremiseMissing(w, plan);
        if (why !== null) return void t.skip(why);
        const expected = w.expected(N, plan.traits);
        if (expected === null) return void t.skip(`the spec has no number for N = ${N}`);
        const m = runModel(w, N, backend, { machine: plan.machine });
        assert.equal(m.status, 'ok', m.status === 'error' ? m.message : m.status === 'pending' ? m.needs.join(', ') : '');
        if (m.status !== 'ok') return;
        assert.deepEqual(m.phases, expected);
        const facts = w.expectedFacts?.(N, plan.traits);
        if (facts) for (const [k, v] of Object.entries(facts)) assert.equal(m.facts[k], v, k);
      });
    }
  });
}
