// Cleans up a VM that a dead process left behind (shim crash, `containerd-shim-hako-v2 delete`): reads the pid
// files in the sandbox's state directory, kills a process only when /proc/<pid>/cmdline proves it is that
// sandbox's QEMU (`-name sandbox-<id>`) or virtiofsd (its socket path), then removes the directory.
import { readFileSync, rmSync } from "node:fs";
import { type Logger, silentLogger } from "../../common/log.js";
import { killAndWait, processMatches } from "../../common/watched-process.js";
import type { StaleCleanup } from "../hypervisor.js";
import { defaultStateRoot, vmName, vmPaths } from "./state-dir.js";

export { killAndWait, processArgv, processMatches } from "../../common/watched-process.js";
export type { StaleCleanup } from "../hypervisor.js";

/** The pid a pid file names (over 1), or undefined when it is missing or holds no pid. */
export function readPid(path: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isSafeInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Pid of a live VM for this sandbox, if its pid file names one. */
export function liveVmPid(id: string, stateRoot = defaultStateRoot): number | undefined {
  const pid = readPid(vmPaths(id, stateRoot).qemuPid);
  return pid !== undefined && processMatches(pid, vmName(id)) ? pid : undefined;
}

/**
 * `knownPid`: the VM pid recorded in the sandbox state, which covers a lost pid file; like the pid files' pids it
 * is killed only if /proc shows it still is this sandbox's QEMU.
 */
export async function cleanupStaleVm(
  id: string,
  options: { stateRoot?: string; knownPid?: number; logger?: Logger } = {},
): Promise<StaleCleanup> {
  const logger = (options.logger ?? silentLogger).child({ subsystem: "qemu", sandbox: id });
  const paths = vmPaths(id, options.stateRoot);
  const killed: number[] = [];
  if (options.knownPid !== undefined && processMatches(options.knownPid, vmName(id))) {
    logger.info("killing leftover VM", { pid: options.knownPid });
    await killAndWait(options.knownPid, 5000);
    killed.push(options.knownPid);
  }
  const candidates: [string, string][] = [
    [paths.qemuPid, vmName(id)],
    [paths.virtiofsdPid, paths.virtiofsdSocket],
  ];
  for (const [pidFile, mark] of candidates) {
    const pid = readPid(pidFile);
    if (pid === undefined || killed.includes(pid)) continue;
    if (!processMatches(pid, mark)) {
      logger.debug("pid file names a process that is not ours, leaving it alone", { pid, pidFile });
      continue;
    }
    logger.info("killing a process left behind", { pid, pidFile });
    await killAndWait(pid, 2000);
    killed.push(pid);
  }
  let removedDir = false;
  try {
    rmSync(paths.dir, { recursive: true, force: true });
    removedDir = true;
  } catch (err) {
    logger.warn("cannot remove state directory", { dir: paths.dir, err });
  }
  return { killed, removedDir };
}
