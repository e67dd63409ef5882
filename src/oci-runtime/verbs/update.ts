// `hako-runtime update [--resources FILE|-] [--memory N] [--cpu-quota N] … ID`: new resource limits for the
// container, applied to its cgroup in the VM (the VM grows first where hot-plug allows).
import { readFileSync } from "node:fs";
import { create as createMessage } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { Code, HakoError, invalidArgument } from "../../common/errors.js";
import type { OciLinuxResources } from "../../oci/spec.js";
import { containerId, type FlagDef, type ParsedArgs, str } from "../args.js";
import type { Verb } from "../verb.js";
import { withContainer } from "../with-daemon.js";

/** runc update's single-value flags: flag → where it goes in LinuxResources. */
const FIELDS: Record<string, [section: "memory" | "cpu" | "pids" | "blockIO", key: string, numeric: boolean]> = {
  memory: ["memory", "limit", true],
  "memory-reservation": ["memory", "reservation", true],
  "memory-swap": ["memory", "swap", true],
  "cpu-period": ["cpu", "period", true],
  "cpu-quota": ["cpu", "quota", true],
  "cpu-share": ["cpu", "shares", true],
  "cpu-rt-period": ["cpu", "realtimePeriod", true],
  "cpu-rt-runtime": ["cpu", "realtimeRuntime", true],
  "cpuset-cpus": ["cpu", "cpus", false],
  "cpuset-mems": ["cpu", "mems", false],
  "pids-limit": ["pids", "limit", true],
  "blkio-weight": ["blockIO", "weight", true],
};

function resourcesFrom(args: ParsedArgs): OciLinuxResources {
  const file = str(args, "resources");
  let r: Record<string, Record<string, unknown>> = {};
  if (file) {
    try {
      r = JSON.parse(readFileSync(file === "-" ? 0 : file, "utf8")) as typeof r;
    } catch (err) {
      throw HakoError.from(err, Code.InvalidArgument, `cannot read the resources ${file}`);
    }
  }
  for (const [flag, [section, key, numeric]] of Object.entries(FIELDS)) {
    const v = str(args, flag);
    if (v === undefined) continue;
    const value = numeric ? Number(v) : v;
    if (numeric && !Number.isFinite(value)) throw invalidArgument(`--${flag} takes a number, got ${JSON.stringify(v)}`);
    r[section] = { ...(r[section] ?? {}), [key]: value };
  }
  return r as OciLinuxResources;
}

export const update: Verb = {
  name: "update",
  summary: "update the container's resource limits",
  usage: "[--resources FILE|-] [--memory N] [--cpu-quota N] [--pids-limit N] … <container-id>",
  flags: [
    { names: ["resources", "r"], kind: "string" },
    ...Object.keys(FIELDS).map((n): FlagDef => ({ names: [n], kind: "string" })),
    { names: ["kernel-memory"], kind: "string" },
    { names: ["kernel-memory-tcp"], kind: "string" },
    { names: ["l3-cache-schema"], kind: "string" },
    { names: ["mem-bw-schema"], kind: "string" },
  ],
  async run(ctx, args) {
    const id = containerId(args, "update");
    const resources = resourcesFrom(args);
    const any = createMessage(AnySchema, {
      typeUrl: "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources",
      value: new TextEncoder().encode(JSON.stringify(resources)),
    });
    await withContainer(ctx, id, (task) => task.update({ id, resources: any }));
    return 0;
  },
};
