#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';
// A reader that goes away early (`pinlab ... | head`) is not an error: stop quietly, as cat does.
for (const s of [process.stdout, process.stderr]) {
  s.on('error', (e) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); else throw e; });
}
process.exitCode = await main(process.argv.slice(2));
