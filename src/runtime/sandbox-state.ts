// The sandbox's persisted state: a versioned plain object in /run/hako/<id>/sandbox.json, written atomically, so that
// another process (`containerd-shim-hako-v2 delete`, `hako ps`) can find the VM and clean up after a dead owner.
import { readdir } from "node:fs/promises";
import { Code, HakoError } from "../common/errors.js";
import { readJsonFile, writeJsonFile } from "../common/json-file.js";
import type { PersistedVm } from "../hypervisor/hypervisor.js";
import type { OciProcess } from "../oci/spec.js";
import { RESERVED_SANDBOX_IDS, sandboxPaths } from "./layout.js";

/** How a process ended: exit code or 128 + signal, and when (ISO 8601). */
export interface PersistedExit {
  status: number;
  at: string;
}

/** An exec of a container, enough for a new owner to take it over (Sandbox.restore). */
export interface PersistedExec {
  id: string;
  status: string;
  pid: number;
  exit?: PersistedExit;
  /** The process to run: kept while the exec is created and not yet started. */
  process?: OciProcess;
}

export interface PersistedContainer {
  id: string;
  bundle: string;
  /** Its init process's status (ProcessStatus). */
  status: string;
  pid: number;
  hostMounts: string[];
  /** The init's exit, once it ended (absent in files written before it existed). */
  exit?: PersistedExit;
  /** Absent in files written before execs were persisted. */
  execs?: PersistedExec[];
  /** What its limits add to the VM's size under hot-plug (whole vCPUs, MiB); absent when none were recorded. */
  limits?: { vcpus: number; memoryMiB: number };
}

export interface SandboxStateV1 {
  version: 1;
  id: string;
  namespace: string;
  /** The process that owns the sandbox (the shim). */
  ownerPid: number;
  createdAt: string;
  stateDir: string;
  sharedDir: string;
  vm?: {
    pid: number;
    accelerator: string;
    consoleLog: string;
    vcpus: number;
    memoryMiB: number;
    /** What Hypervisor.attach() needs to find the VM again (absent in files written before it existed). */
    handle?: PersistedVm;
    /** The size it booted with, the base hot-plug adds each container's limits to (vcpus, memoryMiB: the size now). */
    boot?: { vcpus: number; memoryMiB: number };
    /** Whether containers' limits grow the VM by hot-plug. */
    hotplug?: boolean;
    /**
     * How the VM started: booted, or restored from a VM template (`template` is then its key). Absent in files
     * written before it existed.
     */
    start?: { kind: "boot" } | { kind: "template"; template: string };
  };
  /** Socket where the shim serves Prometheus metrics for this sandbox. */
  metricsSocket?: string;
  containers: PersistedContainer[];
  /** Host mount points a container's delete could not unmount: clean-up unmounts them (absent when none). */
  leftoverMounts?: string[];
  /** Start-up phases, milliseconds since the owner began creating the sandbox. */
  phases: Record<string, number>;
}

export async function writeSandboxState(path: string, state: SandboxStateV1): Promise<void> {
  await writeJsonFile(path, state);
}

/** One directory of the run root: its parsed state, or why it could not be read (DataLoss, or the read error). */
export type FoundSandbox = { id: string; state: SandboxStateV1 } | { id: string; unreadable: HakoError };

/** Every sandbox with a state file under root, sorted by id; directories without one are not sandboxes (yet). */
export async function scanSandboxStates(root: string): Promise<FoundSandbox[]> {
  const out: FoundSandbox[] = [];
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const id of entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()) {
    if (RESERVED_SANDBOX_IDS.has(id)) continue;
    try {
      const state = await readSandboxState(sandboxPaths(id, root).stateFile);
      if (state) out.push({ id, state });
    } catch (err) {
      out.push({ id, unreadable: HakoError.from(err, Code.DataLoss) });
    }
  }
  return out;
}

export async function readSandboxState(path: string): Promise<SandboxStateV1 | undefined> {
  const value = await readJsonFile(path, "sandbox state");
  if (value === undefined) return undefined;
  const v = value as { version?: unknown };
  if (v.version !== 1) throw new HakoError(Code.DataLoss, `sandbox state ${path} has unknown version ${v.version}`);
  return value as SandboxStateV1;
}
