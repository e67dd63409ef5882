// Rewrites a container's OCI spec for the guest: the host already put rootfs and mount sources at guest paths; what
// remains host-specific (namespace paths, hooks, cgroup path, LSM labels the guest kernel lacks) is replaced here.
import { Code, HakoError } from "../../common/errors.js";
import type { OciSpec } from "../../oci/spec.js";

export const GUEST_CGROUP_PARENT = "/hako";

export function containerCgroupPath(containerId: string): string {
  return `${GUEST_CGROUP_PARENT}/${containerId}`;
}

const validId = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function checkContainerId(id: string): void {
  if (!validId.test(id)) throw new HakoError(Code.InvalidArgument, `invalid container id "${id}"`);
}

export function guestSpec(containerId: string, spec: OciSpec): OciSpec {
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
  // Namespace paths point into the host (the pod's netns, …): the guest gets fresh namespaces instead, except the
  // network, which the whole VM is.
  linux.namespaces = (linux.namespaces ?? []).filter((ns) => ns.type !== "network").map((ns) => ({ type: ns.type }));
  if (!linux.namespaces.some((ns) => ns.type === "mount")) linux.namespaces.push({ type: "mount" });
  delete linux.mountLabel;
  // Host device rules refer to host majors/minors.
  delete linux.devices;
  return out;
}
