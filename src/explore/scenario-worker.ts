// A worker thread of `pinlab explore --jobs N`: rebuilds the scenario program and explores the
// subtrees the main thread sends (parallel.ts).

import { parentPort, workerData } from 'node:worker_threads';
import { loadScenarioFile } from '../scenario/load.js';
import { modelBackend } from '../scenario/model-backend.js';
import { scenarioProgram } from './scenario.js';
import { explorePct } from './pct.js';
import { exploreSubtree, type SplitMode } from './split.js';
import { fromWire, type FromWorker, type WireTask, type WorkerInit } from './parallel.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);

try {
  const backend = modelBackend();
  const program = scenarioProgram(loadScenarioFile(init.spec.file, backend), backend, init.spec.profile);
  // (the main thread loaded the same file; a load error here would be a file changed underneath)
  // Each end state and trace key is sent once per worker (its first result that has it): a
  // worker's tasks come in index order and the main thread takes the union over results in
  // order, so nothing changes but the size of the messages (at many workers they were the cost).
  const sentStates = new Set<string>();
  const sentTraces = new Set<string>();
  const fresh = (xs: ReadonlySet<string>, sent: Set<string>) => {
    const out: string[] = [];
    for (const x of xs) if (!sent.has(x)) { sent.add(x); out.push(x); }
    return out;
  };
  let pending = 0;
  const onSchedule = () => {
    if (++pending >= 200) { post({ kind: 'progress', schedules: pending }); pending = 0; }
  };
  port.on('message', (m: WireTask) => {
    try {
      const r = 'subtree' in m
        ? exploreSubtree(program, fromWire(m.subtree), init.mode as SplitMode, { ...init.opts, onSchedule })
        : explorePct(program, { ...init.pct!, ...(init.opts.all !== undefined && { all: init.opts.all }), firstRun: m.runs.first, runs: m.runs.count, onSchedule });
      if (pending > 0) { post({ kind: 'progress', schedules: pending }); pending = 0; }
      post({ kind: 'result', index: m.index, result: {
        verdict: r.verdict, schedulesRun: r.schedulesRun, schedulesPruned: r.schedulesPruned, endStates: fresh(r.endStates, sentStates),
        failures: r.failures, ...(r.failure && { failure: { schedule: [...r.failure.schedule], message: r.failure.message } }),
        ...(r.traces && { traces: fresh(r.traces, sentTraces) }),
      } });
    } catch (e) {
      post({ kind: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    }
  });
} catch (e) {
  post({ kind: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
}
