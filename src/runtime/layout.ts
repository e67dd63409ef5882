// Where things live on the host: per-sandbox state and the shared directory (the guest side: agent/api/guest-contract.ts).
import { join } from "node:path";
import { Code, HakoError } from "../common/errors.js";

/** Root of hako's per-sandbox host state; HAKO_RUN_DIR overrides it for tests. */
export function runDir(): string {
  return process.env.HAKO_RUN_DIR ?? "/run/hako";
}

/**
 * The guest debug console (`debug_console_enabled`): QEMU serves it as this unix socket in the sandbox's state
 * directory, backed by the virtio-serial port DEBUG_CONSOLE_PORT_NAME (agent/api/guest-contract.ts) that the agent
 * runs a shell on; `hako exec` connects to the socket.
 */
export const DEBUG_CONSOLE_SOCKET = "debug-console.sock";

export function debugConsolePath(stateDir: string): string {
  return join(stateDir, DEBUG_CONSOLE_SOCKET);
}

export interface SandboxPaths {
  /** Per-sandbox state: VM sockets, console log, sandbox.json. */
  stateDir: string;
  /** Host directory exported to the guest at GUEST_SHARED_DIR (agent/api/guest-contract.ts). */
  sharedDir: string;
  stateFile: string;
  /** What the network model made in the pod netns (network/pod-network.ts); outside stateDir, which the VM clears. */
  networkRecord: string;
  /** The host cgroups made for the sandbox's processes (cgroups/sandbox-cgroups.ts); outside stateDir too. */
  cgroupsRecord: string;
  /** The port forwarding's listener port and netns (port-forward/pod-port-forward.ts); outside stateDir too. */
  portForwardRecord: string;
}

/**
 * hako's own directories under runDir(), beside the sandboxes' state directories: a sandbox named like one would
 * keep its state in it, and its clean-up would remove what every other sandbox keeps there.
 */
export const RESERVED_SANDBOX_IDS: ReadonlySet<string> = new Set([
  "shared",
  "network",
  "cgroups",
  "port-forward",
  "s",
  "netdev",
  "tty",
]);

/** Throws InvalidArgument for a sandbox id that names one of hako's own directories (RESERVED_SANDBOX_IDS). */
export function sandboxPaths(sandboxId: string, root = runDir()): SandboxPaths {
  if (RESERVED_SANDBOX_IDS.has(sandboxId)) {
    throw new HakoError(
      Code.InvalidArgument,
      `sandbox id "${sandboxId}" is the name of one of hako's own directories in ${root}; give the container another id`,
    );
  }
  const stateDir = join(root, sandboxId);
  return {
    stateDir,
    sharedDir: join(root, "shared", sandboxId),
    stateFile: join(stateDir, "sandbox.json"),
    networkRecord: join(root, "network", `${sandboxId}.json`),
    cgroupsRecord: join(root, "cgroups", `${sandboxId}.json`),
    portForwardRecord: join(root, "port-forward", `${sandboxId}.json`),
  };
}

export function hostRootfs(paths: SandboxPaths, containerId: string): string {
  return join(paths.sharedDir, containerId, "rootfs");
}
