// The agent API's grpc.Spec / grpc.Process / grpc.LinuxResources → OCI config.json (hako's OciSpec types). Proto3
// cannot tell an unset scalar from its zero value, so zeros and empty lists come back as absent keys; the
// `extra_json` extension (written by spec-to-wire.ts) then restores whatever the message could not say.

import type {
  OciBlockIO,
  OciHook,
  OciHooks,
  OciIdMapping,
  OciLinux,
  OciLinuxResources,
  OciProcess,
  OciSeccomp,
  OciSpec,
  OciThrottleDevice,
  OciWeightDevice,
} from "../../oci/spec.js";
import type {
  Hook,
  Hooks,
  Linux,
  LinuxBlockIO,
  LinuxIDMapping,
  LinuxResources,
  LinuxSeccomp,
  LinuxThrottleDevice,
  Process,
  Spec,
} from "../../proto/gen/agent/oci_pb.js";
import { decodeUnmapped, restoreUnmapped } from "./spec-unmapped.js";

/** Sets `obj[key] = value` unless value is a zero value (0, 0n, "", false, empty list or map). */
function put<T extends object, K extends keyof T>(obj: T, key: K, value: T[K] | undefined): void {
  if (value === undefined || value === 0 || value === "" || value === false) return;
  if (Array.isArray(value) && value.length === 0) return;
  obj[key] = value;
}

function nonEmptyMap(m: { [k: string]: string }): Record<string, string> | undefined {
  return Object.keys(m).length > 0 ? { ...m } : undefined;
}

function restore<T extends Record<string, unknown>>(covered: T, extraJson: string, where: string): T {
  const unmapped = decodeUnmapped(extraJson, where);
  if (unmapped !== undefined) restoreUnmapped(covered, unmapped);
  return covered;
}

export function processFromProto(p: Process): OciProcess {
  const out: OciProcess = { user: { uid: p.user?.uid ?? 0, gid: p.user?.gid ?? 0 }, cwd: p.cwd };
  put(out.user, "additionalGids", p.user?.additionalGids.slice());
  put(out.user, "username", p.user?.username);
  put(out, "terminal", p.terminal);
  if (p.consoleSize !== undefined) out.consoleSize = { height: p.consoleSize.height, width: p.consoleSize.width };
  put(out, "args", p.args.slice());
  put(out, "env", p.env.slice());
  if (p.capabilities !== undefined) {
    const c = p.capabilities;
    out.capabilities = {};
    put(out.capabilities, "bounding", c.bounding.slice());
    put(out.capabilities, "effective", c.effective.slice());
    put(out.capabilities, "inheritable", c.inheritable.slice());
    put(out.capabilities, "permitted", c.permitted.slice());
    put(out.capabilities, "ambient", c.ambient.slice());
  }
  put(
    out,
    "rlimits",
    p.rlimits.map((r) => ({ type: r.type, hard: Number(r.hard), soft: Number(r.soft) })),
  );
  put(out, "noNewPrivileges", p.noNewPrivileges);
  put(out, "apparmorProfile", p.apparmorProfile);
  put(out, "oomScoreAdj", Number(p.oomScoreAdj));
  put(out, "selinuxLabel", p.selinuxLabel);
  return restore(out, p.extraJson, "grpc.Process");
}

function throttle(list: LinuxThrottleDevice[]): OciThrottleDevice[] {
  return list.map((d) => ({ major: Number(d.major), minor: Number(d.minor), rate: Number(d.rate) }));
}

function blockIOFromProto(b: LinuxBlockIO): OciBlockIO {
  const out: OciBlockIO = {};
  put(out, "weight", b.weight);
  put(out, "leafWeight", b.leafWeight);
  put(
    out,
    "weightDevice",
    b.weightDevice.map((d) => {
      const dev: OciWeightDevice = { major: Number(d.major), minor: Number(d.minor) };
      put(dev, "weight", d.weight);
      put(dev, "leafWeight", d.leafWeight);
      return dev;
    }),
  );
  put(out, "throttleReadBpsDevice", throttle(b.throttleReadBpsDevice));
  put(out, "throttleWriteBpsDevice", throttle(b.throttleWriteBpsDevice));
  put(out, "throttleReadIOPSDevice", throttle(b.throttleReadIopsDevice));
  put(out, "throttleWriteIOPSDevice", throttle(b.throttleWriteIopsDevice));
  return out;
}

