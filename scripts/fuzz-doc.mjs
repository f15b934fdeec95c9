// Regenerate docs/fuzz.md's coverage table from the generator's tables (src/fuzz/doc.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COVERAGE_BEGIN, COVERAGE_END, coverageTable } from '../dist/src/fuzz/doc.js';

const doc = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'fuzz.md');
const text = readFileSync(doc, 'utf8');
const a = text.indexOf(COVERAGE_BEGIN);
const b = text.indexOf(COVERAGE_END);
if (a < 0 || b < a) throw new Error(`${doc}: the coverage markers are missing`);
writeFileSync(doc, `${text.slice(0, a + COVERAGE_BEGIN.length)}\n${coverageTable()}\n${text.slice(b)}`);
