// The limits pinlab puts on what it reads (docs/scenarios.md#limits). Each is far above what a
// real scenario needs and low enough that a hostile file cannot exhaust memory, time or the stack.

/**
 * The largest scenario file, in bytes; YAML aliases count as the text they repeat, so this also
 * bounds the scenario once its aliases are expanded. The catalogue's largest file is about 4 KiB;
 * a 1 MiB file loads in about a second, while 5 MiB of YAML nodes takes over a gigabyte.
 */
export const MAX_FILE_BYTES = 1 << 20;

/**
 * YAML values (scalars, lists, mappings) in one file. The parser holds about a kilobyte per value,
 * and a megabyte of "[a,a,a,..." is half a million of them (600 MB); 100,000 values take under
 * 250 MB. That is about 10,000 ordinary steps; the catalogue's largest file has under 300 values.
 */
export const MAX_YAML_VALUES = 100_000;

/** YAML collections nested deeper than this are refused: a scenario nests about 8 levels. */
export const MAX_YAML_DEPTH = 64;

/** Parentheses, unary operators, indexes and len() nested deeper than this in one expression. */
export const MAX_EXPR_DEPTH = 64;

/** Problems reported for one file; after that the loader stops and says how far it got. */
export const MAX_DIAGNOSTICS = 50;

/** A scenario's name (printed on every result line): one line of at most this many characters. */
export const MAX_SCENARIO_NAME = 100;

/** Names of tasks, actors, files and `as:` bindings. */
export const MAX_NAME_LENGTH = 64;

/** User text quoted inside a message is cut to about this many characters. */
export const SHOWN_CHARS = 60;
