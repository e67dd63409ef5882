// `hako-runtime start ID`: runs the created container's process in its VM.
import { containerId } from "../args.js";
import type { Verb } from "../verb.js";
import { withContainer } from "../with-daemon.js";

export const start: Verb = {
  name: "start",
  summary: "start the process of a created container",
  usage: "<container-id>",
  flags: [],
  async run(ctx, args) {
    const id = containerId(args, "start");
    await withContainer(ctx, id, (task) => task.start({ id }));
    return 0;
  },
};
