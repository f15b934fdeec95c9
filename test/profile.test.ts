// Profiles resolved from the switch history (src/profile.ts): named profiles, mainline versions,
// stable point releases with their backports, versions the model refuses, and the history's own
// consistency.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HISTORY, NEWEST_MAINLINE, PROFILES, backportsOf, parseVersion, resolveProfile, versionProblem, type Profile } from '../src/profile.js';
import { loadScenario } from '../src/scenario/load.js';
import { modelBackend } from '../src/scenario/model-backend.js';
import { runScenario } from '../src/scenario/run.js';

const switches = (p: Profile) => {
  const { name: _n, description: _d, ...rest } = p;
  return rest;
};

describe('profiles by version', () => {
  test('a named mainline profile is the version it names (current is the newest mainline)', () => {
    for (const name of ['5.1', '5.2', '5.7', '5.9', '5.19', '6.2', '6.5']) {
      assert.deepEqual(switches(PROFILES.get(name)!), switches(resolveProfile(`${name}.0`)!), name);
    }
    assert.deepEqual(switches(PROFILES.get('current')!), switches(resolveProfile(NEWEST_MAINLINE)!));
  });

  test('a mainline version has every change up to it, none after', () => {
    const p612 = resolveProfile('6.12')!;
    assert.equal(p612.name, '6.12');
    assert.equal(p612.bioPagePinned, true); // 6.5
    assert.equal(p612.iterFolioq, true); // 6.12
    assert.equal(p612.iterExtractBvecMulti, false); // 6.13
    assert.equal(p612.hugeZeroPmdSpecial, false); // 6.18
    const p510 = resolveProfile('5.10')!;
    assert.equal(p510.forkCopiesMaybePinned, true);
    assert.equal(p510.ioUringHugeAcct, true);
    assert.equal(p510.gupFastForkSeq, false); // 5.11, reached 5.10.y in 5.10.4
    assert.equal(p510.anonExclusive, false);
  });

  test('a point release adds its branch\'s backports up to it', () => {
    assert.equal(resolveProfile('5.10.3')!.gupFastForkSeq, false);
    assert.equal(resolveProfile('5.10.4')!.gupFastForkSeq, true);
    assert.equal(resolveProfile('5.10.46')!.ioUringShmemBuffers, false);
    assert.equal(resolveProfile('5.10.162')!.ioUringShmemBuffers, true);
    assert.equal(resolveProfile('6.1.27')!.reclaimKeepsPinnedPrivate, false);
    assert.equal(resolveProfile('6.1.28')!.reclaimKeepsPinnedPrivate, true);
    // "don't pin ZERO_PAGE" reached 6.1.130; its bool try_grab_page() slip failed pins until 6.1.135.
    const zero = (v: string) => [resolveProfile(v)!.zeroPageNotPinned, resolveProfile(v)!.zeroPagePinFails];
    assert.deepEqual(zero('6.1.129'), [false, false]);
    assert.deepEqual(zero('6.1.130'), [true, true]);
    assert.deepEqual(zero('6.1.134'), [true, true]);
    assert.deepEqual(zero('6.1.135'), [true, false]);
    assert.deepEqual(zero('6.1.176'), [true, false]);
    assert.deepEqual(zero('6.1'), [false, false]);
    // Backports of one branch do not leak into another.
    assert.equal(resolveProfile('6.2.16')!.zeroPageNotPinned, false);
    assert.equal(resolveProfile('6.12.113')!.zeroPagePinFails, false);
  });

  test('backportsOf() names what a point release has beyond its mainline', () => {
    const subjects = backportsOf('6.1.176').map((c) => c.subject);
    assert.ok(subjects.some((s) => /Don't pin ZERO_PAGE/.test(s)), subjects.join('; '));
    assert.ok(subjects.some((s) => /multi-source/.test(s)));
    assert.deepEqual(backportsOf('6.1'), []);
  });

  test('versions the model cannot express are refused with the reason', () => {
    assert.equal(resolveProfile('5.6'), undefined);
    assert.match(versionProblem('5.6') ?? '', /FOLL_PIN without pin tracking/);
    assert.match(versionProblem('5.8') ?? '', /forced a COW break/);
    assert.match(versionProblem('5.7.3') ?? '', /forced a COW break/);
    assert.equal(versionProblem('5.7.2'), null);
    assert.match(versionProblem('4.19') ?? '', /older than the oldest/);
    assert.match(versionProblem('6.19') ?? '', /newer than the newest/);
    assert.match(versionProblem('6.x') ?? '', /not a kernel version/);
    assert.equal(resolveProfile('6.1.176'), resolveProfile('6.1.176'), 'resolved once');
    assert.deepEqual(parseVersion('6.1.176'), [6, 1, 176]);
  });

  test('the history is in order and every backport is to an older branch', () => {
    const v = (s: string) => parseVersion(s)!;
    const before = (a: string, b: string) => v(a)[0] < v(b)[0] || (v(a)[0] === v(b)[0] && v(a)[1] < v(b)[1]);
    let last = '5.1';
    for (const c of HISTORY) {
      assert.ok(Object.keys(c.set).length > 0, c.subject);
      for (const k of Object.keys(c.set)) assert.ok(k in PROFILES.get('5.1')!, `${c.subject}: unknown switch ${k}`);
      if (c.mainline === null) {
        assert.ok(c.backports && Object.keys(c.backports).length, `${c.subject}: neither mainline nor a stable branch`);
      } else {
        assert.ok(!before(c.mainline, last), `${c.subject} (${c.mainline}) is listed after ${last}`);
        last = c.mainline;
        for (const branch of Object.keys(c.backports ?? {})) assert.ok(before(branch, c.mainline), `${c.subject}: backport to ${branch}`);
      }
    }
  });

  test('a scenario may name versions in profiles: and by_profile:', () => {
    const backend = modelBackend();
    const scn = loadScenario(`
name: zero-page-pin-by-version
profiles: ['6.1.129', '6.1.130', '6.1.176']
tasks: [p]
steps:
  - mmap: { length: PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - read: { addr: buf }
  - pin_user_pages: { start: buf, nr_pages: 1, gup_flags: 0 }
    as: P
    expect: { ret: { by_profile: { '6.1.130': -ENOMEM, default: 1 } } }
  - expect:
      - vmstat: {}
        nr_foll_pin_acquired: { by_profile: { '6.1.129': 1, default: 0 } }
  - unpin_user_pages: { pages: P }
    profiles: ['6.1.129', '6.1.176']
`, 'v.yaml', backend);
    for (const r of runScenario(scn, backend)) {
      assert.ok(r.ok, `${r.profile}: ${r.verdicts.filter((x) => !x.ok).map((x) => x.message).join('; ')}`);
    }
  });
});
