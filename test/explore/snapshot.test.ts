// The explorer restores a snapshot of the state after the setup instead of replaying the setup
// (src/explore/snapshot.ts). A restored schedule must be indistinguishable from a replayed one:
// for every schedule of every catalogue race (each profile) and of random real-model scenarios,
// the same steps, footprints, failures, end state, and the same whole object graph of the session
// at the end (every object, array, map, set and typed array reachable from the runner).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadScenario, loadScenarioFile } from '../../src/scenario/load.js';
import { modelBackend } from '../../src/scenario/model-backend.js';
import { randomScenario } from '../../src/explore/random-scenario.js';
import { scenarioProgram, type ScenarioProgram } from '../../src/explore/scenario.js';
import { exploreExhaustive } from '../../src/explore/exhaustive.js';
import { exploreDpor } from '../../src/explore/dpor.js';
import { GraphSnapshot } from '../../src/explore/snapshot.js';
import type { Scenario } from '../../src/scenario/ast.js';
import type { Footprint } from '../../src/explore/program.js';

const backend = modelBackend();
const DIR = fileURLToPath(new URL('../../../scenarios/explore/', import.meta.url));

/** Properties of x that describe a snapshot rather than the model (the folio table's dirty marks). */
const bookkeeping = (x: object): readonly (string | symbol)[] =>
  (x.constructor as { SNAPSHOT_BOOKKEEPING?: readonly string[] } | undefined)?.SNAPSHOT_BOOKKEEPING ?? [];

/** A canonical text of everything reachable from root (objects numbered in walk order). */
function graphText(root: object, shared: readonly object[]): string {
  const ids = new Map<unknown, number>();
  const skip = new Set<unknown>(shared);
  const out: string[] = [];
  const val = (v: unknown): string => {
    if (v === null || v === undefined) return String(v);
    if (typeof v === 'function') return `fn ${v.name}`;
    if (typeof v !== 'object') return `${typeof v} ${String(v)}`;
    if (skip.has(v)) return 'shared';
    // A replayed schedule's kernel gives its folio-table buffer back to the pool at the end
    // (PhysMem.release()): the buffer itself holds nothing the views below do not show.
    if (v instanceof ArrayBuffer) return 'null';
    if (Object.isFrozen(v) && !ArrayBuffer.isView(v)) return 'frozen';
    let id = ids.get(v);
    if (id === undefined) {
      ids.set(v, (id = ids.size));
      todo.push(v);
    }
    return `#${id}`;
  };
  const todo: object[] = [];
  val(root);
  for (let i = 0; i < todo.length; i++) {
    const x = todo[i];
    if (ArrayBuffer.isView(x)) out.push(`${i} ${x.constructor.name} ${Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64')}`);
    else if (x instanceof ArrayBuffer) out.push(`${i} ArrayBuffer`);
    else if (Array.isArray(x)) out.push(`${i} [${x.map(val).join(',')}]`);
    else if (x instanceof Map) out.push(`${i} Map {${[...x].map(([k, v]) => `${val(k)}=>${val(v)}`).join(',')}}`);
    else if (x instanceof Set) out.push(`${i} Set {${[...x].map(val).join(',')}}`);
    else out.push(`${i} ${x.constructor?.name ?? 'null'} {${Reflect.ownKeys(x).filter((k) => !bookkeeping(x).includes(k)).map((k) => `${String(k)}:${val((x as Record<string | symbol, unknown>)[k])}`).join(',')}}`);
  }
  return out.join('\n');
}

const fpText = (f: Footprint) => `${[...f.reads].sort().join(' ')} | ${[...f.writes].sort().join(' ')}`;

/** Every schedule of p: its steps, footprints, failure, end state and (optionally) the whole session graph. */
function record(p: ScenarioProgram, scn: Scenario, search: 'exhaustive' | 'dpor', graphs: boolean): string[] {
  const out: string[] = [];
  const onSchedule = (s: readonly number[], fps: readonly Footprint[], fail: string | undefined) => {
    const r = p.lastRunner();
    out.push(`${s.join('.')} ${fail ?? 'ok'}\n${fps.map(fpText).join('\n')}\n${r?.verdictsSoFar.map((v) => `${v.ok} ${v.description}`).join('\n')}`
      + (graphs && r ? `\n${graphText(r, [scn, backend])}` : ''));
  };
  const res = (search === 'dpor' ? exploreDpor : exploreExhaustive)(p, { all: true, maxSchedules: 2000, onSchedule });
  out.push(`verdict ${res.verdict} ${res.schedulesRun} ${[...res.endStates].sort().join('\n')}`);
  return out;
}

