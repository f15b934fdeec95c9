// Differential facts about the running kernel's FOLL_PIN accounting, measured through io_uring
// buffer registration. Skipped where the host cannot measure (not Linux/root, no cc, io_uring off).

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { hostSupport, measureIoUringPin, readVmstatPinCounters, type PinDelta } from '../../src/host/native.js';

const MiB = 1 << 20;

test('hostSupport() returns a well-formed answer', () => {
  const s = hostSupport();
  assert.equal(typeof s.ok, 'boolean');
  if (s.ok) assert.deepEqual(Object.keys(s), ['ok']);
  else assert.ok(typeof s.reason === 'string' && s.reason.length > 0);
});

/**
 * Other processes may pin/unpin concurrently on a live machine, which shows up in the global
 * vmstat counters. Measure up to 3 times and pass if any rep saw exactly the expected deltas.
 */
function expectDeltas(t: TestContext, sizeBytes: number, thp: boolean, expected: PinDelta): void {
  const seen: PinDelta[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const m = measureIoUringPin({ sizeBytes, thp, reps: 2 });
    if (thp && m.thp_backed_bytes !== sizeBytes) {
      // THP disabled or memory too fragmented on this host: the expectation is about THP folios.
      t.skip(`THP backed only ${m.thp_backed_bytes} of ${sizeBytes} bytes: ${m.notes.join('; ')}`);
      return;
    }
    if (!thp) assert.equal(m.thp_backed_bytes, 0);
    assert.equal(m.pages, sizeBytes / 4096);
    assert.equal(m.register_ns.length, 2);
    assert.ok(m.pinNsPerPage > 0 && m.unpinNsPerPage > 0);
    seen.push(...m.deltas);
    if (m.deltas.some((d) => isDeepStrictEqual(d, expected))) return;
  }
  assert.fail(`no rep matched ${JSON.stringify(expected)}; saw ${JSON.stringify(seen)}`);
}

test('readVmstatPinCounters() reads both counters', (t) => {
  const s = hostSupport();
  if (!s.ok) {
    t.skip(s.reason);
    return;
  }
  const c = readVmstatPinCounters();
  assert.ok(Number.isSafeInteger(c.acquired) && c.acquired >= 0);
  assert.ok(Number.isSafeInteger(c.released) && c.released >= 0);
});

test('kernel: registering 8 MiB of 4 KiB pages pins each page once, unregistering releases each', (t) => {
  const s = hostSupport();
  if (!s.ok) {
    t.skip(s.reason);
    return;
  }
  // io_pin_pages (io_uring/memmap.c): pin_user_pages_fast(FOLL_WRITE|FOLL_LONGTERM) of 2048
  // pages -> +2048 nr_foll_pin_acquired. No coalescing for order-0 folios (io_sqe_buffer_register
  // only coalesces when nr_pages_mid != 1), so io_release_ubuf unpins 2048 at unregistration.
  expectDeltas(t, 8 * MiB, false, {
    register: { acquired: 2048, released: 0 },
    unregister: { acquired: 0, released: 2048 },
  });
});

test('kernel: registering 4 MiB of THP (2 folios) coalesces to one pin per folio', (t) => {
  const s = hostSupport();
  if (!s.ok) {
    t.skip(s.reason);
    return;
  }
  // pin_user_pages_fast takes one pin per 4 KiB subpage (+1024 acquired). Then
  // io_uring/rsrc.c io_sqe_buffer_register -> io_check_coalesce_buffer/io_coalesce_buffer keeps
  // one bvec per folio and "Drop[s] all but one ref": unpin_user_folio(folio, nr - 1) -> +1022
  // released at registration (2 folios x 511). io_release_ubuf unpins 1 per bvec -> +2 at
  // unregistration. Measured on Linux 6.18.
  expectDeltas(t, 4 * MiB, true, {
    register: { acquired: 1024, released: 1022 },
    unregister: { acquired: 0, released: 2 },
  });
});
