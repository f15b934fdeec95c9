// The shape of src/ (docs/architecture.md, "Layers"): every import — value or type-only — points to
// the same layer or one below, and no group of files imports itself in a circle. Upward calls go
// through operation tables (include/linux/fs.ts), as the kernel's do through vm_ops and a_ops.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = join(root, 'src');

/**
 * Bottom to top. An entry ending in '/' is a directory; a file named outright belongs to its
 * entry even inside a directory listed elsewhere (the most specific entry wins).
 */
export const LAYERS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['include: constants', ['include/uapi.ts', 'include/u64.ts', 'include/constants.ts', 'include/snapshot.ts', 'include/linux/mm.ts', 'include/linux/pipe_fs_i.ts']],
  ['base', ['profile.ts', 'check/bug.ts', 'trace/ids.ts', 'trace/schema.ts', 'trace/footprint.ts', 'trace/trace.ts']],
  ['mm: the folio table', ['mm/memory.ts', 'mm/page-flags.ts', 'mm/vmstat.ts']],
  ['kernel', ['kernel.ts']],
  ['include: shapes and ops tables', ['include/linux/fs.ts']],
  ['mm', ['mm/']],
  ['preempt', ['preempt.ts']],
  ['vm', ['vm/']],
  ['gup', ['gup/']],
  ['lib', ['lib/']],
  ['block', ['block/']],
  ['fs', ['fs/']],
  ['drivers', ['drivers/']],
  ['check', ['check/']],
  ['scenario', ['scenario/']],
  ['explore', ['explore/']],
  ['trace: renderers', ['trace/']],
  ['report', ['report/']],
  ['host', ['host/']],
  ['fuzz', ['fuzz/']],
  ['view', ['view/']],
  ['docs', ['profile-doc.ts']],
  ['cli', ['cli/']],
];

/** src/view/browser is its own tsc project (the viewer's); it is not part of the model. */
const SKIP = 'view/browser/';

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!`${relative(src, p)}/`.startsWith(SKIP)) sources(p, out);
    } else if (e.name.endsWith('.ts')) out.push(relative(src, p));
  }
  return out;
}

function layerOf(file: string): number {
  const exact = LAYERS.findIndex(([, pats]) => pats.includes(file));
  if (exact >= 0) return exact;
  let best = -1;
  let bestLen = -1;
  LAYERS.forEach(([, pats], i) => {
    for (const p of pats) if (p.endsWith('/') && file.startsWith(p) && p.length > bestLen) [best, bestLen] = [i, p.length];
  });
  return best;
}

/** Every relative import of a file, type-only and dynamic ones included, as src-relative paths. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(join(src, file), 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((n) => n.startsWith('.'))
    .map((n) => relative(src, resolve(dirname(join(src, file)), n.replace(/\.js$/, '.ts'))));
}

const files = sources(src).sort();
const graph = new Map(files.map((f) => [f, importsOf(f)]));

/** Strongly connected components of more than one file (Tarjan). */
function cycles(g: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1 || (g.get(v) ?? []).includes(v)) out.push(c.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return out;
}

test('every source file belongs to a layer', () => {
  assert.ok(files.length > 50, `found ${files.length} files under ${src}`);
  assert.deepEqual(files.filter((f) => layerOf(f) < 0), []);
});

test('every import resolves to a source file', () => {
  const missing: string[] = [];
  for (const [f, deps] of graph) for (const d of deps) if (!graph.has(d) && !d.startsWith(SKIP)) missing.push(`${f} → ${d}`);
  assert.deepEqual(missing, []);
});

test('no import cycle among src/ files (type-only imports included)', () => {
  assert.deepEqual(cycles(graph), []);
});

test('imports go to the same layer or below (docs/architecture.md "Layers")', () => {
  const up: string[] = [];
  for (const [f, deps] of graph) {
    const lf = layerOf(f);
    for (const d of deps) {
      const ld = layerOf(d);
      if (ld > lf) up.push(`${f} (${LAYERS[lf][0]}) → ${d} (${LAYERS[ld][0]})`);
    }
  }
  assert.deepEqual(up, []);
});

/** The folio table's typed arrays (src/mm/memory.ts PhysMem): private to their module. */
const FOLIO_ARRAYS = ['refcount', 'mapcount', 'flags', 'order', 'zone', 'mapping', 'index', 'content'];
const FOLIO_ARRAY_OWNER = 'src/mm/memory.ts';
const arrayAccess = new RegExp(`\\.(${FOLIO_ARRAYS.join('|')})\\s*\\[`);