function compare(scn: Scenario, profile: string, graphs: boolean): number {
  let n = 0;
  for (const search of ['exhaustive', 'dpor'] as const) {
    const replayed = record(scenarioProgram(scn, backend, profile, { snapshot: false }), scn, search, graphs);
    const p = scenarioProgram(scn, backend, profile);
    const restored = record(p, scn, search, graphs);
    if (restored.length > 2) assert.ok(p.snapshotCensus(), `${scn.file} [${profile}]: no snapshot taken (${GraphSnapshot.lastRefusal()})`);
    assert.equal(restored.length, replayed.length, `${scn.file} [${profile}] ${search}: schedule count`);
    for (let i = 0; i < replayed.length; i++) {
      if (restored[i] === replayed[i]) continue;
      const a = restored[i].split('\n');
      const b = replayed[i].split('\n');
      const at = a.findIndex((l, j) => l !== b[j]);
      const cut = (l: string | undefined) => (l ?? '(none)').slice(0, 400);
      assert.fail(`${scn.file} [${profile}] ${search}, schedule ${i}, line ${at}:\nrestored ${cut(a[at])}\nreplayed ${cut(b[at])}\n(schedule ${a[0]})`);
    }
    n += replayed.length;
  }
  return n;
}

test('every schedule of every catalogue race is the same restored from a snapshot as replayed (whole session graph)', () => {
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort()) {
    const scn = loadScenarioFile(`${DIR}${file}`, backend, file);
    for (const profile of scn.profiles) assert.ok(compare(scn, profile, true) > 2);
  }
});

test('random real-model scenarios (also longer actors, older profiles): restored = replayed, schedule by schedule', () => {
  let compared = 0;
  const profiles = ['current', '5.9', '6.2', '5.19'];
  for (let seed = 7000; seed < 7040; seed++) {
    const scn = loadScenario(randomScenario(seed, seed % 5 === 0 ? { maxTemplates: 3 } : {}), `random-${seed}.yaml`, backend);
    try {
      compared += compare(scn, profiles[seed % profiles.length], seed % 4 === 0);
    } catch (e) {
      if (e instanceof assert.AssertionError) throw new Error(`seed ${seed}: ${e.message}`);
      throw e;
    }
  }
  assert.ok(compared > 200, `only ${compared} schedules compared`);
});

test('a snapshot restores fields, elements, entries and typed arrays in place, and drops what was added', () => {
  class Box { n = 1; list = [1, 2]; m = new Map([['a', 1]]); s = new Set([1]); t = new Int32Array([5, 6]); child = { x: 1 } as Record<string, number> }
  const b = new Box();
  const child = b.child;
  const snap = GraphSnapshot.capture([b]);
  assert.ok(snap);
  b.n = 2; b.list.push(3); b.list[0] = 9; b.m.set('b', 2); b.m.delete('a'); b.s.add(2); b.t[1] = 7; b.child.x = 5; b.child.y = 1;
  b.child = { x: 0 };
  snap.restore();
  assert.equal(b.n, 1);
  assert.deepEqual(b.list, [1, 2]);
  assert.deepEqual([...b.m], [['a', 1]]);
  assert.deepEqual([...b.s], [1]);
  assert.deepEqual([...b.t], [5, 6]);
  assert.equal(b.child, child);
  assert.deepEqual(child, { x: 1 });
});

test('a snapshot refuses what it cannot restore (a paused generator), so the explorer replays instead', () => {
  const gen = (function* () { yield 1; })();
  assert.equal(GraphSnapshot.capture([{ gen }]), null);
  assert.match(GraphSnapshot.lastRefusal(), /generator/);
  assert.equal(GraphSnapshot.capture([{ when: new Date(0) }]), null);
  assert.equal(GraphSnapshot.capture([{ m: new WeakMap() }]), null);
  assert.ok(GraphSnapshot.capture([{ ops: Object.freeze({ f: () => 1 }), n: 1 }]));
});
