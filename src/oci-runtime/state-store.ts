// Per-container state under `--root`: `<root>/<id>/state.json` (versioned, written atomically) plus the stdio fifos
// of the container's processes under `<root>/<id>/io/`. It is what lets `state`, `kill` or `delete` work from a fresh
// process after the caller (conmon, containerd's runc shim, podman itself) restarted: the daemon that owns the VM is
// found again from it.
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Code, HakoError } from "../common/errors.js";
import { readJsonFile, writeJsonFile } from "../common/json-file.js";

export interface ContainerStateV1 {
  version: 1;
  id: string;
  /** The pod (sandbox) whose VM runs the container: its own id unless CRI/cri-o annotations name another. */
  podId: string;
  bundle: string;
  /** The spec's root.path, resolved against the bundle. */
  rootfs: string;
  /** ISO 8601, when `create` finished. */
  created: string;
  annotations: Record<string, string>;
  /** Host pid of the stand-in of the container's init process (what `--pid-file` got). */
  pid: number;
  /** ttrpc socket of the pod's daemon (containerd's Task service) and its pid. */
  daemonSocket: string;
  daemonPid: number;
}

export function containerDir(root: string, id: string): string {
  return join(root, id);
}

export function stateFile(root: string, id: string): string {
  return join(containerDir(root, id), "state.json");
}

/** Where one process's fifos live: `io/init` for the container's own process, `io/<exec id>` for an exec. */
export function ioDir(root: string, id: string, execId: string): string {
  return join(containerDir(root, id), "io", execId || "init");
}

/** runc's own words: podman and containerd match "does not exist" to tell a gone container from a failure. */
export function doesNotExist(id: string): HakoError {
  return new HakoError(Code.NotFound, `container ${id} does not exist`);
}

export async function readState(root: string, id: string): Promise<ContainerStateV1> {
  const raw = (await readJsonFile(stateFile(root, id), "container state")) as ContainerStateV1 | undefined;
  if (!raw) throw doesNotExist(id);
  if (raw.version !== 1) {
    throw new HakoError(Code.DataLoss, `container ${id}: state version ${String(raw.version)} is not supported`);
  }
  return raw;
}

export async function writeState(root: string, s: ContainerStateV1): Promise<void> {
  await mkdir(containerDir(root, s.id), { recursive: true, mode: 0o711 });
  await writeJsonFile(stateFile(root, s.id), s);
}

export async function removeContainerDir(root: string, id: string): Promise<void> {
  await rm(containerDir(root, id), { recursive: true, force: true });
}

/** Ids of every container with a directory under root (its state may still be missing: a create in progress). */
export async function listIds(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}
