// Where things live: host state and the shared directory, and the guest paths they appear at.
import { join } from "node:path";

/** Root of hako's per-sandbox host state; HAKO_RUN_DIR overrides it for tests. */
export function runDir(): string {
  return process.env.HAKO_RUN_DIR ?? "/run/hako";
}

/** The guest mount point of the virtio-fs share (Kata's path, so Kata tooling finds things where it expects). */
export const GUEST_SHARED_DIR = "/run/kata-containers/shared/containers";
export const SHARE_TAG = "kataShared";

/**
 * The guest debug console (`debug_console_enabled`): QEMU serves it as this unix socket in the sandbox's state
 * directory, backed by a virtio-serial port of this name that the agent runs a shell on; `hako exec` connects to
 * the socket. Kata's vsock port for the same console is kept for reference: hako uses the serial port whatever the
 * agent channel is, so that the host end is always a plain unix socket.
 */
export const DEBUG_CONSOLE_SOCKET = "debug-console.sock";
export const DEBUG_CONSOLE_PORT_NAME = "hako.debug.0";
export const DEBUG_CONSOLE_VSOCK_PORT = 1026;

export function debugConsolePath(stateDir: string): string {
  return join(stateDir, DEBUG_CONSOLE_SOCKET);
}

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
