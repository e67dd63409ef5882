// How `hako` reports a command line it cannot parse (an unknown verb or option, a missing argument, a bad value):
// commander finds the fault, hako words it as its other errors (`hako: error: …`, cli-log.ts) with where the help
// is, on one line, and exits 2, the status of a usage error (as the shim's and hako-runtime's). Commander's own
// wording would be `error: unknown option '--bogus'` and exit 1, like a failed command.
import { CommanderError, type CommandUnknownOpts } from "@commander-js/extra-typings";

/** The exit status of a command line hako could not parse. */
export const USAGE_EXIT = 2;

/**
 * Commander's error text (`error: unknown command 'bogus'`, perhaps followed by a `(Did you mean logs?)` line) →
 * hako's one line: `hako: error: unknown command 'bogus' (did you mean logs?; see hako --help)`. `commandPath` is
 * the verb the error is about, e.g. "hako factory init".
 */
export function usageErrorLine(text: string, commandPath: string): string {
  const [first = "", ...rest] = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const hints = rest.map((l) => l.replace(/^\((.*)\)$/, "$1").replace(/^Did you/, "did you"));
  hints.push(`see ${commandPath} --help`);
  return `hako: error: ${first.replace(/^error:\s*/, "")} (${hints.join("; ")})\n`;
}

function commandPath(command: CommandUnknownOpts): string {
  const names: string[] = [];
  for (let c: typeof command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/**
 * Makes `program` and every verb under it (commander does not pass these settings on to commands added with
 * addCommand) print parse errors as usageErrorLine and throw a CommanderError instead of exiting.
 */
export function reportUsageErrors(program: CommandUnknownOpts): void {
  program.exitOverride();
  program.configureOutput({ outputError: (text, write) => write(usageErrorLine(text, commandPath(program))) });
  for (const verb of program.commands) reportUsageErrors(verb as typeof program);
}

/**
 * The exit status for what parseAsync threw, when commander threw it: 0 after --help or --version, USAGE_EXIT for a
 * command line it refused (the line already printed) or a verb missing its sub-verb (the help already printed on
 * stderr); undefined for any other error, which is the command's own failure.
 */
export function commanderExit(err: unknown): number | undefined {
  if (!(err instanceof CommanderError)) return undefined;
  return err.exitCode === 0 ? 0 : USAGE_EXIT;
}
