// Every operation and query the model offers. Each subsystem keeps its ops in its own module.

import type { OpImpl, QueryImpl } from './common.js';
import { MM_OPS } from './mm.js';
import { MM_QUERIES } from './queries.js';
import { BLOCK_OPS, BLOCK_QUERIES } from './block.js';
import { DRIVER_OPS, DRIVER_QUERIES } from './drivers.js';
import { FS_OPS, FS_QUERIES } from './fs.js';
import { GUP_TEST_OPS, GUP_TEST_QUERIES } from './gup-test.js';

export const ALL_OPS: readonly OpImpl[] = [...MM_OPS, ...BLOCK_OPS, ...FS_OPS, ...DRIVER_OPS, ...GUP_TEST_OPS];
export const ALL_QUERIES: readonly QueryImpl[] = [...MM_QUERIES, ...BLOCK_QUERIES, ...FS_QUERIES, ...DRIVER_QUERIES, ...GUP_TEST_QUERIES];
