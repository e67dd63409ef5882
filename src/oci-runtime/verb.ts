// The shape of one hako-runtime verb: its flags (runc's, so callers' command lines parse) and what it does.
import type { FlagDef, ParsedArgs } from "./args.js";
import type { RuntimeContext } from "./context.js";

export interface Verb {
  name: string;
  /** One line for `--help`. */
  summary: string;
  /** Arguments after the flags, for `--help`. */
  usage: string;
  flags: readonly FlagDef[];
  /** exec: flags end after the container id; the rest is the command. */
  flagsEndAfter?: number;
  /** Runs the verb; resolves to the process's exit status (0 unless it says otherwise). */
  run(ctx: RuntimeContext, args: ParsedArgs): Promise<number | undefined>;
}
