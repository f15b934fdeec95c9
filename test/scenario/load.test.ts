import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ScenarioFileError } from '../../src/scenario/errors.js';
import { loadScenario } from '../../src/scenario/load.js';
import type { OpStep } from '../../src/scenario/ast.js';
import { fakeBackend } from './fake-backend.js';

const backend = fakeBackend();

/** Load a scenario that must fail; returns its diagnostics as "line:col: message". */
function errors(text: string): string[] {
  try {
    loadScenario(text, 'f.yaml', backend);
  } catch (e) {
    assert.ok(e instanceof ScenarioFileError, `expected ScenarioFileError, got ${String(e)}`);
    for (const d of e.diagnostics) assert.equal(d.pos.file, 'f.yaml');
    return e.diagnostics.map((d) => `${d.pos.line}:${d.pos.col}: ${d.message}`);
  }
  assert.fail('the scenario loaded without errors');
}

const load = (text: string) => loadScenario(text, 'f.yaml', backend);

const HEAD = `name: t
tasks: [parent]
steps:
  - mmap: { length: 4*PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
`;

describe('loading valid scenarios', () => {
  test('the reference example', () => {
    const s = load(`name: ro-pin-then-fork
description: |
  R/O long-term pin, fork.
  Second line.
source: tools/testing/selftests/mm/cow.c
profiles: [5.1, current]
machine: { pages: 16K, thp: never, strict: true, orders: [2, 4] }
tasks: [parent]
steps:
  - mmap: { length: 4*PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - write: { addr: buf, length: 4*PAGE_SIZE, value: 1 }
  - pin_user_pages_fast: { start: buf, nr_pages: 4, gup_flags: FOLL_LONGTERM }
    task: parent
    as: P
    note: the long-term pin
    expect: { ret: 4, warn: none, checks: [{ pinned: { pages: P, index: 3 }, pincount: 1 }] }
  - fork: { child: child }
  - expect:
      - page: { addr: buf }
        refcount: { by_profile: { "5.1": 3, current: 1026 } }
        maybe_dma_pinned: { one_of: [true, null] }
      - vmstat: {}
        nr_foll_pin_acquired: { delta: 4 }
      - data: { task: child, addr: buf }
        value: 1
  - unpin_user_pages: { pages: P }
    profiles: [current]
end: { leaks: none, no_warns: true }
`);
    assert.equal(s.name, 'ro-pin-then-fork');
    assert.equal(s.description, 'R/O long-term pin, fork.\nSecond line.\n');
    assert.deepEqual(s.profiles, ['5.1', 'current']);
    assert.equal(s.profilesGiven, true);
    assert.deepEqual(s.machine, { pages: 16384, thp: 'never', strict: true, orders: [2, 4] });
    assert.deepEqual(s.tasks, ['parent']);
    assert.equal(s.steps.length, 6);
    const pin = s.steps[2] as OpStep;
    assert.equal(pin.kind, 'op');
    assert.equal(pin.op, 'pin_user_pages_fast');
    assert.deepEqual(pin.task?.name, 'parent');
    assert.equal(pin.bind?.name, 'P');
    assert.equal(pin.note, 'the long-term pin');
    assert.deepEqual([pin.pos.line, pin.pos.col], [13, 5]);
    assert.deepEqual(pin.args.map((a) => a.name), ['start', 'nr_pages', 'gup_flags']);
    assert.ok(pin.expect?.ret && pin.expect.warn);
    assert.equal(pin.expect.checks[0].label, 'pinned{pages: P, index: 3}');
    const ex = s.steps[4];
    assert.equal(ex.kind, 'expect');
    assert.equal(ex.kind === 'expect' && ex.checks.length, 3);
    if (ex.kind === 'expect') {
      assert.equal(ex.checks[0].staticArgs, false);
      assert.equal(ex.checks[1].staticArgs, true);
      assert.equal(ex.checks[2].task?.name, 'child');
      assert.equal(ex.checks[2].label, 'data{task: child, addr: buf}');
      assert.equal(ex.checks[0].fields[0].expected.kind, 'by_profile');
    }
    assert.deepEqual(s.steps[5].profiles, ['current']);
    assert.equal(s.end.noWarns?.expected.kind, 'all');
  });

  test('defaults: profile, tasks, end', () => {
    const s = load('name: x\nsteps: []\n');
    assert.deepEqual(s.profiles, ['current']);
    assert.equal(s.profilesGiven, false);
    assert.deepEqual(s.tasks, ['main']);
    assert.deepEqual(s.end.leaks.expected, { kind: 'all', value: 'none' });
  });

  test('profile names keep their spelling (5.19 is not 5.190, 5.1 is a string)', () => {
    assert.deepEqual(load('name: x\nprofile: 5.19\nsteps: []\n').profiles, ['5.19']);
    assert.deepEqual(errors('name: x\nprofile: 5.10\nsteps: []\n'),
      ["2:10: unknown profile '5.10'; did you mean '5.1'? (profiles: 5.1, 5.19, current)"]);
  });

  test('quoted expressions may start with ! or *; a single check may stand alone', () => {
    const s = load(`${HEAD}  - write: { addr: buf, value: "!0" }
  - expect: { data: { addr: buf }, value: '-EFAULT + 15' }
`);
    assert.equal(s.steps.length, 3);
  });

  test('an op step may check what it binds; a forked task may be named by later steps', () => {
    load(`${HEAD}  - pin_user_pages_fast: { start: buf, nr_pages: 1 }
    as: P
    expect: { checks: [{ pinned: { pages: P }, pincount: 1 }] }
  - fork: { child: kid }
  - write: { addr: buf, value: 3 }
    task: kid
`);
  });
});

