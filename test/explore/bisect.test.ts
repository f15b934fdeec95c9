// pinlab bisect (src/explore/bisect.ts, src/cli/bisect.ts): on every race of the catalogue it names
// the change of the switch history that closed it, and that change is the row docs/profiles.md
// gives (commit, subject, mainline release, switches) and the one the race file itself cites; the
// edge cases (passes everywhere, fails on good, not monotonic, a set of changes, a regression,
// unknown profiles) give their documented answers and exit codes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bisect, changesBetween, mainlineTimeline, versionsBetween, type BisectResult } from '../../src/explore/bisect.js';
import { BisectUsageError, bisectCommand } from '../../src/cli/bisect.js';
import { main } from '../../src/cli/main.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { modelBackend } from '../../src/scenario/model-backend.js';
import { resolveProfile, type SwitchChange } from '../../src/profile.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RACES = join(ROOT, 'scenarios', 'explore');
const backend = modelBackend();
const load = (path: string) => loadScenarioFile(path, backend, path);

/** The rows of docs/profiles.md's generated history table. */
const HISTORY_ROWS = (() => {
  const doc = readFileSync(join(ROOT, 'docs', 'profiles.md'), 'utf8');
  const table = doc.split('<!-- profile-history:begin')[1].split('<!-- profile-history:end')[0];
  return table.split('\n').filter((l) => l.startsWith('| `'));
})();

/** The docs/profiles.md row of a change: its switches, mainline release, commit and subject in one row. */
function docRow(c: SwitchChange): string | undefined {
  return HISTORY_ROWS.find((row) => {
    const cells = row.split(' | ');
    const sets = Object.entries(c.set).every(([k, v]) => cells[0].includes(`\`${k}\` = ${v === true ? 'T' : v === false ? 'F' : String(v)}`));
    const subject = c.subject.replace(/\|/g, '\\|');
    return sets && cells[1] === (c.mainline ?? 'stable only') && cells[2].includes(`${c.commit ? `${c.commit} ` : ''}"${subject}"`);
  });
}

/** What each race of the catalogue must name: the commit (or subject, where no commit is recorded) that closed it. */
const EXPECTED: Record<string, { firstPassing: string; names: string }> = {
  'gup-fast-vs-fork.yaml': { firstPassing: '5.11', names: '57efa1fe5957' },
  'gup-fast-vs-split.yaml': { firstPassing: '5.14', names: 'c24d37322548' },
  'gup-fast-vs-split-pmd.yaml': { firstPassing: '5.14', names: 'c24d37322548' },
  'gup-fast-vs-collapse.yaml': { firstPassing: '6.0', names: '70cbc3cc78a9' },
  'sync-dio-dirty-vs-writeback.yaml': { firstPassing: '6.5', names: 'block: Use page pinning' },
  'longterm-pin-vs-migration.yaml': { firstPassing: '5.13', names: 'd1e153fea2a8' },
  'ro-pin-fork-write.yaml': { firstPassing: '5.19', names: '6c287605fd56' },
  'ext4-writeback-race.yaml': { firstPassing: '6.4', names: 'd824ec2a1546' },
  'async-dio-dirty-vs-writeback.yaml': { firstPassing: '6.5', names: 'block: Use page pinning' },
  'iter-pipe-revert-truncate.yaml': { firstPassing: '6.5', names: 'splice: Make splice from an O_DIRECT fd use copy_splice_read()' },
};

const results = new Map<string, BisectResult>();
const t0 = performance.now();
for (const f of readdirSync(RACES).filter((n) => /\.ya?ml$/.test(n)).sort()) results.set(f, bisect(load(join(RACES, f)), backend));
const catalogueMs = performance.now() - t0;