function allSources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) allSources(p, out);
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('no code outside src/mm/memory.ts indexes the folio table\'s arrays (every access goes through an accessor that records it)', () => {
  const hits: string[] = [];
  for (const dir of ['src', 'test', 'bench']) {
    for (const f of dir === 'src' ? files.map((x) => join(src, x)) : allSources(join(root, dir))) {
      const rel = relative(root, f);
      if (rel === FOLIO_ARRAY_OWNER || rel === 'test/architecture.test.ts') continue;
      readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
        if (arrayAccess.test(line)) hits.push(`${rel}:${i + 1}: ${line.trim()}`);
      });
    }
  }
  assert.deepEqual(hits, []);
  assert.ok(arrayAccess.test('k.mem.refcount[head] += 1') && arrayAccess.test('mem.content [p]'), 'the scan sees an access');
  assert.ok(!arrayAccess.test('k.mem.refcountOf(head)'));
});

/**
 * The page tables (src/vm/mm.ts Vma): private fields, reached only through accessors that record
 * the footprint (ptep_get(), set_pte_at(), ...) or through the observers' peek readers.
 */
const PGTABLE_OWNER = 'src/vm/mm.ts';
const pgtableAccess = /\.(ptes|pteBits|pmds|pmd)\b|\.(pte|bits)\s*\[/;

test('no code outside src/vm/mm.ts touches a VMA\'s page-table arrays or PMD leaves', () => {
  const hits: string[] = [];
  for (const dir of ['src', 'test', 'bench']) {
    for (const f of dir === 'src' ? files.map((x) => join(src, x)) : allSources(join(root, dir))) {
      const rel = relative(root, f);
      if (rel === PGTABLE_OWNER || rel === 'test/architecture.test.ts') continue;
      readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
        if (pgtableAccess.test(line)) hits.push(`${rel}:${i + 1}: ${line.trim()}`);
      });
    }
  }
  assert.deepEqual(hits, []);
  assert.ok(pgtableAccess.test('v.ptes[i] = -1') && pgtableAccess.test('vma.bits [i] |= 1') && pgtableAccess.test('const p = v.pteBits;') && pgtableAccess.test('vma.pmds.delete(b)'), 'the scan sees an access');
  assert.ok(!pgtableAccess.test('v.ptep_get(k, i)') && !pgtableAccess.test('v.peekPteBits(i)') && !pgtableAccess.test('v.pmd_get(k, a)'));
});

/** An mm's VMA list (src/vm/mm.ts Mm): private, reached through find_vma()/vmaList()/insertVma()/... or peek*. */
const vmaListAccess = /\.(vmaTree|vmas|rmapVmas)\b(?!\s*\()|\.findVma\(/;

test('no code outside src/vm/mm.ts touches an mm\'s VMA list', () => {
  const hits: string[] = [];
  for (const dir of ['src', 'test', 'bench']) {
    for (const f of dir === 'src' ? files.map((x) => join(src, x)) : allSources(join(root, dir))) {
      const rel = relative(root, f);
      if (rel === PGTABLE_OWNER || rel === 'test/architecture.test.ts') continue;
      readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
        if (vmaListAccess.test(line)) hits.push(`${rel}:${i + 1}: ${line.trim()}`);
      });
    }
  }
  assert.deepEqual(hits, []);
  assert.ok(vmaListAccess.test('mm.vmaTree.push(v)') && vmaListAccess.test('for (const v of mm.vmas)') && vmaListAccess.test('t.mm.rmapVmas;'), 'the scan sees an access');
  assert.ok(!vmaListAccess.test('mm.vmaList(k)') && !vmaListAccess.test('mm.rmapVmas(k)') && !vmaListAccess.test('mm.find_vma(k, a)'));
});

/**
 * The data properties a class declares, with whether each is private and whether readonly:
 * accessors (get/set) and methods are not data. Read from the source with the TypeScript parser.
 */
