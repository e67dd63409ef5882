// Known bytes for the agent API: a Go program assembles Kata-numbered messages with protowire (independently of
// hako's schema); hako's generated types, and the OCI translation, must read them and write the same bytes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, type DescMessage, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { processFromProto, specFromProto } from "../../src/agent/api/spec-from-wire.js";
import { processToProto, specToProto } from "../../src/agent/api/spec-to-wire.js";
import type { OciProcess, OciSpec } from "../../src/oci/spec.js";
import {
  AddARPNeighborsRequestSchema,
  CreateContainerRequestSchema,
  CreateSandboxRequestSchema,
  ExecProcessRequestSchema,
  GuestDetailsResponseSchema,
  ReadStreamResponseSchema,
  SetGuestDateTimeRequestSchema,
  SignalProcessRequestSchema,
  UpdateInterfaceRequestSchema,
  UpdateRoutesRequestSchema,
  WaitProcessResponseSchema,
} from "../../src/proto/gen/agent/agent_pb.js";
import {
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
  VersionCheckResponseSchema,
} from "../../src/proto/gen/agent/health_pb.js";
import { IPFamily } from "../../src/proto/gen/agent/types_pb.js";
import { goBytes, hex } from "../fixtures/go-proto/peer.js";
import { goMissingReason } from "../helpers/go.js";

const skip = goMissingReason();

function check<D extends DescMessage>(schema: D, name: string, init: MessageInitShape<D>) {
  const theirs = goBytes(name);
  assert.equal(hex(toBinary(schema, create(schema, init))), hex(theirs), `${name}: our encoding differs`);
  return fromBinary(schema, theirs);
}

