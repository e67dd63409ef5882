// `hako-runtime state ID`: runc's state JSON, from the state saved under --root and the daemon's view of the status
// (a gone daemon: stopped). pid is the stand-in's, 0 once stopped, as runc reports it.
import { containerId } from "../args.js";
import type { RuntimeContext } from "../context.js";
import { type ContainerStateV1, readState } from "../state-store.js";
import { currentStatus } from "../task-status.js";
import type { Verb } from "../verb.js";

/** The OCI runtime-spec version hako-runtime reads (runc 1.1 reports its spec-go version the same way). */
export const OCI_VERSION = "1.0.2";

export async function runcState(s: ContainerStateV1): Promise<Record<string, unknown>> {
  const status = await currentStatus(s);
  const out: Record<string, unknown> = {
    ociVersion: OCI_VERSION,
    id: s.id,
    pid: status === "stopped" ? 0 : s.pid,
    status,
    bundle: s.bundle,
    rootfs: s.rootfs,
    created: s.created,
  };
  if (Object.keys(s.annotations).length > 0) out.annotations = s.annotations;
  out.owner = "";
  return out;
}

export const state: Verb = {
  name: "state",
  summary: "output the state of a container (runc's JSON)",
  usage: "<container-id>",
  flags: [],
  async run(ctx: RuntimeContext, args) {
    const s = await readState(ctx.root, containerId(args, "state"));
    process.stdout.write(`${JSON.stringify(await runcState(s), null, 2)}\n`);
    return 0;
  },
};
