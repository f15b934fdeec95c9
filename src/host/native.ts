// Real-kernel side of the benchmark: drive the running kernel's long-term pinning through
// io_uring fixed-buffer registration, via the small C helper host/iouring_pin.c.
//
// IORING_REGISTER_BUFFERS pins with pin_user_pages_fast(FOLL_WRITE | FOLL_LONGTERM)
// (io_uring/memmap.c io_pin_pages, called from io_uring/rsrc.c io_sqe_buffer_register);
// IORING_UNREGISTER_BUFFERS unpins (io_uring/rsrc.c io_release_ubuf -> unpin_user_folio).
//
// The helper is compiled lazily with `cc -O2` into <package root>/build/iouring_pin.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PinCounters {
  acquired: number;
  released: number;
}

/** Pin counter deltas across one registration and the following unregistration. */
export interface PinDelta {
  register: PinCounters;
  unregister: PinCounters;
}

/** What host/iouring_pin prints (snake_case fields as in its JSON), plus derived medians. */
export interface KernelPinMeasurement {
  size: number;
  pages: number;
  thp: boolean;
  /** AnonHugePages of the buffer's VMA after faulting it in (/proc/self/smaps). */
  thp_backed_bytes: number;
  pmd_size: number;
  /** iovecs used for the registration (>1 only above io_uring's 1 GiB per-buffer cap). */
  iovecs: number;
  iovec_max_bytes: number;
  reps: number;
  /** uname -r of the measured kernel. */
  kernel: string;
  register_ns: number[];
  unregister_ns: number[];
  /** The most common per-rep delta (see `deltas` for every rep). */
  delta: PinDelta;
  deltas: PinDelta[];
  /** One untimed-in-results warm-up register/unregister done before the reps. */
  warmup: { register_ns: number; unregister_ns: number; delta: PinDelta };
  notes: string[];
  // Derived:
  registerNsMedian: number;
  unregisterNsMedian: number;
  pinNsPerPage: number;
  unpinNsPerPage: number;
  /** Every rep saw the same counter deltas (no concurrent pinning noise). */
  deltasConsistent: boolean;
}

export type HostSupport = { ok: true } | { ok: false; reason: string };

const VMSTAT = '/proc/vmstat';
const STAT_REFRESH = '/proc/sys/vm/stat_refresh';
const IO_URING_DISABLED = '/proc/sys/kernel/io_uring_disabled';
const PAGE_SIZE = 4096;

let cachedRoot: string | undefined;

