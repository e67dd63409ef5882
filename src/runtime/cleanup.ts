// Cleans up a sandbox whose owner died: found from its state file and the VM's pid files, its VM and share daemon
// are killed (after checking each pid still is that process), its host mounts released and its directories removed.
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { systemCgroups } from "../cgroups/host-cgroups.js";
import { releaseSandboxCgroups } from "../cgroups/sandbox-cgroups.js";
import { Code, HakoError } from "../common/errors.js";
import { createLogger, type Logger } from "../common/log.js";
import { cleanupStaleVm } from "../hypervisor/registry.js";
import { unwirePodNetwork } from "../network/pod-network.js";
import { removePortForward } from "../port-forward/pod-port-forward.js";
import { type HostMounts, systemHostMounts } from "./host-mounts.js";
import { runDir, sandboxPaths } from "./layout.js";
import { readSandboxState, scanSandboxStates, writeSandboxState } from "./sandbox-state.js";

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  // A zombie has exited; only its parent has not reaped it yet (a SIGKILLed shim's, init, can take a second or two).
  return !isZombie(pid);
}

/** proc(5): the state is the field after the command name, which is in parentheses and may hold any character. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.charAt(stat.lastIndexOf(")") + 2) === "Z";
  } catch {
    return false;
  }
}

export interface CleanupResult {
  sandboxId: string;
  killed: number[];
  found: boolean;
}

/**
 * Removes every trace of sandbox id. Callers decide that its owner is gone (or asked for this). If a host mount
 * cannot be unmounted, the directories and the state file stay (removing them would reach through the mount into
 * host files) and Internal is thrown naming the mounts, after the processes were killed: a later call retries.
 */
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
  // With the VM's processes gone, the host cgroups made for them are empty; the record stays if one will not go.
  if (existsSync(paths.cgroupsRecord)) {
    await releaseSandboxCgroups(systemCgroups(), paths.cgroupsRecord, log).catch((err) =>
      log.error("cannot remove the sandbox's host cgroups", { err, record: paths.cgroupsRecord }),
    );
  }
  // The records stay when this fails, so a later clean-up tries again; the rest is cleaned up meanwhile. The
  // port-forward rule first: it lives in the pod netns, which unwiring does not remove but CNI may soon.
  await removePortForward(paths.portForwardRecord, log).catch((err) =>
    log.error("cannot remove the port-forward rule", { err, record: paths.portForwardRecord }),
  );
  await unwirePodNetwork(paths.networkRecord, log).catch((err) =>
    log.error("cannot unwire the pod network", { err, record: paths.networkRecord }),
  );
  const recorded = [
    ...(state?.containers ?? []).flatMap((c) => [...c.hostMounts].reverse()),
    ...(state?.leftoverMounts ?? []),
  ];
  const failures: HakoError[] = [];
  const left: string[] = [];
  for (const mp of [...recorded, paths.sharedDir]) {
    await mounts.unmountAll(mp).catch((err) => {
      failures.push(HakoError.from(err, Code.Internal));
      left.push(mp);
    });
  }
  if (failures.length > 0) {
    // The VM's clean-up may have removed the state directory: the state goes back, naming what is left, so that
    // the stale scan finds this sandbox again.
    if (state) {
      await mkdir(paths.stateDir, { recursive: true, mode: 0o700 });
      await writeSandboxState(paths.stateFile, { ...state, leftoverMounts: left }).catch((err) =>
        log.error("cannot write the state back", { err, path: paths.stateFile }),
      );
    }
    const err = new HakoError(
      Code.Internal,
      `sandbox ${sandboxId}: ${failures.map((f) => f.message).join("; ")}; its state stays for a retry`,
      { cause: failures[0] },
    );
    log.error("clean-up left host mounts", { err });
    throw err;
  }
  await rm(paths.sharedDir, { recursive: true, force: true });
  await rm(paths.stateDir, { recursive: true, force: true });
  return { sandboxId, killed, found: state !== undefined };
}

/**
 * Sandboxes with a state file whose owner process is gone. A state file that cannot be read is reported (warning,
 * naming the file), not taken for stale: its owner is unknown, and it may still be running.
 */
export async function findStaleSandboxes(root = runDir(), log: Logger = createLogger()): Promise<string[]> {
  const out: string[] = [];
  for (const found of await scanSandboxStates(root)) {
    if ("unreadable" in found) {
      log.warn("sandbox state unreadable; not cleaned automatically (containerd-shim-hako-v2 delete cleans it)", {
        sandbox: found.id,
        err: found.unreadable,
      });
    } else if (!isAlive(found.state.ownerPid)) out.push(found.id);
  }
  return out;
}