test('bisect: every race of scenarios/explore/ is found and closed by exactly the change docs/profiles.md lists', () => {
  assert.ok(results.size >= 6);
  for (const [f, r] of results) {
    assert.equal(r.status, 'found', `${f}: ${r.status}`);
    assert.equal(r.timeline[0].outcome, 'fail', f);
    assert.equal(r.timeline[r.timeline.length - 1].outcome, 'pass', f);
    assert.ok(r.culprits.length > 0, f);
    const text = readFileSync(join(RACES, f), 'utf8');
    for (const c of r.culprits) {
      assert.equal(c.run.outcome, 'pass', f);
      assert.ok(c.changes.length > 0, `${f}: a culprit without a history record`);
      for (const ch of c.changes) {
        assert.ok(docRow(ch), `${f}: ${ch.commit ?? '-'} "${ch.subject}" is not a row of docs/profiles.md's history table`);
        assert.ok(!c.revert, `${f}: a race that passes later is closed by applying a change, not undoing one`);
        // It arrived where the file passes first: the first passing version is its mainline release
        // (or, from a derived profile, its base version).
        if (ch.mainline !== null) assert.ok(r.firstPassing === ch.mainline || r.firstPassing === 'current', `${f}: ${ch.mainline} vs ${r.firstPassing}`);
        // The race file cites it: its commit, a commit of its subject, or its release.
        const cited = [ch.commit, ...(ch.subject.match(/\b[0-9a-f]{12}\b/g) ?? [])].some((x) => x !== null && text.includes(x))
          || (ch.mainline !== null && text.includes(`v${ch.mainline}`));
        assert.ok(cited, `${f}: names ${ch.commit ?? ch.subject} (${ch.mainline}), which the file does not mention`);
      }
    }
    const want = EXPECTED[f];
    if (want) {
      assert.equal(r.firstPassing, want.firstPassing, f);
      assert.ok(r.culprits.some((c) => c.changes.some((ch) => ch.commit === want.names || ch.subject.includes(want.names))),
        `${f}: expected ${want.names}, named ${r.culprits.flatMap((c) => c.changes.map((ch) => ch.commit ?? ch.subject)).join(', ')}`);
    }
  }
});

test('bisect: the whole catalogue takes seconds (every version explored, every change tried)', () => {
  assert.ok(catalogueMs < 60_000, `${Math.round(catalogueMs)} ms`);
});

test('bisect: the other changes of the same release are tried and do not pass (the answer is not the whole release)', () => {
  const r = results.get('async-dio-dirty-vs-writeback.yaml')!;
  assert.ok(r.singles.length >= 5, 'v6.5 has many changes');
  assert.equal(r.singles.filter((c) => c.run.outcome === 'pass').length, 1);
  // The failure itself changes along the timeline: the ext4 BUG until 5.18 warns instead (data loss).
  assert.match(r.timeline.find((t) => t.version === '5.14')!.message!, /kernel BUG at fs\/ext4\/inode.c/);
  assert.match(r.timeline.find((t) => t.version === '5.18')!.message!, /disk == 42/);
});

test('bisect: a version whose profile lacks an operation the file uses is skipped, not counted as a failure', () => {
  const r = results.get('ext4-writeback-race.yaml')!;
  const p52 = r.timeline.find((t) => t.version === '5.2')!;
  assert.equal(p52.outcome, 'skip');
  assert.match(p52.message!, /pin_user_pages\(\) does not exist in profile 5\.2/);
  assert.equal(p52.variant, 'current');
  assert.equal(r.timeline.find((t) => t.version === '5.1')!.variant, '5.1');
});

test('timeline: mainline releases of the history, resolvable ones only; a derived profile is followed by its own release', () => {
  const t = mainlineTimeline();
  assert.equal(t[0], '5.1');
  assert.ok(!t.includes('5.6') && !t.includes('5.8'), 'versions the model cannot express are left out');
  assert.ok(t.includes('5.11') && t.includes('6.18'));
  assert.deepEqual(versionsBetween('block-pinning-dev', 'current').slice(0, 2), ['block-pinning-dev', '6.5']);
  assert.deepEqual(versionsBetween('5.9', '5.11'), ['5.9', '5.10', '5.11']);
  assert.deepEqual(versionsBetween('5.11', '5.9'), ['5.11', '5.10', '5.9']);
});

test('profiles: BASE+switch=value is BASE with that switch set; anything else is no profile', () => {
  const p = resolveProfile('5.10+gupFastForkSeq=true')!;
  assert.equal(p.gupFastForkSeq, true);
  assert.equal(p.forkCopiesMaybePinned, true);
  assert.equal(resolveProfile('5.10')!.gupFastForkSeq, false);
  assert.equal(resolveProfile('5.10+pincountMinOrder=1')!.pincountMinOrder, 1);
  for (const bad of ['5.10+nope=true', '5.10+gupFastForkSeq=1', '5.10+pincountMinOrder=true', 'nope+gupFastForkSeq=true', '5.10+', '5.10+name=true', '5.10+gupFastForkSeq']) {
    assert.equal(resolveProfile(bad), undefined, bad);
  }
  // A change is grouped by its history record and applied whole.
  const g = changesBetween('6.4', '6.5').find((c) => c.changes[0]?.subject.startsWith('block: Use page pinning'))!;
  assert.deepEqual(g.set, { nonUserIterNoRef: true, bioPagePinned: true, bioNoPageRef: false });
});

