// Real kernels of other versions as oracles: Debian's User-Mode Linux builds (package
// `user-mode-linux`, the kernel built as an ordinary Linux program) of 5.10, 6.1 and 6.12, kept in
// a cache directory. `pinlab kernels fetch` downloads and unpacks them with apt-get and dpkg-deb
// under a private apt state (its own sources list, lists and archive cache inside the cache
// directory; the system's apt configuration is read for its Debian mirror and never changed);
// `pinlab kernels list` shows what is there. src/host/uml.ts boots them.
//
// Cache layout ($PINLAB_CACHE, default $XDG_CACHE_HOME/pinlab or ~/.cache/pinlab):
//   apt/                    the private apt state (sources.list, lists/, cache/)
//   kernels/NAME/linux      the UML binary (uml-6.12: patched to load lib/ld-linux-x86-64.so.2)
//   kernels/NAME/config     the kernel configuration the package ships (config.gz, unpacked)
//   kernels/NAME/lib/       uml-6.12 only: trixie's glibc (the binary needs GLIBC_2.38)
//   kernels/NAME/meta.json  name, release, package version, source version, suite, size

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DEFAULT_PROFILE, resolveProfile, versionProblem } from '../profile.js';

/** A UML kernel pinlab knows how to fetch: the Debian suite whose `user-mode-linux` it is. */
export interface UmlKernelSpec {
  readonly name: string;
  /** The mainline series, e.g. "6.1" (the release is read from the package). */
  readonly series: string;
  readonly suite: string;
  /** The binary needs a newer glibc than the machine's: unpack this suite's libc6 beside it. */
  readonly newerLibc?: boolean;
}

export const UML_KERNELS: readonly UmlKernelSpec[] = [
  { name: 'uml-5.10', series: '5.10', suite: 'bullseye' },
  { name: 'uml-6.1', series: '6.1', suite: 'bookworm' },
  { name: 'uml-6.12', series: '6.12', suite: 'trixie', newerLibc: true },
];

export const KERNEL_NAMES = ['host', ...UML_KERNELS.map((k) => k.name)] as const;

/** What `kernels fetch` recorded about a cached kernel. */
export interface KernelMeta {
  readonly name: string;
  /** uname -r of the guest (the modules directory of the package), e.g. "6.1.176". */
  readonly release: string;
  readonly package: string;
  /** The package's version, e.g. "6.1um4+b13". */
  readonly version: string;
  /** The Debian kernel source it was built from (Built-Using), e.g. "linux (= 6.1.176-1)". */
  readonly builtUsing: string;
  readonly suite: string;
  readonly mirror: string;
  /** Bytes of the binary (and its glibc, if any). */
  readonly size: number;
  readonly fetched: string;
}

export interface CachedKernel {
  readonly spec: UmlKernelSpec;
  readonly dir: string;
  readonly binary: string;
  readonly meta: KernelMeta;
}

export class KernelsError extends Error {}

type Env = Readonly<Record<string, string | undefined>>;

/** $PINLAB_CACHE, else $XDG_CACHE_HOME/pinlab, else ~/.cache/pinlab. */
export function cacheDir(env: Env = process.env): string {
  if (env.PINLAB_CACHE) return env.PINLAB_CACHE;
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'pinlab');
}

export function kernelDir(name: string, env: Env = process.env): string {
  return join(cacheDir(env), 'kernels', name);
}

/** The cached kernel, or null when it has not been fetched (or its files are incomplete). */
export function cachedKernel(name: string, env: Env = process.env): CachedKernel | null {
  const spec = UML_KERNELS.find((k) => k.name === name);
  if (!spec) return null;
  const dir = kernelDir(name, env);
  const binary = join(dir, 'linux');
  try {
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as KernelMeta;
    if (!existsSync(binary) || typeof meta.release !== 'string') return null;
    return { spec, dir, binary, meta };
  } catch {
    return null;
  }
}

/** Why a kernel cannot be booted here (null: it is cached), for SKIP reasons. */
export function kernelMissing(name: string, env: Env = process.env): string | null {
  if (cachedKernel(name, env)) return null;
  return `${name} is not in the kernel cache (${kernelDir(name, env)}): run \`pinlab kernels fetch\``;
}

// ---- the Debian mirror ----------------------------------------------------------------------------