describe('errors point at the exact token', () => {
  test('a bad flag name on line 7, column 40', () => {
    assert.deepEqual(errors(`name: flags
tasks: [parent]
# a comment

steps:
  # the mapping
  - mmap: { length: 2*PAGE_SIZE, prot: PROT_RAED, flags: MAP_PRIVATE|MAP_ANONYMOUS }
`), ["7:40: unknown name 'PROT_RAED'; did you mean 'PROT_READ'?"]);
  });

  test('inside a quoted scalar, and inside a block-style value', () => {
    assert.deepEqual(errors(`${HEAD}  - write: { addr: "buf + PAGESIZE", value: 1 }
`), ["6:27: unknown name 'PAGESIZE'; did you mean 'PAGE_SIZE'?"]);
    assert.deepEqual(errors(`${HEAD}  - pin_user_pages_fast:
      start: buf
      nr_pages: 1 +
      gup_flags: FOLL_WRITE|FOLL_LONGTREM
`), ["8:20: expected a number, a name or '(', found the end of the expression",
      "9:29: unknown name 'FOLL_LONGTREM'; did you mean 'FOLL_LONGTERM'?"]);
  });

  test('inside a plain scalar that spans lines', () => {
    assert.deepEqual(errors(`${HEAD}  - write:
      addr: buf +
        2*PAGE_SIZ
      value: 1
    expect:
      - data: { addr: buf }
        value: 1
`), ["8:11: unknown name 'PAGE_SIZ'; did you mean 'PAGE_SIZE'?",
      '11:7: the expect of step 2 must be a mapping (ret:, warn:, bug:, checks:), found a list; put the checks under checks:']);
    const s = load(`${HEAD}  - expect:
      - data: { addr: buf }
        value: 1 +
          2
`);
    assert.equal(s.steps[1].kind === 'expect' && s.steps[1].checks[0].fields[0].expected.kind === 'all'
      && s.steps[1].checks[0].fields[0].expected.value.kind === 'eq'
      && s.steps[1].checks[0].fields[0].expected.value.value.kind === 'expr'
      && s.steps[1].checks[0].fields[0].expected.value.value.src, '1 +\n          2');
  });

  test('unknown operation, with the nearest name', () => {
    assert.deepEqual(errors(`${HEAD}  - pin_user_page_fast: { start: buf, nr_pages: 1 }
`), ["6:5: unknown operation 'pin_user_page_fast'; did you mean 'pin_user_pages_fast'?"]);
    assert.deepEqual(errors(`${HEAD}  - expcet: { vmstat: {}, nr_foll_pin_acquired: 0 }
`), ["6:5: unknown operation 'expcet'; did you mean 'expect'?"]);
    assert.deepEqual(errors(`${HEAD}  - frobnicate: {}
`), ["6:5: unknown operation 'frobnicate'"]);
  });

  test('YAML syntax errors', () => {
    const e = errors('name: x\nsteps:\n  - mmap: { length: 1\n');
    assert.equal(e.length >= 1, true);
    assert.match(e[0], /^\d+:\d+: YAML: /);
    assert.deepEqual(errors('name: x\nname: y\nsteps: []\n').map((x) => x.slice(0, 4)), ['2:1:']);
    assert.match(errors(`${HEAD}  - write: { addr: buf, value: !0 }\n`)[0], /quote it/);
    // Inside { }, a plain value cannot contain [ ] { } or ','; only the first YAML error is reported.
    const flow = errors(`${HEAD}  - write: { addr: P[1], value: 1 }\n`);
    assert.equal(flow.length, 1);
    assert.match(flow[0], /^6:\d+: YAML: .*quote values that contain/);
  });

  test('a file that is not a scenario', () => {
    assert.deepEqual(errors(''), ['1:1: the file is empty: expected a scenario (a mapping with name: and steps:)']);
    assert.deepEqual(errors('- a\n- b\n'), ['1:1: expected a scenario (a mapping with name: and steps:), found a list']);
    assert.deepEqual(errors('description: x\n'), [
      "1:1: missing key name: (the scenario's name)", '1:1: missing key steps: (the list of steps)']);
  });
});

