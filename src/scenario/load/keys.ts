// The keys of the scenario grammar, section by section (docs/scenarios.md): the loader accepts
// these and names them in its "expected one of" messages.

export const TOP_LEVEL_KEYS = ['name', 'description', 'source', 'profile', 'profiles', 'machine', 'tasks', 'steps', 'end'] as const;
/** The keys of a multi-actor scenario (docs/explorer.md), accepted beside TOP_LEVEL_KEYS. */
export const MULTI_ACTOR_KEYS = ['setup', 'actors', 'finally', 'explore'] as const;
export const EXPLORE_KEYS = ['fails', 'preemption_bound', 'allow_warns'] as const;
export const STEP_KEYS = ['task', 'as', 'expect', 'note', 'profiles', 'preempt'] as const;
export const STEP_EXPECT_KEYS = ['ret', 'warn', 'bug', 'checks'] as const;
export const COMPARISON_KEYS = ['delta', 'ge', 'le', 'ne', 'one_of'] as const;
export const END_KEYS = ['leaks', 'warns', 'no_warns'] as const;
export const DEFAULT_TASKS: readonly string[] = ['main'];
