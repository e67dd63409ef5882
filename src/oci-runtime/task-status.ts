// A container's status as runc reports it (created, running, paused, stopped), asked of the pod's daemon. A daemon
// that no longer answers means the VM is gone: the container is stopped.
import { Status } from "../proto/gen/containerd/types/task_pb.js";
import { connectDaemon } from "./daemon-client.js";
import type { ContainerStateV1 } from "./state-store.js";

export type RuncStatus = "created" | "running" | "paused" | "stopped";

export function runcStatus(s: Status): RuncStatus {
  switch (s) {
    case Status.CREATED:
      return "created";
    case Status.RUNNING:
      return "running";
    case Status.PAUSED:
    case Status.PAUSING:
      return "paused";
    default:
      return "stopped";
  }
}

/** The container's status now; "stopped" when its daemon is gone or no longer knows it. */
export async function currentStatus(s: ContainerStateV1): Promise<RuncStatus> {
  let d: Awaited<ReturnType<typeof connectDaemon>> | undefined;
  try {
    d = await connectDaemon(s.daemonSocket, 2000);
    const answer = await d.task.state({ id: s.id }, { timeoutMs: 5000 });
    return runcStatus(answer.status);
  } catch {
    return "stopped";
  } finally {
    d?.close();
  }
}
