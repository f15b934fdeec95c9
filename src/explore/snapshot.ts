// Snapshot and restore of a session's whole object graph, in place: the explorer restores the
// state after a scenario's setup for each schedule instead of building a kernel and replaying the
// setup (issue 12: the setup was about a fifth of a schedule's time).
//
// Nothing here knows the model. Capture walks everything reachable from the roots and saves, per
// object, its own properties (a class instance, a plain object), elements (an Array), entries (a
// Map, a Set) or contents (a typed array); restore writes the saved values back into the SAME
// objects. So a field added to any class tomorrow is saved and restored without anyone listing
// it, object identity is kept (closures, Map keys and the ops tables that point into the graph
// stay valid), and objects made after the capture simply become unreachable again.
//
// What is shared, not saved: functions (the code; a closure's own captured variables are not
// visible to a walk, so state must live in objects, which test/explore/snapshot.test.ts checks by
// comparing every restored schedule with a replayed one), frozen objects (ops tables, profiles,
// constants: they cannot change), and whatever the caller names as shared (the scenario's syntax
// tree, the backend). Something that cannot be saved (a generator: an operation paused at a yield
// point; a WeakMap, a Promise, a Date) makes capture() return null, and the caller replays instead.

import { SNAPSHOT_SELF, type SnapshotsItself } from '../include/snapshot.js';

type Obj = Record<string | symbol, unknown>;
type Typed = Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

const GeneratorProto = Object.getPrototypeOf(function* () { /* the generator prototype */ }.prototype) as object;

/** Everything a shared root (GraphSnapshot.capture()'s `shared`) or a frozen object reaches. */
const SHARED = new WeakSet<object>();

type Restorer = (o: Obj, vals: unknown[]) => void;
const RESTORERS = new Map<string, Restorer>();

/**
 * A function that stores vals[i] into property keys[i] by its constant name: generated once per
 * list of keys (one per class, in practice), so each store is monomorphic rather than a keyed
 * store through one site that every class goes through (~5x faster restores). Symbol keys:
 * a keyed loop.
 */
function restorerFor(keys: ReadonlyArray<string | symbol>): Restorer {
  if (keys.some((k) => typeof k === 'symbol')) {
    return (o, vals) => { for (let j = 0; j < keys.length; j++) o[keys[j]] = vals[j]; };
  }
  const sig = keys.join('\0');
  let f = RESTORERS.get(sig);
  if (!f) {
    const body = keys.map((k, j) => `o[${JSON.stringify(k)}] = v[${j}];`).join(' ');
    f = new Function('o', 'v', body) as Restorer;
    RESTORERS.set(sig, f);
  }
  return f;
}

/** Why a graph cannot be captured (capture() returns null and says why through lastRefusal()). */
let refusal = '';

export class GraphSnapshot {
  // One list per kind, so each restore loop sees one shape.
  private readonly objs: Obj[] = [];
  private readonly objKeys: Array<Array<string | symbol>> = [];
  private readonly objVals: unknown[][] = [];
  /** Restores of objects that snapshot themselves (include/snapshot.ts), run before the rest. */
  private readonly selfRestores: Array<() => void> = [];
  /** Per object: its restorer, generated per list of keys (see restorerFor()). */
  private readonly objSet: Restorer[] = [];
  /**
   * Plain objects (prototype Object.prototype or null) may be used as dictionaries: their own
   * enumerable keys at capture (-1: a class instance, whose fields are all defined by its
   * constructor and never added later under TypeScript, so the check is skipped).
   */
  private readonly objEnum: number[] = [];
  private readonly arrs: unknown[][] = [];
  private readonly arrVals: unknown[][] = [];
  private readonly maps: Array<Map<unknown, unknown>> = [];
  private readonly mapKeys: unknown[][] = [];
  private readonly mapVals: unknown[][] = [];
  private readonly sets: Array<Set<unknown>> = [];
  private readonly setVals: unknown[][] = [];
  private readonly typed: Typed[] = [];
  private readonly typedVals: Typed[] = [];
  private typedBytes = 0;

  private constructor() {}

