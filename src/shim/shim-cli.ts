// The command line every entry of the shim binary shares: `-v`, `-h`, containerd's flags and the action, and how a
// failed action is reported (stderr, which containerd shows, and exit 1). Which actions an entry serves is its own.
import { Code, HakoError } from "../common/errors.js";
import { createLogger, type Logger } from "../common/log.js";
import { parseShimArgs, type ShimArgs } from "./args.js";

declare const HAKO_VERSION: string | undefined;
const VERSION = typeof HAKO_VERSION === "string" ? HAKO_VERSION : "dev";

const USAGE = `usage: containerd-shim-hako-v2 -namespace NS -address ADDR -publish-binary BIN -id ID [-debug] start|delete

containerd's shim v2 for hako: containerd runs it (runtime type io.containerd.hako.v2) with the bundle as its
working directory. \`start\` boots nothing yet: it starts (or finds) the pod's shim and prints its address; the pod's
VM boots on the first Create. \`delete\` cleans up after a shim that died and prints a DeleteResponse.`;

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
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const log = createLogger({ level: "info" });
  let args: ShimArgs;
  try {
    args = parseShimArgs(argv, process.cwd());
  } catch (err) {
    process.stderr.write(`containerd-shim-hako-v2: ${(err as Error).message}\n`);
    process.stderr.write(`${USAGE}\n`);
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
