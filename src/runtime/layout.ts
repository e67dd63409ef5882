// Where things live: host state and the shared directory, and the guest paths they appear at.
import { join } from "node:path";

/** Root of hako's per-sandbox host state; HAKO_RUN_DIR overrides it for tests. */
export function runDir(): string {
  return process.env.HAKO_RUN_DIR ?? "/run/hako";
}

/** The guest mount point of the virtio-fs share (Kata's path, so Kata tooling finds things where it expects). */
export const GUEST_SHARED_DIR = "/run/kata-containers/shared/containers";
export const SHARE_TAG = "kataShared";

export interface SandboxPaths {
  /** Per-sandbox state: VM sockets, console log, sandbox.json. */
  stateDir: string;
  /** Host directory exported to the guest at GUEST_SHARED_DIR. */
  sharedDir: string;
  stateFile: string;
}

export function sandboxPaths(sandboxId: string, root = runDir()): SandboxPaths {
  const stateDir = join(root, sandboxId);
  return { stateDir, sharedDir: join(root, "shared", sandboxId), stateFile: join(stateDir, "sandbox.json") };
}

export function hostRootfs(paths: SandboxPaths, containerId: string): string {
  return join(paths.sharedDir, containerId, "rootfs");
}

export function guestRootfs(containerId: string): string {
  return `${GUEST_SHARED_DIR}/${containerId}/rootfs`;
}
