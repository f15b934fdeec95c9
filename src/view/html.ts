// `pinlab view`'s page: one self-contained HTML file — the viewer's compiled module
// (src/view/browser/app.ts → dist/view/view/browser/app.js), its CSS, the pinlab-trace/1 document
// and the scenario sources, all inline. Nothing is loaded from anywhere: the page's
// Content-Security-Policy forbids it. docs/viewer.md.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { conflictPair, pinPairs } from '../trace/chrome.js';
import type { TraceDoc } from '../trace/format.js';

/** The compiled viewer module: dist/view/view/browser/app.js, beside this file's dist/src/view/. */
export function viewerScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const path = join(here, '..', '..', 'view', 'view', 'browser', 'app.js');
  return readFileSync(path, 'utf8').replace(/^export \{\};\s*$/m, '').replace(/\/\/# sourceMappingURL=.*$/m, '').replace(/<\/script/gi, '<\\/script');
}

/** JSON that can sit inside a <script> element: no "</script", no "<!--", no U+2028/2029 surprises. */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const CSS = `
:root { --fail: #d63031; --pass: #00a86b; --sel: #ffeaa7; --ink: #222; --muted: #666; --line: #ddd; }
* { box-sizing: border-box; }
body { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); margin: 0; background: #fafafa; }
header { display: flex; gap: 16px; align-items: center; padding: 8px 16px; background: #2d3436; color: #fff; }
header h1 { font-size: 15px; margin: 0; font-weight: 600; }
header select { font: inherit; }
section, aside { background: #fff; border: 1px solid var(--line); border-radius: 6px; margin: 10px 16px; padding: 8px 12px; }
h2 { font-size: 14px; margin: 4px 0 8px; } h3 { font-size: 12px; margin: 6px 0 4px; color: var(--muted); }
.verdict { padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; }
.verdict.pass { background: var(--pass); } .verdict.fail, .verdict.error, .verdict.invalid { background: var(--fail); } .verdict.incomplete { background: #e17055; }
.profile { color: var(--muted); font-weight: normal; }
.file { color: var(--muted); margin: 0 0 4px; }
.failure { color: var(--fail); font-family: ui-monospace, monospace; white-space: pre-wrap; margin: 4px 0; }
p.check { font-family: ui-monospace, monospace; margin: 2px 0; color: var(--fail); }
.schedule-row { display: flex; align-items: center; gap: 6px; margin-top: 6px; }
ol.schedule { list-style: none; display: flex; flex-wrap: wrap; gap: 3px; margin: 0; padding: 0; counter-reset: s; }
ol.schedule li { color: #fff; padding: 1px 7px; border-radius: 3px; font-size: 12px; counter-increment: s; }
ol.schedule li::before { content: counter(s) ". "; opacity: .7; }
.scroll { overflow-x: auto; }
svg text { font: 11px ui-monospace, monospace; }
rect.lane { fill: #fff; } rect.lane.odd { fill: #f4f6f8; }
text.lane-name { font-weight: 600; }
text.tick { fill: #999; text-anchor: middle; font-size: 9px; }
g.ev { cursor: pointer; } g.ev rect { opacity: .85; stroke: transparent; stroke-width: 3; }
g.ev text.ev-label { fill: #fff; text-anchor: middle; font-size: 10px; pointer-events: none; }
g.ev.failing rect { stroke: var(--fail); opacity: 1; } g.ev.selected rect { stroke: #f39c12; opacity: 1; }
line.paused { stroke: #999; stroke-dasharray: 4 3; stroke-width: 2; }
path.flow, line.paused { pointer-events: none; }
path.flow { fill: none; stroke-width: 1.5; } path.flow.pin { stroke: #636e72; stroke-dasharray: 2 2; } path.flow.conflict { stroke: var(--fail); stroke-width: 2.5; }
.main { display: grid; grid-template-columns: minmax(0, 5fr) minmax(260px, 2fr); gap: 0; }
.main > section, .main > aside { margin-right: 0; }
.main > aside { margin-right: 16px; }
#steps .scroll { max-height: 420px; overflow: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eee; vertical-align: top; }
th { position: sticky; top: 0; background: #fff; font-weight: 600; }
#step-table tbody tr { cursor: pointer; }
#step-table tbody tr:hover { background: #f1f2f6; }
#step-table tr.failing { background: #ffe3e3; } #step-table tr.failing td.failed-check { color: var(--fail); font-weight: 600; }
#step-table tr.selected { background: var(--sel); outline: 2px solid #f39c12; }
#step-table tr.failing.selected { background: #ffd0a8; }
#step-table tr.failing td:first-child { box-shadow: inset 4px 0 var(--fail); }
td.failed-check { min-width: 240px; max-width: 380px; overflow-wrap: anywhere; }
td.args, td.changes, td.failed-check, td.ret { font-family: ui-monospace, monospace; font-size: 12px; white-space: pre-wrap; }
td.changes { white-space: pre; }
td.op { font-weight: 600; }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 0; }
dt { color: var(--muted); } dd { margin: 0; font-family: ui-monospace, monospace; font-size: 12px; word-break: break-word; }
dd ul { margin: 0; padding-left: 16px; }
.hint { color: var(--muted); }
.page-row { display: flex; align-items: flex-start; gap: 8px; } .page-row h3 { width: 80px; flex: none; margin-top: 6px; }
path.line { fill: none; stroke-width: 2; } path.line.refcount { stroke: #3867d6; } path.line.pincount { stroke: #eb3b5a; } path.line.mapcount { stroke: #20bf6b; }
text.val { font-size: 9px; fill: #333; } text.val.content { fill: #8854d0; font-weight: 600; }
line.cursor { stroke: #f39c12; stroke-width: 2; }
pre { margin: 0; font: 12px/1.45 ui-monospace, monospace; max-height: 360px; overflow: auto; }
.src-line { display: block; } .src-line.hl { background: var(--sel); } .ln { color: #aaa; user-select: none; }
a.pos { color: #0984e3; }
`;

