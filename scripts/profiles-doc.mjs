// Regenerate the switch tables of docs/profiles.md from the switch history (src/profile.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fillMarkers } from '../dist/src/host/doc.js';
import { profileDocTables } from '../dist/src/profile-doc.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const doc = join(root, 'docs', 'profiles.md');
writeFileSync(doc, fillMarkers(readFileSync(doc, 'utf8'), profileDocTables()));
