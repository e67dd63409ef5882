// Runs one call against the daemon of an existing container: state read from --root, connection closed after.
import type { RuntimeContext } from "./context.js";
import { connectDaemon, type TaskClient } from "./daemon-client.js";
import { type ContainerStateV1, readState } from "./state-store.js";

export async function withContainer<T>(
  ctx: RuntimeContext,
  id: string,
  fn: (task: TaskClient, s: ContainerStateV1) => Promise<T>,
): Promise<T> {
  const s = await readState(ctx.root, id);
  const d = await connectDaemon(s.daemonSocket);
  try {
    return await fn(d.task, s);
  } finally {
    d.close();
  }
}
