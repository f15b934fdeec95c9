// machine: gup_fast: false — an architecture without CONFIG_HAVE_FAST_GUP (CONFIG_HAVE_GUP_FAST
// from v6.10), such as User-Mode Linux: mm/gup.c lockless_pages_from_mm() (5.10, 6.1) and
// gup_fast() (6.12) return 0, so pin_user_pages_fast() takes the slow path for the whole range.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadScenario } from '../../src/scenario/load.js';
import { modelBackend } from '../../src/scenario/model-backend.js';
import { runScenario } from '../../src/scenario/run.js';

const backend = modelBackend();

function run(text: string): ReturnType<typeof runScenario>[0] {
  return runScenario(loadScenario(text, 'gup-fast.yaml', backend), backend)[0];
}

/** A written MAP_SHARED ext4 mapping pinned long-term for writing: refused (v6.5). */
const sharedFile = (gupFast: boolean, profile: string) => `
name: longterm-write-pin-of-shared-ext4
profile: '${profile}'
machine: { normal: 32M, gup_fast: ${gupFast} }
tasks: [p]
steps:
  - create_file: { name: f, size: 4*PAGE_SIZE, fs: ext4 }
  - mmap: { length: 4*PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_SHARED, file: f }
    as: buf
  - write: { addr: buf, length: 4*PAGE_SIZE, value: 1 }
  - pin_user_pages_fast: { start: buf, nr_pages: 4, gup_flags: FOLL_WRITE|FOLL_LONGTERM }
    expect: { ret: -EFAULT }
  - expect:
      - vmstat: {}
        nr_foll_pin_acquired: ${gupFast ? 1 : 0}
        nr_foll_pin_released: ${gupFast ? 1 : 0}
`;

describe('machine gup_fast', () => {
  test('with GUP-fast, the lockless walk grabs the first page before gup_fast_folio_allowed() refuses it: +1/+1', () => {
    const r = run(sharedFile(true, 'current'));
    assert.ok(r.ok, r.verdicts.filter((v) => !v.ok).map((v) => v.message).join('; '));
  });

  test('without GUP-fast (UML), the slow path refuses the VMA before grabbing anything: 0/0', () => {
    for (const profile of ['6.12', 'current']) {
      const r = run(sharedFile(false, profile));
      assert.ok(r.ok, `${profile}: ${r.verdicts.filter((v) => !v.ok).map((v) => v.message).join('; ')}`);
    }
  });

  test('pin_user_pages_fast() still pins everything through the slow path', () => {
    for (const profile of ['5.10.46', '6.1.176', '6.12']) {
      const r = run(`
name: pin-fast-slow-path
profile: '${profile}'
machine: { gup_fast: false }
tasks: [p]
steps:
  - mmap: { length: 8*PAGE_SIZE, prot: PROT_READ|PROT_WRITE, flags: MAP_PRIVATE|MAP_ANONYMOUS }
    as: buf
  - write: { addr: buf, length: 8*PAGE_SIZE, value: 3 }
  - pin_user_pages_fast: { start: buf, nr_pages: 8, gup_flags: FOLL_WRITE }
    as: P
    expect: { ret: 8 }
  - expect:
      - vmstat: {}
        nr_foll_pin_acquired: 8
  - unpin_user_pages: { pages: P }
`);
      assert.ok(r.ok, `${profile}: ${r.verdicts.filter((v) => !v.ok).map((v) => v.message).join('; ')}`);
    }
  });
});
