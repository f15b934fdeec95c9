// pinlab view: the page is self-contained (no network, the trace inside, nothing a scenario writes
// can close a <script>), and in a real browser — Debian's chromium driven by playwright-core — it
// shows the counterexample of the ext4 race: the failing step highlighted, a click on a step shows
// its changes, position links lead to the scenario's line. The screenshot is kept in
// dist/artifacts/ (PINLAB_UPDATE_SCREENSHOT=1 also writes docs/images/view-ext4-5.1.png for the README).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { main, type Io } from '../../src/cli/main.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXT4 = 'scenarios/explore/ext4-writeback-race.yaml';
const tmp = mkdtempSync(join(tmpdir(), 'pinlab-view-'));

async function pinlab(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const io: Io = { out: (t) => { out += t; }, err: (t) => { out += t; }, env: {}, isTTY: false, cwd: ROOT };
  return { code: await main(args, io), out };
}

async function page(args: string[], name: string): Promise<string> {
  const out = join(tmp, name);
  const r = await pinlab(['view', ...args, '-o', out]);
  assert.equal(r.code, 0, r.out);
  return out;
}

test('the page is one self-contained file: the trace and sources inside, no URL to fetch, a CSP that forbids any', async () => {
  const html = readFileSync(await page([EXT4, '--profile', '5.1'], 'ext4.html'), 'utf8');
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
  assert.doesNotMatch(html, /\b(src|href)="(https?:)?\/\//);
  assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  const doc = JSON.parse(/<script type="application\/json" id="pinlab-trace">(.*?)<\/script>/s.exec(html)![1]) as { format: string; runs: Array<{ schedule: string[]; events: unknown[] }> };
  assert.equal(doc.format, 'pinlab-trace/1');
  assert.ok(doc.runs[0].schedule.length > 0 && doc.runs[0].events.length > 0);
  assert.match(html, /name: ext4-writeback-vs-driver/);
});

test('text from the scenario cannot close the page\'s script elements', async () => {
  const f = join(tmp, 'evil.yaml');
  writeFileSync(f, `name: "x</script><script>alert(1)</script>"\nsteps:\n  - mmap: { length: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE|MAP_ANONYMOUS }\n    note: "</script><!--"\n`);
  const html = readFileSync(await page([f], 'evil.html'), 'utf8');
  // the only </script> are the page's own four
  assert.equal(html.split('</script>').length - 1, 4);
  assert.doesNotMatch(html, /<!--/);
});

test('view of a --trace file, and usage errors', async () => {
  const t = join(tmp, 't.json');
  await pinlab(['replay', EXT4, '--profile', '5.1', '--schedule', 'driver,driver,flusher,flusher,reclaim,driver,driver,flusher', '--trace', t]);
  const html = readFileSync(await page([t], 'from-trace.html'), 'utf8');
  assert.match(html, /"command":"replay"/);
  const chrome = join(tmp, 'c.json');
  await pinlab(['run', 'scenarios/cow/ro-pin-unshares-after-fork.yaml', '--trace', chrome, '--trace-format', 'chrome']);
  let r = await pinlab(['view', chrome, '-o', join(tmp, 'x.html')]);
  assert.equal(r.code, 2);
  assert.match(r.out, /not a pinlab-trace\/1 document/);
  r = await pinlab(['view', EXT4]);
  assert.equal(r.code, 2);
  assert.match(r.out, /view needs -o OUT\.html/);
  r = await pinlab(['view', 'scenarios/cow/ro-pin-unshares-after-fork.yaml', '--schedule', 'a', '-o', join(tmp, 'y.html')]);
  assert.equal(r.code, 2);
  assert.match(r.out, /--schedule needs a multi-actor scenario/);
  r = await pinlab(['run', EXT4, '-o', join(tmp, 'z.html')]);
  assert.equal(r.code, 2);
});

/** Debian's chromium and playwright-core, or why not. */
async function browser(): Promise<{ launch: () => Promise<import('playwright-core').Browser> } | string> {
  const exe = process.env.PINLAB_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(exe)) return `no browser at ${exe} (apt-get install chromium; .ci/run does)`;
  let pw: typeof import('playwright-core');
  try {
    pw = await import('playwright-core');
  } catch (e) {
    return `playwright-core is not installed (${(e as Error).message})`;
  }
  return { launch: () => pw.chromium.launch({ executablePath: exe, args: ['--no-sandbox', '--disable-gpu'] }) };
}

