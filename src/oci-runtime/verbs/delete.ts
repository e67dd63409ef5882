// `hako-runtime delete [--force] ID`: deletes the container in its VM; the last container of a pod takes the VM and
// the pod's daemon with it. Nothing of the container is left when it returns: state directory, fifos, stand-in.
import { rm } from "node:fs/promises";
import { Code, failedPrecondition, HakoError } from "../../common/errors.js";
import { bool, containerId } from "../args.js";
import type { RuntimeContext } from "../context.js";
import { connectDaemon } from "../daemon-client.js";
import { cleanupPodLeftovers, stopProcess, waitGone } from "../lifetimes.js";
import { removeStartLock } from "../start-lock.js";
import { type ContainerStateV1, listIds, readState, removeContainerDir } from "../state-store.js";
import { currentStatus } from "../task-status.js";
import type { Verb } from "../verb.js";

/** How long a force-delete waits for the killed process to be reported exited, in ms. */
const KILL_WAIT_MS = 10_000;

type PodRef = Pick<ContainerStateV1, "id" | "podId" | "daemonSocket" | "daemonPid">;

/**
 * Stops the pod's daemon (and so its VM) when no container but `s.id` still belongs to the pod, and waits until the
 * daemon is gone; a daemon that does not go is stopped by signal, and a VM it left behind is cleaned up. The daemon's
 * socket and its start lock are removed last: a daemon stopped by signal (or one that died) leaves its socket, as
 * only a clean exit removes it.
 */
export async function shutdownIfLast(ctx: RuntimeContext, s: PodRef): Promise<void> {
  for (const other of await listIds(ctx.root)) {
    if (other === s.id) continue;
    const o = await readState(ctx.root, other).catch(() => undefined);
    if (o?.podId === s.podId) return;
  }
  const words = ["daemon", s.podId];
  const d = await connectDaemon(s.daemonSocket, 2000).catch(() => undefined);
  if (d) {
    await d.task.shutdown({ id: s.podId, now: true }, { timeoutMs: 30_000 }).catch((err) => {
      ctx.log.warn("the pod's daemon did not shut down cleanly", { pod: s.podId, err });
    });
    d.close();
  }
  if (!(await waitGone(s.daemonPid, words, 15_000))) await stopProcess(s.daemonPid, words, 10_000, ctx.log);
  await cleanupPodLeftovers(s.podId, ctx.log);
  await rm(s.daemonSocket, { force: true });
  await removeStartLock(s.daemonSocket, 30_000);
}

async function killAndWait(ctx: RuntimeContext, s: ContainerStateV1): Promise<void> {
  const d = await connectDaemon(s.daemonSocket, 2000);
  try {
    await d.task.kill({ id: s.id, signal: 9, all: true });
    await d.task.wait({ id: s.id }, { timeoutMs: KILL_WAIT_MS });
  } catch (err) {
    ctx.log.warn("force delete: the container did not report its exit in time", { id: s.id, err });
  } finally {
    d.close();
  }
}

export const deleteVerb: Verb = {
  name: "delete",
  summary: "delete a container (and its VM and daemon with the pod's last container)",
  usage: "[--force] <container-id>",
  flags: [{ names: ["force", "f"], kind: "bool" }],
  async run(ctx: RuntimeContext, args) {
    const id = containerId(args, "delete");
    const force = bool(args, "force");
    let s: ContainerStateV1;
    try {
      s = await readState(ctx.root, id);
    } catch (err) {
      const known = (await listIds(ctx.root)).includes(id);
      // A directory without state is a create that died half-way; --force removes whatever it is.
      if (err instanceof HakoError && err.code === Code.NotFound && (force || known)) {
        await removeContainerDir(ctx.root, id);
        return 0;
      }
      throw err;
    }
    const status = await currentStatus(s);
    if (status === "running" || status === "paused") {
      if (!force) throw failedPrecondition(`cannot delete container ${id} that is not stopped: ${status}`);
      await killAndWait(ctx, s);
    }
    const d = await connectDaemon(s.daemonSocket, 2000).catch(() => undefined);
    if (d) {
      try {
        await d.task.delete({ id }, { timeoutMs: 30_000 });
      } catch (err) {
        if (!(err instanceof HakoError && err.code === Code.NotFound)) throw err;
      } finally {
        d.close();
      }
    }
    await stopProcess(s.pid, ["stand-in", id], 2000, ctx.log);
    await shutdownIfLast(ctx, s);
    await removeContainerDir(ctx.root, id);
    return 0;
  },
};
