// runc's command-line grammar, as urfave/cli (Go's flag package) reads it: `--name value`, `--name=value`, one dash
// or two, short aliases (`-d`), booleans that take no value (`--detach`, `--detach=false`), repeatable flags (`--env`),
// flags before the positional arguments or between them (urfave/cli reorders them), and `--` ending the flags.
// `exec` stops at its first positional after the container id: the rest is the command to run.
import { invalidArgument } from "../common/errors.js";

export type FlagKind = "bool" | "string" | "list";

/** One flag: its names (the first is the canonical one, the rest aliases such as "d") and what it takes. */
export interface FlagDef {
  names: readonly string[];
  kind: FlagKind;
}

export interface ParsedArgs {
  /** Set flags by canonical name: true/false, the last value, or every value of a repeated flag. */
  flags: Map<string, boolean | string | string[]>;
  positional: string[];
}

export interface ParseOptions {
  /** After this many positionals, everything left is positional too (global flags: the verb; exec: the id). */
  flagsEndAfter?: number;
}

/** Go's flag package's own wording, which callers may match on. */
export const notDefined = (name: string) => invalidArgument(`flag provided but not defined: -${name}`);

export function parseArgs(argv: readonly string[], defs: readonly FlagDef[], options: ParseOptions = {}): ParsedArgs {
  const byName = new Map<string, FlagDef>();
  for (const d of defs) for (const n of d.names) byName.set(n, d);
  const flags = new Map<string, boolean | string | string[]>();
  const positional: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      if (options.flagsEndAfter !== undefined && positional.length >= options.flagsEndAfter) {
        i++;
        break;
      }
      continue;
    }
    const [name, inline] = arg.replace(/^--?/, "").split(/=(.*)/s, 2) as [string, string | undefined];
    const def = byName.get(name);
    if (!def) throw notDefined(name);
    const key = def.names[0] as string;
    if (def.kind === "bool") {
      if (inline !== undefined && inline !== "true" && inline !== "false") {
        throw invalidArgument(`invalid boolean value ${JSON.stringify(inline)} for -${name}`);
      }
      flags.set(key, inline !== "false");
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw invalidArgument(`flag needs an argument: -${name}`);
    if (def.kind === "list") {
      const list = (flags.get(key) as string[] | undefined) ?? [];
      list.push(value);
      flags.set(key, list);
    } else {
      flags.set(key, value);
    }
  }
  positional.push(...argv.slice(i));
  return { flags, positional };
}

export const str = (a: ParsedArgs, name: string): string | undefined => {
  const v = a.flags.get(name);
  return typeof v === "string" ? v : undefined;
};
export const bool = (a: ParsedArgs, name: string): boolean => a.flags.get(name) === true;
export const list = (a: ParsedArgs, name: string): string[] => {
  const v = a.flags.get(name);
  return Array.isArray(v) ? v : [];
};

/** The one container id a verb takes; runc's checkArgs wording for a wrong count. */
export function containerId(a: ParsedArgs, verb: string): string {
  if (a.positional.length !== 1) {
    throw invalidArgument(
      `${JSON.stringify(verb)} requires exactly 1 argument(s): the container id (got ${a.positional.length})`,
    );
  }
  const id = a.positional[0] as string;
  validateId(id);
  return id;
}

/** runc accepts ids of letters, digits and `_+-.` that are not `.`/`..` (libcontainer's validateID). */
export function validateId(id: string): void {
  if (!/^[\w+\-.]+$/.test(id) || id === "." || id === "..") throw invalidArgument(`invalid container id: ${id}`);
}
