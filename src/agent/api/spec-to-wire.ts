// OCI config.json (hako's OciSpec types) → the agent API's grpc.Spec / grpc.Process / grpc.LinuxResources. Whatever
// the Kata-shaped messages cannot hold travels in their `extra_json` extension (see spec-unmapped.ts), so that
// specFromProto(specToProto(x)) deep-equals x.
import { create } from "@bufbuild/protobuf";
import { Code, HakoError } from "../../common/errors.js";
import type {
  OciBlockIO,
  OciHook,
  OciHooks,
  OciLinux,
  OciLinuxResources,
  OciProcess,
  OciSeccomp,
  OciSpec,
  OciThrottleDevice,
} from "../../oci/spec.js";
import {
  BoxSchema,
  type Hook,
  HookSchema,
  type Hooks,
  HooksSchema,
  type Linux,
  type LinuxBlockIO,
  LinuxBlockIOSchema,
  LinuxCapabilitiesSchema,
  LinuxCPUSchema,
  LinuxIntelRdtSchema,
  LinuxMemorySchema,
  LinuxNetworkSchema,
  LinuxPidsSchema,
  type LinuxResources,
  LinuxResourcesSchema,
  LinuxSchema,
  type LinuxSeccomp,
  LinuxSeccompSchema,
  type LinuxThrottleDevice,
  LinuxThrottleDeviceSchema,
  type Process,
  ProcessSchema,
  RootSchema,
  type Spec,
  SpecSchema,
} from "../../proto/gen/agent/oci_pb.js";
import { processFromProto, resourcesFromProto, specFromProto } from "./spec-from-wire.js";
import { encodeUnmapped, unmappedPart } from "./spec-unmapped.js";

const U32_MAX = 0xffff_ffff;
const U64_MAX = (1n << 64n) - 1n;

function integer(n: number, field: string): bigint {
  if (!Number.isInteger(n)) {
    throw new HakoError(Code.InvalidArgument, `oci spec: ${field} must be an integer, got ${n}`);
  }
  return BigInt(n);
}

function u32(n: number | undefined, field: string): number {
  if (n === undefined) return 0;
  if (!Number.isInteger(n) || n < 0 || n > U32_MAX) {
    throw new HakoError(Code.InvalidArgument, `oci spec: ${field} must be a 32-bit unsigned integer, got ${n}`);
  }
  return n;
}

function i64(n: number | undefined, field: string): bigint {
  return n === undefined ? 0n : integer(n, field);
}

// JSON.parse turns 2^64-1 (RLIM_INFINITY, "no limit") into 2^64; read it back as the largest uint64.
function u64(n: number | undefined, field: string): bigint {
  if (n === undefined) return 0n;
  const v = integer(n, field);
  if (v < 0n) throw new HakoError(Code.InvalidArgument, `oci spec: ${field} must not be negative, got ${n}`);
  return v > U64_MAX ? U64_MAX : v;
}

/** Absent major/minor in a device cgroup rule means "any"; runc and crun spell that -1. */
const WILDCARD = -1n;

export function processToProto(p: OciProcess): Process {
  const proto = create(ProcessSchema, {
    terminal: p.terminal ?? false,
    user: {
      uid: u32(p.user?.uid, "process.user.uid"),
      gid: u32(p.user?.gid, "process.user.gid"),
      additionalGids: (p.user?.additionalGids ?? []).map((g, i) => u32(g, `process.user.additionalGids[${i}]`)),
      username: p.user?.username ?? "",
    },
    args: p.args ?? [],
    env: p.env ?? [],
    cwd: p.cwd ?? "",
    rlimits: (p.rlimits ?? []).map((r, i) => ({
      type: r.type,
      hard: u64(r.hard, `process.rlimits[${i}].hard`),
      soft: u64(r.soft, `process.rlimits[${i}].soft`),
    })),
    noNewPrivileges: p.noNewPrivileges ?? false,
    apparmorProfile: p.apparmorProfile ?? "",
    oomScoreAdj: i64(p.oomScoreAdj, "process.oomScoreAdj"),
    selinuxLabel: p.selinuxLabel ?? "",
  });
  if (p.consoleSize !== undefined) {
    proto.consoleSize = create(BoxSchema, {
      height: u32(p.consoleSize.height, "process.consoleSize.height"),
      width: u32(p.consoleSize.width, "process.consoleSize.width"),
    });
  }
  if (p.capabilities !== undefined) {
    const c = p.capabilities;
    proto.capabilities = create(LinuxCapabilitiesSchema, {
      bounding: c.bounding ?? [],
      effective: c.effective ?? [],
      inheritable: c.inheritable ?? [],
      permitted: c.permitted ?? [],
      ambient: c.ambient ?? [],
    });
  }
  proto.extraJson = encodeUnmapped(unmappedPart(p, processFromProto(proto)));
  return proto;
}

