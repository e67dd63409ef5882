// Known bytes: containerd's own Go types (containerd 1.6, cgroups, as Debian packages them) encode shim-side
// messages; hako's generated types must read them field for field and write the very same bytes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, type DescMessage, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { anyUnpack, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { MetricsSchema as V1MetricsSchema } from "../../src/proto/gen/cgroups/v1/metrics_pb.js";
import { MetricsSchema as V2MetricsSchema } from "../../src/proto/gen/cgroups/v2/metrics_pb.js";
import { TaskCreateSchema, TaskExitSchema } from "../../src/proto/gen/containerd/events/task_pb.js";
import { ForwardRequestSchema } from "../../src/proto/gen/containerd/events/ttrpc_pb.js";
import { OptionsSchema } from "../../src/proto/gen/containerd/runtimeoptions/v1/options_pb.js";
import {
  CreateTaskRequestSchema,
  PidsResponseSchema,
  StateResponseSchema,
  UpdateTaskRequestSchema,
  WaitResponseSchema,
} from "../../src/proto/gen/containerd/task/v2/shim_pb.js";
import { Status } from "../../src/proto/gen/containerd/types/task_pb.js";
import { goBytes, hex } from "../fixtures/go-proto/peer.js";
import { goMissingReason } from "../helpers/go.js";

const skip = goMissingReason();
const bundle = "/run/containerd/io.containerd.runtime.v2.task/default/c1";
const exitedAt = create(TimestampSchema, { seconds: 1700000000n, nanos: 123456789 });

/** Decodes the Go peer's bytes, and checks that our own encoding of `init` is byte-identical. */
function check<D extends DescMessage>(schema: D, name: string, init: MessageInitShape<D>) {
  const theirs = goBytes(name);
  assert.equal(hex(toBinary(schema, create(schema, init))), hex(theirs), `${name}: our encoding differs`);
  return fromBinary(schema, theirs);
}

