// Where a sandbox's VM keeps its runtime files: one directory per sandbox under /run/hako, holding the sockets,
// the console log and the pid files that let a later process find and clean up a VM its creator left behind.
import { join } from "node:path";
import { DEBUG_CONSOLE_SOCKET } from "../../runtime/layout.js";

export const defaultStateRoot = "/run/hako";

export interface VmPaths {
  dir: string;
  qmpSocket: string;
  agentSocket: string;
  debugConsoleSocket: string;
  virtiofsdSocket: string;
  /** virtiofsd's stderr. */
  virtiofsdLog: string;
  consoleLog: string;
  qemuPid: string;
  virtiofsdPid: string;
}

export function vmPaths(id: string, stateRoot = defaultStateRoot): VmPaths {
  const dir = join(stateRoot, id);
  return {
    dir,
    qmpSocket: join(dir, "qmp.sock"),
    agentSocket: join(dir, "agent.sock"),
    debugConsoleSocket: join(dir, DEBUG_CONSOLE_SOCKET),
    virtiofsdSocket: join(dir, "virtiofsd.sock"),
    virtiofsdLog: join(dir, "virtiofsd.log"),
    consoleLog: join(dir, "console.log"),
    qemuPid: join(dir, "qemu.pid"),
    virtiofsdPid: join(dir, "virtiofsd.pid"),
  };
}

/** The name QEMU runs under: `ps` shows it, and stale clean-up checks it before killing anything. */
export const vmName = (id: string) => `sandbox-${id}`;
