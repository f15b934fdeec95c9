// Loading a scenario file: YAML → a validated Scenario (ast.ts), or a ScenarioFileError listing
// every problem as "file:line:col: message". Validation uses only the Backend's description of
// itself (ops, queries, machine arguments, constants, profiles): nothing runs here. This module
// reads the top level and hands each section to its parser (steps.ts, expect.ts, sections.ts).

import { isMap } from 'yaml';
import { knownProfile, type Backend } from '../backend.js';
import type { Actor, Scenario, Step } from '../ast.js';
import { ScenarioFileError } from '../errors.js';
import { MAX_DIAGNOSTICS, MAX_FILE_BYTES, MAX_NAME_LENGTH } from '../limits.js';
import { quoted } from '../printable.js';
import { checkScenarioText, decodeScenarioText, parseScenarioYaml, readScenarioBytes } from '../source.js';
import { NAME, TooManyProblems, sortDiags, type Entry } from './cursor.js';
import { DEFAULT_TASKS, MULTI_ACTOR_KEYS, TOP_LEVEL_KEYS } from './keys.js';
import { readEnd, readExplore, readMachine, readScenarioName } from './sections.js';
import { LoadState } from './state.js';
import { noteBindings, readStep } from './steps.js';

/** The whole file: its top-level keys, then each section in turn. */
function readScenario(ld: LoadState): Scenario | null {
  // Syntax errors stop here (only the first: the ones after it are usually its consequences);
  // duplicate keys are reported, and the rest of the file is still checked.
  const parsed = parseScenarioYaml(ld.source, ld.file);
  ld.setDocument(parsed.lc, parsed.aliases);
  for (const d of parsed.diags) ld.err(d.pos, d.message);
  if (parsed.fatal || !parsed.doc) return null;
  const root = ld.deref(parsed.doc.contents);
  if (ld.isEmpty(root)) return ld.err(ld.pos(root), 'the file is empty: expected a scenario (a mapping with name: and steps:)');
  if (!isMap(root)) return ld.err(ld.pos(root), `expected a scenario (a mapping with name: and steps:), found ${ld.kind(root)}`);
  const es = ld.entries(root, 'a scenario') ?? [];
  const get = (k: string) => es.find((e) => e.key === k);
  for (const e of es) {
    if (!(TOP_LEVEL_KEYS as readonly string[]).includes(e.key) && !(MULTI_ACTOR_KEYS as readonly string[]).includes(e.key)) {
      ld.unknownKey(e, [...TOP_LEVEL_KEYS, ...MULTI_ACTOR_KEYS], 'the scenario');
    }
  }

  const rootPos = ld.pos(root);
  const nameE = get('name');
  const name = nameE ? readScenarioName(ld, nameE.value) : ld.err(rootPos, 'missing key name: (the scenario\'s name)');
  const descE = get('description');
  const description = descE ? ld.scalarString(descE.value, 'description', true) ?? undefined : undefined;
  const srcE = get('source');
  const source = srcE ? ld.scalarString(srcE.value, 'source', true) ?? undefined : undefined;

  const profE = get('profile');
  const profsE = get('profiles');
  const profiles = readProfiles(ld, profE, profsE);

  const machE = get('machine');
  const { machine, keys: machineKeys } = readMachine(ld, machE?.value);

  const actorsE = get('actors');
  const setupE = get('setup');
  const { tasks, actorEntries } = readTasks(ld, get('tasks'), actorsE);

  const stepsE = get('steps');
  const finallyE = get('finally');
  const exploreE = get('explore');
  let steps: Step[] = [];
  let multi: MultiActor | undefined;
  if (!actorsE) {
    for (const e of [finallyE, exploreE]) if (e) ld.err(e.keyPos, `${e.key}: belongs to a multi-actor scenario: add actors:`);
  }
  if (actorsE || setupE) {
    if (stepsE) ld.err(stepsE.keyPos, 'a multi-actor scenario has setup: and actors:, not steps:');
    if (!actorsE) ld.err(setupE!.keyPos, 'setup: belongs to a multi-actor scenario: add actors:');
    multi = readMultiActor(ld, setupE, actorEntries, finallyE);
    steps = multi.steps;
  } else if (!stepsE) ld.err(rootPos, 'missing key steps: (the list of steps)');
  else steps = readStepList(ld, stepsE);
  const end = readEnd(ld, get('end')?.value);
  const explore = exploreE && actorsE ? readExplore(ld, exploreE.value, profiles) : undefined;
  if (ld.diags.length || name === null) return null;
  return {
    file: ld.file, name, ...(description !== undefined && { description }), ...(source !== undefined && { source }),
    profiles, profilesGiven: Boolean(profE || profsE), pos: rootPos, machine, machinePos: machE ? machE.keyPos : rootPos,
    machineKeys, tasks, steps, end, ...(multi && { setup: multi.setup, actors: multi.actors }), ...(multi?.final && { final: multi.final }),
    ...(explore && { explore }),
  };
}
/** `profile:` or `profiles:` (not both); absent, the backend's default. */
function readProfiles(ld: LoadState, profE: Entry | undefined, profsE: Entry | undefined): string[] {
  let profiles: string[] = [ld.backend.defaultProfile];
  if (profE && profsE) ld.err(profsE.keyPos, 'give either profile: or profiles:, not both');
  else if (profE) {
    const p = ld.scalarString(profE.value, 'profile');
    if (p !== null && !knownProfile(ld.backend, p)) {
      ld.err(ld.pos(profE.value), ld.unknownProfile(p));
    } else if (p !== null) profiles = [p];
  } else if (profsE) {
    profiles = ld.profileList(profsE.value, 'profiles') ?? profiles;
  }
  return profiles;
}

