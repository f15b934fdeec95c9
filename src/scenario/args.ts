// The arguments of an operation or query, declared once: a shape `{ start: int(), gup_flags:
// flags().default(0) }` from which TypeScript infers what the operation's run() receives (zod's
// z.object + z.infer, in a few mapped types). The loader, `pinlab ops`, `pinlab schema` and the docs
// read the ArgSpec list derived from the same shape (specsOf()), and run() gets the values already
// read, defaulted and checked (argsReader()), so a misspelt argument name is a compile error.

import { ScenarioError, type ArgSpec, type ArgType, type Value } from './backend.js';

/** Reads a value that was given (an absent argument never reaches it); `c` is the op's context. */
type Reader<T, C> = (v: Value, name: string, c: C) => T;

/** What an Arg is made of; each builder method returns a new Arg with one part changed. */
interface ArgParts<T, C> {
  readonly type: ArgType;
  readonly required: boolean;
  readonly read: Reader<T, C>;
  /** what an absent (or null) argument reads as; null: the argument is required */
  readonly absent: (() => T) | null;
  readonly doc: string | undefined;
  /** the prefix of the constants it is written with (FOLL_, PROT_), offered by `pinlab schema` */
  readonly constantPrefix: string | undefined;
  /** it names a task the operation creates (ArgSpec.createsTask) */
  readonly createsTask: boolean;
  /** the words it may be (oneOf()), offered by `pinlab schema` */
  readonly words: readonly string[] | undefined;
}

/** One declared argument: its scenario type, whether the loader requires it, and how run() receives it. */
export class Arg<T, C = unknown> {
  /** The type run() receives (for ArgsOf; no value at run time). */
  declare readonly _type: T;

  private constructor(private readonly p: ArgParts<T, C>) {}

  static of<T, C = unknown>(type: ArgType, read: Reader<T, C>, doc?: string): Arg<T, C> {
    return new Arg({ type, required: true, read, absent: null, doc, constantPrefix: undefined, createsTask: false, words: undefined });
  }

  get type(): ArgType { return this.p.type; }
  get required(): boolean { return this.p.required; }
  get doc(): string | undefined { return this.p.doc; }
  get constantPrefix(): string | undefined { return this.p.constantPrefix; }
  get createsTask(): boolean { return this.p.createsTask; }
  get words(): readonly string[] | undefined { return this.p.words; }

  /** One of `words` (a filesystem, a DMA direction): another is refused, naming them. */
  static oneOf<const W extends readonly string[]>(words: W, doc?: string): Arg<W[number]> {
    const read = (v: Value, name: string): W[number] => {
      const s = String(v);
      if (!words.includes(s)) throw new ScenarioError(`${name} must be ${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}, not '${s}'`, name);
      return s;
    };
    return new Arg({ ...Arg.of('string', read, doc).p, words });
  }

  /** Written with the constants named `prefix`...: `flags().constants('FOLL_')`. */
  constants(prefix: string): Arg<T, C> {
    return new Arg({ ...this.p, constantPrefix: prefix });
  }

  /** The name of a task the operation creates (fork's child): the loader lets later steps name it. */
  newTask(): Arg<T, C> {
    return new Arg({ ...this.p, createsTask: true });
  }

  /** Not required; absent, it reads as `d`. */
  default<const D>(d: D): Arg<T | D, C> {
    return new Arg<T | D, C>({ ...this.p, required: false, absent: () => d });
  }

  /** Not required; absent, it reads as null. */
  optional(): Arg<T | null, C> {
    return this.default(null);
  }

  /** The same argument, read on into something else (a task by name, a page that must exist); before default()/optional(). */
  map<U, C2 extends C = C>(f: (t: T, name: string, c: C2) => U): Arg<U, C2> {
    if (this.p.absent) throw new Error('Arg.map() goes before default() and optional()');
    const read = this.p.read;
    return new Arg<U, C2>({ ...this.p, read: (v, name, c) => f(read(v, name, c), name, c), absent: null });
  }

