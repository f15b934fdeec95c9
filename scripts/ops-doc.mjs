// Regenerate the operation/query reference in docs/scenarios.md from `pinlab ops`.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const doc = join(root, 'docs', 'scenarios.md');
const ops = execFileSync(process.execPath, [join(root, 'bin', 'pinlab.js'), 'ops'], { encoding: 'utf8' }).trimEnd();
const text = readFileSync(doc, 'utf8');
const re = /(<!-- ops:begin[^\n]*-->\n)[\s\S]*?(<!-- ops:end -->)/;
if (!re.test(text)) throw new Error('docs/scenarios.md: ops markers not found');
writeFileSync(doc, text.replace(re, (_m, a, b) => `${a}\`\`\`\n${ops}\n\`\`\`\n${b}`));
