// Cleans up a sandbox whose owner died: found from its state file and the VM's pid files, its VM and share daemon
// are killed (after checking each pid still is that process), its host mounts released and its directories removed.
import { readdir, rm } from "node:fs/promises";
import type { Logger } from "../common/log.js";
import { cleanupStaleVm, killAndWait, processMatches } from "../hypervisor/qemu/stale.js";
import { vmName } from "../hypervisor/qemu/state-dir.js";
import { unwirePodNetwork } from "../network/pod-network.js";
import { type HostMounts, systemHostMounts } from "./host-mounts.js";
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

export interface CleanupResult {
  sandboxId: string;
  killed: number[];
  found: boolean;
}

/** Removes every trace of sandbox id. Callers decide that its owner is gone (or asked for this). */
export async function cleanupSandbox(
  sandboxId: string,
  log: Logger,
  root = runDir(),
  mounts: HostMounts = systemHostMounts,
): Promise<CleanupResult> {
  const paths = sandboxPaths(sandboxId, root);
  const state = await readSandboxState(paths.stateFile).catch((err) => {
    log.warn("unreadable sandbox state; cleaning by path only", { err });
    return undefined;
  });
  const killed: number[] = [];
  // sandbox.json's VM pid covers a lost pid file; it is killed only if it still is this sandbox's QEMU.
  if (state?.vm && processMatches(state.vm.pid, vmName(sandboxId))) {
    log.info("killing leftover VM", { pid: state.vm.pid });
    await killAndWait(state.vm.pid, 5000);
    killed.push(state.vm.pid);
  }
  // The VM's own pid files name the share daemon too, and still name the VM when sandbox.json is unreadable; each
  // pid is checked against its command line there as well.
  const vm = await cleanupStaleVm(sandboxId, { stateRoot: root, logger: log });
  for (const pid of vm.killed) if (!killed.includes(pid)) killed.push(pid);
  for (const c of state?.containers ?? []) for (const mp of [...c.hostMounts].reverse()) await mounts.unmountAll(mp);
  // The record stays when this fails, so a later clean-up tries again; the rest is cleaned up meanwhile.
  await unwirePodNetwork(paths.networkRecord, log).catch((err) =>
    log.error("cannot unwire the pod network", { err, record: paths.networkRecord }),
  );
  await mounts.unmountAll(paths.sharedDir);
  await rm(paths.sharedDir, { recursive: true, force: true });
  await rm(paths.stateDir, { recursive: true, force: true });
  return { sandboxId, killed, found: state !== undefined };
}

/** Sandboxes with a state file whose owner process is gone. */
export async function findStaleSandboxes(root = runDir()): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (name === "shared" || name === "s" || name === "network") continue;
    const state = await readSandboxState(sandboxPaths(name, root).stateFile).catch(() => undefined);
    if (state && !isAlive(state.ownerPid)) out.push(name);
  }
  return out;
}
