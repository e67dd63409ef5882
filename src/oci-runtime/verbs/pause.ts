// `hako-runtime pause ID` / `resume ID`: freezes and thaws the container's processes in its VM (its cgroup freezer).
import { containerId } from "../args.js";
import type { Verb } from "../verb.js";
import { withContainer } from "../with-daemon.js";

export const pause: Verb = {
  name: "pause",
  summary: "suspend every process of the container",
  usage: "<container-id>",
  flags: [],
  async run(ctx, args) {
    const id = containerId(args, "pause");
    await withContainer(ctx, id, (task) => task.pause({ id }));
    return 0;
  },
};

export const resume: Verb = {
  name: "resume",
  summary: "resume the processes of a paused container",
  usage: "<container-id>",
  flags: [],
  async run(ctx, args) {
    const id = containerId(args, "resume");
    await withContainer(ctx, id, (task) => task.resume({ id }));
    return 0;
  },
};
