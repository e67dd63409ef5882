// The host half of fitting a container's spec to the guest: where its files are. The rootfs and bind-mount sources
// move under the share the guest mounts, and a host shm bind (CRI's pod shm) becomes the pod's shm in the guest,
// which all containers of the pod share. Pure: the host bind mounts it asks for are returned, not performed. What else is host-specific (namespace paths, cgroup path, LSM labels, hooks, devices) the agent replaces
// in the guest (src/agent/server/guest-spec.ts), whoever sent the spec.
import { basename, join } from "node:path";
import { GUEST_SANDBOX_SHM, GUEST_SHARED_DIR, guestRootfs } from "../agent/api/guest-contract.js";
import { invalidArgument } from "../common/errors.js";
import type { OciMount, OciSpec } from "../oci/spec.js";

export interface HostBind {
  /** Host path to expose. */
  source: string;
  /** Path under the sandbox's shared dir, relative to it. */
  sharedPath: string;
  readonly: boolean;
}

export interface RewriteResult {
  spec: OciSpec;
  binds: HostBind[];
  /** What was dropped, for the debug log. */
  dropped: string[];
}

const isBind = (m: OciMount) => m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");

/**
 * The spec with its rootfs and bind sources under the share, the host binds that make them so, and what was dropped
 * (the guest half is guestSpec in src/agent/server/guest-spec.ts). Throws InvalidArgument for a spec without a process.
 */
export function mapMountsIntoShare(containerId: string, host: OciSpec): RewriteResult {
  if (!host.process) throw invalidArgument(`container ${containerId}: the OCI spec has no process`);
  const spec = structuredClone(host);
  const binds: HostBind[] = [];
  const dropped: string[] = [];

  spec.root = { path: guestRootfs(containerId), readonly: host.root?.readonly ?? false };

  spec.mounts = (host.mounts ?? []).map((m, i) => {
    if (m.destination === "/dev/shm" && isBind(m)) {
      // A host shm bind would share memory across the VM boundary; the agent mounts a pod shm tmpfs instead.
      dropped.push(`mount ${m.destination} (host shm bind replaced by the guest's pod shm)`);
      return { ...m, type: "bind", source: GUEST_SANDBOX_SHM };
    }
    if (!isBind(m) || !m.source?.startsWith("/")) return m;
    const sharedPath = join(containerId, "mounts", `${i}-${basename(m.source) || "root"}`);
    const readonly = (m.options ?? []).includes("ro");
    binds.push({ source: m.source, sharedPath, readonly });
    return { ...m, source: `${GUEST_SHARED_DIR}/${sharedPath}` };
  });

  return { spec, binds, dropped };
}