export function resourcesFromProto(r: LinuxResources): OciLinuxResources {
  const out: OciLinuxResources = {};
  put(
    out,
    "devices",
    r.devices.map((d) => {
      const rule: NonNullable<OciLinuxResources["devices"]>[number] = { allow: d.allow };
      put(rule, "type", d.type);
      // -1 is the wildcard (see spec-to-wire.ts); 0 is a real major number.
      if (d.major !== -1n) rule.major = Number(d.major);
      if (d.minor !== -1n) rule.minor = Number(d.minor);
      put(rule, "access", d.access);
      return rule;
    }),
  );
  if (r.memory !== undefined) {
    const m = r.memory;
    out.memory = {};
    put(out.memory, "limit", Number(m.limit));
    put(out.memory, "reservation", Number(m.reservation));
    put(out.memory, "swap", Number(m.swap));
    put(out.memory, "kernel", Number(m.kernel));
    put(out.memory, "kernelTCP", Number(m.kernelTcp));
    put(out.memory, "swappiness", Number(m.swappiness));
    put(out.memory, "disableOOMKiller", m.disableOomKiller);
  }
  if (r.cpu !== undefined) {
    const c = r.cpu;
    out.cpu = {};
    put(out.cpu, "shares", Number(c.shares));
    put(out.cpu, "quota", Number(c.quota));
    put(out.cpu, "period", Number(c.period));
    put(out.cpu, "realtimeRuntime", Number(c.realtimeRuntime));
    put(out.cpu, "realtimePeriod", Number(c.realtimePeriod));
    put(out.cpu, "cpus", c.cpus);
    put(out.cpu, "mems", c.mems);
  }
  if (r.pids !== undefined) out.pids = { limit: Number(r.pids.limit) };
  if (r.blockIo !== undefined) out.blockIO = blockIOFromProto(r.blockIo);
  put(
    out,
    "hugepageLimits",
    r.hugepageLimits.map((h) => ({ pageSize: h.pagesize, limit: Number(h.limit) })),
  );
  if (r.network !== undefined) {
    out.network = {};
    put(out.network, "classID", r.network.classId);
    put(
      out.network,
      "priorities",
      r.network.priorities.map((p) => ({ name: p.name, priority: p.priority })),
    );
  }
  return restore(out, r.extraJson, "grpc.LinuxResources");
}

function hookList(list: Hook[]): OciHook[] {
  return list.map((h) => {
    const out: OciHook = { path: h.path };
    put(out, "args", h.args.slice());
    put(out, "env", h.env.slice());
    put(out, "timeout", Number(h.timeout));
    return out;
  });
}

function hooksFromProto(h: Hooks): OciHooks {
  const out: OciHooks = {};
  put(out, "prestart", hookList(h.prestart));
  put(out, "createRuntime", hookList(h.createRuntime));
  put(out, "createContainer", hookList(h.createContainer));
  put(out, "startContainer", hookList(h.startContainer));
  put(out, "poststart", hookList(h.poststart));
  put(out, "poststop", hookList(h.poststop));
  return out;
}

function seccompFromProto(s: LinuxSeccomp): OciSeccomp {
  const out: OciSeccomp = { defaultAction: s.defaultAction };
  put(out, "architectures", s.architectures.slice());
  put(out, "flags", s.flags.slice());
  put(
    out,
    "syscalls",
    s.syscalls.map((sc) => {
      const call: NonNullable<OciSeccomp["syscalls"]>[number] = { names: sc.names.slice(), action: sc.action };
      if (sc.errnoRet !== undefined) call.errnoRet = sc.errnoRet;
      put(
        call,
        "args",
        sc.args.map((a) => {
          const arg: NonNullable<typeof call.args>[number] = {
            index: Number(a.index),
            value: Number(a.value),
            op: a.op,
          };
          put(arg, "valueTwo", Number(a.valueTwo));
          return arg;
        }),
      );
      return call;
    }),
  );
  return out;
}

function idMappings(list: LinuxIDMapping[]): OciIdMapping[] {
  return list.map((m) => ({ containerID: m.containerId, hostID: m.hostId, size: m.size }));
}

function linuxFromProto(l: Linux): OciLinux {
  const out: OciLinux = {};
  put(out, "uidMappings", idMappings(l.uidMappings));
  put(out, "gidMappings", idMappings(l.gidMappings));
  put(out, "sysctl", nonEmptyMap(l.sysctl));
  if (l.resources !== undefined) out.resources = resourcesFromProto(l.resources);
  put(out, "cgroupsPath", l.cgroupsPath);
  put(
    out,
    "namespaces",
    l.namespaces.map((n) => (n.path === "" ? { type: n.type } : { type: n.type, path: n.path })),
  );
  put(
    out,
    "devices",
    l.devices.map((d) => {
      const dev: NonNullable<OciLinux["devices"]>[number] = { path: d.path, type: d.type };
      put(dev, "major", Number(d.major));
      put(dev, "minor", Number(d.minor));
      put(dev, "fileMode", d.fileMode);
      put(dev, "uid", d.uid);
      put(dev, "gid", d.gid);
      return dev;
    }),
  );
  if (l.seccomp !== undefined) out.seccomp = seccompFromProto(l.seccomp);
  put(out, "rootfsPropagation", l.rootfsPropagation);
  put(out, "maskedPaths", l.maskedPaths.slice());
  put(out, "readonlyPaths", l.readonlyPaths.slice());
  put(out, "mountLabel", l.mountLabel);
  if (l.intelRdt !== undefined) {
    out.intelRdt = {};
    put(out.intelRdt, "l3CacheSchema", l.intelRdt.l3CacheSchema);
  }
  return out;
}

export function specFromProto(spec: Spec): OciSpec {
  const out: OciSpec = { ociVersion: spec.version };
  if (spec.process !== undefined) out.process = processFromProto(spec.process);
  if (spec.root !== undefined) {
    out.root = spec.root.readonly ? { path: spec.root.path, readonly: true } : { path: spec.root.path };
  }
  put(out, "hostname", spec.hostname);
  put(
    out,
    "mounts",
    spec.mounts.map((m) => {
      const mount: NonNullable<OciSpec["mounts"]>[number] = { destination: m.destination };
      put(mount, "type", m.type);
      put(mount, "source", m.source);
      put(mount, "options", m.options.slice());
      return mount;
    }),
  );
  if (spec.hooks !== undefined) out.hooks = hooksFromProto(spec.hooks);
  put(out, "annotations", nonEmptyMap(spec.annotations));
  if (spec.linux !== undefined) out.linux = linuxFromProto(spec.linux);
  return restore(out, spec.extraJson, "grpc.Spec");
}
