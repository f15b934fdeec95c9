// pinlab kernels fetch|list (src/host/kernels.ts, src/cli/kernels.ts) without the network: the
// cache location, the Debian mirror read from apt's configuration, the profile of a running
// kernel's release, and a fetch that cannot reach its mirror says why and exits 2.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cacheDir, cachedKernel, debianMirror, kernelMissing, listKernels, profileForRelease } from '../../src/host/kernels.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'pinlab-kernels-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('kernels: the cache', () => {
  test('$PINLAB_CACHE, else $XDG_CACHE_HOME/pinlab, else ~/.cache/pinlab', () => {
    assert.equal(cacheDir({ PINLAB_CACHE: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' }), '/c');
    assert.equal(cacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' }), '/x/pinlab');
    assert.equal(cacheDir({ HOME: '/h' }), '/h/.cache/pinlab');
  });
  test('an empty cache has no kernel, and says how to get one', () => {
    const env = { PINLAB_CACHE: join(tmp, 'empty') };
    assert.equal(cachedKernel('uml-6.1', env), null);
    assert.match(kernelMissing('uml-6.1', env) ?? '', /not in the kernel cache .*run `pinlab kernels fetch`/);
    assert.deepEqual(listKernels(env).map((r) => [r.name, r.cached]), [['uml-5.10', false], ['uml-6.1', false], ['uml-6.12', false]]);
  });
  test('a kernel directory without its binary is not cached', () => {
    const env = { PINLAB_CACHE: join(tmp, 'partial') };
    mkdirSync(join(env.PINLAB_CACHE, 'kernels', 'uml-6.1'), { recursive: true });
    writeFileSync(join(env.PINLAB_CACHE, 'kernels', 'uml-6.1', 'meta.json'), '{"release": "6.1.176"}');
    assert.equal(cachedKernel('uml-6.1', env), null);
  });
});

describe('kernels: the Debian mirror from apt', () => {
  test('deb822 .sources: the first deb URI that is not security or a snapshot', () => {
    const etc = join(tmp, 'etc1');
    mkdirSync(join(etc, 'sources.list.d'), { recursive: true });
    writeFileSync(join(etc, 'sources.list.d', 'debian.sources'), [
      'Types: deb', 'URIs: http://mirror.example/debian', 'Suites: bookworm bookworm-updates', 'Components: main', '',
      'Types: deb', 'URIs: http://mirror.example/debian-security', 'Suites: bookworm-security', 'Components: main', '',
    ].join('\n'));
    assert.equal(debianMirror({}, etc), 'http://mirror.example/debian');
  });
  test('one-line sources.list, with options; PINLAB_DEBIAN_MIRROR wins', () => {
    const etc = join(tmp, 'etc2');
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, 'sources.list'), '# comment\ndeb [arch=amd64] http://other.example/debian/ bookworm main\n');
    assert.equal(debianMirror({}, etc), 'http://other.example/debian');
    assert.equal(debianMirror({ PINLAB_DEBIAN_MIRROR: 'http://m.example/debian/' }, etc), 'http://m.example/debian');
    assert.equal(debianMirror({}, join(tmp, 'nothing')), null);
  });
});

describe('kernels: the profile of a release', () => {
  test('the exact point release when the history has it; mainline for X.Y.0; current beyond', () => {
    assert.deepEqual(profileForRelease('6.1.176'), { profile: '6.1.176' });
    assert.deepEqual(profileForRelease('6.18.44-fc-v1272'), { profile: '6.18.44' });
    assert.equal(profileForRelease('6.1.0-18-amd64').profile, '6.1');
    assert.match(profileForRelease('6.1.0-18-amd64').note ?? '', /does not say its point release/);
    assert.equal(profileForRelease('7.2.1').profile, 'current');
    assert.match(profileForRelease('7.2.1').note ?? '', /newer than the newest modelled release/);
    assert.equal(profileForRelease('weird').profile, 'current');
  });
});

describe('pinlab kernels', () => {
  const pinlab = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, ['bin/pinlab.js', ...args], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, PINLAB_BACKEND: '', ...env }, timeout: 120_000,
  });

  test('list: each kernel, fetched or not, and the cache; --json', () => {
    const env = { PINLAB_CACHE: join(tmp, 'list') };
    const r = pinlab(['kernels', 'list'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^name +release +size +from$/m);
    assert.match(r.stdout, /^uml-6\.1 +- +- +Debian bookworm user-mode-linux \(not fetched\)$/m);
    assert.match(r.stdout, /3 not fetched: pinlab kernels fetch/);
    const j = JSON.parse(pinlab(['kernels', 'list', '--json'], env).stdout) as { cache: string; kernels: { name: string; cached: boolean }[] };
    assert.equal(j.cache, env.PINLAB_CACHE);
    assert.deepEqual(j.kernels.map((k) => k.name), ['uml-5.10', 'uml-6.1', 'uml-6.12']);
  });

  test('fetch without a reachable mirror: the reason on stderr, exit 2, nothing cached', () => {
    const env = { PINLAB_CACHE: join(tmp, 'offline'), PINLAB_DEBIAN_MIRROR: 'http://127.0.0.1:9/debian' };
    const r = pinlab(['kernels', 'fetch'], env);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /^pinlab kernels fetch: (apt-get update failed \(no network, or http:\/\/127\.0\.0\.1:9\/debian is unreachable\)|.* is missing)/m);
    assert.equal(cachedKernel('uml-6.1', env), null);
  });

  test('usage errors exit 2', () => {
    assert.equal(pinlab(['kernels']).status, 2);
    assert.match(pinlab(['kernels', 'frob']).stderr, /unknown subcommand 'frob'/);
    const r = pinlab(['kernels', 'fetch', 'uml-4.4'], { PINLAB_CACHE: join(tmp, 'x') });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no kernel named 'uml-4.4'/);
    assert.equal(pinlab(['kernels', 'list', 'extra']).status, 2);
    assert.equal(pinlab(['kernels', 'list', '--profile', '6.1']).status, 2);
  });
});