  decode(v: Value | undefined, name: string, c: C): T {
    if (v === undefined || v === null) {
      const { absent } = this.p;
      return absent ? absent() : missing(name);
    }
    return this.p.read(v, name, c);
  }
}

/** The declared arguments of one operation or query, in the order they are documented. */
export type ArgShape<C = unknown> = { readonly [name: string]: Arg<unknown, C> };

/** What run() receives for a shape: each argument by its declared name and type. */
export type ArgsOf<S extends ArgShape<never>> = { readonly [K in keyof S]: S[K]['_type'] };

/** The shape as the language sees it (Backend.ops[].args): names, types, required, docs. */
export function specsOf(shape: ArgShape<never>): ArgSpec[] {
  return Object.entries(shape).map(([name, a]) => ({
    name, type: a.type, required: a.required, doc: a.doc, ...(a.constantPrefix !== undefined && { constants: a.constantPrefix }),
    ...(a.createsTask && { createsTask: true }), ...(a.words && { oneOf: a.words }),
  }));
}

/** A reader of a shape: the values a step passes (by name) → the typed object run() takes. */
export function argsReader<S extends ArgShape<C>, C>(shape: S): (raw: Readonly<Record<string, Value>>, c: C) => ArgsOf<S> {
  // Runs once per operation step (the explorer's hot path). A reader generated per shape loads
  // and stores each argument by its constant name: monomorphic property accesses, where a loop over
  // the names makes every `raw[name]` and `out[name]` a megamorphic keyed access (~100 ns a step).
  // The names are JSON-quoted into the source; no value of a step is.
  const names = Object.keys(shape);
  const args = names.map((n) => shape[n]);
  const body = `return { ${names.map((n, i) => `${JSON.stringify(n)}: args[${i}].decode(raw[${JSON.stringify(n)}], ${JSON.stringify(n)}, c)`).join(', ')} };`;
  const make = new Function('args', `return (raw, c) => { ${body} };`) as (a: typeof args) => (raw: Readonly<Record<string, Value>>, c: C) => ArgsOf<S>;
  return make(args);
}

/** An argument that is not given: also for one required only without another (memory_failure: pfn or addr). */
export function missing(name: string): never {
  throw new ScenarioError(`missing argument '${name}'`, name);
}

// ---- the argument types ---------------------------------------------------------------------------

function readInt(v: Value, name: string): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ScenarioError(`'${name}' must be an integer`, name);
  return v;
}

function readBool(v: Value, name: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  throw new ScenarioError(`'${name}' must be true or false`, name);
}

/** An integer expression: "buf + 2*PAGE_SIZE", "16K", "-EFAULT". */
export const int = (doc?: string): Arg<number> => Arg.of('int', readInt, doc);
/** An integer, usually an OR of constants: "FOLL_WRITE|FOLL_LONGTERM", or 0. */
export const flags = (doc?: string): Arg<number> => Arg.of('flags', readInt, doc);
export const bool = (doc?: string): Arg<boolean> => Arg.of('bool', readBool, doc);
/** Any YAML scalar string. */
export const str = (doc?: string): Arg<string> => Arg.of('string', (v) => String(v), doc);
/** A bare identifier the operation defines or refers to (a task name, a file name). */
export const name = (doc?: string): Arg<string> => Arg.of('name', (v) => String(v), doc);
/** A string that is one of a few words: "ext4", "DMA_TO_DEVICE". */
export const oneOf = Arg.oneOf;
/** Any value, as evaluated. */
export const value = (doc?: string): Arg<Value> => Arg.of('value', (v) => v, doc);

/** A pages handle: what `as:` bound from a GUP call (PFNs). */
export const handle = (doc?: string): Arg<number[]> => Arg.of('value', (v, n) => {
  if (!Array.isArray(v)) throw new ScenarioError(`'${n}' must be a pages handle (bound with 'as:' from a GUP call)`, n);
  return v as number[];
}, doc);
