// Explicit process/container lifecycle: one enum and the transitions it allows, checked in one place.
import { failedPrecondition } from "../common/errors.js";

export enum Status {
  Created = "created",
  Running = "running",
  Paused = "paused",
  Stopped = "stopped",
}

/** The operations whose allowed statuses are listed here. */
export type Operation = "start" | "kill" | "pause" | "resume" | "exec" | "delete" | "update";

const allowed: Record<Operation, readonly Status[]> = {
  start: [Status.Created],
  kill: [Status.Created, Status.Running, Status.Paused],
  pause: [Status.Running],
  resume: [Status.Paused],
  exec: [Status.Created, Status.Running],
  delete: [Status.Created, Status.Stopped],
  update: [Status.Created, Status.Running, Status.Paused],
};

export function can(status: Status, op: Operation): boolean {
  // An unknown name (from an untyped caller) is refused, not a crash.
  return allowed[op]?.includes(status) ?? false;
}

/** Throws FailedPrecondition naming the object, its status and the refused operation. */
export function mustBeAbleTo(status: Status, op: Operation, what: string): void {
  if (!can(status, op)) throw failedPrecondition(`cannot ${op} ${what}: it is ${status}`);
}