describe('validation', () => {
  test('top-level keys, types, profiles, machine', () => {
    assert.deepEqual(errors(`name: x
stpes: []
profile: current
profiles: [current]
machine: { pages: 16, trp: never, strict: 3 }
tasks: { a: 1 }
steps: { a: 1 }
`), [
      "2:1: unknown key 'stpes' in the scenario; did you mean 'steps'? (expected one of: name, description, source, profile, profiles, machine, tasks, steps, end, setup, actors, finally, explore)",
      '4:1: give either profile: or profiles:, not both',
      "5:23: unknown machine setting 'trp'; did you mean 'thp'? (settings: pages?, thp?, strict?, orders?)",
      "5:43: machine setting 'strict' must be true or false, found 3",
      '6:8: tasks must be a list, found a mapping',
      '7:8: steps must be a list, found a mapping',
    ]);
  });

  test('arguments: unknown, missing, wrong shape, wrong type', () => {
    assert.deepEqual(errors(`${HEAD}  - pin_user_pages_fast: { start: buf, nr_page: 4 }
  - write: [buf, 1]
  - unpin_user_pages: { pages: { a: 1 } }
  - fork: { child: "not a name" }
  - pin_user_pages_fast: { start: buf, nr_pages: 1, task: parent }
`), [
      "6:5: missing argument 'nr_pages' of operation 'pin_user_pages_fast' (it takes: start, nr_pages, gup_flags?)",
      "6:40: unknown argument 'nr_page' of operation 'pin_user_pages_fast'; did you mean 'nr_pages'? (it takes: start, nr_pages, gup_flags?)",
      "7:12: the arguments of operation 'write' must be a mapping, found a list",
      "8:32: argument 'pages' must be a value, found a mapping",
      "9:20: argument 'child' must be a name (letters, digits, '_', '.', '-'), found 'not a name'",
      "10:53: unknown argument 'task' of operation 'pin_user_pages_fast'; give the task beside the operation: `task: NAME` on the step (it takes: start, nr_pages, gup_flags?)",
    ]);
  });

  test('step keys', () => {
    assert.deepEqual(errors(`${HEAD}  - write: { addr: buf, value: 1 }
    tsak: parent
  - write: { addr: buf, value: 1 }
    fork: { child: c }
  - expect: { vmstat: {}, nr_foll_pin_acquired: 0 }
    as: x
  - note: nothing
  - unpin_user_pages: { pages: buf }
    task: parent
`), [
      "7:5: unknown key 'tsak' in step 2; did you mean 'task'? (a step has one operation and: task, as, expect, note, profiles, preempt)",
      "9:5: step 3 has a second operation 'fork' after 'write': one step runs one operation",
      "11:5: 'as' has no meaning on an expect step",
      '12:5: step 5 has no operation: expected an operation (see `pinlab ops`) or expect',
      "14:5: operation 'unpin_user_pages' does not run in a task; remove task:",
    ]);
  });

  test('tasks must be declared or created by an earlier step', () => {
    assert.deepEqual(errors(`${HEAD}  - write: { addr: buf, value: 1 }
    task: child
  - fork: { child: child }
  - write: { addr: buf, value: 1 }
    task: chlid
  - expect: { data: { task: nobody, addr: buf }, value: 1 }
`), [
      "7:11: unknown task 'child' (tasks so far: parent)",
      "10:11: unknown task 'chlid'; did you mean 'child'? (tasks so far: parent, child)",
      "11:29: unknown task 'nobody' (tasks so far: parent, child)",
    ]);
  });

  test('names must be bound before use; as: may not shadow constants', () => {
    assert.deepEqual(errors(`${HEAD}  - unpin_user_pages: { pages: P }
  - pin_user_pages_fast: { start: bfu, nr_pages: 1 }
    as: P
  - write: { addr: buf, value: 1 }
    as: PAGE_SIZE
  - write: { addr: buf, value: 1 }
    as: len
`), [
      "6:32: unknown name 'P'; it is bound by 'as:' at step 3, which comes later",
      "7:35: unknown name 'bfu'; did you mean 'buf'?",
      "10:9: 'PAGE_SIZE' is a constant; choose another name",
      "12:9: 'len' is a reserved word; choose another name",
    ]);
  });

  test('checks: queries, fields, comparisons, by_profile', () => {
    assert.deepEqual(errors(`${HEAD}  - expect:
      - pgae: { addr: buf }
        refcount: 1
      - page: { addr: buf }
        refcont: 1
      - page: { addr: buf }
        refcount: { gt: 1 }
      - page: { addr: buf }
        refcount: { by_profile: { "5.2": 1, current: 2 } }
      - vmstat: {}
        page: { addr: buf }
        nr_foll_pin_acquired: 1
      - vmstat: {}
        nr_foll_pin_acquired: { delta: 1, ge: 0 }
      - page: { addr: buf }
`), [
      "7:9: unknown query 'pgae'; did you mean 'page'?",
      "10:9: unknown field 'refcont' of query 'page'; did you mean 'refcount'? (fields: pfn, refcount, pincount, maybe_dma_pinned, value)",
      "12:21: unknown comparison 'gt'; did you mean 'ge'? (expected one of: delta, ge, le, ne, one_of, by_profile)",
      "14:35: unknown profile '5.2'; did you mean '5.1'? (profiles: 5.1, 5.19, current, or default)",
      "16:9: a check names one query; 'page' is a second one (put it in a check of its own)",
      '19:31: an expected value written as a mapping must have exactly one key (delta, ge, le, ne, one_of or by_profile), found 2',
      "20:9: this check of 'page' compares no field (fields: pfn, refcount, pincount, maybe_dma_pinned, value)",
    ]);
  });

  test('step expect keys; warn and bug values; end', () => {
    assert.deepEqual(errors(`${HEAD}  - write: { addr: buf, value: 1 }
    expect: { ret: 0, wran: x, vmstat: {} }
  - write: { addr: buf, value: 1 }
    expect: { ret: { delta: 1 }, warn: [a], bug: { by_profile: { current: oops, default: false } } }
end: { leaks: some, warns: [a, b], no_warn: true }
`), [
      "7:23: unknown key 'wran' in the expect of a step; did you mean 'warn'? (expected one of: ret, warn, bug, checks)",
      "7:32: unknown key 'vmstat' in the expect of a step; put query checks in a list under checks: (expected one of: ret, warn, bug, checks)",
      '9:22: ret cannot be compared with delta: a return value has no earlier value',
      '9:40: warn must be a substring to look for, true (any) or false/none, found a list',
      '10:15: leaks must be none, any, or a list of substrings of the expected leak lines, found \'some\'',
      "10:36: unknown key 'no_warn' in end; did you mean 'no_warns'? (expected one of: leaks, warns, no_warns)",
    ]);
  });

  test('delta: a first check needs constant arguments (its baseline is taken at start)', () => {
    const msg = errors(`${HEAD}  - expect:
      - page: { addr: buf }
        refcount: { delta: 0 }
`);
    assert.equal(msg.length, 1);
    assert.match(msg[0], /^8:9: \{delta: N\} compares with the previous check of page\{addr: buf\}\.refcount, and there is none before this one/);
    // After an absolute check of the same query, arguments and field, delta is fine.
    load(`${HEAD}  - expect:
      - page: { addr: buf }
        refcount: 1
  - write: { addr: buf, value: 1 }
  - expect:
      - page: { addr: buf }
        refcount: { delta: 0 }
      - vmstat: {}
        nr_foll_pin_acquired: { delta: 0 }
`);
  });

  test('every error in the file is reported, in file order', () => {
    const e = errors(`name: x
steps:
  - mmap: { length: 1, prot: 0, flags: 0, bogus: 1 }
  - fork:
  - nope: {}
`);
    assert.deepEqual(e.map((x) => x.split(':').slice(0, 2).join(':')), ['3:43', '4:5', '5:5']);
    assert.match(e[1], /missing argument 'child' of operation 'fork'/);
  });
});

describe('YAML features', () => {
  test('anchors and aliases work; an alias without an anchor is an error with a hint', () => {
    const s = load(`name: x
tasks: [parent]
steps:
  - mmap: &map { length: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE|MAP_ANONYMOUS }
  - mmap: *map
`);
    assert.equal(s.steps.length, 2);
    assert.match(errors(`${HEAD}  - write:\n      addr: *buf\n      value: 1\n`)[0], /^7:13: YAML: no anchor &buf for the alias \*buf \(to write an expression starting with '\*', quote it\)$/);
  });
});