function classFields(file: string, cls: string): Map<string, { private: boolean; readonly: boolean }> {
  const sf = ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const out = new Map<string, { private: boolean; readonly: boolean }>();
  let found = false;
  const visit = (n: ts.Node): void => {
    if (ts.isClassDeclaration(n) && n.name?.text === cls) {
      found = true;
      const mods = (m: ts.Node) => ts.canHaveModifiers(m) ? ts.getModifiers(m) ?? [] : [];
      const has = (m: ts.Node, kind: ts.SyntaxKind) => mods(m).some((x) => x.kind === kind);
      for (const m of n.members) {
        if (ts.isPropertyDeclaration(m) && m.name && (ts.isIdentifier(m.name) || ts.isPrivateIdentifier(m.name))) {
          out.set(m.name.text, { private: has(m, ts.SyntaxKind.PrivateKeyword) || ts.isPrivateIdentifier(m.name), readonly: has(m, ts.SyntaxKind.ReadonlyKeyword) });
        }
        if (ts.isConstructorDeclaration(m)) {
          for (const p of m.parameters) {
            if (!ts.isIdentifier(p.name) || mods(p).length === 0) continue; // a parameter property
            out.set(p.name.text, { private: has(p, ts.SyntaxKind.PrivateKeyword), readonly: has(p, ts.SyntaxKind.ReadonlyKeyword) });
          }
        }
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  assert.ok(found, `class ${cls} in ${file}`);
  return out;
}

/**
 * Owners whose state is private (docs/architecture.md "Per-page state"): every data property of
 * the class is private, or readonly (fixed at creation: nothing can conflict with reading it), and
 * the listed fields are private. Accessors that record the footprint are the only way in.
 */
const PRIVATE_OWNERS: ReadonlyArray<{ file: string; cls: string; fields: readonly string[] }> = [
  { file: 'src/vm/mm.ts', cls: 'Vma', fields: ['vm_start', 'vm_end', 'vm_flags', 'vm_pgoff', 'anon_vma_id', 'anon_chain_singular', 'ptes', 'pteBits', 'pmds'] },
  { file: 'src/vm/mm.ts', cls: 'Mm', fields: ['vmaTree', 'has_pinned', 'write_protect_seq', 'mmap_write_locked', 'fork_child', 'mmap_base', 'mm_users'] },
  { file: 'src/vm/mm.ts', cls: 'Task', fields: ['is_exited', 'exit_code'] },
  { file: 'src/vm/mm.ts', cls: 'TaskList', fields: ['byName'] },
  { file: 'src/drivers/memlock.ts', cls: 'MemlockState', fields: ['limits', 'userLocked', 'pinned', 'locked'] },
  { file: 'src/mm/filemap.ts', cls: 'Inode', fields: ['ino', 'mem', 'i_size', 'nr_users', 'i_pages', 'blocks', 'delayed'] },
  { file: 'src/mm/filemap.ts', cls: 'RecordingIndex', fields: ['m', 'owner'] },
  { file: 'src/fs/fdtable.ts', cls: 'OpenFile', fields: ['mem', 'f_count', 'f_pos'] },
  { file: 'src/fs/fdtable.ts', cls: 'FilesStruct', fields: ['mem', 'fdt'] },
  { file: 'src/fs/writeback.ts', cls: 'WritebackBios', fields: ['byFile'] },
  { file: 'src/mm/filemap.ts', cls: 'Directory', fields: ['byName'] },
  { file: 'src/block/bio.ts', cls: 'Bio', fields: ['bio_id', 'bi_io_vec', 'bi_size', 'page_pinned', 'page_reffed', 'no_page_ref', 'bio_cloned', 'bi_status', 'bi_end_io', 'bi_target'] },
  { file: 'src/block/bio.ts', cls: 'BioDirtyList', fields: ['list'] },
  { file: 'src/block/blkdev.ts', cls: 'DeviceQueue', fields: ['q', 'nrCompleted'] },
  { file: 'src/drivers/io-uring.ts', cls: 'IoRing', fields: ['mem', 'buf_table', 'is_dead'] },
  { file: 'src/drivers/device.ts', cls: 'Registry', fields: ['targets'] },
  { file: 'src/drivers/device.ts', cls: 'DriverTable', fields: ['objs'] },
  { file: 'src/drivers/vfio.ts', cls: 'VfioIommu', fields: ['dma_list'] },
  { file: 'src/drivers/mm-iommu.ts', cls: 'MmIommuList', fields: ['regions'] },
  { file: 'src/lib/pipe-buf.ts', cls: 'Pipe', fields: ['pipe_head', 'pipe_tail', 'pipe_bufs', 'max_usage', 'is_freed', 'nr_readers', 'nr_writers', 'nr_files'] },
  { file: 'src/mm/filemap.ts', cls: 'RecordingIndexSet', fields: ['s', 'owner'] },
];

for (const o of PRIVATE_OWNERS) {
  test(`${o.cls} (${o.file}) keeps its state private: every data property private or readonly`, () => {
    const f = classFields(o.file, o.cls);
    assert.deepEqual(o.fields.filter((n) => !f.get(n)?.private), [], 'declared private');
    assert.deepEqual([...f].filter(([, d]) => !d.private && !d.readonly).map(([n]) => n), [], 'public and mutable');
  });
}

test('the private-state check sees a public field', () => {
  const sf = 'class A { private a = 1; b = 2; readonly c = 3; constructor(public d: number, private e: number) {} get f() { return 1; } }';
  const tmp = join(root, 'dist', 'architecture-selfcheck.ts');
  writeFileSync(tmp, sf);
  try {
    const f = classFields(relative(root, tmp), 'A');
    assert.deepEqual([...f].filter(([, d]) => !d.private && !d.readonly).map(([n]) => n), ['b', 'd']);
    assert.deepEqual([...f].filter(([, d]) => d.private).map(([n]) => n), ['a', 'e']);
  } finally {
    rmSync(tmp);
  }
});

/**
 * The owners' private fields by name: nobody outside the owning file reaches them (no cast, no
 * bracket). TypeScript's `private` stops a plain access; this scan stops the casts.
 */
const PRIVATE_NAMES: ReadonlyArray<{ owner: string; names: readonly string[] }> = [
  { owner: 'src/vm/mm.ts', names: ['vm_start', 'vm_end', 'vm_flags', 'vm_pgoff', 'anon_vma_id', 'anon_chain_singular', 'has_pinned', 'write_protect_seq', 'mmap_write_locked', 'fork_child', 'mmap_base', 'mm_users', 'is_exited', 'exit_code'] },
  { owner: 'src/mm/filemap.ts', names: ['i_size', 'i_pages', 'nr_users'] },
  { owner: 'src/fs/fdtable.ts', names: ['f_count', 'f_pos', 'fdt'] },
  { owner: 'src/drivers/io-uring.ts', names: ['buf_table', 'is_dead'] },
  { owner: 'src/lib/pipe-buf.ts', names: ['pipe_head', 'pipe_tail', 'pipe_bufs', 'max_usage', 'is_freed', 'nr_readers', 'nr_writers', 'nr_files'] },
  { owner: 'src/block/bio.ts', names: ['bi_io_vec', 'bi_size', 'page_pinned', 'page_reffed', 'no_page_ref', 'bio_cloned', 'bi_status', 'bi_end_io', 'bi_target'] },
];

function privateAccess(names: readonly string[]): RegExp {
  const alt = names.join('|');
  return new RegExp(`\\.(${alt})\\b|\\[\\s*['"](${alt})['"]\\s*\\]`);
}

for (const { owner, names } of PRIVATE_NAMES) {
  test(`no code outside ${owner} touches its private fields (${names.slice(0, 3).join(', ')}, ...)`, () => {
    const re = privateAccess(names);
    const hits: string[] = [];
    for (const dir of ['src', 'test', 'bench']) {
      for (const f of dir === 'src' ? files.map((x) => join(src, x)) : allSources(join(root, dir))) {
        const rel = relative(root, f);
        if (rel === owner || rel === 'test/architecture.test.ts') continue;
        readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
          if (re.test(line)) hits.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
      }
    }
    assert.deepEqual(hits, []);
    assert.ok(re.test(`(x as any).${names[0]} = 5`) && re.test(`x['${names[names.length - 1]}'] = 1`), 'the scan sees an access');
  });
}

test('the private-name scan tells an accessor from the private field', () => {
  const re = privateAccess(['vm_end', 'has_pinned']);
  assert.ok(re.test('(v as any).vm_end = 5') && re.test("mm['has_pinned'] = true"));
  assert.ok(!re.test('v.end = addr') && !re.test('mm.hasPinned') && !re.test('v.peekEnd()'));
});

test('the checker finds a cycle and an upward import when there is one', () => {
  const g = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]]);
  assert.deepEqual(cycles(g), [['a.ts', 'b.ts', 'c.ts']]);
  assert.ok(layerOf('kernel.ts') < layerOf('vm/mm.ts'));
  assert.ok(layerOf('mm/memory.ts') < layerOf('kernel.ts'), 'a named file wins over its directory');
  assert.ok(layerOf('mm/filemap.ts') > layerOf('kernel.ts'));
});