function throttle(list: OciThrottleDevice[] | undefined, field: string): LinuxThrottleDevice[] {
  return (list ?? []).map((d, i) =>
    create(LinuxThrottleDeviceSchema, {
      major: i64(d.major, `${field}[${i}].major`),
      minor: i64(d.minor, `${field}[${i}].minor`),
      rate: u64(d.rate, `${field}[${i}].rate`),
    }),
  );
}

function blockIOToProto(b: OciBlockIO): LinuxBlockIO {
  const f = "linux.resources.blockIO";
  return create(LinuxBlockIOSchema, {
    weight: u32(b.weight, `${f}.weight`),
    leafWeight: u32(b.leafWeight, `${f}.leafWeight`),
    weightDevice: (b.weightDevice ?? []).map((d, i) => ({
      major: i64(d.major, `${f}.weightDevice[${i}].major`),
      minor: i64(d.minor, `${f}.weightDevice[${i}].minor`),
      weight: u32(d.weight, `${f}.weightDevice[${i}].weight`),
      leafWeight: u32(d.leafWeight, `${f}.weightDevice[${i}].leafWeight`),
    })),
    throttleReadBpsDevice: throttle(b.throttleReadBpsDevice, `${f}.throttleReadBpsDevice`),
    throttleWriteBpsDevice: throttle(b.throttleWriteBpsDevice, `${f}.throttleWriteBpsDevice`),
    throttleReadIopsDevice: throttle(b.throttleReadIOPSDevice, `${f}.throttleReadIOPSDevice`),
    throttleWriteIopsDevice: throttle(b.throttleWriteIOPSDevice, `${f}.throttleWriteIOPSDevice`),
  });
}

export function resourcesToProto(r: OciLinuxResources): LinuxResources {
  const f = "linux.resources";
  const proto = create(LinuxResourcesSchema, {
    devices: (r.devices ?? []).map((d, i) => ({
      allow: d.allow,
      type: d.type ?? "",
      major: d.major === undefined ? WILDCARD : integer(d.major, `${f}.devices[${i}].major`),
      minor: d.minor === undefined ? WILDCARD : integer(d.minor, `${f}.devices[${i}].minor`),
      access: d.access ?? "",
    })),
    hugepageLimits: (r.hugepageLimits ?? []).map((h, i) => ({
      pagesize: h.pageSize,
      limit: u64(h.limit, `${f}.hugepageLimits[${i}].limit`),
    })),
  });
  if (r.memory !== undefined) {
    const m = r.memory;
    proto.memory = create(LinuxMemorySchema, {
      limit: i64(m.limit, `${f}.memory.limit`),
      reservation: i64(m.reservation, `${f}.memory.reservation`),
      swap: i64(m.swap, `${f}.memory.swap`),
      kernel: i64(m.kernel, `${f}.memory.kernel`),
      kernelTcp: i64(m.kernelTCP, `${f}.memory.kernelTCP`),
      swappiness: u64(m.swappiness, `${f}.memory.swappiness`),
      disableOomKiller: m.disableOOMKiller ?? false,
    });
  }
  if (r.cpu !== undefined) {
    const c = r.cpu;
    proto.cpu = create(LinuxCPUSchema, {
      shares: u64(c.shares, `${f}.cpu.shares`),
      quota: i64(c.quota, `${f}.cpu.quota`),
      period: u64(c.period, `${f}.cpu.period`),
      realtimeRuntime: i64(c.realtimeRuntime, `${f}.cpu.realtimeRuntime`),
      realtimePeriod: u64(c.realtimePeriod, `${f}.cpu.realtimePeriod`),
      cpus: c.cpus ?? "",
      mems: c.mems ?? "",
    });
  }
  if (r.pids !== undefined) {
    proto.pids = create(LinuxPidsSchema, { limit: i64(r.pids.limit, `${f}.pids.limit`) });
  }
  if (r.blockIO !== undefined) proto.blockIo = blockIOToProto(r.blockIO);
  if (r.network !== undefined) {
    const n = r.network;
    proto.network = create(LinuxNetworkSchema, {
      classId: u32(n.classID, `${f}.network.classID`),
      priorities: (n.priorities ?? []).map((p, i) => ({
        name: p.name,
        priority: u32(p.priority, `${f}.network.priorities[${i}].priority`),
      })),
    });
  }
  proto.extraJson = encodeUnmapped(unmappedPart(r, resourcesFromProto(proto)));
  return proto;
}

