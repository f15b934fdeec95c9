// A small stand-in for the model, for testing the scenario language and the CLI without it.
// Pages have a refcount, a pincount and a content value; tasks map addresses to pages.
// Profile "5.1" has no pin tracking (a pin is a plain reference), "current" has it.
// The CLI tests load it with PINLAB_BACKEND=dist/test/scenario/fake-backend.js.

import {
  ScenarioError, type ArgSpec, type Backend, type BugReport, type OpDef, type QueryDef, type Session, type StepOutcome, type Value,
  type Warning,
} from '../../src/scenario/backend.js';

export const PAGE_SIZE = 4096;
const BIAS = 1024;

export const FAKE_CONSTANTS: Readonly<Record<string, number>> = {
  PAGE_SIZE, FOLL_WRITE: 1, FOLL_LONGTERM: 1 << 8, FOLL_PIN: 1 << 19,
  PROT_READ: 1, PROT_WRITE: 2, MAP_PRIVATE: 2, MAP_ANONYMOUS: 0x20,
  EFAULT: 14, EINVAL: 22, ENOMEM: 12,
};

type Args = Readonly<Record<string, Value>>;

const A = (name: string, type: ArgSpec['type'], required = true, doc?: string): ArgSpec => ({ name, type, required, ...(doc && { doc }) });

interface Page { refcount: number; pincount: number; value: number; pinnedAt: number[] }
interface Task { map: Map<number, number> }

const num = (a: Args, k: string, d?: number): number => {
  const v = a[k];
  if (v === undefined) {
    if (d !== undefined) return d;
    throw new ScenarioError(`missing ${k}`, k);
  }
  if (typeof v !== 'number') throw new ScenarioError(`${k} must be a number`, k);
  return v;
};

class FakeSession implements Session {
  readonly pages: Page[] = [];
  readonly tasks = new Map<string, Task>();
  readonly vm = { nr_foll_pin_acquired: 0, nr_foll_pin_released: 0 };
  readonly warns: Warning[] = [];
  bugRep: BugReport | null = null;
  stepNo = 0;
  nextAddr = 0x7f0000000000;
  readonly log: unknown[] = [];

  constructor(readonly profile: string, readonly machine: Args, tasks: readonly string[]) {
    for (const t of tasks) this.tasks.set(t, { map: new Map() });
  }

  private task(name: string | null): Task {
    const t = name === null ? undefined : this.tasks.get(name);
    if (!t) throw new ScenarioError(`no task '${name}'`, 'task');
    return t;
  }

  private page(t: Task, addr: number): number {
    return t.map.get(Math.floor(addr / PAGE_SIZE) * PAGE_SIZE) ?? -1;
  }

  private warn(id: string, message: string): void {
    if (!this.warns.some((w) => w.id === id)) this.warns.push({ id, message, step: this.stepNo });
  }

  step(task: string | null, op: string, a: Args): StepOutcome {
    if (this.bugRep) throw new ScenarioError('BUG earlier');
    this.stepNo++;
    this.log.push({ step: this.stepNo, task, op, args: a });
    const tracking = this.profile !== '5.1';
    switch (op) {
      case 'mmap': {
        const t = this.task(task);
        const len = num(a, 'length');
        if (len <= 0) return { ret: -22 };
        const addr = this.nextAddr;
        this.nextAddr += len + 16 * PAGE_SIZE;
        for (let x = addr; x < addr + len; x += PAGE_SIZE) {
          this.pages.push({ refcount: 1, pincount: 0, value: 0, pinnedAt: [] });
          t.map.set(x, this.pages.length - 1);
        }
        return { ret: addr };
      }
      case 'write': {
        const t = this.task(task);
        const addr = num(a, 'addr');
        for (let x = addr; x < addr + num(a, 'length', PAGE_SIZE); x += PAGE_SIZE) {
          const p = this.page(t, x);
          if (p < 0) return { ret: -14 };
          this.pages[p].value = num(a, 'value');
        }
        return { ret: 0 };
      }
      case 'pin_user_pages_fast': {
        const t = this.task(task);
        const start = num(a, 'start');
        const n = num(a, 'nr_pages');
        const flags = num(a, 'gup_flags', 0);
        if (n < 0) throw new ScenarioError('nr_pages must not be negative', 'nr_pages');
        if (flags & FAKE_CONSTANTS.FOLL_PIN) this.warn('gup-internal-flag', 'FOLL_PIN passed by the caller');
        const out: number[] = [];
        for (let i = 0; i < n; i++) {
          const p = this.page(t, start + i * PAGE_SIZE);
          if (p < 0) break;
          const pg = this.pages[p];
          pg.refcount += tracking ? BIAS : 1;
          pg.pincount++;
          pg.pinnedAt.push(this.stepNo);
          out.push(p);
        }
        if (tracking) this.vm.nr_foll_pin_acquired += out.length;
        return out.length === 0 && n > 0 ? { ret: -14, out: [] } : { ret: out.length, out };
      }
      case 'unpin_user_pages': {
        const h = a.pages;
        if (!Array.isArray(h)) throw new ScenarioError('pages must be a handle', 'pages');
        for (const p of h as number[]) {
          const pg = this.pages[p];
          if (pg.pincount === 0) {
            this.warn('unpin-unpinned', `unpin of page ${p} which is not pinned`);
            continue;
          }
          pg.refcount -= tracking ? BIAS : 1;
          pg.pincount--;
          pg.pinnedAt.pop();
        }
        if (tracking) this.vm.nr_foll_pin_released += (h as number[]).length;
        return { ret: null };
      }
      case 'fork': {
        const parent = this.task(task);
        const name = String(a.child);
        if (this.tasks.has(name)) throw new ScenarioError(`task '${name}' exists`, 'child');
        const child: Task = { map: new Map(parent.map) };
        for (const p of child.map.values()) this.pages[p].refcount++;
        this.tasks.set(name, child);
        return { ret: 100 + this.tasks.size };
      }
      case 'warn_once':
        this.warn(String(a.id), `WARN_ON_ONCE: ${String(a.id)}`);
        return { ret: 0 };
      case 'crash':
        if (a.warn_first === true) this.warn('before-bug', 'a WARN just before the BUG');
        this.bugRep = { message: `kernel BUG at mm/fake.c: ${String(a.message ?? 'bad page state')}`, step: this.stepNo, details: [] };
        return { ret: null };
      case 'reject':
        if (num(a, 'n') <= 0) throw new ScenarioError('n must be positive', 'n');
        return { ret: num(a, 'n') };
      case 'explode':
        throw new TypeError('the fake model exploded');
      default:
        throw new ScenarioError(`unknown op ${op}`);
    }
  }