const VFIO_ZERO = `name: vfio-zero-unpin
description: passes only while VFIO unpinned zero pages after GUP (v6.0, until the R/O long-term unshare of 6.2)
profiles: ['6.0']
tasks: [vm]
steps:
  - mmap: {length: PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS}
    as: buf
  - vfio_dma_map: {vaddr: buf, size: PAGE_SIZE, iova: 0x100000, flags: VFIO_DMA_MAP_FLAG_READ}
    expect: {ret: 0}
  - expect:
      - vmstat: {}
        nr_foll_pin_released: 1
`;
const dir = mkdtempSync(join(tmpdir(), 'pinlab-bisect-'));
const vfioFile = join(dir, 'vfio-zero.yaml');
writeFileSync(vfioFile, VFIO_ZERO);

test('bisect: a scenario without actors runs its steps in order on each version (any scenario, not only races)', () => {
  const r = bisect(load(vfioFile), backend, { bad: '5.19', good: '6.0' });
  assert.equal(r.mode, 'run');
  assert.equal(r.status, 'found');
  assert.deepEqual(r.culprits.flatMap((c) => c.changes.map((ch) => ch.commit)), ['873aefb376bb']);
});

test('bisect: passing later again after failing is reported as not monotonic, with the versions', () => {
  const r = bisect(load(vfioFile), backend, { bad: '5.19', good: '6.3+reliableRoLongterm=false+vfioUnpinZeroPages=true' });
  assert.equal(r.status, 'not-monotonic');
  assert.deepEqual(r.transitions.map((t) => `${t.from}>${t.to}:${t.outcome}`).slice(0, 2), ['5.19>6.0:pass', '6.1>6.2:fail']);
  assert.equal(r.firstPassing, '6.0');
});

test('bisect: a regression (the good version is older) names the change to undo', () => {
  const r = bisect(load(vfioFile), backend, { bad: '6.2', good: '6.0' });
  assert.equal(r.status, 'found');
  assert.equal(r.culprits.length, 1);
  assert.equal(r.culprits[0].revert, true);
  assert.equal(r.culprits[0].changes[0].commit, '84209e87c696');
});

test('bisect: when no single change suffices, the smallest set found is reported', () => {
  const r = bisect(load(vfioFile), backend, { bad: '6.9', good: '6.9+reliableRoLongterm=false+vfioUnpinZeroPages=true+zeroPageNotPinned=false' });
  assert.equal(r.status, 'found');
  assert.ok(r.singles.every((c) => c.run.outcome !== 'pass'));
  assert.ok(r.minimalSet && r.minimalSet.changes.length >= 2 && r.minimalSet.run.outcome === 'pass');
});

const ZERO_PIN = `name: pin-zero-page-slow
description: a R/O pin of the zero page on the slow path succeeds (not on 6.1.130-134, the broken backport)
profiles: ['6.1.176']
tasks: [t]
steps:
  - mmap: {length: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE|MAP_ANONYMOUS}
    as: buf
  - read: {addr: buf}
  - pin_user_pages: {start: buf, nr_pages: 1, gup_flags: 0}
    as: P
    expect: {ret: 1}
  - unpin_user_pages: {pages: P}
`;

test('bisect: between two point releases of one series the timeline is its backports, and stable-only changes are named', () => {
  const zeroFile = join(dir, 'zero-pin.yaml');
  writeFileSync(zeroFile, ZERO_PIN);
  assert.deepEqual(versionsBetween('6.1.100', '6.1.176'), ['6.1.100', '6.1.130', '6.1.135', '6.1.176']);
  let r = bisect(load(zeroFile), backend, { bad: '6.1.130', good: '6.1.176' });
  assert.equal(r.status, 'found');
  assert.equal(r.firstPassing, '6.1.135');
  assert.match(r.culprits[0].changes[0].subject, /Fix is_zero_page\(\) usage in try_grab_page\(\)/);
  assert.ok(docRow(r.culprits[0].changes[0]));
  // A regression: 6.1.129 passes, 6.1.130 fails; the backport to undo is 476c1dfefab8.
  r = bisect(load(zeroFile), backend, { bad: '6.1.130', good: '6.1.129' });
  assert.equal(r.status, 'found');
  // Both records of that backport undo it alone: the backported change itself, and the stable-only slip in it.
  assert.ok(r.culprits.length >= 1 && r.culprits.every((c) => c.revert));
  assert.ok(r.culprits.every((c) => c.changes.every((ch) => ch.commit === '476c1dfefab8' || ch.backports?.['6.1']?.commit === '476c1dfefab8')));
});

async function cli(args: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const status = await main(args, { out: (t) => { out += t; }, err: (t) => { err += t; }, env: {}, isTTY: false, cwd: ROOT });
  return { status, out, err };
}

