// The one lifecycle of a container's process (its init, or an exec), shared by the host runtime, the guest agent and
// the fakes: one status enum and the operations each status allows, checked in one place. The container's status is
// its init process's. The values are the words containerd and `hako ps` show.
import { failedPrecondition } from "../../common/errors.js";

export enum ProcessStatus {
  Created = "created",
  Running = "running",
  Paused = "paused",
  Stopped = "stopped",
}

/**
 * The operations whose allowed statuses are listed here. `exec` is adding or starting an exec on the host (containerd
 * may add one to a created task, as runc allows); `spawnExec` is running its process in the guest, which needs an init
 * that runs (the guest refuses a created container).
 */
export type Operation = "start" | "kill" | "pause" | "resume" | "exec" | "spawnExec" | "delete" | "update";

const allowed: Record<Operation, readonly ProcessStatus[]> = {
  start: [ProcessStatus.Created],
  kill: [ProcessStatus.Created, ProcessStatus.Running, ProcessStatus.Paused],
  pause: [ProcessStatus.Running],
  resume: [ProcessStatus.Paused],
  exec: [ProcessStatus.Created, ProcessStatus.Running],
  spawnExec: [ProcessStatus.Running],
  delete: [ProcessStatus.Created, ProcessStatus.Stopped],
  update: [ProcessStatus.Created, ProcessStatus.Running, ProcessStatus.Paused],
};

export function can(status: ProcessStatus, op: Operation): boolean {
  // An unknown name (from an untyped caller) is refused, not a crash.
  return allowed[op]?.includes(status) ?? false;
}

/** Throws FailedPrecondition naming the object, its status and the refused operation. */
export function mustBeAbleTo(status: ProcessStatus, op: Operation, what: string): void {
  if (!can(status, op)) throw failedPrecondition(`cannot ${op} ${what}: it is ${status}`);
}