/** The OCI JSON whose grpc.Spec the Go peer assembled by hand. */
const spec: OciSpec = {
  ociVersion: "1.0.2-dev",
  process: {
    user: { uid: 1000, gid: 1000 },
    args: ["sh", "-c", "echo hi"],
    env: ["PATH=/bin"],
    cwd: "/",
    rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
    noNewPrivileges: true,
    oomScoreAdj: -998,
  },
  root: { path: "/run/kata-containers/shared/containers/c1/rootfs", readonly: true },
  hostname: "c1",
  mounts: [{ destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec"] }],
  annotations: { "io.kubernetes.cri.container-type": "container" },
  linux: {
    resources: { devices: [{ allow: false, access: "rwm" }], memory: { limit: 268435456, swap: -1 } },
    cgroupsPath: "/kubepods/c1",
    namespaces: [{ type: "pid" }, { type: "network", path: "/var/run/netns/cni-1" }],
    seccomp: {
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64"],
      syscalls: [
        { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
        {
          names: ["personality"],
          action: "SCMP_ACT_ERRNO",
          errnoRet: 0,
          args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }],
        },
      ],
    },
    maskedPaths: ["/proc/kcore"],
    readonlyPaths: ["/proc/sys"],
  },
};

const sharedStorage = {
  driver: "virtio-fs",
  source: "kataShared",
  fstype: "virtiofs",
  mountPoint: "/run/kata-containers/shared/containers/",
};

describe("agent messages against Kata's field numbers", { skip }, () => {
  it("CreateContainerRequest: the OCI translation writes Kata's grpc.Spec bytes and reads them back", () => {
    const req = check(CreateContainerRequestSchema, "agent_create_container_request", {
      containerId: "c1",
      execId: "c1",
      storages: [{ ...sharedStorage, options: ["nodev"] }],
      oci: specToProto(spec),
      sandboxPidns: true,
    });
    assert.equal(req.storages[0]?.mountPoint, "/run/kata-containers/shared/containers/");
    assert.equal(req.sandboxPidns, true);
    assert.ok(req.oci);
    assert.equal(req.oci.extraJson, "", "a Kata peer sends no extension");
    assert.deepEqual(specFromProto(req.oci), spec);
  });

  it("ExecProcessRequest with a terminal process, console size and packed additional gids", () => {
    const process: OciProcess = {
      terminal: true,
      consoleSize: { height: 24, width: 80 },
      user: { uid: 1000, gid: 1000, additionalGids: [10, 20] },
      args: ["/bin/sh"],
      cwd: "/root",
    };
    const req = check(ExecProcessRequestSchema, "agent_exec_process_request", {
      containerId: "c1",
      execId: "e1",
      process: processToProto(process),
    });
    assert.ok(req.process);
    assert.deepEqual(processFromProto(req.process), process);
  });

  it("stdio, wait and signal messages", () => {
    const read = check(ReadStreamResponseSchema, "agent_read_stream_response", {
      data: new Uint8Array([0x68, 0x69, 0x0a, 0x00, 0xff]),
    });
    assert.equal(read.data.length, 5);
    assert.equal(check(WaitProcessResponseSchema, "agent_wait_process_response", { status: 137 }).status, 137);
    const sig = check(SignalProcessRequestSchema, "agent_signal_process_request", { containerId: "c1", signal: 9 });
    assert.equal(sig.execId, "");
    assert.equal(sig.signal, 9);
  });

  it("network: UpdateInterface, UpdateRoutes, AddARPNeighbors (types package)", () => {
    const iface = check(UpdateInterfaceRequestSchema, "agent_update_interface_request", {
      interface: {
        device: "eth0",
        name: "eth0",
        ipAddresses: [
          { family: IPFamily.V4, address: "10.88.0.5", mask: "16" },
          { family: IPFamily.V6, address: "fe80::1", mask: "64" },
        ],
        mtu: 1500n,
        hwAddr: "02:42:ac:11:00:02",
        type: "veth",
      },
    });
    assert.equal(iface.interface?.ipAddresses[1]?.family, IPFamily.V6);
    assert.equal(iface.interface?.mtu, 1500n);
    const routes = check(UpdateRoutesRequestSchema, "agent_update_routes_request", {
      routes: {
        routes: [
          { gateway: "10.88.0.1", device: "eth0" },
          { dest: "10.88.0.0/16", device: "eth0", source: "10.88.0.5", scope: 253 },
        ],
      },
    });
    assert.equal(routes.routes?.routes[1]?.scope, 253);
    const arp = check(AddARPNeighborsRequestSchema, "agent_add_arp_neighbors_request", {
      neighbors: {
        arpNeighbors: [
          { toIpAddress: { address: "10.88.0.1" }, device: "eth0", lladdr: "aa:bb:cc:dd:ee:ff", state: 128 },
        ],
      },
    });
    assert.equal(arp.neighbors?.arpNeighbors[0]?.toIpAddress?.address, "10.88.0.1");
  });

  it("sandbox: CreateSandbox, GetGuestDetails, SetGuestDateTime", () => {
    const sb = check(CreateSandboxRequestSchema, "agent_create_sandbox_request", {
      hostname: "pod1",
      dns: ["nameserver 10.0.0.10"],
      storages: [sharedStorage],
      sandboxId: "sandbox-1",
      kernelModules: [{ name: "e1000e", parameters: ["InterruptThrottleRate=3000"] }],
    });
    assert.equal(sb.sandboxId, "sandbox-1");
    assert.equal(sb.kernelModules[0]?.parameters[0], "InterruptThrottleRate=3000");
    const gd = check(GuestDetailsResponseSchema, "agent_guest_details_response", {
      memBlockSizeBytes: 134217728n,
      agentDetails: { version: "0.1.0", initDaemon: true, storageHandlers: ["virtio-fs"], supportsSeccomp: true },
    });
    assert.equal(gd.agentDetails?.initDaemon, true);
    const dt = check(SetGuestDateTimeRequestSchema, "agent_set_guest_date_time_request", {
      sec: 1700000000n,
      usec: 999999n,
    });
    assert.equal(dt.usec, 999999n);
  });

  it("health: Check and Version", () => {
    const h = check(HealthCheckResponseSchema, "agent_health_check_response", {
      status: HealthCheckResponse_ServingStatus.SERVING,
    });
    assert.equal(h.status, HealthCheckResponse_ServingStatus.SERVING);
    const v = check(VersionCheckResponseSchema, "agent_version_check_response", {
      grpcVersion: "1.0",
      agentVersion: "0.1.0",
    });
    assert.equal(v.agentVersion, "0.1.0");
  });
});
