// The Chrome trace-event JSON of counterexamples (docs/trace.md#chrome), checked for the structure
// Perfetto UI and chrome://tracing need, on the ext4 race (seed 002, 5.1) and the GUP-fast/fork race
// (operations stopped at yield points).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main, type Io } from '../../src/cli/main.js';
import type { ChromeEvent, ChromeTrace } from '../../src/trace/chrome.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'pinlab-chrome-'));

function io(): Io & { text: () => string } {
  let out = '';
  return { out: (t) => { out += t; }, err: (t) => { out += t; }, env: {}, isTTY: false, cwd: ROOT, text: () => out };
}

async function chrome(args: string[], name: string): Promise<ChromeTrace> {
  const out = join(tmp, name);
  const o = io();
  const code = await main([...args, '--trace', out, '--trace-format', 'chrome'], o);
  assert.ok(code === 0 || code === 1, o.text());
  return JSON.parse(readFileSync(out, 'utf8')) as ChromeTrace;
}

/** What every Chrome trace pinlab writes must satisfy. */
function checkStructure(t: ChromeTrace): void {
  assert.ok(Array.isArray(t.traceEvents) && t.traceEvents.length > 0);
  for (const e of t.traceEvents) {
    assert.ok(Number.isInteger(e.pid) && e.pid >= 0, `pid of ${JSON.stringify(e)}`);
    assert.ok(Number.isInteger(e.tid) && e.tid >= 0, `tid of ${JSON.stringify(e)}`);
    assert.ok(typeof e.ts === 'number' && Number.isFinite(e.ts) && e.ts >= 0, `ts of ${JSON.stringify(e)}`);
    assert.equal(typeof e.name, 'string');
    if (e.ph === 'X') assert.ok(typeof e.dur === 'number' && e.dur > 0, `dur of ${e.name}`);
    if (e.ph === 'C') {
      assert.ok(e.args && Object.keys(e.args).length > 0);
      for (const [k, v] of Object.entries(e.args)) assert.ok(typeof v === 'number' && Number.isFinite(v), `counter ${e.name}.${k} = ${String(v)}`);
    }
    if (e.ph === 'i') assert.equal(e.s, 'g');
    if (e.ph === 'M') assert.ok(['process_name', 'thread_name', 'process_sort_index', 'thread_sort_index'].includes(e.name));
  }
  // B/E balanced and nested per thread, and X slices within the B/E they fall in.
  const byThread = new Map<string, ChromeEvent[]>();
  for (const e of t.traceEvents) {
    if (e.ph !== 'B' && e.ph !== 'E' && e.ph !== 'X') continue;
    const k = `${e.pid}/${e.tid}`;
    if (!byThread.has(k)) byThread.set(k, []);
    byThread.get(k)!.push(e);
  }
  for (const [k, evs] of byThread) {
    // sorted as a viewer sorts: by time, B before X before E at equal times is never needed (no ties)
    const sorted = [...evs].sort((a, b) => a.ts - b.ts);
    const stack: ChromeEvent[] = [];
    let lastEnd = -1;
    for (const e of sorted) {
      if (e.ph === 'B') stack.push(e);
      else if (e.ph === 'E') {
        const b = stack.pop();
        assert.ok(b, `E without B on ${k} at ${e.ts}`);
        assert.equal(b.name, e.name, `E closes ${b.name} on ${k}`);
        assert.ok(e.ts > b.ts);
      } else {
        assert.ok(e.ts >= lastEnd, `X slices do not overlap on ${k}`);
        lastEnd = e.ts + e.dur!;
        for (const b of stack) assert.ok(e.ts > b.ts);
      }
    }
    assert.equal(stack.length, 0, `unbalanced B on ${k}`);
  }
  // ts ties between B/E and X would make nesting depend on order: none.
  for (const evs of byThread.values()) {
    for (const e of evs) {
      if (e.ph === 'X') continue;
      assert.ok(!evs.some((x) => x.ph === 'X' && (x.ts === e.ts || x.ts + x.dur! === e.ts)), `${e.ph} ${e.name} at a slice boundary`);
    }
  }
  // flows: every start has its finish, later, with the same id
  const starts = t.traceEvents.filter((e) => e.ph === 's');
  for (const s of starts) {
    const f = t.traceEvents.find((e) => e.ph === 'f' && e.id === s.id);
    assert.ok(f, `flow ${s.id} has a finish`);
    assert.ok(f.ts > s.ts);
    assert.equal(f.bp, 'e');
  }
}

