// A container's files in the sandbox's share: its rootfs (containerd's mount list, or the bundle's rootfs bound) and
// its spec's bind mounts, mounted under the shared directory the guest sees, and released again on delete.
import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Logger } from "../../common/log.js";
import type { OciSpec } from "../../oci/spec.js";
import type { Container } from "../container.js";
import type { HostMounts, MountSpec } from "../host-mounts.js";
import { hostRootfs, type SandboxPaths } from "../layout.js";
import type { HostBind } from "../spec-rewrite.js";

/**
 * Mounts the container's rootfs and binds into the share, recording each mount point in container.hostMounts as it
 * is made (so a failure half-way can be released). Throws the mount's error.
 */
export async function mountContainerFiles(
  mounts: HostMounts,
  paths: SandboxPaths,
  container: Container,
  rootfs: MountSpec[],
  spec: OciSpec,
  binds: readonly HostBind[],
): Promise<void> {
  const target = hostRootfs(paths, container.id);
  if (rootfs.length > 0) await mounts.mountRootfs(rootfs, target);
  // root.path may be absolute (podman: the mounted image) or relative to the bundle (runc's default, "rootfs").
  else await mounts.bindMount(resolve(container.bundle, spec.root?.path ?? "rootfs"), target, false);
  container.hostMounts.push(target);
  for (const b of binds) {
    const at = join(paths.sharedDir, b.sharedPath);
    await mounts.bindMount(b.source, at, b.readonly);
    container.hostMounts.push(at);
  }
}

/**
 * Unmounts the container's mount points in reverse order, then removes its directory in the share. Returns the mount
 * points that stay mounted (each logged): the directory is then kept, since removing it would reach through a live
 * bind mount into the host's files; the caller keeps them in the state so clean-up retries.
 */
export async function releaseContainerFiles(
  mounts: HostMounts,
  paths: SandboxPaths,
  c: Container,
  log: Logger,
): Promise<string[]> {
  const left: string[] = [];
  for (const mp of [...c.hostMounts].reverse()) {
    await mounts.unmountAll(mp).catch((err) => {
      log.error("cannot release a container mount; it stays for clean-up to retry", { path: mp, err });
      left.push(mp);
    });
  }
  if (left.length > 0) return left;
  const dir = join(paths.sharedDir, c.id);
  await rm(dir, { recursive: true, force: true }).catch((err) =>
    log.error("cannot remove the container's directory in the share", { path: dir, err }),
  );
  return left;
}
