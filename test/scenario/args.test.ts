// Operation arguments declared once (src/scenario/args.ts, ops/common.ts op()/query()): the shape
// types run()'s argument (a misspelt name does not compile: the @ts-expect-error lines below fail
// the build if it ever does), gives the loader its ArgSpecs, and reads the step's values for run().

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Arg, argsReader, bool, flags, handle, int, missing, name, oneOf, specsOf, str, value, type ArgsOf } from '../../src/scenario/args.js';
import { ScenarioError } from '../../src/scenario/backend.js';
import { op, pfn, query, ret, type Ctx } from '../../src/scenario/ops/common.js';
import { ALL_OPS, ALL_QUERIES } from '../../src/scenario/ops/index.js';
import { modelBackend } from '../../src/scenario/model-backend.js';
import { loadScenario } from '../../src/scenario/load.js';
import { ScenarioFileError } from '../../src/scenario/errors.js';
import type { Backend, OpDef } from '../../src/scenario/backend.js';
import { fakeBackend } from './fake-backend.js';

const GUP = { start: int(), nr_pages: int(), gup_flags: flags('default 0').default(0), file: name().optional() };

describe('args: the declaration types run()', () => {
  test('run() sees each declared argument with its type; a misspelt one is a compile error', () => {
    const seen: unknown[] = [];
    const impl = op({
      name: 't', summary: 't', needsTask: false, args: GUP,
      run(_c, a) {
        const start: number = a.start;
        const file: string | null = a.file;
        // @ts-expect-error 'strat' is not an argument of this operation
        seen.push(a.strat);
        // @ts-expect-error an optional argument may be null
        const f: string = a.file;
        seen.push(start, file, f, a.gup_flags);
        return ret(0);
      },
    });
    impl.run({} as Ctx, { start: 4096, nr_pages: 1 });
    assert.deepEqual(seen, [undefined, 4096, null, null, 0]);
  });

  test('destructuring a name the shape does not declare is a compile error too', () => {
    type A = ArgsOf<typeof GUP>;
    // @ts-expect-error 'nr_page' is not declared (nr_pages is)
    const pick = ({ nr_page }: A) => nr_page;
    const ok = ({ nr_pages }: A) => nr_pages;
    assert.equal(ok({ start: 0, nr_pages: 3, gup_flags: 0, file: null }), 3);
    assert.equal(typeof pick, 'function');
  });

  test('a query declares its arguments the same way', () => {
    const q = query({
      name: 'q', summary: 'q', needsTask: false, fields: ['x'], args: { index: int().default(0) },
      // @ts-expect-error 'idx' is not an argument of this query
      eval: (_c, a) => ({ x: a.idx }),
    });
    assert.deepEqual(q.args.map((s) => s.name), ['index']);
  });
});

describe('args: what the language sees', () => {
  test('specsOf keeps declaration order, types, required and docs', () => {
    assert.deepEqual(specsOf(GUP), [
      { name: 'start', type: 'int', required: true, doc: undefined },
      { name: 'nr_pages', type: 'int', required: true, doc: undefined },
      { name: 'gup_flags', type: 'flags', required: false, doc: 'default 0' },
      { name: 'file', type: 'name', required: false, doc: undefined },
    ]);
    assert.deepEqual(specsOf({ d: oneOf(['read', 'write']) }), [{ name: 'd', type: 'string', required: true, doc: undefined, oneOf: ['read', 'write'] }]);
    const dir: 'read' | 'write' = argsReader({ d: oneOf(['read', 'write']) })({ d: 'read' }, null).d;
    assert.equal(dir, 'read', 'run() sees the words as a union type');
    assert.deepEqual(specsOf({ f: flags().constants('FOLL_').default(0) }),
      [{ name: 'f', type: 'flags', required: false, doc: undefined, constants: 'FOLL_' }], 'the constants it is written with');
    assert.deepEqual(specsOf({ b: bool(), s: str('why'), v: value(), h: handle() }).map((s) => [s.type, s.required, s.doc]),
      [['bool', true, undefined], ['string', true, 'why'], ['value', true, undefined], ['value', true, undefined]]);
  });

  test('every operation and query of the model lists its ArgSpecs from its shape, with no name twice', () => {
    for (const o of [...ALL_OPS, ...ALL_QUERIES]) {
      const names = o.args.map((a) => a.name);
      assert.equal(new Set(names).size, names.length, `${o.name}: ${names.join(', ')}`);
      for (const a of o.args) assert.equal(typeof a.required, 'boolean', `${o.name}.${a.name} says whether it is required`);
    }
    const b = modelBackend();
    assert.deepEqual(b.ops.get('pin_user_pages_remote')!.args.map((a) => `${a.name}${a.required ? '' : '?'}:${a.type}`),
      ['mm:name', 'start:int', 'nr_pages:int', 'gup_flags?:flags', 'pages?:bool']);
  });
});

