import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type Any, type Timestamp, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ContainerStats } from "../agent/api/agent-api.js";
import { ProcessStatus } from "../agent/api/process-status.js";
import { invalidArgument } from "../common/errors.js";
import type { OciLinuxResources, OciProcess } from "../oci/spec.js";
import { MetricsSchema } from "../proto/gen/cgroups/v2/metrics_pb.js";
import { OptionsSchema } from "../proto/gen/containerd/runtimeoptions/v1/options_pb.js";
import type { Mount } from "../proto/gen/containerd/types/mount_pb.js";
import { Status as ProtoStatus } from "../proto/gen/containerd/types/task_pb.js";
import type { Container } from "../runtime/container.js";
import type { MountSpec } from "../runtime/host-mounts.js";
import type { ContainerProcess, ExitInfo } from "../runtime/process.js";
import type { StdioPaths } from "./stdio.js";
import type { TaskMount } from "./task-events.js";

export function toProtoStatus(s: ProcessStatus): ProtoStatus {
  switch (s) {
    case ProcessStatus.Created:
      return ProtoStatus.CREATED;
    case ProcessStatus.Running:
      return ProtoStatus.RUNNING;
    case ProcessStatus.Paused:
      return ProtoStatus.PAUSED;
    case ProcessStatus.Stopped:
      return ProtoStatus.STOPPED;
  }
}

export function exitFields(exit: ExitInfo | undefined): { exitStatus: number; exitedAt?: Timestamp } {
  if (!exit) return { exitStatus: 0 };
  return { exitStatus: exit.status, exitedAt: timestampFromDate(exit.exitedAt) };
}

export function mountsFromProto(mounts: readonly Mount[]): MountSpec[] {
  return mounts.map((m) => ({ type: m.type, source: m.source, options: [...m.options] }));
}

/** The rootfs mounts as the create event repeats them. */
export function taskMounts(mounts: readonly Mount[]): TaskMount[] {
  return mounts.map((m) => ({ type: m.type, source: m.source, target: m.target, options: [...m.options] }));
}

/** A Create or Exec request's fifo paths. */
export function stdioOf(req: { stdin: string; stdout: string; stderr: string; terminal: boolean }): StdioPaths {
  return { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal };
}

/** containerd's State answer for a process. */
export function stateResponse(c: Container, p: ContainerProcess, stdio: StdioPaths | undefined, execId: string) {
  return {
    id: execId || c.id,
    bundle: c.bundle,
    pid: p.pid,
    status: toProtoStatus(p.status),
    stdin: stdio?.stdin ?? "",
    stdout: stdio?.stdout ?? "",
    stderr: stdio?.stderr ?? "",
    terminal: stdio?.terminal ?? false,
    execId,
    ...exitFields(p.exitInfo),
  };
}

/** The config file named by the runtime options (`ctr --runtime-config-path`, CRI's ConfigPath), if any. */
export function configPathFromOptions(options: Any | undefined): string | undefined {
  if (!options || options.value.length === 0) return undefined;
  if (!options.typeUrl.endsWith("runtimeoptions.v1.Options")) return undefined;
  const decoded = fromBinary(OptionsSchema, options.value);
  return decoded.configPath || undefined;
}

function jsonAny<T>(any: Any | undefined, what: string): T {
  if (!any) throw invalidArgument(`${what} is missing`);
  try {
    return JSON.parse(new TextDecoder().decode(any.value)) as T;
  } catch (err) {
    throw invalidArgument(`${what} (${any.typeUrl}) is not valid JSON: ${(err as Error).message}`);
  }
}

/** containerd sends the exec's process spec as JSON in an Any (runtime-spec Process). */
export const processFromAny = (any: Any | undefined) => jsonAny<OciProcess>(any, "exec process spec");
export const resourcesFromAny = (any: Any | undefined) => jsonAny<OciLinuxResources>(any, "update resources");

/** Guest cgroup v2 figures as containerd's v2 Metrics, which `ctr task metrics` prints. */
export function metricsAny(stats: ContainerStats): Any {
  const metrics = create(MetricsSchema, {
    pids: { current: stats.pidsCurrent, limit: stats.pidsLimit },
    cpu: {
      usageUsec: stats.cpuUsageNs / 1000n,
      userUsec: stats.cpuUserNs / 1000n,
      systemUsec: stats.cpuSystemNs / 1000n,
    },
    memory: { usage: stats.memoryUsage, usageLimit: stats.memoryLimit },
  });
  // containerd 1.6 resolves Any by the bare message name.
  return { $typeName: "google.protobuf.Any", typeUrl: MetricsSchema.typeName, value: toBinary(MetricsSchema, metrics) };
}