/** The pinlab package root: walk up from this module until a package.json named "pinlab". */
export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        const parsed = JSON.parse(readFileSync(pj, 'utf8')) as { name?: unknown };
        if (parsed.name === 'pinlab') {
          cachedRoot = dir;
          return dir;
        }
      } catch {
        // unreadable package.json: keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`pinlab package root not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** How a helper is built: a program (dynamic or `static`) or a `shared` library for LD_PRELOAD. */
export interface HostBuild {
  readonly static?: boolean;
  readonly shared?: boolean;
}

/** Paths of a host helper: host/NAME.c and build/NAME (build/NAME-static for a static build, build/NAME.so for a shared one). */
export function hostBinaryPaths(name: string, opts: HostBuild = {}): { source: string; binary: string } {
  const root = packageRoot();
  const file = opts.shared ? `${name}.so` : opts.static ? `${name}-static` : name;
  return { source: join(root, 'host', `${name}.c`), binary: join(root, 'build', file) };
}

export function helperPaths(): { source: string; binary: string } {
  return hostBinaryPaths('iouring_pin');
}

/**
 * Compile host/NAME.c into build/NAME if missing or older than the source or the shared header.
 * `static`: `cc -static` into build/NAME-static, for a User-Mode Linux guest whose root has no libc.
 */
export function ensureHostBinary(name: string, opts: HostBuild = {}): string {
  const { source, binary } = hostBinaryPaths(name, opts);
  if (!existsSync(source)) throw new Error(`helper source missing: ${source}`);
  const header = join(dirname(source), 'host-common.h');
  const newest = Math.max(statSync(source).mtimeMs, existsSync(header) ? statSync(header).mtimeMs : 0);
  if (existsSync(binary) && statSync(binary).mtimeMs >= newest) return binary;
  mkdirSync(dirname(binary), { recursive: true });
  // Build to a private name then rename: concurrent test/bench processes never see a partial file.
  const tmp = `${binary}.tmp-${process.pid}`;
  const flags = opts.shared ? ['-shared', '-fPIC'] : opts.static ? ['-static'] : [];
  const r = spawnSync('cc', ['-O2', '-Wall', ...flags, '-o', tmp, source], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    const why = r.error ? r.error.message : (r.stderr || `exit status ${r.status}`).trim();
    throw new Error(`cc -O2 ${[...flags, source].join(' ')} failed: ${why}`);
  }
  renameSync(tmp, binary);
  return binary;
}

/** Compile host/iouring_pin.c into build/iouring_pin if needed. */
export function ensureHelper(): string {
  return ensureHostBinary('iouring_pin');
}

function parseVmstat(text: string): PinCounters {
  let acquired: number | undefined;
  let released: number | undefined;
  for (const line of text.split('\n')) {
    const [k, v] = line.split(' ');
    if (k === 'nr_foll_pin_acquired') acquired = Number(v);
    else if (k === 'nr_foll_pin_released') released = Number(v);
  }
  if (acquired === undefined || released === undefined || !Number.isFinite(acquired) || !Number.isFinite(released)) {
    throw new Error(`${VMSTAT} has no nr_foll_pin_acquired/nr_foll_pin_released`);
  }
  return { acquired, released };
}

/**
 * Read the kernel's FOLL_PIN counters. NR_FOLL_PIN_ACQUIRED/RELEASED are node stats with
 * per-cpu deltas (mm/vmstat.c), so fold them first by writing /proc/sys/vm/stat_refresh
 * (root only; without it the values may lag).
 */
export function readVmstatPinCounters(): PinCounters {
  try {
    writeFileSync(STAT_REFRESH, '1');
  } catch {
    // not root / not writable: read possibly-lagging values
  }
  return parseVmstat(readFileSync(VMSTAT, 'utf8'));
}

interface HelperError {
  error: string;
  stage?: string;
  errno?: number;
  strerror?: string;
}

function runHelper(args: string[]): unknown {
  const binary = ensureHelper();
  const r = spawnSync(binary, args, { encoding: 'utf8', maxBuffer: 16 << 20, timeout: 15 * 60_000 });
  if (r.error) throw new Error(`iouring_pin ${args.join(' ')}: ${r.error.message}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.stdout);
  } catch {
    throw new Error(
      `iouring_pin ${args.join(' ')}: exit ${r.status ?? r.signal}, unparsable output: ` +
        `${JSON.stringify(r.stdout.slice(0, 500))} ${r.stderr.trim()}`,
    );
  }
  if (isObject(parsed) && typeof parsed.error === 'string') {
    const e = parsed as unknown as HelperError;
    const errno = e.errno ? ` [errno ${e.errno}${e.strerror ? ` ${e.strerror}` : ''}]` : '';
    throw new Error(`iouring_pin ${args.join(' ')} failed at ${e.stage ?? '?'}: ${e.error}${errno}`);
  }
  if (r.status !== 0) throw new Error(`iouring_pin ${args.join(' ')}: exit ${r.status ?? r.signal}`);
  return parsed;
}

export function hostSupport(): HostSupport {
  if (process.platform !== 'linux') return { ok: false, reason: `platform is ${process.platform}, not linux` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not running as root (needed for /proc/sys/vm/stat_refresh)' };
  try {
    parseVmstat(readFileSync(VMSTAT, 'utf8'));
  } catch (e) {
    return { ok: false, reason: errMsg(e) };
  }
  if (existsSync(IO_URING_DISABLED)) {
    const v = readFileSync(IO_URING_DISABLED, 'utf8').trim();
    if (v !== '0') return { ok: false, reason: `io_uring is disabled (${IO_URING_DISABLED} = ${v})` };
  }
  try {
    ensureHelper(); // proves `cc` works
  } catch (e) {
    return { ok: false, reason: `C compiler unusable: ${errMsg(e)}` };
  }
  try {
    runHelper(['--probe']); // io_uring_setup() really works (not blocked by seccomp etc.)
  } catch (e) {
    return { ok: false, reason: errMsg(e) };
  }
  return { ok: true };
}

/** Register + unregister an io_uring fixed buffer of sizeBytes, reps times, on the real kernel. */
export function measureIoUringPin(opts: { sizeBytes: number; thp: boolean; reps: number }): KernelPinMeasurement {
  const { sizeBytes, thp, reps } = opts;
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % PAGE_SIZE !== 0) {
    throw new Error(`measureIoUringPin: sizeBytes must be a positive multiple of ${PAGE_SIZE}, got ${sizeBytes}`);
  }
  if (!Number.isSafeInteger(reps) || reps < 1 || reps > 1000) {
    throw new Error(`measureIoUringPin: reps must be an integer in 1..1000, got ${reps}`);
  }
  const raw = runHelper(['--size', String(sizeBytes), thp ? '--thp' : '--small', '--reps', String(reps)]);
  const m = parseMeasurement(raw);
  const registerNsMedian = median(m.register_ns);
  const unregisterNsMedian = median(m.unregister_ns);
  const same = (a: PinDelta, b: PinDelta): boolean =>
    a.register.acquired === b.register.acquired &&
    a.register.released === b.register.released &&
    a.unregister.acquired === b.unregister.acquired &&
    a.unregister.released === b.unregister.released;
  return {
    ...m,
    registerNsMedian,
    unregisterNsMedian,
    pinNsPerPage: registerNsMedian / m.pages,
    unpinNsPerPage: unregisterNsMedian / m.pages,
    deltasConsistent: m.deltas.every((d) => same(d, m.deltas[0])),
  };
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

// --- JSON validation ---------------------------------------------------------------------

type Raw = Omit<
  KernelPinMeasurement,
  'registerNsMedian' | 'unregisterNsMedian' | 'pinNsPerPage' | 'unpinNsPerPage' | 'deltasConsistent'
>;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function num(o: Record<string, unknown>, k: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`iouring_pin output: ${k} is not a number`);
  return v;
}

function numArr(o: Record<string, unknown>, k: string): number[] {
  const v = o[k];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) {
    throw new Error(`iouring_pin output: ${k} is not a number array`);
  }
  return v as number[];
}

function obj(o: Record<string, unknown>, k: string): Record<string, unknown> {
  const v = o[k];
  if (!isObject(v)) throw new Error(`iouring_pin output: ${k} is not an object`);
  return v;
}

function counters(o: Record<string, unknown>): PinCounters {
  return { acquired: num(o, 'acquired'), released: num(o, 'released') };
}

function pinDelta(o: unknown): PinDelta {
  if (!isObject(o)) throw new Error('iouring_pin output: delta is not an object');
  return { register: counters(obj(o, 'register')), unregister: counters(obj(o, 'unregister')) };
}

function parseMeasurement(x: unknown): Raw {
  if (!isObject(x)) throw new Error('iouring_pin output is not a JSON object');
  const deltas = x.deltas;
  const notes = x.notes;
  if (!Array.isArray(deltas)) throw new Error('iouring_pin output: deltas is not an array');
  if (!Array.isArray(notes) || !notes.every((n) => typeof n === 'string')) {
    throw new Error('iouring_pin output: notes is not a string array');
  }
  if (typeof x.thp !== 'boolean') throw new Error('iouring_pin output: thp is not a boolean');
  const w = obj(x, 'warmup');
  return {
    size: num(x, 'size'),
    pages: num(x, 'pages'),
    thp: x.thp,
    thp_backed_bytes: num(x, 'thp_backed_bytes'),
    pmd_size: num(x, 'pmd_size'),
    iovecs: num(x, 'iovecs'),
    iovec_max_bytes: num(x, 'iovec_max_bytes'),
    reps: num(x, 'reps'),
    kernel: typeof x.kernel === 'string' ? x.kernel : 'unknown',
    register_ns: numArr(x, 'register_ns'),
    unregister_ns: numArr(x, 'unregister_ns'),
    delta: pinDelta(x.delta),
    deltas: deltas.map(pinDelta),
    warmup: { register_ns: num(w, 'register_ns'), unregister_ns: num(w, 'unregister_ns'), delta: pinDelta(w.delta) },
    notes: notes as string[],
  };
}

function errMsg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