function hookList(list: OciHook[] | undefined, field: string): Hook[] {
  return (list ?? []).map((h, i) =>
    create(HookSchema, {
      path: h.path,
      args: h.args ?? [],
      env: h.env ?? [],
      timeout: i64(h.timeout, `${field}[${i}].timeout`),
    }),
  );
}

function hooksToProto(h: OciHooks): Hooks {
  return create(HooksSchema, {
    prestart: hookList(h.prestart, "hooks.prestart"),
    poststart: hookList(h.poststart, "hooks.poststart"),
    poststop: hookList(h.poststop, "hooks.poststop"),
    createRuntime: hookList(h.createRuntime, "hooks.createRuntime"),
    createContainer: hookList(h.createContainer, "hooks.createContainer"),
    startContainer: hookList(h.startContainer, "hooks.startContainer"),
  });
}

function seccompToProto(s: OciSeccomp): LinuxSeccomp {
  const f = "linux.seccomp";
  return create(LinuxSeccompSchema, {
    defaultAction: s.defaultAction,
    architectures: s.architectures ?? [],
    flags: s.flags ?? [],
    syscalls: (s.syscalls ?? []).map((sc, i) => ({
      names: sc.names,
      action: sc.action,
      ...(sc.errnoRet === undefined ? {} : { errnoRet: u32(sc.errnoRet, `${f}.syscalls[${i}].errnoRet`) }),
      args: (sc.args ?? []).map((a, j) => ({
        index: u64(a.index, `${f}.syscalls[${i}].args[${j}].index`),
        value: u64(a.value, `${f}.syscalls[${i}].args[${j}].value`),
        valueTwo: u64(a.valueTwo, `${f}.syscalls[${i}].args[${j}].valueTwo`),
        op: a.op,
      })),
    })),
  });
}

function idMappings(list: OciLinux["uidMappings"], field: string) {
  return (list ?? []).map((m, i) => ({
    containerId: u32(m.containerID, `${field}[${i}].containerID`),
    hostId: u32(m.hostID, `${field}[${i}].hostID`),
    size: u32(m.size, `${field}[${i}].size`),
  }));
}

function linuxToProto(l: OciLinux): Linux {
  const proto = create(LinuxSchema, {
    uidMappings: idMappings(l.uidMappings, "linux.uidMappings"),
    gidMappings: idMappings(l.gidMappings, "linux.gidMappings"),
    sysctl: l.sysctl ?? {},
    cgroupsPath: l.cgroupsPath ?? "",
    namespaces: (l.namespaces ?? []).map((n) => ({ type: n.type, path: n.path ?? "" })),
    devices: (l.devices ?? []).map((d, i) => ({
      path: d.path,
      type: d.type,
      major: i64(d.major, `linux.devices[${i}].major`),
      minor: i64(d.minor, `linux.devices[${i}].minor`),
      fileMode: u32(d.fileMode, `linux.devices[${i}].fileMode`),
      uid: u32(d.uid, `linux.devices[${i}].uid`),
      gid: u32(d.gid, `linux.devices[${i}].gid`),
    })),
    rootfsPropagation: l.rootfsPropagation ?? "",
    maskedPaths: l.maskedPaths ?? [],
    readonlyPaths: l.readonlyPaths ?? [],
    mountLabel: l.mountLabel ?? "",
  });
  if (l.resources !== undefined) proto.resources = resourcesToProto(l.resources);
  if (l.seccomp !== undefined) proto.seccomp = seccompToProto(l.seccomp);
  if (l.intelRdt !== undefined) {
    proto.intelRdt = create(LinuxIntelRdtSchema, { l3CacheSchema: l.intelRdt.l3CacheSchema ?? "" });
  }
  return proto;
}

export function specToProto(spec: OciSpec): Spec {
  const proto = create(SpecSchema, {
    version: spec.ociVersion ?? "",
    hostname: spec.hostname ?? "",
    mounts: (spec.mounts ?? []).map((m) => ({
      destination: m.destination,
      source: m.source ?? "",
      type: m.type ?? "",
      options: m.options ?? [],
    })),
    annotations: spec.annotations ?? {},
  });
  if (spec.process !== undefined) proto.process = processToProto(spec.process);
  if (spec.root !== undefined) {
    proto.root = create(RootSchema, { path: spec.root.path, readonly: spec.root.readonly ?? false });
  }
  if (spec.hooks !== undefined) proto.hooks = hooksToProto(spec.hooks);
  if (spec.linux !== undefined) proto.linux = linuxToProto(spec.linux);
  // process and linux.resources carry their own leftovers, so they come back exact and add nothing here.
  proto.extraJson = encodeUnmapped(unmappedPart(spec, specFromProto(proto)));
  return proto;
}
