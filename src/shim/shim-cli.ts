// The command line every entry of the shim binary shares: `-v`, `-h`, containerd's flags and the action, and how a
// failed action is reported (one line on stderr, which containerd shows, the JSON entry in containerd's log, and exit
// 1). Which actions an entry serves is its own.
import { closeSync } from "node:fs";
import { Code, HakoError } from "../common/errors.js";
import { createLogger, humanLine, type Logger } from "../common/log.js";
import { VERSION } from "../common/version.js";
import { ACTIONS, type Action, parseShimArgs, type ShimArgs } from "./args.js";
import { fifoSink, openLogFifo } from "./log-fifo.js";

const PROGRAM = "containerd-shim-hako-v2";

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
  let args: ShimArgs;
  try {
    args = parseShimArgs(argv, process.cwd());
  } catch (err) {
    process.stderr.write(`${PROGRAM}: error: ${(err as Error).message}\n`);
    process.stderr.write(`${shimUsage()}\n`);
    process.exit(2);
  }
  // `serve`'s stderr is containerd's log fifo: JSON there. `start` and `delete` write to whoever ran them (containerd
  // puts their stderr in its error or its log, a person sees a terminal): one human line per entry.
  const human = args.action !== "serve";
  const log = createLogger({ level: "info", ...(human ? { format: humanLine(PROGRAM) } : {}) });
  try {
    const action = actions[args.action];
    if (!action) throw new HakoError(Code.Internal, `internal: this entry of the shim does not serve "${args.action}"`);
    await action(args, argv, log);
  } catch (err) {
    const e = HakoError.from(err);
    log.error(`${args.action} failed`, { err: e, id: args.id });
    if (human) logToContainerd(args.bundle, (l) => l.error(`${args.action} failed`, { err: e, id: args.id }));
    process.exit(1);
  }
}

/**
 * Writes entries as JSON (stack included) to containerd's `log` fifo of `bundle` when containerd reads it (it does
 * while it runs `start`), so that its log keeps the detail the human line leaves out; else nothing.
 */
function logToContainerd(bundle: string, write: (log: Logger) => void): void {
  const fd = openLogFifo(bundle);
  if (fd === undefined) return;
  try {
    write(createLogger({ level: "info", sink: fifoSink(fd) }));
  } finally {
    closeSync(fd);
  }
}
