// The CLI's side of the pod daemon: connect to its Task service (containerd's task API over ttrpc, served by the
// same TaskService as the shim), and start the daemon detached when the pod has none yet.
import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { Code, HakoError } from "../common/errors.js";
import { Task } from "../proto/gen/containerd/task/v2/shim_pb.js";
import { connectWithin, createClient, socketAnswers, TtrpcClient, type TypedClient } from "../ttrpc/index.js";
import type { RuntimeContext } from "./context.js";
import { daemonSocketPath } from "./pod.js";
import { startLockPath, withStartLock } from "./start-lock.js";

export type TaskClient = TypedClient<typeof Task>;

export interface DaemonConnection {
  task: TaskClient;
  close(): void;
}

/** The fd on which a starting daemon writes "ready" or "error: …" (as the shim's `serve` does). */
export const DAEMON_READY_FD = 3;

/** Connects to the daemon on `socket`. Errors: Unavailable when nothing listens there (the pod's VM is gone). */
export async function connectDaemon(socket: string, timeoutMs = 5000): Promise<DaemonConnection> {
  const conn = await connectWithin(socket, timeoutMs).catch((err: Error) => {
    if (err instanceof HakoError && err.code === Code.DeadlineExceeded) {
      throw new HakoError(Code.Unavailable, `daemon ${socket}: connect timed out`);
    }
    throw new HakoError(Code.Unavailable, `the pod's daemon does not answer on ${socket}: ${err.message}`);
  });
  const client = new TtrpcClient(conn);
  return {
    task: createClient(Task, client),
    close: () => {
      client.close();
      conn.destroy();
    },
  };
}

/** How long a `create` waits for another one that is starting the same pod's daemon (a VM boot), in ms. */
const START_LOCK_WAIT_MS = 120_000;

/**
 * The pod's daemon, started now if it is not running: its connection, socket and host pid. The check and the start
 * hold the pod's start lock, so that two `create`s of one pod start one daemon.
 */
export async function ensureDaemon(
  ctx: RuntimeContext,
  podId: string,
): Promise<DaemonConnection & { socket: string; pid: number }> {
  const socket = daemonSocketPath(ctx.root, podId);
  await mkdir(dirname(socket), { recursive: true });
  await withStartLock(startLockPath(socket), START_LOCK_WAIT_MS, async () => {
    if (!(await socketAnswers(socket))) await startDaemon(ctx, podId, socket);
  });
  const d = await connectDaemon(socket);
  const { shimPid } = await d.task.connect({ id: podId });
  return { ...d, socket, pid: shimPid };
}

async function startDaemon(ctx: RuntimeContext, podId: string, socket: string): Promise<void> {
  await rm(socket, { force: true });
  const args = [...process.execArgv, process.argv[1] as string, "--root", ctx.root];
  if (ctx.logPath) args.push("--log", ctx.logPath, "--log-format", ctx.logFormat);
  if (ctx.debug) args.push("--debug");
  args.push("daemon", "--pod", podId, "--socket", socket);
  ctx.log.debug("starting the pod's daemon", { pod: podId, socket });
  // Detached, holding none of our stdio: the caller's pipes must reach end of file when the container's stand-in
  // exits, whatever the daemon does.
  const child = spawn(process.execPath, args, { detached: true, stdio: ["ignore", "ignore", "ignore", "pipe"] });
  const ready = child.stdio[DAEMON_READY_FD];
  if (!ready) throw new HakoError(Code.Internal, "no readiness pipe to the daemon");
  const answer = await new Promise<string>((resolve) => {
    let text = "";
    ready.on("data", (d: Buffer) => {
      text += d.toString();
    });
    ready.on("close", () => resolve(text));
    child.once("exit", (code, signal) =>
      resolve(text || `error: the daemon exited while starting (${code ?? signal})`),
    );
  });
  if (!answer.startsWith("ready")) {
    throw new HakoError(Code.Internal, answer.replace(/^error: /, "").trim() || "the pod's daemon failed to start");
  }
  child.unref();
  (ready as { unref?: () => void }).unref?.();
}
