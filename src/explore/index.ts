export * from './program.js';
export * from './schedule.js';
export * from './exhaustive.js';
export * from './dpor.js';
export * from './pct.js';
export * from './minimize.js';
export * from './trace.js';
export { Rng } from './rng.js';
