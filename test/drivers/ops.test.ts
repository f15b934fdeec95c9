// The scenario operations of src/scenario/ops/drivers.ts: kernel-named arguments, their errors,
// and that driver pins are named in the leak report.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario } from '../../src/scenario/load.js';
import { modelBackend } from '../../src/scenario/model-backend.js';
import { runScenario } from '../../src/scenario/run.js';
import { ScenarioFileError } from '../../src/scenario/errors.js';

const backend = modelBackend();

function run(steps: string, extra = '') {
  const text = `name: t\nprofile: current\ntasks: [app]\n${extra}steps:\n${steps}`;
  return runScenario(loadScenario(text, 't.yaml', backend), backend);
}

const MAP = `  - mmap: {length: 4*PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS}\n    as: buf\n`;

test('ops: IB_ACCESS_* and VFIO_DMA_MAP_FLAG_* are written with their kernel names; an unknown name is an error naming the known ones', () => {
  assert.throws(() => run(`${MAP}  - ib_reg_mr: {addr: buf, length: PAGE_SIZE, access: IB_ACCESS_LOCAL_WRTE}\n`),
    (e: unknown) => e instanceof ScenarioFileError && /unknown flag 'IB_ACCESS_LOCAL_WRTE'.*IB_ACCESS_LOCAL_WRITE/.test(e.message));
  const [r] = run(`${MAP}  - vfio_dma_map: {vaddr: buf, size: PAGE_SIZE, iova: 0x1000, flags: VFIO_DMA_MAP_FLAG_READ}\n    expect: {ret: 0}\n`);
  assert.ok(r.ok, JSON.stringify(r.verdicts.filter((v) => !v.ok)));
});

test('ops: io_uring_register without a ring is an error; an unmodelled IORING_ opcode returns -EINVAL', () => {
  assert.throws(() => run(`${MAP}  - io_uring_register: {opcode: IORING_REGISTER_BUFFERS, addr: buf, len: PAGE_SIZE}\n`),
    (e: unknown) => e instanceof ScenarioFileError && /no io_uring ring/.test(e.message));
  const [r] = run(`${MAP}  - io_uring_setup: {}\n  - io_uring_register: {opcode: IORING_REGISTER_FILES}\n    expect: {ret: -EINVAL}\n`);
  assert.ok(r.ok);
});

test('ops: registered buffers may be given as an iovec list [base, len, ...]', () => {
  const [r] = run(`${MAP}  - write: {addr: buf, length: 4*PAGE_SIZE, value: 1}\n  - io_uring_setup: {}\n` +
    `  - io_uring_register: {opcode: IORING_REGISTER_BUFFERS, iovecs: [buf, PAGE_SIZE, buf + 2*PAGE_SIZE, 2*PAGE_SIZE]}\n    expect: {ret: 0}\n` +
    `  - expect:\n      - io_uring_buf: {index: 1}\n        nr_bvecs: 2\n      - vmstat: {}\n        nr_foll_pin_acquired: 3\n`);
  assert.ok(r.ok, JSON.stringify(r.verdicts.filter((v) => !v.ok)));
});

// A pin a driver never gives back shows up at teardown with the driver call that took it: the
// VFIO zero-page pins of 5.7 (put_pfn() skips reserved pages).
test('ops: a leaked driver pin is reported with the call that took it', () => {
  const text = `name: t\nprofile: '5.7'\ntasks: [vm]\nsteps:\n${MAP}` +
    `  - vfio_dma_map: {vaddr: buf, size: PAGE_SIZE, iova: 0x1000, flags: VFIO_DMA_MAP_FLAG_READ}\nend:\n  leaks: any\n`;
  const [r] = runScenario(loadScenario(text, 't.yaml', backend), backend);
  assert.equal(r.leaks.length, 1);
  assert.match(r.leaks[0], /held by vm vfio_dma_map \(iova 0x1000\) at step \d+/);
});
