// Rewrites a container's OCI spec for the guest: the host already put rootfs and mount sources at guest paths; what
// remains host-specific (namespace paths, hooks, cgroup path, LSM labels the guest kernel lacks) is replaced here.
import { Code, HakoError } from "../../common/errors.js";
import type { OciMount, OciSpec } from "../../oci/spec.js";

export const GUEST_CGROUP_PARENT = "/hako";

export function containerCgroupPath(containerId: string): string {
  return `${GUEST_CGROUP_PARENT}/${containerId}`;
}

const validId = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function checkContainerId(id: string): void {
  if (!validId.test(id)) throw new HakoError(Code.InvalidArgument, `invalid container id "${id}"`);
}

/**
 * The namespaces a pod's containers share in the guest: those of the pod's sandbox (pause) container, whose init's
 * guest pid is given. containerd's CRI (1.6) names the pause process's host namespaces in an app container's spec
 * (`/proc/<pid>/ns/ipc`, `uts`, and `pid` when the pod shares its process namespace); the agent joins the guest
 * counterparts instead, as Kata does.
 */
export interface PodNamespaces {
  sandboxInitPid: number;
}

/** Namespace types a container joins from its pod when its host spec gives a path for them. */
const POD_SHARED = new Set(["ipc", "uts", "pid"]);

/** blockIO's lists keyed by host block device numbers. */
const DEVICE_LISTS = [
  "weightDevice",
  "throttleReadBpsDevice",
  "throttleWriteBpsDevice",
  "throttleReadIOPSDevice",
  "throttleWriteIOPSDevice",
] as const;

export function guestSpec(containerId: string, spec: OciSpec, pod?: PodNamespaces): OciSpec {
  if (!spec.ociVersion) throw new HakoError(Code.InvalidArgument, `container ${containerId}: spec has no ociVersion`);
  if (!spec.root?.path) throw new HakoError(Code.InvalidArgument, `container ${containerId}: spec has no root.path`);
  if (!spec.process?.args?.length && !spec.process?.commandLine) {
    throw new HakoError(Code.InvalidArgument, `container ${containerId}: spec has no process args`);
  }
  if (!spec.process.cwd) throw new HakoError(Code.InvalidArgument, `container ${containerId}: process has no cwd`);
  const out: OciSpec = structuredClone(spec);
  // Hooks name host binaries; the host runs them.
  delete out.hooks;
  if (out.process) {
    delete out.process.apparmorProfile;
    delete out.process.selinuxLabel;
  }
  const linux = out.linux ?? {};
  out.linux = linux;
  linux.cgroupsPath = containerCgroupPath(containerId);
  // Namespace paths point into the host (the pod's netns, the pause process's ipc/uts/pid): a path the pod shares
  // becomes the sandbox container's namespace in the guest, any other gets a fresh namespace; the network is the
  // whole VM's.
  linux.namespaces = (linux.namespaces ?? [])
    .filter((ns) => ns.type !== "network")
    .map((ns) =>
      pod && ns.path && POD_SHARED.has(ns.type)
        ? { type: ns.type, path: `/proc/${pod.sandboxInitPid}/ns/${ns.type}` }
        : { type: ns.type },
    );
  if (!linux.namespaces.some((ns) => ns.type === "mount")) linux.namespaces.push({ type: "mount" });
  // Its own cgroup namespace: /proc/self/cgroup reads "0::/" and /sys/fs/cgroup is the container's own group, so
  // runtimes that size themselves from memory.max / cpu.max (JVMs, Go's automaxprocs, Node, .NET) see its limits.
  if (!linux.namespaces.some((ns) => ns.type === "cgroup")) linux.namespaces.push({ type: "cgroup" });
  out.mounts = cgroup2Mounts(out.mounts ?? []);
  // The pod's hostname is set once, by the sandbox container, in the UTS namespace the others join.
  if (linux.namespaces.some((ns) => ns.type === "uts" && ns.path)) delete out.hostname;
  // Without a network namespace of its own crun refuses `net.*` sysctls; they are the VM's to set (netSysctls).
  for (const key of Object.keys(linux.sysctl ?? {})) if (key.startsWith("net.")) delete linux.sysctl?.[key];
  delete linux.mountLabel;
  // Host device rules refer to host majors/minors.
  delete linux.devices;
  // So do blockIO's per-device weights and throttles. A weight of 0 is outside the spec's 10-1000 and means "not
  // set" to docker, which always sends `blockIO: {weight: 0}`; crun would still write the io controller's files,
  // which a guest kernel without that controller lacks. A group weight that was really asked for stays.
  const bio = linux.resources?.blockIO;
  if (bio) {
    for (const k of DEVICE_LISTS) delete bio[k];
    if (bio.weight === 0) delete bio.weight;
    if (bio.leafWeight === 0) delete bio.leafWeight;
    if (bio.weight === undefined && bio.leafWeight === undefined) delete linux.resources?.blockIO;
  }
  return out;
}

const CGROUP_MOUNT_POINT = "/sys/fs/cgroup";

/**
 * The guest is cgroup v2 whatever the host runs: cgroup mounts a v1 host asked for (one `cgroup` mount, or one per
 * controller below /sys/fs/cgroup) become one cgroup2 mount at /sys/fs/cgroup, read-only unless the spec asked for
 * "rw" (a privileged container), placed after /sys (which it lies on). A spec without any gets one too.
 */
export function cgroup2Mounts(mounts: OciMount[]): OciMount[] {
  const isCgroup = (m: OciMount) =>
    m.type === "cgroup" ||
    m.type === "cgroup2" ||
    m.destination === CGROUP_MOUNT_POINT ||
    m.destination.startsWith(`${CGROUP_MOUNT_POINT}/`);
  const asked = mounts.filter(isCgroup);
  const rw = asked.some((m) => m.options?.includes("rw") && !m.options.includes("ro"));
  const kept = mounts.filter((m) => !isCgroup(m));
  const cgroup: OciMount = {
    destination: CGROUP_MOUNT_POINT,
    type: "cgroup2",
    source: "cgroup",
    options: ["nosuid", "noexec", "nodev", "relatime", rw ? "rw" : "ro"],
  };
  const sys = kept.findIndex((m) => m.destination === "/sys");
  kept.splice(sys >= 0 ? sys + 1 : kept.length, 0, cgroup);
  return kept;
}

/**
 * The spec's `net.*` sysctls (docker sets net.ipv4.ip_unprivileged_port_start, net.ipv4.ping_group_range): the VM is
 * the container's network namespace, so the agent sets them VM-wide before creating the container.
 */
export function netSysctls(spec: OciSpec): [key: string, value: string][] {
  return Object.entries(spec.linux?.sysctl ?? {}).filter(([k]) => k.startsWith("net."));
}