describe('args: reading a step\'s values', () => {
  const read = argsReader<typeof GUP, unknown>(GUP);

  test('defaults and optional arguments: absent and null read the same', () => {
    assert.deepEqual(read({ start: 1, nr_pages: 2 }, null), { start: 1, nr_pages: 2, gup_flags: 0, file: null });
    assert.deepEqual(read({ start: 1, nr_pages: 2, gup_flags: null, file: 'f' }, null), { start: 1, nr_pages: 2, gup_flags: 0, file: 'f' });
  });

  test('a missing required argument and a value of the wrong kind are ScenarioErrors naming the argument', () => {
    const err = (f: () => unknown) => {
      try { f(); } catch (e) { assert.ok(e instanceof ScenarioError); return [e.message, e.arg]; }
      return assert.fail('no error');
    };
    assert.deepEqual(err(() => read({ start: 1 }, null)), ["missing argument 'nr_pages'", 'nr_pages']);
    assert.deepEqual(err(() => read({ start: 1.5, nr_pages: 1 }, null)), ["'start' must be an integer", 'start']);
    assert.deepEqual(err(() => argsReader({ p: handle() })({ p: 3 }, null)),
      ["'p' must be a pages handle (bound with 'as:' from a GUP call)", 'p']);
    assert.deepEqual(err(() => argsReader({ b: bool() })({ b: 'yes' }, null)), ["'b' must be true or false", 'b']);
    assert.deepEqual(err(() => missing('addr')), ["missing argument 'addr'", 'addr']);
    assert.deepEqual(err(() => argsReader({ fs: oneOf(['ext4', 'tmpfs', 'vfat']) })({ fs: 'xfs' }, null)),
      ["fs must be ext4, tmpfs or vfat, not 'xfs'", 'fs']);
  });

  test('the kernel-side conversions: booleans as integers, integers as booleans', () => {
    assert.deepEqual(argsReader({ n: int(), b: bool() })({ n: true, b: 0 }, null), { n: 1, b: false });
  });

  test('map() reads on with the context (a PFN must be a page of the machine)', () => {
    const c = { k: { mem: { nrPages: 16 } } } as unknown as Ctx;
    const r = argsReader<{ page: Arg<number, Ctx> }, Ctx>({ page: pfn() });
    assert.deepEqual(r({ page: 15 }, c), { page: 15 });
    assert.throws(() => r({ page: 16 }, c), /'page' = 16 is not a page of this machine/);
    assert.throws(() => int().default(0).map((x) => x), /map\(\) goes before default\(\) and optional\(\)/);
  });

  test('an operation that does not exist in the profile says so before it reads its arguments', () => {
    const impl = op({
      name: 'gone', summary: '', needsTask: false, args: { page: int() }, exists: () => false,
      run: () => assert.fail('not run'),
    });
    const c = { k: { profile: { name: '5.1' } } } as unknown as Ctx;
    assert.throws(() => impl.run(c, {}), /^ScenarioError: gone\(\) does not exist in profile 5.1$/);
  });

  test('a preemptible operation reads its arguments when it starts running, not when it is created', () => {
    let reads = 0;
    const counted = int().map((x) => { reads++; return x; });
    const impl = op({
      name: 'p', summary: '', needsTask: false, args: { n: counted },
      run: () => ret(0),
      *steps(_c, a) { yield* []; return ret(a.n); },
    });
    const gen = impl.steps!({} as Ctx, { n: 7 });
    assert.equal(reads, 0);
    assert.deepEqual(gen.next(), { done: true, value: { ret: 7 } });
    assert.equal(reads, 1);
  });
});

describe('args: what the loader takes from the declaration', () => {
  test('a task an operation creates is the argument declared newTask(), whatever its name', () => {
    const base = fakeBackend();
    const spawn = (createsTask: boolean): Backend => {
      const o = op({ name: 'spawn', summary: 's', needsTask: true, args: { who: createsTask ? name().newTask() : name() }, run: () => ret(0) });
      return { ...base, ops: new Map<string, OpDef>([...base.ops, ['spawn', o]]) };
    };
    const text = 'name: t\ntasks: [main]\nsteps:\n  - spawn: {who: kid}\n  - write: {addr: 0, value: 1}\n    task: kid\n';
    assert.deepEqual(loadScenario(text, 't.yaml', spawn(true)).steps.map((st) => (st.kind === 'op' ? st.task?.name ?? null : null)), [null, 'kid']);
    assert.throws(() => loadScenario(text, 't.yaml', spawn(false)),
      (e) => e instanceof ScenarioFileError && /unknown task 'kid'/.test(e.message));
    assert.equal(modelBackend().ops.get('fork')!.args[0].createsTask, true);
  });
});