/**
 * The Debian mirror the machine's apt uses: the first URI of a `deb` source (deb822 .sources or
 * one-line .list) that serves a Debian suite and is not a security or snapshot archive.
 * $PINLAB_DEBIAN_MIRROR overrides it.
 */
export function debianMirror(env: Env = process.env, etc = '/etc/apt'): string | null {
  if (env.PINLAB_DEBIAN_MIRROR) return env.PINLAB_DEBIAN_MIRROR.replace(/\/+$/, '');
  const files: string[] = [];
  if (existsSync(join(etc, 'sources.list'))) files.push(join(etc, 'sources.list'));
  const d = join(etc, 'sources.list.d');
  if (existsSync(d)) for (const f of readdirSync(d).sort()) if (/\.(list|sources)$/.test(f)) files.push(join(d, f));
  const good = (u: string) => /^https?:\/\//.test(u) && !/security|snapshot/.test(u) && /\/debian\/?$/.test(u);
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    if (f.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'mi').exec(stanza)?.[1].trim();
        if (!/\bdeb\b/.test(field('Types') ?? '') || /^no$/i.test(field('Enabled') ?? 'yes')) continue;
        const uri = (field('URIs') ?? '').split(/\s+/).find(good);
        if (uri) return uri.replace(/\/+$/, '');
      }
    } else {
      for (const line of text.split('\n')) {
        const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
        if (m && good(m[1])) return m[1].replace(/\/+$/, '');
      }
    }
  }
  return null;
}

// ---- apt under a private state --------------------------------------------------------------------

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

interface Apt {
  readonly dir: string;
  readonly opts: string[];
}

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

function tail(r: SpawnSyncReturns<string>): string {
  const text = `${r.stderr ?? ''}\n${r.stdout ?? ''}`.split('\n').map((l) => l.trim()).filter((l) => l && !/^(Reading|Hit|Get|Ign|Fetched)/.test(l));
  return text.slice(-3).join(' / ') || (r.error ? r.error.message : `exit status ${r.status ?? r.signal}`);
}

function privateApt(cache: string, mirror: string, suites: readonly string[]): Apt {
  const dir = join(cache, 'apt');
  for (const d of ['lists/partial', 'cache/archives/partial']) mkdirSync(join(dir, d), { recursive: true });
  const sources = suites.map((s) => `deb [signed-by=${KEYRING}] ${mirror} ${s} main`).join('\n');
  writeFileSync(join(dir, 'sources.list'), `${sources}\n`);
  return {
    dir,
    opts: [
      '-q', '-o', `Dir::Etc::SourceList=${join(dir, 'sources.list')}`, '-o', 'Dir::Etc::SourceParts=/dev/null',
      '-o', `Dir::State::Lists=${join(dir, 'lists')}`, '-o', `Dir::Cache=${join(dir, 'cache')}`, '-o', 'Debug::NoLocking=1',
      '-o', 'Acquire::Retries=0', '-o', 'Acquire::http::Timeout=20',
    ],
  };
}

function aptGet(apt: Apt, args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync('apt-get', [...apt.opts, ...args], { cwd, encoding: 'utf8', maxBuffer: 16 << 20, timeout: 15 * 60_000 });
}

function aptField(apt: Apt, pkg: string, field: string): string | null {
  const r = spawnSync('apt-cache', [...apt.opts, 'show', pkg], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) return null;
  return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(r.stdout)?.[1].trim() ?? null;
}

/** Download pkg (e.g. "user-mode-linux/bookworm") into dir and unpack it into dir/x; returns dir/x. */
function downloadAndUnpack(apt: Apt, pkg: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith('.deb')) rmSync(join(dir, f));
  const r = aptGet(apt, ['download', pkg], dir);
  const deb = readdirSync(dir).find((f) => f.endsWith('.deb'));
  if (r.status !== 0 || !deb) throw new KernelsError(`apt-get download ${pkg} failed: ${tail(r)}`);
  const x = join(dir, 'x');
  rmSync(x, { recursive: true, force: true });
  const u = spawnSync('dpkg-deb', ['-x', join(dir, deb), x], { encoding: 'utf8' });
  if (u.status !== 0) throw new KernelsError(`dpkg-deb -x ${deb} failed: ${tail(u)}`);
  rmSync(join(dir, deb));
  return x;
}

/** The host's Debian codename (VERSION_CODENAME of /etc/os-release), for patchelf. */
function hostCodename(): string | null {
  try {
    return /^VERSION_CODENAME=(\S+)$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1].replace(/"/g, '') ?? null;
  } catch {
    return null;
  }
}