  /**
   * Save everything reachable from `roots` that is not shared. `shared`: roots of graphs that are
   * not state (they are walked once to learn what to skip). Returns null when something in the
   * graph cannot be saved (see lastRefusal()).
   */
  static capture(roots: readonly object[], shared: readonly object[] = []): GraphSnapshot | null {
    // What shared roots and frozen objects reach is walked once per process (a scenario's tree,
    // the backend and the ops tables are the same for every program: the walk was most of a
    // capture's 0.3 ms) and remembered in SHARED (weakly).
    const markShared = (o: object): void => {
      const stack: unknown[] = [o];
      while (stack.length) {
        const x = stack.pop();
        if (x === null || (typeof x !== 'object' && typeof x !== 'function') || SHARED.has(x)) continue;
        SHARED.add(x);
        if (typeof x === 'function') continue;
        if (x instanceof Map) for (const [k, v] of x) stack.push(k, v);
        else if (x instanceof Set) for (const v of x) stack.push(v);
        else if (ArrayBuffer.isView(x)) continue;
        else for (const k of Reflect.ownKeys(x)) {
          const d = Object.getOwnPropertyDescriptor(x, k);
          if (d && 'value' in d) stack.push(d.value);
        }
      }
    };
    for (const s of shared) markShared(s);
    const snap = new GraphSnapshot();
    const seen = new Set<unknown>();
    const stack: unknown[] = [...roots];
    while (stack.length) {
      const x = stack.pop();
      if (x === null || typeof x !== 'object' || seen.has(x) || SHARED.has(x)) continue;
      seen.add(x);
      if (Object.isFrozen(x) && !ArrayBuffer.isView(x)) {
        markShared(x); // a frozen object is a constant: nothing under it is state either
        continue;
      }
      if (typeof (x as Partial<SnapshotsItself>)[SNAPSHOT_SELF] === 'function') {
        // The object restores what it owns itself; its other properties are walked as usual.
        const own = (x as SnapshotsItself)[SNAPSHOT_SELF]();
        for (const o of own.owned) seen.add(o);
        snap.selfRestores.push(own.restore);
      }
      if (ArrayBuffer.isView(x)) {
        if (x instanceof DataView) return snap.refuse('a DataView');
        const t = x as Typed;
        snap.typed.push(t);
        snap.typedVals.push(t.slice() as Typed);
        snap.typedBytes += t.byteLength;
        continue;
      }
      if (x instanceof ArrayBuffer) continue; // its views are saved; a buffer alone holds no state the model reads
      if (Array.isArray(x)) {
        snap.arrs.push(x);
        snap.arrVals.push(x.slice());
        for (const v of x) stack.push(v);
        continue;
      }
      if (x instanceof Map) {
        snap.maps.push(x);
        const ks: unknown[] = [];
        const vs: unknown[] = [];
        for (const [k, v] of x) { ks.push(k); vs.push(v); stack.push(k, v); }
        snap.mapKeys.push(ks);
        snap.mapVals.push(vs);
        continue;
      }
      if (x instanceof Set) {
        snap.sets.push(x);
        const vs = [...x];
        for (const v of vs) stack.push(v);
        snap.setVals.push(vs);
        continue;
      }
      // State in internal slots, which no walk of properties sees:
      if (x instanceof WeakMap || x instanceof WeakSet || x instanceof WeakRef || x instanceof Promise || x instanceof Date) return snap.refuse(x.constructor.name);
      const proto = Object.getPrototypeOf(x) as object | null;
      if (proto !== null && Object.getPrototypeOf(proto) === GeneratorProto) return snap.refuse('a generator (an operation paused at a yield point)');
      const keys = Reflect.ownKeys(x);
      const vals: unknown[] = [];
      for (const k of keys) {
        const d = Object.getOwnPropertyDescriptor(x, k)!;
        if (!('value' in d)) return snap.refuse(`an accessor property '${String(k)}' on ${String(proto?.constructor?.name)}`);
        vals.push(d.value);
        stack.push(d.value);
      }
      snap.objs.push(x as Obj);
      snap.objKeys.push(keys);
      snap.objVals.push(vals);
      snap.objSet.push(restorerFor(keys));
      snap.objEnum.push(proto === Object.prototype || proto === null ? Object.keys(x).length : -1);
    }
    return snap;
  }

  private refuse(why: string): null {
    refusal = why;
    return null;
  }

  /** Why the last capture() returned null. */
  static lastRefusal(): string {
    return refusal;
  }

  /** How much a restore writes (the bench and the docs report it). */
  census(): { objects: number; arrays: number; maps: number; sets: number; typedArrays: number; typedBytes: number } {
    return { objects: this.objs.length, arrays: this.arrs.length, maps: this.maps.length, sets: this.sets.length, typedArrays: this.typed.length, typedBytes: this.typedBytes };
  }

  /** Put every saved object back as it was at capture(). */
  restore(): void {
    const selfRestores = this.selfRestores;
    for (let i = 0; i < selfRestores.length; i++) selfRestores[i]();
    const objs = this.objs;
    for (let i = 0; i < objs.length; i++) {
      const o = objs[i];
      const keys = this.objKeys[i];
      this.objSet[i](o, this.objVals[i]);
      // A property added since the capture (an object used as a dictionary) goes again.
      const nEnum = this.objEnum[i];
      if (nEnum >= 0) {
        let n = 0;
        for (const k in o) if (Object.hasOwn(o, k)) n++;
        if (n !== nEnum) for (const k of Reflect.ownKeys(o)) if (!keys.includes(k)) delete o[k];
      }
    }
    const arrs = this.arrs;
    for (let i = 0; i < arrs.length; i++) {
      const a = arrs[i];
      const vals = this.arrVals[i];
      if (a.length !== vals.length) a.length = vals.length;
      for (let j = 0; j < vals.length; j++) a[j] = vals[j];
    }
    const maps = this.maps;
    for (let i = 0; i < maps.length; i++) {
      const m = maps[i];
      const ks = this.mapKeys[i];
      const vs = this.mapVals[i];
      // Common cases, left without clear() (which allocates a new table): unchanged, or the saved
      // entries still first in the same order with entries added after them (deleted here).
      let j = 0;
      let same = true;
      for (const k of m.keys()) {
        if (j < ks.length) {
          if (k !== ks[j] || m.get(k) !== vs[j]) {
            same = false;
            break;
          }
          j++;
        } else m.delete(k);
      }
      if (same && j === ks.length) continue;
      m.clear();
      for (let j = 0; j < ks.length; j++) m.set(ks[j], vs[j]);
    }
    const sets = this.sets;
    for (let i = 0; i < sets.length; i++) {
      const st = sets[i];
      const vs = this.setVals[i];
      let j = 0;
      let same = true;
      for (const v of st) {
        if (j < vs.length) {
          if (v !== vs[j]) {
            same = false;
            break;
          }
          j++;
        } else st.delete(v);
      }
      if (same && j === vs.length) continue;
      st.clear();
      for (let j = 0; j < vs.length; j++) st.add(vs[j]);
    }
    const typed = this.typed;
    for (let i = 0; i < typed.length; i++) (typed[i] as Uint8Array).set(this.typedVals[i] as Uint8Array);
  }
}