test('pinlab bisect: text names the first passing version and the commit; exit 0', async () => {
  const r = await cli(['bisect', 'scenarios/explore/gup-fast-vs-fork.yaml']);
  assert.equal(r.status, 0, r.out + r.err);
  assert.match(r.out, /^first passing version: 5\.11 \(last failing: 5\.10\)$/m);
  assert.match(r.out, /^ {2}PASS {2}57efa1fe5957 "mm\/gup: prevent gup_fast from racing with COW during fork" \(5\.11[;,] .*\): gupFastForkSeq = true$/m);
  assert.match(r.out, /^made the difference:\n {2}57efa1fe5957 /m);
});

test('pinlab bisect --json: pinlab-bisect/1 with the culprit, the timeline and the changes tried', async () => {
  const r = await cli(['bisect', 'scenarios/explore/longterm-pin-vs-migration.yaml', '--json']);
  assert.equal(r.status, 0, r.err);
  const doc = JSON.parse(r.out) as {
    format: string; status: string; firstPassing: string; culprits: Array<{ changes: Array<{ commit: string; subject: string }>; outcome: string }>;
    timeline: Array<{ version: string; outcome: string }>; singles: unknown[];
  };
  assert.equal(doc.format, 'pinlab-bisect/1');
  assert.equal(doc.status, 'found');
  assert.equal(doc.firstPassing, '5.13');
  assert.equal(doc.culprits[0].changes[0].commit, 'd1e153fea2a8');
  assert.equal(doc.timeline[0].version, '5.9');
  assert.ok(doc.singles.length >= 2);
});

test('pinlab bisect: a file that passes on every profile it lists, or fails on good: exit 1 with the reason', async () => {
  let r = await cli(['bisect', vfioFile]);
  assert.equal(r.status, 1);
  assert.match(r.out, /nothing to bisect: every profile the file lists passes \(6\.0\); give --bad V/);
  r = await cli(['bisect', 'scenarios/explore/async-dio-dirty-vs-writeback.yaml', '--good', '6.2']);
  assert.equal(r.status, 1);
  assert.match(r.out, /nothing to bisect: the file fails on the good version 6\.2/);
  r = await cli(['bisect', vfioFile, '--bad', '5.19', '--good', '6.3+reliableRoLongterm=false+vfioUnpinZeroPages=true']);
  assert.equal(r.status, 1);
  assert.match(r.out, /not monotonic: the outcome changes 3 times: 5\.19 → 6\.0 passes; 6\.1 → 6\.2 fails again/);
});

test('pinlab bisect: unknown profiles, wrong options and bad files are usage errors (exit 2), located', async () => {
  let r = await cli(['bisect', 'scenarios/explore/gup-fast-vs-fork.yaml', '--bad', 'curent']);
  assert.equal(r.status, 2);
  assert.match(r.err, /^pinlab: --bad: unknown profile 'curent'; did you mean 'current'\?/);
  r = await cli(['bisect', 'scenarios/explore/gup-fast-vs-fork.yaml', '--good', '5.8']);
  assert.equal(r.status, 2);
  assert.match(r.err, /--good: no profile for '5\.8': v5\.8/);
  r = await cli(['bisect', 'scenarios/explore/gup-fast-vs-fork.yaml', '--profile', '5.9']);
  assert.equal(r.status, 2);
  assert.match(r.err, /--profile does not apply to bisect/);
  r = await cli(['explore', 'scenarios/explore/gup-fast-vs-fork.yaml', '--good', '5.9']);
  assert.equal(r.status, 2);
  assert.match(r.err, /--good only applies to bisect/);
  r = await cli(['bisect', 'scenarios/explore']);
  assert.equal(r.status, 2);
  assert.match(r.err, /bisect takes one scenario FILE/);
  const broken = join(dir, 'broken.yaml');
  writeFileSync(broken, 'name: x\nprofiles: [5.9]\nsteps:\n  - nope: {}\n');
  r = await cli(['bisect', broken]);
  assert.equal(r.status, 2);
  assert.match(r.err, /broken\.yaml:4:5: /);
  assert.throws(() => bisectCommand({ out: () => {}, err: () => {}, isTTY: false, cwd: ROOT, env: { PINLAB_BACKEND: 'x' } }, backend, vfioFile, { json: false }), BisectUsageError);
});

test('pinlab bisect: what the file holds is printed escaped (a path with an escape character, in text and JSON)', async () => {
  const evil = join(dir, 'evil\x1b[31m.yaml');
  writeFileSync(evil, VFIO_ZERO);
  for (const json of [false, true]) {
    const r = await cli(['bisect', evil, '--bad', '5.19', '--good', '6.0', ...(json ? ['--json'] : [])]);
    assert.equal(r.status, 0, r.err);
    assert.ok(!r.out.includes('\x1b') && !r.err.includes('\x1b'), 'no raw escape reaches the output');
    if (json) assert.ok((JSON.parse(r.out) as { file: string }).file.endsWith('evil\x1b[31m.yaml'));
  }
});