// ---- fetch ----------------------------------------------------------------------------------------

export interface FetchIo {
  /** A progress line (a terminal shows it in place). */
  progress(line: string): void;
  log(line: string): void;
}

/** The release of a UML binary: `linux --version` prints it (arch/um/kernel/um_arch.c). */
function umlVersion(binary: string): { release: string | null; error: string } {
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  const out = `${r.stdout ?? ''}`.trim();
  return { release: r.status === 0 && /^\d+\.\d+/.test(out) ? out.split(/\s+/)[0] : null, error: `${r.stderr ?? ''}`.trim() || out };
}

function dirSize(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((s, f) => s + dirSize(join(p, f)), 0);
}

/**
 * Fetch every UML kernel that is not cached yet (`names`: a subset). Idempotent: a cached kernel
 * is left alone. Throws KernelsError with the reason when apt, the mirror or the network fails.
 */
export function fetchKernels(io: FetchIo, opts: { env?: Env; names?: readonly string[] } = {}): CachedKernel[] {
  const env = opts.env ?? process.env;
  const wanted = UML_KERNELS.filter((k) => !opts.names || opts.names.includes(k.name));
  const todo = wanted.filter((k) => !cachedKernel(k.name, env));
  for (const k of wanted) if (!todo.includes(k)) io.log(`${k.name}: cached (${cachedKernel(k.name, env)!.meta.release})`);
  if (todo.length === 0) return wanted.map((k) => cachedKernel(k.name, env)!);
  if (process.platform !== 'linux') throw new KernelsError(`UML kernels run on Linux only (this is ${process.platform})`);
  for (const cmd of ['apt-get', 'apt-cache', 'dpkg-deb']) {
    if (!which(cmd)) throw new KernelsError(`${cmd} is missing: fetching the UML kernels needs Debian's apt-get and dpkg-deb`);
  }
  if (!existsSync(KEYRING)) throw new KernelsError(`${KEYRING} is missing (package debian-archive-keyring)`);
  const mirror = debianMirror(env);
  if (!mirror) throw new KernelsError('no Debian mirror in /etc/apt/sources.list{,.d} (set PINLAB_DEBIAN_MIRROR to one)');
  const cache = cacheDir(env);
  const codename = hostCodename();
  const suites = [...new Set([...UML_KERNELS.map((k) => k.suite), ...(codename && /^[a-z]+$/.test(codename) ? [codename] : [])])];
  const apt = privateApt(cache, mirror, suites);
  io.progress(`apt-get update (${suites.join(', ')} from ${mirror})`);
  const up = aptGet(apt, ['update'], cache);
  if (up.status !== 0 || /^(E:|Err:)/m.test(`${up.stdout}\n${up.stderr}`)) {
    throw new KernelsError(`apt-get update failed (no network, or ${mirror} is unreachable): ${tail(up)}`);
  }
  const work = mkdtempSync(join(cache, 'fetch-'));
  try {
    for (const k of todo) {
      const pkg = `user-mode-linux/${k.suite}`;
      io.progress(`${k.name}: downloading ${pkg}`);
      const x = downloadAndUnpack(apt, pkg, join(work, k.name));
      const bin = join(x, 'usr/bin/linux.uml');
      if (!existsSync(bin)) throw new KernelsError(`${pkg} has no usr/bin/linux.uml`);
      const modules = join(x, 'usr/lib/uml/modules');
      const release = existsSync(modules) ? readdirSync(modules).find((d) => /^\d+\.\d+/.test(d)) ?? null : null;
      const dest = kernelDir(k.name, env);
      const tmp = `${dest}.tmp-${process.pid}`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      copyFileSync(bin, join(tmp, 'linux'));
      chmodSync(join(tmp, 'linux'), 0o755);
      const cfg = join(x, 'usr/share/doc/user-mode-linux/config.gz');
      if (existsSync(cfg)) writeFileSync(join(tmp, 'config'), gunzipSync(readFileSync(cfg)));
      if (k.newerLibc) {
        io.progress(`${k.name}: downloading libc6/${k.suite} (the binary needs its glibc)`);
        const lx = downloadAndUnpack(apt, `libc6/${k.suite}`, join(work, `${k.name}-libc6`));
        const lib = join(tmp, 'lib');
        mkdirSync(lib);
        for (const f of ['ld-linux-x86-64.so.2', 'libc.so.6']) copyFileSync(join(lx, 'usr/lib/x86_64-linux-gnu', f), join(lib, f));
        chmodSync(join(lib, 'ld-linux-x86-64.so.2'), 0o755);
        let patchelf = which('patchelf');
        if (!patchelf) {
          if (!codename) throw new KernelsError('patchelf is missing and the host suite is unknown (install patchelf)');
          io.progress(`${k.name}: downloading patchelf/${codename}`);
          patchelf = join(downloadAndUnpack(apt, `patchelf/${codename}`, join(work, 'patchelf')), 'usr/bin/patchelf');
        }
        // The final paths: the interpreter and rpath point into the kernel's own directory.
        const p = spawnSync(patchelf, ['--set-interpreter', join(dest, 'lib', 'ld-linux-x86-64.so.2'), '--set-rpath', join(dest, 'lib'), join(tmp, 'linux')], { encoding: 'utf8' });
        if (p.status !== 0) throw new KernelsError(`patchelf failed: ${tail(p)}`);
      }
      const meta: KernelMeta = {
        name: k.name, release: release ?? '?', package: 'user-mode-linux', version: aptField(apt, pkg, 'Version') ?? '?',
        builtUsing: aptField(apt, pkg, 'Built-Using') ?? '?', suite: k.suite, mirror, size: dirSize(tmp),
        fetched: new Date().toISOString(),
      };
      writeFileSync(join(tmp, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
      rmSync(dest, { recursive: true, force: true });
      renameSync(tmp, dest);
      // Check it runs here (the glibc patch above, a foreign host, noexec cache).
      const v = umlVersion(join(dest, 'linux'));
      if (v.release === null) {
        rmSync(dest, { recursive: true, force: true });
        throw new KernelsError(`${k.name}: the unpacked binary does not run here: ${v.error.split('\n').slice(-2).join(' / ')}`);
      }
      if (release === null) {
        writeFileSync(join(dest, 'meta.json'), `${JSON.stringify({ ...meta, release: v.release }, null, 2)}\n`);
      }
      io.log(`${k.name}: ${release ?? v.release} (${meta.package} ${meta.version}, built from ${meta.builtUsing}, ${k.suite})`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return wanted.map((k) => cachedKernel(k.name, env)!).filter(Boolean);
}

// ---- list -----------------------------------------------------------------------------------------

export interface KernelRow {
  readonly name: string;
  readonly cached: boolean;
  readonly release: string | null;
  readonly size: number | null;
  readonly from: string;
  readonly path: string;
}

export function listKernels(env: Env = process.env): KernelRow[] {
  return UML_KERNELS.map((k) => {
    const c = cachedKernel(k.name, env);
    return {
      name: k.name, cached: c !== null, release: c?.meta.release ?? null, size: c?.meta.size ?? null,
      from: c ? `Debian ${c.meta.suite} ${c.meta.package} ${c.meta.version} (${c.meta.builtUsing})` : `Debian ${k.suite} user-mode-linux (not fetched)`,
      path: kernelDir(k.name, env),
    };
  });
}

// ---- the profile of a running kernel -------------------------------------------------------------

/**
 * The model profile for a kernel that reports `release` (uname -r): its exact version
 * ("6.1.176-amd64" → "6.1.176"; src/profile.ts resolveProfile()), or `current` with the reason
 * when the version is outside the history or unreadable. A distribution that reports X.Y.0 for
 * every point release (Debian's "6.1.0-18-amd64") gets mainline X.Y, and the note says so.
 */
export function profileForRelease(release: string): { profile: string; note?: string } {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) return { profile: DEFAULT_PROFILE, note: `the release '${release}' is not a version: compared on profile ${DEFAULT_PROFILE}` };
  const version = m[3] === undefined || m[3] === '0' ? `${m[1]}.${m[2]}` : `${m[1]}.${m[2]}.${m[3]}`;
  const problem = versionProblem(version);
  if (problem !== null) return { profile: DEFAULT_PROFILE, note: `${problem}: compared on profile ${DEFAULT_PROFILE}` };
  if (!resolveProfile(version)) return { profile: DEFAULT_PROFILE, note: `no profile for ${version}` };
  return { profile: version, ...(m[3] === '0' && { note: `${release} does not say its point release: compared on mainline ${version}` }) };
}