test('the ext4 race counterexample (seed 002, 5.1) as a Chrome trace: actor tracks, counters, flows, the BUG', async () => {
  const t = await chrome(['explore', 'scenarios/explore/ext4-writeback-race.yaml', '--profile', '5.1'], 'ext4.json');
  checkStructure(t);
  const ev = t.traceEvents;
  const threads = ev.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => String(e.args!.name));
  for (const a of ['driver', 'flusher', 'reclaim']) assert.ok(threads.includes(a), `thread ${a} in ${threads.join(',')}`);
  const proc = ev.find((e) => e.ph === 'M' && e.name === 'process_name')!;
  assert.match(String(proc.args!.name), /^ext4-writeback-vs-driver \[5\.1\] .*: FAIL$/);
  // each step an X slice with its arguments, result, notes, footprint and scenario position
  const gup = ev.find((e) => e.ph === 'X' && e.name === 'get_user_pages')!;
  const a = gup.args as { pos: string; flags: Record<string, string>; ret: unknown; notes: string[]; footprint: unknown; changes: Array<{ content: number }> };
  assert.match(a.pos, /^scenarios\/explore\/ext4-writeback-race\.yaml:\d+:\d+$/);
  assert.equal(a.flags.gup_flags, 'FOLL_WRITE');
  assert.equal(a.ret, 1);
  assert.ok(a.footprint);
  assert.ok(Array.isArray(a.notes));
  assert.equal(typeof a.changes[0].content, 'number');
  // counters per folio and for the pin counters
  assert.ok(ev.some((e) => e.ph === 'C' && /^folio \d+$/.test(e.name) && 'refcount' in e.args! && 'pincount' in e.args! && 'mapcount' in e.args!));
  assert.ok(ev.some((e) => e.ph === 'C' && e.name === 'vmstat pins'));
  // the BUG and the WARN as global instants
  assert.ok(ev.some((e) => e.ph === 'i' && /^BUG: kernel BUG at fs\/ext4\/inode\.c/.test(e.name)));
  assert.ok(ev.some((e) => e.ph === 'i' && /^WARN .*ext4_dirty_folio/.test(e.name)));
  // flows: the GUP reference and its put_page; reclaim conflicts with the driver's put_page, the
  // nearest step before it that touched the folio (reclaim reads the refcount put_page dropped:
  // recorded since every folio-table read is)
  const flows = ev.filter((e) => e.ph === 's').map((e) => `${e.cat}: ${e.name}`);
  assert.ok(flows.includes('pin: get_user_pages → put_page'), flows.join('; '));
  assert.ok(flows.includes('conflict: conflict: reclaim reclaim / driver put_page'), flows.join('; '));
});

test('operations stopped at yield points are B/E pairs with the other actors\' steps between them', async () => {
  const t = await chrome(['replay', 'scenarios/explore/gup-fast-vs-fork.yaml', '--profile', '5.9',
    '--schedule', 'parent,driver,driver,driver,parent,parent'], 'gupfast.json');
  checkStructure(t);
  const ev = t.traceEvents;
  const tid = (n: string) => ev.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.args!.name === n)!.tid;
  const b = ev.find((e) => e.ph === 'B' && e.name === 'fork')!;
  const e = ev.find((x) => x.ph === 'E' && x.name === 'fork')!;
  assert.equal(b.tid, tid('parent'));
  // the driver pinned and wrote while fork was stopped
  const inside = ev.filter((x) => x.ph === 'X' && x.tid === tid('driver') && x.ts > b.ts && x.ts < e.ts).map((x) => x.name);
  assert.deepEqual(inside, ['pin_user_pages_fast (to after_grab)', 'pin_user_pages_fast (resumed after after_grab)', 'dma_write']);
  assert.ok(ev.some((x) => x.ph === 'B' && x.name === 'pin_user_pages_fast' && x.tid === tid('driver')));
  // the pin and its unpin (in finally:) are joined
  assert.ok(ev.some((x) => x.ph === 's' && x.cat === 'pin' && x.name === 'pin_user_pages_fast → unpin_user_pages'));
  // the failed check of finally: is a global instant
  assert.ok(ev.some((x) => x.ph === 'i' && x.cat === 'check' && /page\{task: parent, addr: buf\}\.pfn == P\[0\]/.test(x.name)));
});

test('a sequential run with several profiles: one process per run, vmstat pin counters counted from the start', async () => {
  const t = await chrome(['run', 'scenarios/cow/ro-pin-unshares-after-fork.yaml'], 'run.json');
  checkStructure(t);
  const procs = t.traceEvents.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => [e.pid, e.args!.name]);
  assert.deepEqual(procs, [[1, 'ro-pin-unshares-after-fork [5.9]: PASS'], [2, 'ro-pin-unshares-after-fork [current]: PASS']]);
  const pins = t.traceEvents.filter((e) => e.ph === 'C' && e.name === 'vmstat pins' && e.pid === 1).map((e) => e.args!.nr_foll_pin_acquired as number);
  assert.equal(pins[0], 0);
  assert.ok(Math.max(...pins) >= 1, pins.join(','));
});

test('--trace-format is checked: chrome or pinlab, and only with --trace', async () => {
  let o = io();
  assert.equal(await main(['run', 'scenarios/cow/ro-pin-unshares-after-fork.yaml', '--trace', join(tmp, 'x.json'), '--trace-format', 'perfetto'], o), 2);
  assert.match(o.text(), /--trace-format must be pinlab or chrome, found 'perfetto'/);
  o = io();
  assert.equal(await main(['run', 'scenarios/cow/ro-pin-unshares-after-fork.yaml', '--trace-format', 'chrome'], o), 2);
  assert.match(o.text(), /--trace-format needs --trace OUT/);
});
