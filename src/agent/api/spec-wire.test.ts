// Round trips OCI JSON → grpc.Spec → bytes → grpc.Spec → OCI JSON, and checks what a Kata peer (which ignores the
// extra_json extension) would see.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, HakoError } from "../../common/errors.js";
import type { OciLinuxResources, OciProcess, OciSpec } from "../../oci/spec.js";
import { LinuxResourcesSchema, ProcessSchema, SpecSchema } from "../../proto/gen/agent/oci_pb.js";
import { processFromProto, resourcesFromProto, specFromProto } from "./spec-from-wire.js";
import { processToProto, resourcesToProto, specToProto } from "./spec-to-wire.js";

function loadCtrSpec(): OciSpec {
  return JSON.parse(readFileSync(new URL("./testdata/ctr-run-config.json", import.meta.url), "utf8")) as OciSpec;
}

function viaBytes(spec: OciSpec): OciSpec {
  return specFromProto(fromBinary(SpecSchema, toBinary(SpecSchema, specToProto(spec))));
}

/** A spec touching every field Kata's message has, plus some it lacks. */
const full: OciSpec = {
  ociVersion: "1.1.0",
  domainname: "example.org",
  process: {
    terminal: true,
    consoleSize: { height: 40, width: 120 },
    user: { uid: 1000, gid: 1000, umask: 18, additionalGids: [10, 20], username: "app" },
    args: ["/bin/app", "--flag"],
    env: ["A=1"],
    cwd: "/srv",
    capabilities: { bounding: ["CAP_KILL"], effective: ["CAP_KILL"], ambient: ["CAP_NET_BIND_SERVICE"] },
    // RLIM_INFINITY as JSON.parse reads "18446744073709551615"
    rlimits: [{ type: "RLIMIT_NOFILE", hard: JSON.parse("18446744073709551615") as number, soft: 1024 }],
    noNewPrivileges: true,
    apparmorProfile: "hako-default",
    oomScoreAdj: -999,
    selinuxLabel: "system_u:system_r:container_t:s0",
    ioPriority: { class: "IOPRIO_CLASS_BE", priority: 4 },
  },
  root: { path: "/run/kata-containers/shared/containers/c1/rootfs", readonly: true },
  hostname: "c1",
  mounts: [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid"] },
    { destination: "/data", type: "bind", source: "/host/data", options: ["rbind", "ro"], uidMappings: [] },
  ],
  hooks: {
    prestart: [{ path: "/bin/pre", args: ["pre", "x"], env: ["E=1"], timeout: 5 }],
    createRuntime: [{ path: "/bin/cr" }],
    createContainer: [{ path: "/bin/cc" }],
    startContainer: [{ path: "/bin/sc" }],
    poststart: [{ path: "/bin/post" }],
    poststop: [{ path: "/bin/stop" }],
  },
  annotations: { "io.katacontainers.config.hypervisor.default_memory": "512" },
  linux: {
    uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    sysctl: { "net.ipv4.ip_forward": "1" },
    resources: {
      devices: [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
        { allow: true, type: "c", major: 0, access: "m" },
      ],
      memory: { limit: 536870912, reservation: 268435456, swap: -1, swappiness: 0, disableOOMKiller: true },
      cpu: { shares: 1024, quota: 50000, period: 100000, cpus: "0-1", mems: "0", idle: 0 },
      pids: { limit: 128 },
      blockIO: {
        weight: 500,
        weightDevice: [{ major: 8, minor: 0, weight: 300 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
      },
      hugepageLimits: [{ pageSize: "2MB", limit: 0 }],
      network: { classID: 7, priorities: [{ name: "eth0", priority: 5 }] },
      unified: { "memory.high": "400000000" },
    },
    cgroupsPath: "/kubepods/pod1/c1",
    namespaces: [{ type: "pid" }, { type: "network", path: "/var/run/netns/cni-1" }],
    devices: [{ path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 }],
    seccomp: {
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 1,
      architectures: ["SCMP_ARCH_X86_64"],
      flags: ["SECCOMP_FILTER_FLAG_LOG"],
      syscalls: [
        { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
        {
          names: ["personality"],
          action: "SCMP_ACT_ERRNO",
          errnoRet: 0,
          args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }],
        },
        {
          names: ["clone"],
          action: "SCMP_ACT_ALLOW",
          args: [{ index: 0, value: 2114060288, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
        },
      ],
    },
    rootfsPropagation: "rslave",
    maskedPaths: ["/proc/kcore"],
    readonlyPaths: ["/proc/sys"],
    mountLabel: "system_u:object_r:container_file_t:s0",
    intelRdt: { l3CacheSchema: "L3:0=ff", closID: "guaranteed" },
    personality: { domain: "LINUX" },
  },
};

describe("OCI spec ↔ grpc.Spec", () => {
  it("round trips the spec ctr run generates, without leftovers", () => {
    const spec = loadCtrSpec();
    const proto = specToProto(spec);
    assert.equal(proto.extraJson, "", "everything ctr generates fits Kata's message");
    assert.equal(proto.process?.extraJson, "");
    assert.equal(proto.linux?.resources?.extraJson, "");
    assert.deepEqual(viaBytes(spec), spec);
  });

  it("round trips every field, including those Kata's message lacks", () => {
    assert.deepEqual(viaBytes(full), full);
  });

  it("fills Kata's fields so that a Kata peer sees them", () => {
    const proto = fromBinary(SpecSchema, toBinary(SpecSchema, specToProto(full)));
    assert.equal(proto.version, "1.1.0");
    assert.equal(proto.process?.user?.uid, 1000);
    assert.deepEqual(proto.process?.user?.additionalGids, [10, 20]);
    assert.equal(proto.process?.oomScoreAdj, -999n);
    assert.equal(proto.process?.rlimits[0]?.hard, 18446744073709551615n);
    assert.equal(proto.root?.readonly, true);
    assert.equal(proto.mounts[1]?.source, "/host/data");
    assert.equal(proto.hooks?.prestart[0]?.timeout, 5n);
    assert.equal(proto.linux?.resources?.memory?.limit, 536870912n);
    assert.equal(proto.linux?.resources?.memory?.swap, -1n);
    assert.equal(proto.linux?.resources?.cpu?.quota, 50000n);
    assert.equal(proto.linux?.resources?.pids?.limit, 128n);
    assert.equal(proto.linux?.resources?.blockIo?.throttleWriteIopsDevice[0]?.rate, 100n);
    assert.equal(proto.linux?.resources?.hugepageLimits[0]?.pagesize, "2MB");
    // an absent major/minor is the wildcard
    assert.equal(proto.linux?.resources?.devices[0]?.major, -1n);
    assert.equal(proto.linux?.resources?.devices[2]?.major, 0n);
    assert.equal(proto.linux?.resources?.devices[2]?.minor, -1n);
    assert.equal(proto.linux?.namespaces[1]?.path, "/var/run/netns/cni-1");
    assert.equal(proto.linux?.devices[0]?.fileMode, 438);
    assert.equal(proto.linux?.seccomp?.syscalls[1]?.errnoRet, 0);
    assert.equal(proto.linux?.seccomp?.syscalls[0]?.errnoRet, undefined);
    assert.equal(proto.linux?.seccomp?.syscalls[2]?.args[0]?.value, 2114060288n);
    assert.equal(proto.linux?.intelRdt?.l3CacheSchema, "L3:0=ff");
    assert.equal(proto.annotations["io.katacontainers.config.hypervisor.default_memory"], "512");
  });

  it("gives a Kata peer's spec (no extension) in natural OCI form", () => {
    const proto = specToProto(full);
    proto.extraJson = "";
    if (proto.process) proto.process.extraJson = "";
    if (proto.linux?.resources) proto.linux.resources.extraJson = "";
    const back = specFromProto(proto);
    assert.equal(back.domainname, undefined);
    assert.equal(back.process?.user.umask, undefined);
    assert.equal(back.linux?.resources?.unified, undefined);
    assert.equal(back.linux?.resources?.memory?.swappiness, undefined, "proto3 cannot tell 0 from unset");
    assert.deepEqual(back.linux?.resources?.devices?.[0], { allow: false, access: "rwm" });
    assert.deepEqual(back.process?.rlimits, full.process?.rlimits);
    // an explicit valueTwo: 0 is one of the zeros that only the extension keeps
    assert.deepEqual(back.linux?.seccomp?.syscalls?.slice(0, 2), full.linux?.seccomp?.syscalls?.slice(0, 2));
  });

  it("round trips a lone process (ExecProcess) and resources (UpdateContainer)", () => {
    const process = full.process as OciProcess;
    const p = fromBinary(ProcessSchema, toBinary(ProcessSchema, processToProto(process)));
    assert.deepEqual(processFromProto(p), process);
    const resources = full.linux?.resources as OciLinuxResources;
    const r = fromBinary(LinuxResourcesSchema, toBinary(LinuxResourcesSchema, resourcesToProto(resources)));
    assert.deepEqual(resourcesFromProto(r), resources);
  });

  it("rejects numbers the message cannot hold, naming the field", () => {
    const bad: OciSpec = { ociVersion: "1.0.2", process: { user: { uid: -1, gid: 0 }, cwd: "/" } };
    assert.throws(
      () => specToProto(bad),
      (err: unknown) =>
        err instanceof HakoError && err.code === Code.InvalidArgument && /process\.user\.uid/.test(err.message),
    );
    const frac: OciSpec = { ociVersion: "1.0.2", linux: { resources: { memory: { limit: 1.5 } } } };
    assert.throws(() => specToProto(frac), /linux\.resources\.memory\.limit/);
  });

  it("rejects a malformed extra_json instead of guessing", () => {
    const proto = specToProto(loadCtrSpec());
    proto.extraJson = "[1,2]";
    assert.throws(
      () => specFromProto(proto),
      (err: unknown) => err instanceof HakoError && err.code === Code.InvalidArgument,
    );
  });
});
