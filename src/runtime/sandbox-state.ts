// The sandbox's persisted state: a versioned plain object in /run/hako/<id>/sandbox.json, written atomically, so that
// another process (`containerd-shim-hako-v2 delete`, `hako ps`) can find the VM and clean up after a dead owner.
import { readFile, rename, writeFile } from "node:fs/promises";
import { Code, errnoCode, HakoError } from "../common/errors.js";

export interface PersistedContainer {
  id: string;
  bundle: string;
  status: string;
  pid: number;
  hostMounts: string[];
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
  vm?: { pid: number; accelerator: string; consoleLog: string; vcpus: number; memoryMiB: number };
  /** Socket where the shim serves Prometheus metrics for this sandbox. */
  metricsSocket?: string;
  containers: PersistedContainer[];
  /** Start-up phases, milliseconds since the owner began creating the sandbox. */
  phases: Record<string, number>;
}

let tmpSeq = 0;

export async function writeSandboxState(path: string, state: SandboxStateV1): Promise<void> {
  // A temporary name per write: concurrent writers sharing one would truncate each other's file and then rename
  // a torn document into place, or fail with ENOENT.
  const tmp = `${path}.${process.pid}.${tmpSeq++}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

export async function readSandboxState(path: string): Promise<SandboxStateV1 | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HakoError(Code.DataLoss, `sandbox state ${path} is not valid JSON`, { cause: err });
  }
  const v = value as { version?: unknown };
  if (v.version !== 1) throw new HakoError(Code.DataLoss, `sandbox state ${path} has unknown version ${v.version}`);
  return value as SandboxStateV1;
}
