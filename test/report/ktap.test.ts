// --ktap on run and explore: KTAP version 1 that kunit_parser.py's grammar (test/report/ktap-parser.ts)
// reads without an error, with the results and totals pinlab reports.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main, type Io } from '../../src/cli/main.js';
import { allErrors, parseKtap, totals } from './ktap-parser.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'pinlab-ktap-'));

async function pinlab(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => { out += t; }, err: (t) => { err += t; }, env: {}, isTTY: false, cwd: ROOT };
  const code = await main(args, io);
  return { code, out, err };
}

test('the parser itself: the examples of Documentation/dev-tools/ktap.rst parse; broken KTAP does not', () => {
  const example = ['KTAP version 1', '1..1', '  KTAP version 1', '  1..3', '    KTAP version 1', '    1..1', '    # test_1: initializing test_1',
    '    ok 1 test_1', '  ok 1 example_test_1', '    KTAP version 1', '    1..2', '    ok 1 test_1 # SKIP test_1 skipped', '    ok 2 test_2',
    '  ok 2 example_test_2', '    KTAP version 1', '    1..3', '    ok 1 test_1', '    # test_2: FAIL', '    not ok 2 test_2',
    '    ok 3 test_3 # SKIP test_3 skipped', '  not ok 3 example_test_3', 'not ok 1 main_test', ''].join('\n');
  const r = parseKtap(example);
  assert.deepEqual(r.errors, []);
  assert.equal(r.main.subtests[0].subtests[1].subtests[0].status, 'SKIPPED');
  assert.equal(r.main.subtests[0].status, 'FAILURE');
  // numbering from 1, a missing subtest, a result whose name is not the subtest's, bad indentation
  assert.match(parseKtap('KTAP version 1\n1..1\nok 2 a\n').errors.join(), /Expected test number 1 but found 2/);
  assert.match(parseKtap('KTAP version 1\n1..2\nok 1 a\n').errors.join(), /missing expected subtest/);
  assert.match(parseKtap('KTAP version 1\n1..1\n  KTAP version 1\n  # Subtest: a\n  1..1\n  ok 1 x\nok 1 b\n').errors.join(), /missing subtest result line/);
  assert.match(parseKtap('KTAP version 1\n1..1\n KTAP version 1\n 1..1\n ok 1 x\nok 1 b\n').errors.join(), /indented 1, expected 2/);
});

test('run --ktap: one test per file, a subtest per profile, a subtest per verdict; the failing verdict is not ok with its location', async () => {
  const failing = join(tmp, 'failing.yaml');
  writeFileSync(failing, `name: failing
profiles: ['5.9', current]
steps:
  - mmap: { length: PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - write: { addr: buf, value: 1 }
  - expect:
      - page: { addr: buf }
        refcount: 2
`);
  const bad = join(tmp, 'bad.yaml');
  writeFileSync(bad, 'name: bad\nsteps:\n  - mmap: { length: PAGE_SIZE, prot: PROT_RAED }\n');
  const r = await pinlab(['run', '--ktap', 'scenarios/cow/ro-pin-unshares-after-fork.yaml', failing, bad]);
  assert.equal(r.code, 2, r.err);
  const k = parseKtap(r.out);
  assert.deepEqual(k.errors, [], r.out);
  assert.ok(r.out.startsWith('KTAP version 1\n1..3\n'));
  const [cow, fail, broken] = k.main.subtests;
  assert.deepEqual([cow.name, cow.status, cow.subtests.map((s) => s.name)],
    ['ro-pin-unshares-after-fork', 'SUCCESS', ['ro-pin-unshares-after-fork [5.9]', 'ro-pin-unshares-after-fork [current]']]);
  assert.ok(cow.subtests[0].subtests.length > 3 && cow.subtests[0].subtests.every((v) => v.status === 'SUCCESS'));
  assert.equal(fail.status, 'FAILURE');
  const check = fail.subtests[0].subtests.find((v) => v.status === 'FAILURE')!;
  assert.equal(check.name, 'step 3 expect: page{addr: buf}.refcount == 2');
  assert.match(check.log.join('\n'), /failing\.yaml:9:9: expected 2, got 1/);
  assert.deepEqual([broken.status, broken.directive?.startsWith('ERROR')], ['FAILURE', true]);
  assert.deepEqual(totals(r.out), { pass: 2, fail: 2, xfail: 0, xpass: 0, skip: 0, error: 1 });
});

test('explore --ktap: the expected failure on 5.1 is XFAIL with its schedule, current passes', async () => {
  const r = await pinlab(['explore', '--ktap', 'scenarios/explore/ext4-writeback-race.yaml']);
  assert.equal(r.code, 0, r.err);
  const k = parseKtap(r.out);
  assert.deepEqual(k.errors, [], r.out);
  const file = k.main.subtests[0];
  assert.equal(file.status, 'SUCCESS');
  const [old, cur] = file.subtests;
  assert.equal(old.name, 'ext4-writeback-vs-driver [5.1]');
  assert.match(old.directive ?? '', /^XFAIL .*kernel BUG at fs\/ext4\/inode\.c/);
  assert.match(old.log.join('\n'), /# schedule: driver,/);
  assert.equal(cur.status, 'SUCCESS');
  assert.deepEqual(totals(r.out), { pass: 1, fail: 0, xfail: 1, xpass: 0, skip: 0, error: 0 });
  assert.deepEqual(allErrors(k.main), []);
});

test('explore --ktap: a search cut short by --runs is a SKIP', async () => {
  const r = await pinlab(['explore', '--ktap', '--profile', 'current', '--runs', '2', 'scenarios/explore/ext4-writeback-race.yaml']);
  const k = parseKtap(r.out);
  assert.deepEqual(k.errors, [], r.out);
  assert.equal(k.main.subtests[0].subtests[0].status, 'SKIPPED');
  assert.equal(totals(r.out)!.skip, 1);
});

test('the catalogue as KTAP parses, every file ok', async () => {
  const r = await pinlab(['--ktap']);
  assert.equal(r.code, 0, r.err);
  const k = parseKtap(r.out);
  assert.deepEqual(k.errors, []);
  assert.ok(k.main.subtests.length > 20);
  assert.ok(k.main.subtests.every((s) => s.status === 'SUCCESS'));
  const t = totals(r.out)!;
  assert.deepEqual([t.fail, t.error], [0, 0]);
});

test('--ktap is refused with --json and on other commands', async () => {
  assert.equal((await pinlab(['run', '--ktap', '--json', 'scenarios/cow/ro-pin-unshares-after-fork.yaml'])).code, 2);
  const r = await pinlab(['replay', '--ktap', 'scenarios/explore/ext4-writeback-race.yaml', '--schedule', 'driver']);
  assert.equal(r.code, 2);
  assert.match(r.err, /--ktap only applies to run and explore/);
});
