// The task events the shim raises, as domain values (TaskEvent), and their one encoding into containerd's protobuf
// events (encodeTaskEvent), used by the publisher only. Topics are containerd's: /tasks/<type>.
import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  TaskCreateSchema,
  TaskDeleteSchema,
  TaskExecAddedSchema,
  TaskExecStartedSchema,
  TaskExitSchema,
  TaskOOMSchema,
  TaskPausedSchema,
  TaskResumedSchema,
  TaskStartSchema,
} from "../proto/gen/containerd/events/task_pb.js";
import type { ExitInfo } from "../runtime/process.js";
import type { StdioPaths } from "./stdio.js";

/** A rootfs mount as containerd sent it in Create. */
export interface TaskMount {
  type: string;
  source: string;
  target: string;
  options: string[];
}

export type TaskEvent =
  | { type: "create"; containerId: string; bundle: string; rootfs: TaskMount[]; io: StdioPaths; pid: number }
  | { type: "start"; containerId: string; pid: number }
  /** id: the container id for its init, else the exec id. */
  | { type: "exit"; containerId: string; id: string; pid: number; exit: ExitInfo }
  /** exit: undefined for a process that never ran (reported as status 0, now). */
  | { type: "delete"; containerId: string; pid: number; exit: ExitInfo | undefined }
  | { type: "exec-added"; containerId: string; execId: string }
  | { type: "exec-started"; containerId: string; execId: string; pid: number }
  | { type: "paused"; containerId: string }
  | { type: "resumed"; containerId: string }
  | { type: "oom"; containerId: string };

export type Topic = `/tasks/${TaskEvent["type"]}`;

export interface EncodedEvent {
  topic: Topic;
  /** The message's full name: containerd 1.6 resolves the Any by it, not by type.googleapis.com/… */
  typeName: string;
  value: Uint8Array;
}

function encoded<D extends DescMessage>(topic: Topic, schema: D, init: MessageInitShape<D>): EncodedEvent {
  return { topic, typeName: schema.typeName, value: toBinary(schema, create(schema, init)) };
}

export function encodeTaskEvent(e: TaskEvent): EncodedEvent {
  const topic: Topic = `/tasks/${e.type}`;
  switch (e.type) {
    case "create":
      return encoded(topic, TaskCreateSchema, {
        containerId: e.containerId,
        bundle: e.bundle,
        rootfs: e.rootfs,
        io: e.io,
        pid: e.pid,
      });
    case "start":
      return encoded(topic, TaskStartSchema, { containerId: e.containerId, pid: e.pid });
    case "exit":
      return encoded(topic, TaskExitSchema, {
        containerId: e.containerId,
        id: e.id,
        pid: e.pid,
        exitStatus: e.exit.status,
        exitedAt: timestampFromDate(e.exit.exitedAt),
      });
    case "delete":
      return encoded(topic, TaskDeleteSchema, {
        containerId: e.containerId,
        id: e.containerId,
        pid: e.pid,
        exitStatus: e.exit?.status ?? 0,
        exitedAt: timestampFromDate(e.exit?.exitedAt ?? new Date()),
      });
    case "exec-added":
      return encoded(topic, TaskExecAddedSchema, { containerId: e.containerId, execId: e.execId });
    case "exec-started":
      return encoded(topic, TaskExecStartedSchema, { containerId: e.containerId, execId: e.execId, pid: e.pid });
    case "paused":
      return encoded(topic, TaskPausedSchema, { containerId: e.containerId });
    case "resumed":
      return encoded(topic, TaskResumedSchema, { containerId: e.containerId });
    case "oom":
      return encoded(topic, TaskOOMSchema, { containerId: e.containerId });
  }
}
