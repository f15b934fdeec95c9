// The viewer in the browser (docs/viewer.md): reads the pinlab-trace/1 document and the scenario
// sources embedded in the page and draws, for the chosen run, the actors' swimlanes over steps, the
// schedule, the step table, the selected step's details and the per-page timelines. No framework:
// DOM and SVG by hand, a few hundred lines; src/view/html.ts inlines the compiled module.

import type { EventRecord, RunRecord, TraceDoc } from '../../trace/schema.js';

/** What src/view/html.ts embeds next to the document: per run, the flows it computed. */
interface Annotations {
  /** per run: [acquire seq, release seq] pairs, and the conflicting pair of a counterexample */
  readonly runs: ReadonlyArray<{ readonly pins: ReadonlyArray<readonly [number, number]>; readonly conflict: readonly [number, number] | null }>;
}

const SVG = 'http://www.w3.org/2000/svg';
const PALETTE = ['#3867d6', '#20bf6b', '#8854d0', '#fa8231', '#0fb9b1', '#eb3b5a', '#4b6584', '#f7b731'];

function json<T>(id: string): T {
  const el = document.getElementById(id);
  return JSON.parse(el?.textContent ?? 'null') as T;
}

/** An element with attributes and children. */
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...kids: Array<Node | string>): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const k of kids) el.append(k);
  return el;
}

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function show(v: unknown): string {
  if (typeof v === 'number' && Math.abs(v) >= 1 << 20) return `0x${v.toString(16)}`;
  if (Array.isArray(v)) return `[${v.slice(0, 8).map(show).join(', ')}${v.length > 8 ? `, … (${v.length})` : ''}]`;
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** The arguments, with decoded flags next to their numbers. */
function argsText(e: EventRecord): string {
  return Object.entries(e.args).map(([k, v]) => `${k}: ${e.flags[k] !== undefined ? `${e.flags[k]} (${show(v)})` : show(v)}`).join(', ');
}

function resultText(e: EventRecord): string {
  if (e.bug !== undefined) return 'BUG';
  if (e.pausedAt !== undefined) return `stopped at ${e.pausedAt}`;
  return e.errno ?? show(e.ret);
}

function opLabel(e: EventRecord): string {
  return e.resumedFrom !== undefined ? `${e.op} (resumed)` : e.op;
}

class Viewer {
  private run!: RunRecord;
  private runIndex = 0;
  private events: readonly EventRecord[] = [];
  private colours = new Map<string, string>();
  private failing = new Set<number>();
  private selected: number | null = null;

  constructor(readonly doc: TraceDoc, readonly sources: Readonly<Record<string, string>>, readonly notes: Annotations) {}

  start(): void {
    const select = document.getElementById('run-select') as HTMLSelectElement;
    this.doc.runs.forEach((r, i) => {
      select.append(h('option', { value: String(i) }, `${r.name} [${r.profile}] — ${r.verdict.toUpperCase()}`));
    });
    select.hidden = this.doc.runs.length < 2;
    select.addEventListener('change', () => this.show(Number(select.value)));
    // Start on the first failing run: that is what one opens a trace to see.
    const first = Math.max(0, this.doc.runs.findIndex((r) => r.verdict === 'fail'));
    select.value = String(first);
    this.show(first);
  }

  private show(i: number): void {
    this.runIndex = i;
    this.run = this.doc.runs[i];
    this.events = this.run.events ?? [];
    this.colours = new Map();
    const threads = this.threads();
    threads.forEach((t, k) => this.colours.set(t, PALETTE[k % PALETTE.length]));
    this.failing = this.failingSeqs();
    this.selected = null;
    this.summary();
    this.lanes(threads);
    this.table();
    this.pages();
    this.source();
    this.details(null);
    const f = [...this.failing].pop();
    if (f !== undefined) {
      this.select(f, false);
      // bring the failing row into the table's view without scrolling the page
      const row = document.querySelector<HTMLElement>(`#step-table tr[data-seq="${f}"]`);
      const box = document.querySelector<HTMLElement>('#steps .scroll');
      if (row && box) box.scrollTop = Math.max(0, row.offsetTop - box.clientHeight / 2);
    }
  }

  private threads(): string[] {
    const out: string[] = [];
    for (const t of [...(this.run.schedule ?? []), ...this.events.map((e) => e.thread)]) if (!out.includes(t)) out.push(t);
    return out;
  }

  /** The events of the failure: the BUG, else the last event of each failing check's step. */
  private failingSeqs(): Set<number> {
    const out = new Set<number>();
    if (this.run.verdict === 'pass') return out;
    for (const e of this.events) if (e.bug !== undefined) out.add(e.seq);
    if (out.size === 0) {
      for (const c of this.run.failedChecks) {
        const last = [...this.events].reverse().find((e) => e.step === c.step);
        if (last) out.add(last.seq);
      }
    }
    return out;
  }

  private posLink(pos: string | null): Node {
    if (pos === null) return document.createTextNode('');
    const line = /:(\d+):\d+$/.exec(pos)?.[1];
    const a = h('a', { href: `#L${line ?? ''}`, class: 'pos' }, pos);
    a.addEventListener('click', () => this.highlightLine(Number(line)));
    return a;
  }

  private summary(): void {
    const r = this.run;
    const el = document.getElementById('summary')!;
    el.replaceChildren();
    el.append(h('h2', {}, `${r.name} `, h('span', { class: 'profile' }, `[${r.profile}]`), ' ',
      h('span', { class: `verdict ${r.verdict}`, id: 'verdict' }, r.verdict.toUpperCase())));
    el.append(h('p', { class: 'file' }, `${r.file} · ${r.command}${typeof r.mode === 'string' ? ` (${r.mode})` : ''} · ${this.events.length} events`));
    if (r.failure) el.append(h('p', { class: 'failure', id: 'failure' }, r.failure));
    for (const c of r.failedChecks) {
      // the failure line says the description already: the check adds where it is written and why
      const said = r.failure !== null && r.failure.includes(c.description);
      el.append(h('p', { class: 'check failing' }, this.posLink(c.pos), ` ${said ? c.message ?? c.description : `${c.description}${c.message ? `: ${c.message}` : ''}`}`));
    }
    if (r.schedule) {
      const sched = h('ol', { class: 'schedule', id: 'schedule' });
      for (const a of r.schedule) {
        const li = h('li', { style: `background:${this.colours.get(a) ?? '#888'}` }, a);
        sched.append(li);
      }
      el.append(h('div', { class: 'schedule-row' }, h('span', {}, 'schedule: '), sched));
    }
  }

  /** Swimlanes: a row per actor, a column per step. */
  private lanes(threads: string[]): void {
    const svg = document.getElementById('lanes-svg') as unknown as SVGSVGElement;
    svg.replaceChildren();
    const cw = 46;
    const rh = 30;
    const left = 110;
    const n = this.events.length;
    const width = left + Math.max(1, n) * cw + 20;
    const height = threads.length * rh + 24;
    svg.setAttribute('width', String(width));
    svg.setAttribute('height', String(height));
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    const row = new Map(threads.map((t, i) => [t, i]));
    threads.forEach((t, i) => {
      svg.append(s('rect', { x: 0, y: i * rh, width, height: rh, class: i % 2 ? 'lane odd' : 'lane' }));
      svg.append(s('text', { x: 6, y: i * rh + rh / 2 + 4, class: 'lane-name', fill: this.colours.get(t) ?? '#000' }, t));
    });
    const x = (i: number) => left + i * cw;
    const index = new Map(this.events.map((e, i) => [e.seq, i]));
    this.events.forEach((e, i) => svg.append(s('text', { x: x(i) + cw / 2, y: height - 6, class: 'tick' }, String(e.seq))));
    // an operation stopped at a yield point: a dashed line from its stop to its resumption
    const stopped = new Map<string, number>();
    this.events.forEach((e, i) => {
      if (e.pausedAt !== undefined && e.resumedFrom === undefined) stopped.set(e.thread, i);
      if (e.resumedFrom !== undefined && stopped.has(e.thread)) {
        const from = stopped.get(e.thread)!;
        const y = row.get(e.thread)! * rh + rh / 2;
        svg.append(s('line', { x1: x(from) + cw - 4, y1: y, x2: x(i) + 4, y2: y, class: 'paused' }));
        if (e.pausedAt === undefined) stopped.delete(e.thread);
      }
    });
    this.events.forEach((e, i) => {
      const y = row.get(e.thread)! * rh;
      const g = s('g', { class: `ev${this.failing.has(e.seq) ? ' failing' : ''}`, 'data-seq': e.seq });
      g.append(s('rect', { x: x(i) + 3, y: y + 4, width: cw - 6, height: rh - 8, rx: 4, fill: this.colours.get(e.thread) ?? '#888' }));
      g.append(s('text', { x: x(i) + cw / 2, y: y + rh / 2 + 4, class: 'ev-label' }, abbreviate(opLabel(e))));
      g.append(s('title', {}, `#${e.seq} ${e.thread}: ${opLabel(e)}(${argsText(e)}) = ${resultText(e)}`));
      g.addEventListener('click', () => this.select(e.seq));
      svg.append(g);
    });
    // flows: a pin and its release (grey), the conflicting pair (red)
    const notes = this.notes.runs[this.runIndex];
    const arrow = (a: number, b: number, cls: string) => {
      const ia = index.get(a);
      const ib = index.get(b);
      if (ia === undefined || ib === undefined) return;
      const ya = row.get(this.events[ia].thread)! * rh + rh / 2;
      const yb = row.get(this.events[ib].thread)! * rh + rh / 2;
      const xa = x(ia) + cw / 2;
      const xb = x(ib) + cw / 2;
      const mid = (xa + xb) / 2;
      svg.append(s('path', { d: `M${xa},${ya} C${mid},${ya - 18} ${mid},${yb - 18} ${xb},${yb}`, class: `flow ${cls}` }));
    };
    for (const [a, b] of notes?.pins ?? []) arrow(a, b, 'pin');
    if (notes?.conflict) arrow(notes.conflict[0], notes.conflict[1], 'conflict');
  }

  private table(): void {
    const body = document.querySelector('#step-table tbody')!;
    body.replaceChildren();
    const checkRows = this.run.failedChecks.filter((c) => !this.events.some((e) => e.step === c.step));
    const rowOfCheck = (c: RunRecord['failedChecks'][number]) => h('tr', { class: 'check failing' },
      h('td', {}, ''), h('td', {}, c.step === null ? 'end' : String(c.step)), h('td', {}, ''), h('td', { colspan: '4' }, c.description),
      h('td', { class: 'failed-check' }, c.message ?? 'failed'));
    for (const e of this.events) {
      // a failed check of a step with no event of its own (an expectation step) comes where it ran
      if (this.run.schedule === null) {
        while (checkRows.length && checkRows[0].step !== null && e.step !== null && checkRows[0].step < e.step) body.append(rowOfCheck(checkRows.shift()!));
      }
      // a BUG is its own failed check: say it once
      const checks = this.run.failedChecks.filter((c) => c.step === e.step && this.failing.has(e.seq) && !(e.bug !== undefined && c.description.includes(e.bug)));
      const changes = e.changes.map((c) => `pfn ${c.pfn}: ref ${c.refcount} pin ${c.pincount} map ${c.mapcount} content ${c.content}${c.free ? ' free' : ''}`).join('\n');
      const tr = h('tr', { 'data-seq': String(e.seq), class: this.failing.has(e.seq) ? 'failing' : '' },
        h('td', {}, String(e.seq)), h('td', {}, e.step === null ? '' : String(e.step)),
        h('td', {}, h('span', { class: 'dot', style: `background:${this.colours.get(e.thread) ?? '#888'}` }), ` ${e.thread}`),
        h('td', { class: 'op' }, opLabel(e)), h('td', { class: 'args' }, argsText(e)), h('td', { class: 'ret' }, resultText(e)),
        h('td', { class: 'changes' }, changes + (e.foliosWritten > e.changes.length ? ` (+${e.foliosWritten - e.changes.length})` : '')),
        h('td', { class: 'failed-check' }, [...(e.bug !== undefined ? [`BUG: ${e.bug}`] : []), ...e.warnings.map((w) => `WARN ${w}`),
          ...checks.map((c) => `${c.description}${c.message ? `: ${c.message}` : ''}`)].join('\n')));
      tr.addEventListener('click', () => this.select(e.seq));
      body.append(tr);
    }
    for (const c of checkRows) body.append(rowOfCheck(c));
  }

  private select(seq: number, scroll = true): void {
    this.selected = seq;
    for (const el of document.querySelectorAll('[data-seq]')) el.classList.toggle('selected', el.getAttribute('data-seq') === String(seq));
    const e = this.events.find((x) => x.seq === seq) ?? null;
    this.details(e);
    for (const c of document.querySelectorAll<SVGLineElement>('line.cursor')) {
      const i = this.events.findIndex((x) => x.seq === seq);
      c.setAttribute('x1', c.dataset.x0 !== undefined ? String(Number(c.dataset.x0) + (i + 1) * Number(c.dataset.cw)) : '0');
      c.setAttribute('x2', c.getAttribute('x1')!);
    }
    if (scroll) document.querySelector(`#step-table tr[data-seq="${seq}"]`)?.scrollIntoView({ block: 'nearest' });
    if (e?.pos) this.highlightLine(Number(/:(\d+):\d+$/.exec(e.pos)?.[1]), false);
  }

  private details(e: EventRecord | null): void {
    const el = document.getElementById('details')!;
    el.replaceChildren(h('h2', {}, e ? `Step ${e.seq}: ${opLabel(e)}` : 'Step'));
    if (!e) {
      el.append(h('p', { class: 'hint' }, 'Click a step in the lanes or the table.'));
      return;
    }
    const dl = h('dl', {});
    const item = (k: string, v: Node | string) => dl.append(h('dt', {}, k), h('dd', {}, v));
    item('actor', `${e.thread}${e.task && e.task !== e.thread ? ` (task ${e.task})` : ''}`);
    item('scenario', e.pos === null ? '(outside the steps)' : h('span', {}, `step ${e.step} at `, this.posLink(e.pos)));
    item('arguments', argsText(e) || '(none)');
    for (const [k, v] of Object.entries(e.flags)) item(k, v);
    item('result', resultText(e) + (e.out !== undefined ? ` → ${show(e.out)}` : ''));
    if (e.bug !== undefined) item('BUG', e.bug);
    for (const w of e.warnings) item('WARN', w);
    for (const a of e.allocFailures ?? []) item('ALLOC', a);
    if (Object.keys(e.vmstat).length) item('vmstat', Object.entries(e.vmstat).map(([k, v]) => `${k} ${v > 0 ? '+' : ''}${v}`).join(', '));
    if (e.notes.length) item('notes', h('ul', {}, ...e.notes.map((n) => h('li', {}, n))));
    const fp = (side: Record<string, ReadonlyArray<readonly [number, number]>>) =>
      Object.entries(side).map(([k, runs]) => `${k} ${runs.map(([lo, hi]) => (lo === hi ? lo : `${lo}-${hi}`)).join(',')}`).join('; ') || '—';
    item('reads', fp(e.footprint.reads));
    item('writes', fp(e.footprint.writes));
    el.append(dl);
    const t = h('table', { id: 'changes' }, h('thead', {}, h('tr', {}, ...['pfn', 'refcount', 'pincount', 'mapcount', 'content', 'flags'].map((c) => h('th', {}, c)))));
    const tb = h('tbody', {});
    for (const c of e.changes) {
      tb.append(h('tr', {}, h('td', {}, `pfn ${c.pfn}`), h('td', {}, String(c.refcount)), h('td', {}, String(c.pincount)), h('td', {}, String(c.mapcount)),
        h('td', {}, String(c.content)), h('td', {}, c.free ? 'free' : c.flags.join(' '))));
    }
    t.append(tb);
    el.append(h('h3', {}, `Folio changes (${e.foliosWritten} written)`), e.changes.length ? t : h('p', { class: 'hint' }, 'none'));
  }

  /** Per page: refcount, pincount, mapcount and content over the steps. */
  private pages(): void {
    const el = document.getElementById('pages-body')!;
    el.replaceChildren();
    const pfns: number[] = [];
    for (const e of this.events) for (const c of e.changes) if (!pfns.includes(c.pfn)) pfns.push(c.pfn);
    if (pfns.length === 0) { el.append(h('p', { class: 'hint' }, 'No step wrote a folio.')); return; }
    const shown = pfns.slice(0, 16);
    const cw = 46;
    const left = 110;
    const rh = 22;
    const fields = ['refcount', 'pincount', 'mapcount', 'content'] as const;
    for (const pfn of shown) {
      const width = left + this.events.length * cw + 20;
      const svg = s('svg', { width, height: fields.length * rh + 6, class: 'page', 'data-pfn': pfn });
      // the value after each event, carried forward from the last change
      const values = fields.map(() => [] as Array<number | null>);
      const cur: Array<number | null> = fields.map(() => null);
      for (const e of this.events) {
        const c = e.changes.find((x) => x.pfn === pfn);
        if (c) fields.forEach((f, k) => { cur[k] = c[f]; });
        fields.forEach((_, k) => values[k].push(cur[k]));
      }
      fields.forEach((f, k) => {
        const y0 = k * rh;
        svg.append(s('text', { x: 6, y: y0 + rh / 2 + 4, class: 'lane-name' }, f));
        const vs = values[k];
        const nums = vs.filter((v): v is number => v !== null);
        const max = Math.max(1, ...nums);
        let prev: number | null = null;
        let path = '';
        vs.forEach((v, i) => {
          if (v === null) return;
          const y = f === 'content' ? y0 + rh / 2 : y0 + rh - 3 - ((rh - 8) * v) / max;
          const x0 = left + i * cw;
          path += `${path ? 'L' : 'M'}${x0},${y} L${x0 + cw},${y} `;
          if (v !== prev) svg.append(s('text', { x: x0 + 3, y: f === 'content' ? y + 4 : Math.max(y0 + 9, y - 2), class: `val ${f}` }, String(v)));
          prev = v;
        });
        if (f !== 'content') svg.append(s('path', { d: path, class: `line ${f}` }));
      });
      const cursor = s('line', { x1: 0, y1: 0, x2: 0, y2: fields.length * rh, class: 'cursor' });
      cursor.dataset.x0 = String(left - cw / 2);
      cursor.dataset.cw = String(cw);
      svg.append(cursor);
      el.append(h('div', { class: 'page-row' }, h('h3', {}, `pfn ${pfn}`), svg));
    }
    if (pfns.length > shown.length) el.append(h('p', { class: 'hint' }, `and ${pfns.length - shown.length} more pages`));
  }

  private source(): void {
    const el = document.getElementById('source-body')!;
    el.replaceChildren();
    const text = this.sources[this.run.file];
    document.getElementById('source-title')!.textContent = `Scenario: ${this.run.file}`;
    if (text === undefined) { el.append(h('p', { class: 'hint' }, 'The scenario file was not available when the page was made.')); return; }
    const pre = h('pre', {});
    text.split('\n').forEach((line, i) => {
      pre.append(h('span', { id: `L${i + 1}`, class: 'src-line' }, h('span', { class: 'ln' }, String(i + 1).padStart(4)), ` ${line}\n`));
    });
    el.append(pre);
  }

  private highlightLine(line: number, scroll = true): void {
    for (const l of document.querySelectorAll('.src-line.hl')) l.classList.remove('hl');
    const el = document.getElementById(`L${line}`);
    el?.classList.add('hl');
    if (scroll) el?.scrollIntoView({ block: 'center' });
  }
}

/** A label that fits a lane cell: "pin_user_pages_fast" → "pupf". */
function abbreviate(op: string): string {
  const base = op.replace(/ \(resumed\)$/, '');
  const short = base.length <= 6 ? base : base.split('_').filter(Boolean).map((w) => w[0]).join('');
  return op.endsWith('(resumed)') ? `${short}…` : short;
}

const doc = json<TraceDoc>('pinlab-trace');
const viewer = new Viewer(doc, json<Record<string, string>>('pinlab-sources') ?? {}, json<Annotations>('pinlab-annotations') ?? { runs: [] });
viewer.start();
(window as unknown as { pinlabViewer: Viewer }).pinlabViewer = viewer;