test('in Chromium: the counterexample\'s failing step is highlighted, a click on a step shows its changes, links lead to the scenario', async (t) => {
  const b = await browser();
  if (typeof b === 'string') { t.skip(b); return; }
  const file = await page([EXT4, '--profile', '5.1'], 'ext4-browser.html');
  const br = await b.launch();
  try {
    const p = await br.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    p.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    p.on('request', (req) => { if (!req.url().startsWith('file:')) problems.push(`request: ${req.url()}`); });
    await p.goto(pathToFileURL(file).href);
    await p.waitForSelector('#step-table tbody tr');
    assert.equal(await p.textContent('#verdict'), 'FAIL');
    assert.match((await p.textContent('#failure')) ?? '', /kernel BUG at fs\/ext4\/inode\.c/);
    // the schedule of the counterexample, one chip per step
    const chips = await p.$$eval('#schedule li', (els) => els.map((e) => e.textContent));
    assert.ok(chips.length >= 5 && chips.includes('reclaim') && chips.includes('flusher'), chips.join(','));
    // swimlanes: the three actors, the failing step marked
    const lanes = await p.$$eval('#lanes-svg text.lane-name', (els) => els.map((e) => e.textContent));
    for (const a of ['driver', 'flusher', 'reclaim']) assert.ok(lanes.includes(a), lanes.join(','));
    assert.equal(await p.locator('#lanes-svg g.ev.failing').count(), 1);
    // the failing step is highlighted in the table, with the BUG
    const failing = p.locator('#step-table tbody tr.failing');
    assert.equal(await failing.count(), 1);
    assert.match((await failing.textContent()) ?? '', /writeback.*BUG: kernel BUG at fs\/ext4\/inode\.c/s);
    const bg = await failing.evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.notEqual(bg, 'rgba(0, 0, 0, 0)');
    // a click on the GUP step shows its changes: the page it took, its counts and content, the flags by name
    await p.locator('#step-table tbody tr', { hasText: 'get_user_pages' }).click();
    assert.match((await p.textContent('#details h2')) ?? '', /get_user_pages/);
    const details = (await p.textContent('#details')) ?? '';
    assert.match(details, /gup_flags\s*FOLL_WRITE/);
    const change = await p.$$eval('#changes tbody tr td', (els) => els.map((e) => e.textContent));
    assert.deepEqual(change.slice(0, 5), ['pfn 1024', '3', '0', '1', '0']);
    assert.equal(await p.locator('#step-table tbody tr.selected', { hasText: 'get_user_pages' }).count(), 1);
    // clicking a lane box selects that step too
    await p.locator('#lanes-svg g.ev', { hasText: 'rec' }).first().click();
    assert.match((await p.textContent('#details h2')) ?? '', /reclaim/);
    assert.match((await p.textContent('#details')) ?? '', /buffers of data index 0 \(pfn 1024\) freed/);
    // the position link leads to the step's line in the scenario
    await p.locator('#details a.pos').click();
    const line = await p.textContent('.src-line.hl');
    assert.match(line ?? '', /- reclaim: \{file: data\}/);
    // per-page timeline of the folio the race is about
    assert.equal(await p.locator('#pages-body svg[data-pfn="1024"]').count(), 1);
    // select the failing step again for the picture
    await failing.click();
    const dir = join(ROOT, 'dist', 'artifacts');
    mkdirSync(dir, { recursive: true });
    const shot = join(dir, 'view-ext4-5.1.png');
    await p.screenshot({ path: shot, fullPage: true });
    assert.ok(readFileSync(shot).length > 10_000);
    if (process.env.PINLAB_UPDATE_SCREENSHOT === '1') copyFileSync(shot, join(ROOT, 'docs', 'images', 'view-ext4-5.1.png'));
    assert.deepEqual(problems, []);
  } finally {
    await br.close();
  }
});

test('in Chromium: a passing sequential scenario with two profiles offers both runs', async (t) => {
  const b = await browser();
  if (typeof b === 'string') { t.skip(b); return; }
  const file = await page(['scenarios/cow/ro-pin-unshares-after-fork.yaml'], 'cow.html');
  const br = await b.launch();
  try {
    const p = await br.newPage();
    await p.goto(pathToFileURL(file).href);
    assert.equal(await p.textContent('#verdict'), 'PASS');
    assert.equal(await p.locator('#step-table tbody tr.failing').count(), 0);
    const options = await p.$$eval('#run-select option', (els) => els.map((e) => e.textContent));
    assert.equal(options.length, 2);
    await p.selectOption('#run-select', '1');
    assert.match((await p.textContent('#summary h2')) ?? '', /\[current\]/);
    // the pin's flags by name in the table
    assert.match((await p.textContent('#step-table')) ?? '', /gup_flags: FOLL_LONGTERM|pin_user_pages/);
  } finally {
    await br.close();
  }
});
