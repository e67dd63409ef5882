// `hako-runtime events [--stats] [--interval 5s] ID`: the container's resource use as runc's "stats" events (one
// JSON object per line), once with --stats, else every interval until the container is gone. Figures come from the
// container's cgroup in the VM.

import { setTimeout as sleep } from "node:timers/promises";
import { fromBinary } from "@bufbuild/protobuf";
import { invalidArgument } from "../../common/errors.js";
import { MetricsSchema } from "../../proto/gen/cgroups/v2/metrics_pb.js";
import { bool, containerId, str } from "../args.js";
import type { TaskClient } from "../daemon-client.js";
import type { Verb } from "../verb.js";
import { withContainer } from "../with-daemon.js";

/** Go duration text as runc's --interval takes it ("5s", "500ms", "1m"), in ms. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!m) throw invalidArgument(`invalid duration ${JSON.stringify(text)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  return Number(m[1]) * unit;
}

async function statsEvent(task: TaskClient, id: string): Promise<string> {
  const { stats } = await task.stats({ id });
  const m = fromBinary(MetricsSchema, stats?.value ?? new Uint8Array());
  const data = {
    cpu: {
      usage: {
        total: Number(m.cpu?.usageUsec ?? 0n) * 1000,
        kernel: Number(m.cpu?.systemUsec ?? 0n) * 1000,
        user: Number(m.cpu?.userUsec ?? 0n) * 1000,
      },
    },
    memory: { usage: { usage: Number(m.memory?.usage ?? 0n), limit: Number(m.memory?.usageLimit ?? 0n), failcnt: 0 } },
    pids: { current: Number(m.pids?.current ?? 0n), limit: Number(m.pids?.limit ?? 0n) },
  };
  return `${JSON.stringify({ type: "stats", id, data })}\n`;
}

export const events: Verb = {
  name: "events",
  summary: "print the container's resource use as runc stats events",
  usage: "[--stats] [--interval DURATION] <container-id>",
  flags: [
    { names: ["interval"], kind: "string" },
    { names: ["stats"], kind: "bool" },
  ],
  async run(ctx, args) {
    const id = containerId(args, "events");
    const interval = parseDuration(str(args, "interval") ?? "5s");
    await withContainer(ctx, id, async (task) => {
      if (bool(args, "stats")) {
        process.stdout.write(await statsEvent(task, id));
        return;
      }
      for (;;) {
        process.stdout.write(await statsEvent(task, id));
        await sleep(interval);
      }
    });
    return 0;
  },
};
