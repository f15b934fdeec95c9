// Regenerate the tables of docs/host-check.md from the workloads and the recorded probes.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fillMarkers, hostDocTables } from '../dist/src/host/doc.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const doc = join(root, 'docs', 'host-check.md');
writeFileSync(doc, fillMarkers(readFileSync(doc, 'utf8'), hostDocTables(join(root, 'test', 'host', 'probes'))));
