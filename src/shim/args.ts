// The shim's command line, as containerd gives it: `-namespace NS -address A -publish-binary B -id ID [-debug]
// start|delete`. Flags are Go-style (one dash, optionally `-flag=value`); `serve` is hako's own internal action.
import { invalidArgument } from "../common/errors.js";

/** containerd's two actions, then hako's own `serve`: the long-lived shim that `start` spawns. */
export const ACTIONS = ["start", "delete", "serve"] as const;
export type Action = (typeof ACTIONS)[number];

export interface ShimArgs {
  namespace: string;
  address: string;
  publishBinary: string;
  id: string;
  bundle: string;
  debug: boolean;
  action: Action;
}

const valued = new Set(["namespace", "address", "publish-binary", "id", "bundle", "socket"]);

export function parseShimArgs(argv: readonly string[], cwd: string): ShimArgs {
  const values = new Map<string, string>();
  let debug = false;
  let action: Action | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg.startsWith("-")) {
      const [rawName, inline] = arg.replace(/^--?/, "").split(/=(.*)/s, 2) as [string, string | undefined];
      if (rawName === "debug") {
        debug = inline === undefined || inline === "true";
        continue;
      }
      if (!valued.has(rawName)) throw invalidArgument(`unknown flag -${rawName}`);
      const value = inline ?? argv[++i];
      if (value === undefined) throw invalidArgument(`flag -${rawName} needs a value`);
      values.set(rawName, value);
    } else if ((ACTIONS as readonly string[]).includes(arg)) {
      action = arg as Action;
    } else {
      throw invalidArgument(`unknown action ${JSON.stringify(arg)} (expected start or delete)`);
    }
  }
  if (!action) throw invalidArgument("no action given (expected start or delete)");
  const id = values.get("id");
  if (!id) throw invalidArgument("-id is required");
  return {
    namespace: values.get("namespace") ?? process.env.NAMESPACE ?? "default",
    address: values.get("address") ?? "",
    publishBinary: values.get("publish-binary") ?? "",
    id,
    bundle: values.get("bundle") ?? cwd,
    debug,
    action,
  };
}