/** The HTML page for a document; `sources` maps each run's file to its text (what the position links show). */
export function viewHtml(doc: TraceDoc, sources: Readonly<Record<string, string>>, script: string = viewerScript()): string {
  const notes = {
    runs: doc.runs.map((r) => ({
      pins: pinPairs(r.events ?? []).map(([a, b]) => [a.seq, b.seq]),
      conflict: ((p) => (p ? [p[0].seq, p[1].seq] : null))(conflictPair(r)),
    })),
  };
  const title = doc.runs.length ? `${doc.runs[0].name} [${doc.runs[0].profile}]` : 'no runs';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="pinlab view">
<title>pinlab: ${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>pinlab view</h1><select id="run-select" aria-label="run"></select></header>
<section id="summary"></section>
<section id="lanes"><h2>Actors over steps</h2><div class="scroll"><svg id="lanes-svg" role="img" aria-label="swimlanes"></svg></div></section>
<div class="main">
<section id="steps"><h2>Steps</h2><div class="scroll"><table id="step-table"><thead><tr><th>#</th><th>step</th><th>actor</th><th>operation</th><th>arguments</th><th>result</th><th>folio changes</th><th>failed</th></tr></thead><tbody></tbody></table></div></section>
<aside id="details"></aside>
</div>
<section id="pages"><h2>Pages: refcount, pincount, mapcount, content</h2><div class="scroll" id="pages-body"></div></section>
<section id="source"><h2 id="source-title">Scenario</h2><div id="source-body"></div></section>
<script type="application/json" id="pinlab-trace">${scriptJson(doc)}</script>
<script type="application/json" id="pinlab-sources">${scriptJson(sources)}</script>
<script type="application/json" id="pinlab-annotations">${scriptJson(notes)}</script>
<script type="module">${script}</script>
</body>
</html>
`;
}