/**
 * The tasks that exist at the start: `tasks:` (default: main), and in a multi-actor scenario each
 * actor's own (its name). They are what the steps may name from the first one on.
 */
function readTasks(ld: LoadState, tasksE: Entry | undefined, actorsE: Entry | undefined): { tasks: string[]; actorEntries: Entry[] } {
  let tasks: string[] = [...DEFAULT_TASKS];
  if (tasksE) {
    tasks = [];
    for (const t of ld.items(tasksE.value, 'tasks') ?? []) {
      const name = ld.nameValue(t, 'a task name');
      if (name === null) continue;
      if (tasks.includes(name)) ld.err(ld.pos(t), `task '${name}' is declared twice`);
      else tasks.push(name);
    }
  }
  const actorEntries = actorsE ? ld.entries(actorsE.value, 'actors') ?? [] : [];
  if (actorsE && actorEntries.length === 0 && isMap(actorsE.value)) ld.err(actorsE.keyPos, 'actors: lists no actor');
  for (const a of actorEntries) {
    if (!NAME.test(a.key)) ld.err(a.keyPos, `an actor's name must be a name (letters, digits, '_', '.', '-'), found ${quoted(a.key)}`);
    else if (a.key.length > MAX_NAME_LENGTH) ld.err(a.keyPos, `an actor's name has ${a.key.length} characters; names have at most ${MAX_NAME_LENGTH}`);
    else if (!tasks.includes(a.key)) tasks.push(a.key);
  }
  ld.startTasks = new Set(tasks);
  for (const t of tasks) ld.tasks.add(t);
  return { tasks, actorEntries };
}

/** `steps:` of a one-actor scenario, numbered from 1. */
function readStepList(ld: LoadState, stepsE: Entry): Step[] {
  const steps: Step[] = [];
  const list = ld.items(stepsE.value, 'steps') ?? [];
  list.forEach((s, i) => {
    noteBindings(ld, s, i + 1);
  });
  list.forEach((s, i) => {
    const st = readStep(ld, s, i + 1);
    if (st) steps.push(st);
  });
  return steps;
}

interface MultiActor { steps: Step[]; setup: Step[]; actors: Actor[]; final?: Step[] }

