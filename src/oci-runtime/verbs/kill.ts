// `hako-runtime kill [--all] ID [SIGNAL]`: sends a signal (default SIGTERM) to the container's process in its VM,
// or to every process of the container with --all.
import { invalidArgument } from "../../common/errors.js";
import { bool, validateId } from "../args.js";
import { parseSignal } from "../signals.js";
import type { Verb } from "../verb.js";
import { withContainer } from "../with-daemon.js";

export const kill: Verb = {
  name: "kill",
  summary: "send a signal to the container's process (SIGTERM by default)",
  usage: "[--all] <container-id> [signal]",
  flags: [{ names: ["all", "a"], kind: "bool" }],
  async run(ctx, args) {
    const [id, sig, ...extra] = args.positional;
    if (!id || extra.length > 0) throw invalidArgument(`"kill" requires 1 or 2 arguments: <container-id> [signal]`);
    validateId(id);
    const signal = parseSignal(sig ?? "SIGTERM");
    await withContainer(ctx, id, (task) => task.kill({ id, signal, all: bool(args, "all") }));
    return 0;
  },
};
