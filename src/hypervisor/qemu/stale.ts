// Cleans up a VM that a dead process left behind (shim crash, `containerd-shim-hako-v2 delete`): reads the pid
// files in the sandbox's state directory, kills a process only when /proc/<pid>/cmdline proves it is that
// sandbox's QEMU (`-name sandbox-<id>`) or virtiofsd (its socket path), then removes the directory.
import { readFileSync, rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { type Logger, silentLogger } from "../../common/log.js";
import { defaultStateRoot, vmName, vmPaths } from "./state-dir.js";

export interface StaleCleanup {
  killed: number[];
  removedDir: boolean;
}

/** The process's argv, or undefined when it does not exist. */
export function processArgv(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`);
    return raw
      .toString("utf8")
      .split("\0")
      .filter((a) => a !== "");
  } catch {
    return undefined;
  }
}

function readPid(path: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isSafeInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** True when `pid` is running and its argv holds `mark` as one argument or inside one. */
export function processMatches(pid: number, mark: string): boolean {
  const argv = processArgv(pid);
  return argv?.some((a) => a === mark || a.includes(mark)) ?? false;
}

/** SIGKILL, then wait (bounded) until the process is gone or only a zombie. */
export async function killAndWait(pid: number, timeoutMs: number): Promise<void> {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  // A zombie keeps its /proc entry until reaped but loses its cmdline; an empty argv counts as gone.
  while (Date.now() < deadline && (processArgv(pid)?.length ?? 0) > 0) await sleep(10);
}

/** Pid of a live VM for this sandbox, if its pid file names one. */
export function liveVmPid(id: string, stateRoot = defaultStateRoot): number | undefined {
  const pid = readPid(vmPaths(id, stateRoot).qemuPid);
  return pid !== undefined && processMatches(pid, vmName(id)) ? pid : undefined;
}

export async function cleanupStaleVm(
  id: string,
  options: { stateRoot?: string; logger?: Logger } = {},
): Promise<StaleCleanup> {
  const logger = (options.logger ?? silentLogger).child({ subsystem: "qemu", sandbox: id });
  const paths = vmPaths(id, options.stateRoot);
  const killed: number[] = [];
  const candidates: [string, string][] = [
    [paths.qemuPid, vmName(id)],
    [paths.virtiofsdPid, paths.virtiofsdSocket],
  ];
  for (const [pidFile, mark] of candidates) {
    const pid = readPid(pidFile);
    if (pid === undefined) continue;
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
    logger.warn("cannot remove state directory", { dir: paths.dir, error: err });
  }
  return { killed, removedDir };
}