/**
 * `setup:`, `actors:` and `finally:` of a multi-actor scenario, numbered on through all three in
 * file order; an actor's steps run in its own task unless they name one.
 */
function readMultiActor(ld: LoadState, setupE: Entry | undefined, actorEntries: readonly Entry[], finallyE: Entry | undefined): MultiActor {
  const steps: Step[] = [];
  const setupList = setupE ? ld.items(setupE.value, 'setup') ?? [] : [];
  const lists = actorEntries.map((a) => ({ a, list: ld.items(a.value, `the steps of actor ${quoted(a.key)}`) ?? [] }));
  const finalList = finallyE ? ld.items(finallyE.value, 'finally') ?? [] : [];
  const all = [...setupList, ...lists.flatMap((l) => l.list), ...finalList];
  all.forEach((s, i) => {
    noteBindings(ld, s, i + 1);
  });
  const setup: Step[] = [];
  for (const s of setupList) {
    const st = readStep(ld, s, setup.length + 1);
    if (st) setup.push(st);
  }
  steps.push(...setup);
  let index = setupList.length;
  const actors: Actor[] = [];
  for (const { a, list } of lists) {
    const actorSteps: Step[] = [];
    for (const s of list) {
      index++;
      const st = readStep(ld, s, index);
      if (!st) continue;
      actorSteps.push(st.kind === 'op' && st.needsTask && st.task === null ? { ...st, task: { name: a.key, pos: st.pos } } : st);
    }
    if (list.length === 0) ld.err(a.keyPos, `actor ${quoted(a.key)} has no steps`);
    actors.push({ name: a.key, pos: a.keyPos, task: a.key, steps: actorSteps });
    steps.push(...actorSteps);
  }
  if (!finallyE) return { steps, setup, actors };
  const final: Step[] = [];
  for (const s of finalList) {
    index++;
    const st = readStep(ld, s, index);
    if (st) final.push(st);
  }
  steps.push(...final);
  return { steps, setup, actors, final };
}

/**
 * Parse and validate a scenario; throws ScenarioFileError with every problem found (up to
 * MAX_DIAGNOSTICS; then a last one says where the loader stopped).
 */
export function loadScenario(text: string, file: string, backend: Backend): Scenario {
  if (text.startsWith('\ufeff')) text = text.slice(1);
  if (text.length > MAX_FILE_BYTES) {
    throw ScenarioFileError.at({ file, line: 1, col: 1 }, `the scenario is ${text.length} characters long; the limit is ${MAX_FILE_BYTES} (docs/scenarios.md#limits)`);
  }
  const notText = checkScenarioText(text, file);
  if (notText) throw new ScenarioFileError([notText]);
  const ld = new LoadState(text, file, backend);
  let s: Scenario | null;
  try {
    s = readScenario(ld);
  } catch (e) {
    if (!(e instanceof TooManyProblems)) throw e;
    const diags = sortDiags(ld.diags);
    const last = diags[diags.length - 1].pos;
    throw new ScenarioFileError([...diags, { pos: last, message: `too many problems (${MAX_DIAGNOSTICS}); the rest of the file was not checked` }]);
  }
  if (!s) throw new ScenarioFileError(sortDiags(ld.diags.length ? ld.diags : [{ pos: { file, line: 1, col: 1 }, message: 'invalid scenario' }]));
  return s;
}

/**
 * Read and load a scenario file; messages name it `name` (default: the path as given). Throws
 * FileInputError when the path cannot be read as a file at all (source.ts), ScenarioFileError for
 * everything in it.
 */
export function loadScenarioFile(path: string, backend: Backend, name: string = path): Scenario {
  const read = readScenarioBytes(path, name);
  if ('tooLarge' in read) throw new ScenarioFileError([read.tooLarge]);
  const text = decodeScenarioText(read.bytes, name);
  if ('error' in text) throw new ScenarioFileError([text.error]);
  return loadScenario(text.text, name, backend);
}
