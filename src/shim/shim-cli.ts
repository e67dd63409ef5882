// The command line every entry of the shim binary shares: `-v`, `-h`, containerd's flags and the action, and how a
// failed action is reported (stderr, which containerd shows, and exit 1). Which actions an entry serves is its own.
import { Code, HakoError } from "../common/errors.js";
import { createLogger, type Logger } from "../common/log.js";
import { ACTIONS, type Action, parseShimArgs, type ShimArgs } from "./args.js";

declare const HAKO_VERSION: string | undefined;
const VERSION = typeof HAKO_VERSION === "string" ? HAKO_VERSION : "dev";

/** What `-h` says of each action: every one the parser accepts, `serve` marked as hako's internal one. */
const ACTION_HELP: Record<Action, string> = {
  start: "(containerd) starts or finds the pod's shim and prints its address; the VM boots on the first Create",
  delete: "(containerd) cleans up after a shim that died and prints a DeleteResponse",
  serve: "internal, not for users: `start` runs it as the pod's long-lived shim, serving containerd's Task API",
};

/** The text of `-h`. */
export function shimUsage(): string {
  const actions = ACTIONS.map((a) => `  ${a.padEnd(7)} ${ACTION_HELP[a]}`).join("\n");
  return `usage: containerd-shim-hako-v2 -namespace NS -address ADDR -publish-binary BIN -id ID [-debug] start|delete

containerd's shim v2 for hako: containerd runs it (runtime type io.containerd.hako.v2) with the bundle as its
working directory.

actions:
${actions}

-v prints the version, -h this help.`;
}

type ShimAction = (args: ShimArgs, argv: string[], log: Logger) => Promise<void>;
export type ShimActions = Partial<Record<ShimArgs["action"], ShimAction>>;

/** Parses process.argv and runs the action; an action this entry does not serve is an internal error. */
export async function runShim(actions: ShimActions): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("-v") || argv.includes("-version") || argv.includes("--version")) {
    // As Go shims answer -v: the binary, the runtime type it serves, its version.
    process.stdout.write(`containerd-shim-hako-v2:\n  Runtime: io.containerd.hako.v2\n  Version: ${VERSION}\n`);
    return;
  }
  if (argv.includes("-h") || argv.includes("-help") || argv.includes("--help")) {
    process.stdout.write(`${shimUsage()}\n`);
    return;
  }
  const log = createLogger({ level: "info" });
  let args: ShimArgs;
  try {
    args = parseShimArgs(argv, process.cwd());
  } catch (err) {
    process.stderr.write(`containerd-shim-hako-v2: ${(err as Error).message}\n`);
    process.stderr.write(`${shimUsage()}\n`);
    process.exit(2);
  }
  try {
    const action = actions[args.action];
    if (!action) throw new HakoError(Code.Internal, `internal: this entry of the shim does not serve "${args.action}"`);
    await action(args, argv, log);
  } catch (err) {
    const e = HakoError.from(err);
    log.error(`${args.action} failed`, { err: e, id: args.id });
    process.stderr.write(`containerd-shim-hako-v2 ${args.action}: ${e.message}\n`);
    process.exit(1);
  }
}
