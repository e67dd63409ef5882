// `hako-runtime ps [--format table|json] ID`: the container's processes. They run in the VM, so the pids are guest
// pids; runc's table runs the host's `ps`, which cannot see them, so the table lists pids alone.
import { invalidArgument } from "../../common/errors.js";
import { str, validateId } from "../args.js";
import type { Verb } from "../verb.js";
import { withContainer } from "../with-daemon.js";

export const ps: Verb = {
  name: "ps",
  summary: "list the container's processes (guest pids)",
  usage: "[--format table|json] <container-id>",
  flags: [{ names: ["format", "f"], kind: "string" }],
  async run(ctx, args) {
    const id = args.positional[0];
    if (!id) throw invalidArgument(`"ps" requires a container id`);
    validateId(id);
    const format = str(args, "format") ?? "table";
    if (format !== "table" && format !== "json") throw invalidArgument("invalid format option");
    const { processes } = await withContainer(ctx, id, (task) => task.pids({ id }));
    const pids = processes.map((p) => p.pid);
    process.stdout.write(
      format === "json" ? `${JSON.stringify(pids)}\n` : `PID\n${pids.map((p) => `${p}\n`).join("")}`,
    );
    return 0;
  },
};
