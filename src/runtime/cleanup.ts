// Cleans up a sandbox whose owner died: found from its state file and the VM's pid files, its VM and share daemon
// are killed (after checking each pid still is that process), its host mounts released and its directories removed.
import { readdir, rm } from "node:fs/promises";
import type { Logger } from "../common/log.js";
import { cleanupStaleVm } from "../hypervisor/registry.js";
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
  // The hypervisor driver kills the VM and its share daemon from its pid files; sandbox.json's VM pid covers a lost
  // pid file. Each pid is killed only if /proc shows it still is that process.
  const vm = await cleanupStaleVm(sandboxId, {
    stateRoot: root,
    logger: log,
    ...(state?.vm ? { knownPid: state.vm.pid } : {}),
    ...(state?.vm?.handle ? { kind: state.vm.handle.kind } : {}),
  });
  const killed = vm.killed;
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