describe("containerd messages against containerd's Go types", { skip }, () => {
  it("CreateTaskRequest with rootfs mounts and runtimeoptions.v1.Options carrying config_path", () => {
    const options = create(OptionsSchema, { configPath: "/etc/hako/configuration.toml" });
    const req = check(CreateTaskRequestSchema, "create_task_request", {
      id: "c1",
      bundle,
      rootfs: [
        {
          type: "overlay",
          source: "overlay",
          options: ["index=off", "workdir=/var/lib/w", "upperdir=/var/lib/u", "lowerdir=/var/lib/l"],
        },
      ],
      stdout: "/run/containerd/fifo/1/c1-stdout",
      stderr: "/run/containerd/fifo/1/c1-stderr",
      options: { typeUrl: "runtimeoptions.v1.Options", value: toBinary(OptionsSchema, options) },
    });
    assert.equal(req.id, "c1");
    assert.equal(req.rootfs[0]?.type, "overlay");
    assert.equal(req.rootfs[0]?.options.length, 4);
    assert.equal(req.stdin, "");
    // containerd names the type by its bare proto name
    assert.equal(req.options?.typeUrl, "runtimeoptions.v1.Options");
    assert.ok(req.options);
    const unpacked = anyUnpack(req.options, OptionsSchema);
    assert.equal(unpacked?.configPath, "/etc/hako/configuration.toml");
  });

  it("StateResponse with status, exit and a timestamp", () => {
    const res = check(StateResponseSchema, "state_response", {
      id: "c1",
      bundle,
      pid: 4242,
      status: Status.STOPPED,
      stdin: "/run/containerd/fifo/1/c1-stdin",
      terminal: true,
      exitStatus: 137,
      exitedAt,
      execId: "e1",
    });
    assert.equal(res.status, Status.STOPPED);
    assert.equal(res.exitStatus, 137);
    assert.equal(res.exitedAt?.seconds, 1700000000n);
    assert.equal(res.exitedAt?.nanos, 123456789);
  });

  it("WaitResponse: containerd writes year 1 for a zero time, so an unset exited_at must be written too", () => {
    const res = check(WaitResponseSchema, "wait_response_zero_time", {
      exitedAt: { seconds: -62135596800n, nanos: 0 },
    });
    assert.equal(res.exitStatus, 0);
    assert.equal(res.exitedAt?.seconds, -62135596800n);
  });

  it("PidsResponse", () => {
    const res = check(PidsResponseSchema, "pids_response", { processes: [{ pid: 1 }, { pid: 4242 }] });
    assert.deepEqual(
      res.processes.map((p) => p.pid),
      [1, 4242],
    );
  });

  it("Events/Forward request with a TaskExit in the Envelope", () => {
    const exit = create(TaskExitSchema, { containerId: "c1", id: "c1", pid: 4242, exitStatus: 137, exitedAt });
    const req = check(ForwardRequestSchema, "forward_task_exit", {
      envelope: {
        timestamp: { seconds: 1700000001n, nanos: 5 },
        namespace: "default",
        topic: "/tasks/exit",
        event: { typeUrl: TaskExitSchema.typeName, value: toBinary(TaskExitSchema, exit) },
      },
    });
    assert.equal(req.envelope?.topic, "/tasks/exit");
    assert.equal(req.envelope?.event?.typeUrl, "containerd.events.TaskExit");
    assert.ok(req.envelope?.event);
    const event = anyUnpack(req.envelope.event, TaskExitSchema);
    assert.equal(event?.exitStatus, 137);
    assert.equal(event?.exitedAt?.nanos, 123456789);
  });

  it("TaskCreate event with TaskIO", () => {
    const ev = check(TaskCreateSchema, "task_create_event", {
      containerId: "c1",
      bundle,
      rootfs: [{ type: "bind", source: "/src", target: "rootfs", options: ["rbind"] }],
      io: { stdin: "/in", stdout: "/out", terminal: true },
      pid: 4242,
    });
    assert.equal(ev.io?.terminal, true);
    assert.equal(ev.rootfs[0]?.target, "rootfs");
  });

  it("UpdateTaskRequest with JSON resources and annotations", () => {
    const req = check(UpdateTaskRequestSchema, "update_task_request", {
      id: "c1",
      resources: {
        typeUrl: "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources",
        value: new TextEncoder().encode('{"cpu":{"shares":512}}'),
      },
      annotations: { "io.kubernetes.cri.sandbox-id": "s1" },
    });
    assert.deepEqual(JSON.parse(new TextDecoder().decode(req.resources?.value)), { cpu: { shares: 512 } });
    assert.equal(req.annotations["io.kubernetes.cri.sandbox-id"], "s1");
  });

  it("io.containerd.cgroups.v1.Metrics", () => {
    const m = check(V1MetricsSchema, "cgroups_v1_metrics", {
      hugetlb: [{ usage: 2097152n, max: 4194304n, failcnt: 1n, pagesize: "2MB" }],
      pids: { current: 3n, limit: 128n },
      cpu: {
        usage: { total: 123456789012n, kernel: 1000000n, user: 2000000n, perCpu: [100n, 200n] },
        throttling: { periods: 10n, throttledPeriods: 2n, throttledTime: 3000n },
      },
      memory: {
        cache: 4096n,
        rss: 8192n,
        totalRss: 8192n,
        usage: { limit: 9223372036854771712n, usage: 10485760n, max: 20971520n, failcnt: 1n },
        swap: { usage: 1n },
      },
      blkio: { ioServiceBytesRecursive: [{ op: "Read", device: "vda", major: 252n, minor: 0n, value: 4096n }] },
      memoryOomControl: { oomKill: 2n },
    });
    assert.equal(V1MetricsSchema.typeName, "io.containerd.cgroups.v1.Metrics");
    assert.equal(m.memory?.usage?.limit, 9223372036854771712n);
    assert.deepEqual(m.cpu?.usage?.perCpu, [100n, 200n]);
    assert.equal(m.blkio?.ioServiceBytesRecursive[0]?.device, "vda");
  });

  it("io.containerd.cgroups.v2.Metrics", () => {
    const m = check(V2MetricsSchema, "cgroups_v2_metrics", {
      pids: { current: 3n, limit: 128n },
      cpu: { usageUsec: 123456n, userUsec: 100000n, systemUsec: 23456n, nrPeriods: 4n },
      memory: { anon: 4096n, file: 8192n, usage: 12288n, usageLimit: 18446744073709551615n },
      io: { usage: [{ major: 252n, minor: 0n, rbytes: 4096n, rios: 1n }] },
      hugetlb: [{ pagesize: "2MB" }],
      memoryEvents: { max: 5n, oom: 1n, oomKill: 1n },
    });
    assert.equal(V2MetricsSchema.typeName, "io.containerd.cgroups.v2.Metrics");
    assert.equal(m.memory?.usageLimit, 18446744073709551615n);
    assert.equal(m.memoryEvents?.oomKill, 1n);
  });
});