  private pageFields(p: number): Record<string, Value> {
    if (p < 0) return { pfn: null, refcount: null, pincount: null, maybe_dma_pinned: null, value: null };
    const pg = this.pages[p];
    return {
      pfn: p, refcount: pg.refcount, pincount: pg.pincount,
      maybe_dma_pinned: this.profile === '5.1' ? null : pg.refcount >= BIAS, value: pg.value,
    };
  }

  query(task: string | null, q: string, a: Args): Readonly<Record<string, Value>> {
    switch (q) {
      case 'page': return this.pageFields(this.page(this.task(task), num(a, 'addr')));
      case 'pinned': {
        const h = a.pages as number[];
        const i = num(a, 'index', 0);
        if (i >= h.length) throw new ScenarioError(`index ${i} outside the handle`, 'index');
        return this.pageFields(h[i]);
      }
      case 'vmstat': return { ...this.vm };
      case 'data': {
        const p = this.page(this.task(task), num(a, 'addr'));
        return { value: p < 0 ? null : this.pages[p].value };
      }
      default: throw new ScenarioError(`unknown query ${q}`);
    }
  }

  warnings(): readonly Warning[] { return this.warns; }
  bug(): BugReport | null { return this.bugRep; }

  teardown(): { leaks: string[] } {
    if (this.bugRep) return { leaks: [] };
    const leaks: string[] = [];
    this.pages.forEach((pg, i) => {
      for (const s of pg.pinnedAt) leaks.push(`pfn ${i}: pinned by pin_user_pages_fast at step ${s}`);
    });
    return { leaks };
  }

  trace(): unknown { return { profile: this.profile, steps: this.log }; }
}

const op = (name: string, args: ArgSpec[], needsTask: boolean, summary = name): OpDef => ({ name, summary, args, needsTask, source: 'fake' });
const query = (name: string, args: ArgSpec[], needsTask: boolean, fields: string[]): QueryDef => ({ name, summary: name, args, needsTask, fields });
const PAGE_FIELDS = ['pfn', 'refcount', 'pincount', 'maybe_dma_pinned', 'value'];

export function fakeBackend(log?: { starts: unknown[] }): Backend {
  const ops = [
    op('mmap', [A('length', 'int'), A('prot', 'flags'), A('flags', 'flags')], true),
    op('write', [A('addr', 'int'), A('length', 'int', false), A('value', 'int')], true),
    op('pin_user_pages_fast', [A('start', 'int'), A('nr_pages', 'int'), A('gup_flags', 'flags', false)], true),
    op('unpin_user_pages', [A('pages', 'value')], false),
    op('fork', [{ ...A('child', 'name'), createsTask: true }], true),
    op('warn_once', [A('id', 'string')], false),
    op('crash', [A('message', 'string', false), A('warn_first', 'bool', false)], false),
    op('reject', [A('n', 'int')], false),
    op('explode', [], false),
  ];
  const queries = [
    query('page', [A('addr', 'int')], true, PAGE_FIELDS),
    query('pinned', [A('pages', 'value'), A('index', 'int', false)], false, PAGE_FIELDS),
    query('vmstat', [], false, ['nr_foll_pin_acquired', 'nr_foll_pin_released']),
    query('data', [A('addr', 'int')], true, ['value']),
  ];
  return {
    profiles: ['5.1', '5.19', 'current'],
    defaultProfile: 'current',
    machineArgs: [A('pages', 'int', false, 'memory size'), A('thp', 'string', false), A('strict', 'bool', false),
      A('orders', 'value', false)],
    ops: new Map(ops.map((o) => [o.name, o])),
    queries: new Map(queries.map((q) => [q.name, q])),
    constants: FAKE_CONSTANTS,
    start({ profile, machine, tasks }) {
      log?.starts.push({ profile, machine, tasks });
      if (machine.pages !== undefined && (machine.pages as number) < 1) throw new ScenarioError('pages must be at least 1', 'pages');
      return new FakeSession(profile, machine, tasks);
    },
  };
}

/** For the CLI (PINLAB_BACKEND). */
export function modelBackend(): Backend {
  return fakeBackend();
}
