// Cleans up a sandbox whose owner died: found from its state file, its VM and share daemon are killed (after
// checking each pid still is that process), its host mounts released and its directories removed.
import { readdir, readFile, rm } from "node:fs/promises";
import type { Logger } from "../common/log.js";
import { cleanupStaleVm } from "../hypervisor/qemu/stale.js";
import { unmountAll } from "./host-mounts.js";
import { runDir, sandboxPaths } from "./layout.js";
import { readSandboxState } from "./sandbox-state.js";

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function cmdline(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).replaceAll("\0", " ");
}

/** Kills pid only if its command line still contains marker (pids are reused). Waits up to 5 s for it to go. */
export async function killVerified(pid: number, marker: string, log: Logger): Promise<boolean> {
  if (!isAlive(pid) || !(await cmdline(pid)).includes(marker)) return false;
  log.info("killing leftover process", { pid, marker });
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return false;
  }
  for (let i = 0; i < 50 && isAlive(pid); i++) {
    // A killed child of a dead parent is reaped by init; wait for the zombie to disappear.
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    if (stat === "" || / Z /.test(stat)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

export interface CleanupResult {
  sandboxId: string;
  killed: number[];
  found: boolean;
}

/** Removes every trace of sandbox id. Callers decide that its owner is gone (or asked for this). */
export async function cleanupSandbox(sandboxId: string, log: Logger, root = runDir()): Promise<CleanupResult> {
  const paths = sandboxPaths(sandboxId, root);
  const state = await readSandboxState(paths.stateFile).catch((err) => {
    log.warn("unreadable sandbox state; cleaning by path only", { err });
    return undefined;
  });
  const killed: number[] = [];
  if (state?.vm && (await killVerified(state.vm.pid, `sandbox-${sandboxId}`, log))) killed.push(state.vm.pid);
  if (state?.shareDaemonPid && (await killVerified(state.shareDaemonPid, paths.sharedDir, log))) {
    killed.push(state.shareDaemonPid);
  }
  // The VM's own pid files: they name the share daemon, which sandbox.json does not, and still name the VM when
  // sandbox.json is unreadable. Each pid is checked against its command line there too.
  const vm = await cleanupStaleVm(sandboxId, { stateRoot: root, logger: log });
  for (const pid of vm.killed) if (!killed.includes(pid)) killed.push(pid);
  for (const c of state?.containers ?? []) for (const mp of [...c.hostMounts].reverse()) await unmountAll(mp);
  await unmountAll(paths.sharedDir);
  await rm(paths.sharedDir, { recursive: true, force: true });
  await rm(paths.stateDir, { recursive: true, force: true });
  return { sandboxId, killed, found: state !== undefined };
}

/** Sandboxes with a state file whose owner process is gone. */
export async function findStaleSandboxes(root = runDir()): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (name === "shared" || name === "s") continue;
    const state = await readSandboxState(sandboxPaths(name, root).stateFile).catch(() => undefined);
    if (state && !isAlive(state.ownerPid)) out.push(name);
  }
  return out;
}
