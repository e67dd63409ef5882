// Where a sandbox's host processes go (Kata's sandbox_cgroup_only). The pod's cgroup is the sandbox spec's
// `linux.cgroupsPath` (what kubelet sized the pod for; `hako/<id>` when the spec names none).
// - sandbox_cgroup_only = true: the shim, the VMM and the share daemon all run in the pod's cgroup.
// - false: the VMM's vCPU threads run in the pod's cgroup, and the rest (shim, the VMM's other threads, the share
//   daemon) in an overhead cgroup, hako_overhead/<id>. cgroup v2 cannot split one process's threads across domain
//   groups, so there the whole VMM goes into the pod's cgroup and only the shim and the daemon are overhead.
// The groups are named in a record file before they are made, so that clean-up after a crash removes them too.
import { mkdir, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { HakoError } from "../common/errors.js";
import { readJsonFile, writeJsonFile } from "../common/json-file.js";
import type { Logger } from "../common/log.js";
import { cgroupRelPath } from "./cgroups-path.js";
import type { HostCgroups } from "./host-cgroups.js";

export interface SandboxCgroupRequest {
  sandboxId: string;
  /** The sandbox spec's linux.cgroupsPath (cgroupfs or systemd form). */
  cgroupsPath: string | undefined;
  sandboxOnly: boolean;
  shimPid: number;
  vmmPid: number;
  /** The share daemon (virtiofsd), if any. */
  daemonPids: number[];
  /** The VMM's vCPU threads (Vm.vcpuThreadIds). */
  vcpuThreads: number[];
}

/** What was made for one sandbox: relative cgroup paths, removed at stop and by clean-up. */
export interface SandboxCgroupRecord {
  version: 1;
  sandbox: string;
  overhead?: string;
}

export const OVERHEAD_PARENT = "hako_overhead";

/** Makes the groups and moves the processes in; the record is written first. Returns the record. */
export async function placeSandbox(
  cg: HostCgroups,
  req: SandboxCgroupRequest,
  recordPath: string,
  log: Logger,
): Promise<SandboxCgroupRecord> {
  const sandbox = req.cgroupsPath ? cgroupRelPath(req.cgroupsPath) : `hako/${req.sandboxId}`;
  const record: SandboxCgroupRecord = req.sandboxOnly
    ? { version: 1, sandbox }
    : { version: 1, sandbox, overhead: `${OVERHEAD_PARENT}/${req.sandboxId}` };
  await mkdir(dirname(recordPath), { recursive: true });
  await writeJsonFile(recordPath, record);
  await cg.create(sandbox);
  const rest = [req.shimPid, ...req.daemonPids];
  if (!record.overhead) {
    for (const pid of [...rest, req.vmmPid]) await cg.addProcess(sandbox, pid);
  } else {
    await cg.create(record.overhead);
    for (const pid of rest) await cg.addProcess(record.overhead, pid);
    if (cg.version === 1) {
      await cg.addProcess(record.overhead, req.vmmPid);
      if (req.vcpuThreads.length === 0) log.warn("the VMM reported no vCPU threads; all of it stays in overhead");
      for (const tid of req.vcpuThreads) await cg.addThread(sandbox, tid);
    } else {
      await cg.addProcess(sandbox, req.vmmPid);
    }
  }
  log.info("host cgroups placed", { ...record, version: cg.version });
  return record;
}

/**
 * Removes the recorded groups. `shimPid`: the calling shim, still inside one of them, moves to that group's parent
 * first (a group with a process cannot be removed). Retries briefly while exiting processes leave. The record goes
 * once every group is gone; otherwise it stays and Internal is thrown.
 */
/** The record placeSandbox wrote; rejects when it is missing or unreadable. */
export async function readSandboxCgroupRecord(recordPath: string): Promise<SandboxCgroupRecord> {
  return (await readJsonFile(recordPath, "host cgroup record")) as SandboxCgroupRecord;
}

export async function releaseSandboxCgroups(
  cg: HostCgroups,
  recordPath: string,
  log: Logger,
  shimPid?: number,
): Promise<void> {
  const record = await readSandboxCgroupRecord(recordPath).catch((err: unknown) => {
    log.error("unreadable host cgroup record: its groups are not removed", { err, record: recordPath });
    return undefined;
  });
  if (!record) return;
  const groups = [record.sandbox, ...(record.overhead ? [record.overhead] : [])];
  if (shimPid !== undefined) {
    const home = record.overhead ?? record.sandbox;
    const parent = dirname(home) === "." ? "" : dirname(home);
    await cg.addProcess(parent, shimPid).catch((err) => log.warn("cannot move the shim out", { err, to: parent }));
  }
  let last: unknown;
  for (let attempt = 0; attempt < 20; attempt++) {
    last = undefined;
    for (const g of groups) await cg.remove(g).catch((err: unknown) => (last = err));
    if (last === undefined) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (last !== undefined) {
    log.error("host cgroups left; the record stays for clean-up", { err: last, record: recordPath });
    throw HakoError.from(last);
  }
  await rm(recordPath, { force: true });
  log.info("host cgroups removed", { groups });
}
