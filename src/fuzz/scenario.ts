// A (shrunk) fuzz program as a pinlab scenario whose expectations are what the kernel returned:
// the steps are exactly those the model ran (model.ts), each call's ret and pin counter deltas,
// then the pages of every slot as the kernel showed them. On the model that still diverges, it
// fails; once the model is fixed, it is the regression test (scenarios/fuzz/).

import { Scalar, stringify } from 'yaml';
import type { Value } from '../scenario/backend.js';
import { pageTainted, taintedPages, type Difference } from './compare.js';
import type { RunResult } from './encode.js';
import type { ModelRun, Step } from './model.js';
import { MEM_KINDS, PAGE, describeCall, slotAddr, type Program } from './program.js';

export interface ScenarioMeta {
  readonly name: string;
  readonly kernel: string;
  readonly release: string;
  readonly profile: string;
  readonly seed: number;
  readonly machine: Readonly<Record<string, Value>>;
  readonly difference: Difference | null;
  readonly original: number;
  /** What the divergence was and how the model was fixed, first in the description. */
  readonly description?: string;
}

/** A number written in hex (addresses, tokens): a plain YAML scalar, as a scenario would spell it. */
const hex = (n: number): Scalar => {
  const s = new Scalar(n);
  s.format = 'HEX';
  return s;
};

function stepYaml(st: Step): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(st.args)) {
    args[k] = typeof v === 'number' && (k === 'addr' || k === 'buf' || k === 'local' || k === 'remote') && v >= 0x1000_0000 ? hex(v) : v;
    if (Array.isArray(v)) args[k] = v.map((x: number, i) => (i % 2 === 0 && x >= 0x1000_0000 ? hex(x) : x));
  }
  const out: Record<string, unknown> = { [st.op]: Object.keys(args).length ? args : null };
  if (st.task && st.task !== 'parent') out.task = st.task;
  return out;
}

/** The expected ret of the model step that ends a call, from the kernel's (pinfuzz's) ret of the call. */
function expectedRet(c: Program['calls'][number], st: Step, kret: number): unknown {
  switch (c.op) {
    case 'M':
      if (st.op === 'mmap') return kret === 0 || kret <= -1000 ? hex(slotAddr(c.a[0]!, 0)) : kret === 1 ? { ne: hex(slotAddr(c.a[0]!, 0)) } : kret;
      return kret <= -1000 ? kret + 1000 : 0;
    case 'T': return st.op === 'read' ? (kret < 0 ? kret : { ge: 0 }) : kret;
    case 'F': return kret === 0 ? { ge: 1 } : kret;
    case 'X': return undefined;
    default: return kret;
  }
}

export function scenarioYaml(p: Program, kernel: RunResult, model: ModelRun, meta: ScenarioMeta): string {
  const steps: unknown[] = [];
  for (const st of model.setup) steps.push(stepYaml(st));
  const tainted = taintedPages(p);
  for (let i = 0; i < p.calls.length; i++) {
    const c = p.calls[i]!;
    const k = kernel.calls[i]!;
    const mine = model.steps.filter((s) => s.call === i);
    mine.forEach((s, j) => {
      const y = stepYaml(s.step);
      const lastOfCall = j === mine.length - 1;
      const ret = c.op === 'S' ? (j === 0 ? k.ret : undefined) : c.op === 'M' ? expectedRet(c, s.step, k.ret) : lastOfCall || (c.op === 'T' && k.ret >= 0) ? expectedRet(c, s.step, k.ret) : undefined;
      if (j === 0) y.note = `call ${i + 1}: ${describeCall(c)}`;
      if (ret !== undefined) y.expect = { ret };
      steps.push(y);
    });
    steps.push({ expect: [{ vmstat: {}, nr_foll_pin_acquired: { delta: k.dA }, nr_foll_pin_released: { delta: k.dR } }] });
  }
  const checks: unknown[] = [];
  for (const [key, pages] of Object.entries(kernel.facts)) {
    const [task, slot] = key.split('.') as [string, string];
    pages.forEach((f, i) => {
      // A fresh mapping per check: the YAML writer would make shared objects anchors and aliases.
      const q = () => (task === 'parent' ? { addr: hex(slotAddr(Number(slot), i * PAGE)) } : { task, addr: hex(slotAddr(Number(slot), i * PAGE)) });
      if (f === '.') checks.push({ page: q(), present: false });
      else if (f === 'z') checks.push({ page: q(), present: true, zero_page: true });
      else {
        checks.push({ page: q(), present: true });
        if (!pageTainted(tainted, p, Number(slot), i)) checks.push({ data: q(), value: hex(parseInt(f, 16)) });
      }
    });
  }
  if (checks.length) steps.push({ expect: checks, note: "the pages as the kernel showed them (pagemap, kpageflags, the token at each page's start)" });
  const d = meta.difference;
  const doc = {
    name: meta.name,
    description: [
      ...(meta.description ? [meta.description, ''] : []),
      meta.seed >= 0 ? `Found by \`pinlab fuzz --kernel ${meta.kernel} --seed ${meta.seed}\` (program ${meta.original}) and shrunk; every expectation`
        : 'A pinlab fuzz program (src/fuzz/) run on the kernel and written as a scenario; every expectation',
      `is what Linux ${meta.release} (${meta.kernel}) returned or showed, run on its profile ${meta.profile}.`,
      d ? `First difference: ${d.what}: kernel ${JSON.stringify(d.kernel)}, model ${JSON.stringify(d.model)}.` : '',
      `Slots: ${[...new Set(p.calls.filter((c) => c.op === 'M').map((c) => `s${c.a[0]} = 0x${slotAddr(c.a[0]!, 0).toString(16)} (${MEM_KINDS[c.a[1]!]})`))].join(', ')}.`,
    ].filter(Boolean).join('\n'),
    source: `pinlab fuzz: ${meta.kernel} (Linux ${meta.release})`,
    profiles: [meta.profile],
    machine: meta.machine,
    tasks: ['parent'],
    steps,
  };
  return stringify(doc, { lineWidth: 110 });
}
