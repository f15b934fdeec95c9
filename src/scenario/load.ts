// The scenario loader's public face; the loader itself is in load/ (file.ts reads the top level,
// one module per section, cursor.ts the YAML-with-positions plumbing they share).

export { loadScenario, loadScenarioFile } from './load/file.js';
export {
  COMPARISON_KEYS, DEFAULT_TASKS, END_KEYS, EXPLORE_KEYS, MULTI_ACTOR_KEYS, STEP_EXPECT_KEYS, STEP_KEYS, TOP_LEVEL_KEYS,
} from './load/keys.js';
export { FileInputError } from './source.js';
