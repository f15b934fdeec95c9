// Scenario operations and the query of the gup_test debugfs file (src/drivers/gup-test.ts): a
// selftest step `ioctl(gup_fd, PIN_LONGTERM_TEST_START, &args)` is one `gup_test_ioctl` step with
// the struct's fields as arguments.

import {
  GUP_TEST_CMDS, GUP_TEST_FLAG_NAMES, GUP_TEST_MAX_PAGES_TO_DUMP, PIN_LONGTERM_TEST_FLAG_NAMES, gupTestCmd,
  gupTestState, gup_test_ioctl, gup_test_open,
} from '../../drivers/gup-test.js';
import { ScenarioError, type Value } from '../backend.js';
import { flags, int, str, value } from '../args.js';
import { op, query, ret, task, type OpImpl, type QueryImpl } from './common.js';

/** Flags written with their names ("PIN_LONGTERM_TEST_FLAG_USE_FAST|PIN_LONGTERM_TEST_FLAG_USE_WRITE") or a number. */
function namedFlags(given: string, argName: string, table: Readonly<Record<string, number>>): number {
  let v = 0;
  for (const part of given.split('|').map((s) => s.trim()).filter(Boolean)) {
    if (/^(0x[0-9a-f]+|\d+)$/i.test(part)) v |= Number(part);
    else if (part in table) v |= table[part];
    else throw new ScenarioError(`unknown flag '${part}' in '${argName}' (known: ${Object.keys(table).join(', ')})`, argName);
  }
  return v;
}

/** .which_pages[]: up to GUP_TEST_MAX_PAGES_TO_DUMP non-negative 1-based page numbers. */
function whichPages(v: Value | null): number[] {
  if (v === null) return [];
  if (!Array.isArray(v) || v.length > GUP_TEST_MAX_PAGES_TO_DUMP || v.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 0xffffffff))
    throw new ScenarioError(`'which_pages' must be a list of at most ${GUP_TEST_MAX_PAGES_TO_DUMP} __u32 page numbers (1-based, 0 = none)`, 'which_pages');
  return v as number[];
}

const CMD_NAMES = Object.keys(GUP_TEST_CMDS).join(', ');

export const GUP_TEST_OPS: OpImpl[] = [
  op({
    name: 'gup_test_open',
    summary: 'open("/sys/kernel/debug/gup_test", O_RDWR) (CONFIG_GUP_TEST, v5.11+): a descriptor or -errno; close() of any gup_test descriptor stops a PIN_LONGTERM test',
    source: 'mm/gup_test.c gup_test_fops, gup_test_release()', needsTask: true, args: {},
    run: (c) => ret(gup_test_open(c.k, task(c))),
  }),
  op({
    name: 'gup_test_ioctl',
    summary: 'ioctl(fd, cmd, &args) on gup_test: struct gup_test commands GUP/pin [addr, addr+size) in chunks of nr_pages_per_call and release them again (0 even when GUP fails: see the gup_test query\'s size); PIN_LONGTERM_TEST_START pins FOLL_LONGTERM until STOP (one test at a time, -EINVAL otherwise; a GUP error is returned and nothing stays pinned); READ copies the pinned pages to user_addr',
    source: 'mm/gup_test.c gup_test_ioctl(), __gup_test_ioctl(), pin_longterm_test_start/_read/_stop()', needsTask: true,
    args: {
      fd: int('the gup_test descriptor'),
      cmd: str(`one of ${CMD_NAMES}, or an ioctl number`),
      addr: int('struct gup_test / pin_longterm_test .addr').default(0),
      size: int('.size in bytes').default(0),
      nr_pages_per_call: int('struct gup_test .nr_pages_per_call').default(0),
      gup_flags: flags('struct gup_test .gup_flags').constants('FOLL_').default(0),
      test_flags: str('struct gup_test .test_flags: GUP_TEST_FLAG_DUMP_PAGES_USE_PIN').default('0'),
      which_pages: value('struct gup_test .which_pages[]: 1-based page numbers to dump_page()').optional(),
      flags: str('struct pin_longterm_test .flags: PIN_LONGTERM_TEST_FLAG_USE_WRITE|PIN_LONGTERM_TEST_FLAG_USE_FAST').default('0'),
      user_addr: int('PIN_LONGTERM_TEST_READ: where the pinned pages are copied').default(0),
    },
    run(c, a) {
      // A number is looked up like the kernel's switch (unknown: -EINVAL); a misspelt name is the scenario's error.
      const numeric = /^(0x[0-9a-f]+|\d+)$/i.test(a.cmd);
      const cmd = gupTestCmd(numeric ? Number(a.cmd) : a.cmd);
      if (cmd === null && !numeric) throw new ScenarioError(`unknown gup_test command '${a.cmd}' (known: ${CMD_NAMES})`, 'cmd');
      const r = gup_test_ioctl(c.k, task(c), a.fd, cmd, {
        addr: a.addr, size: a.size, nr_pages_per_call: a.nr_pages_per_call, gup_flags: a.gup_flags,
        test_flags: namedFlags(a.test_flags, 'test_flags', GUP_TEST_FLAG_NAMES), which_pages: whichPages(a.which_pages),
        flags: namedFlags(a.flags, 'flags', PIN_LONGTERM_TEST_FLAG_NAMES), user_addr: a.user_addr,
      });
      const s = gupTestState(c.k).peek();
      if (r === 0 && cmd === 'PIN_LONGTERM_TEST_START' && s.pages) {
        const held = s.pages.slice(0, s.nr_pages).filter((p) => p >= 0);
        if (held.length) c.holders.push({ label: `${task(c).name} gup_test PIN_LONGTERM_TEST_START at step ${c.stepNo}`, pfns: held });
      }
      return ret(r);
    },
  }),
];

export const GUP_TEST_QUERIES: QueryImpl[] = [
  query({
    name: 'gup_test',
    summary: 'the gup_test module: longterm_active / longterm_nr_pages (PIN_LONGTERM_TEST state); of the last struct gup_test command: cmd, size (the bytes walked, as copied back), nr_pages (pages GUP returned), which_pages (after out-of-range entries were zeroed), dumped (the 0-based indices dump_page() printed) with dumped_pfns, dumped_refcounts, dumped_pincounts',
    needsTask: false, args: {},
    fields: ['longterm_active', 'longterm_nr_pages', 'cmd', 'size', 'nr_pages', 'which_pages', 'dumped', 'dumped_pfns', 'dumped_refcounts', 'dumped_pincounts'],
    eval(c) {
      const st = gupTestState(c.k);
      const s = st.peek();
      const last = st.last;
      return {
        longterm_active: s.pages !== null, longterm_nr_pages: s.nr_pages,
        cmd: last?.cmd ?? null, size: last?.size ?? null, nr_pages: last?.nr_pages ?? null,
        which_pages: last ? [...last.which_pages] : null,
        dumped: last ? last.dumped.map((d) => d.index) : null,
        dumped_pfns: last ? last.dumped.map((d) => d.pfn) : null,
        dumped_refcounts: last ? last.dumped.map((d) => d.refcount) : null,
        dumped_pincounts: last ? last.dumped.map((d) => d.pincount) : null,
      };
    },
  }),
];
