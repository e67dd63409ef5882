// Rewrites a container's host OCI spec into the spec the guest runs: the rootfs and bind-mount sources move under
// the virtio-fs share, and what only makes sense on the host (namespace paths, LSM labels, host hooks) is dropped.
// Pure: the host bind mounts it asks for are returned, not performed.
import { basename, join } from "node:path";
import { invalidArgument } from "../common/errors.js";
import type { OciMount, OciSpec } from "../oci/spec.js";
import { GUEST_SHARED_DIR, guestRootfs } from "./layout.js";

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

export function rewriteSpecForGuest(containerId: string, host: OciSpec): RewriteResult {
  if (!host.process) throw invalidArgument(`container ${containerId}: the OCI spec has no process`);
  const spec = structuredClone(host);
  const binds: HostBind[] = [];
  const dropped: string[] = [];

  spec.root = { path: guestRootfs(containerId), readonly: host.root?.readonly ?? false };

  spec.mounts = (host.mounts ?? []).map((m, i) => {
    if (m.destination === "/dev/shm" && isBind(m)) {
      // The guest has its own shm; a host shm bind would share memory across the VM boundary.
      dropped.push(`mount ${m.destination} (host shm bind replaced by guest tmpfs)`);
      return {
        destination: "/dev/shm",
        type: "tmpfs",
        source: "shm",
        options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
      };
    }
    if (!isBind(m) || !m.source?.startsWith("/")) return m;
    const sharedPath = join(containerId, "mounts", `${i}-${basename(m.source) || "root"}`);
    const readonly = (m.options ?? []).includes("ro");
    binds.push({ source: m.source, sharedPath, readonly });
    return { ...m, source: `${GUEST_SHARED_DIR}/${sharedPath}` };
  });

  if (spec.linux) {
    const linux = spec.linux;
    if (linux.namespaces) {
      linux.namespaces = linux.namespaces.map((ns) => {
        if (ns.path === undefined) return ns;
        dropped.push(`namespace ${ns.type} path ${ns.path}`);
        return { type: ns.type };
      });
    }
    // The guest has no systemd and its own cgroup tree: one cgroup per container under /hako.
    linux.cgroupsPath = `/hako/${containerId}`;
    if (linux.mountLabel !== undefined) {
      dropped.push("linux.mountLabel");
      delete linux.mountLabel;
    }
  }
  if (spec.process) {
    if (spec.process.apparmorProfile !== undefined) {
      dropped.push("process.apparmorProfile");
      delete spec.process.apparmorProfile;
    }
    if (spec.process.selinuxLabel !== undefined) {
      dropped.push("process.selinuxLabel");
      delete spec.process.selinuxLabel;
    }
  }
  if (spec.hooks !== undefined) {
    dropped.push("hooks (host hooks do not run in the guest)");
    delete spec.hooks;
  }
  return { spec, binds, dropped };
}
