// containerd-shim-hako-v2's main entry: `serve` (internal) is the long-lived shim serving containerd's Task service;
// `delete` cleans up after a dead shim (delete-main.ts's smaller bundle answers when nothing is left); `start`
// (start.ts) is usually served by start-main.ts's smaller bundle.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { createLogger, type Logger, type LogSink, stderrSink } from "../common/log.js";
import { Task } from "../proto/gen/containerd/task/v2/shim_pb.js";
import { cleanupSandbox, isAlive } from "../runtime/cleanup.js";
import { unmountAll } from "../runtime/host-mounts.js";
import { sandboxPaths } from "../runtime/layout.js";
import { readSandboxState } from "../runtime/sandbox-state.js";
import { TtrpcServer } from "../ttrpc/index.js";
import { podIdOf, shimSocketPath } from "./address.js";
import type { ShimArgs } from "./args.js";
import { writeDeleteResponse } from "./delete-response.js";
import { EventPublisher } from "./events.js";
import { shimServes } from "./liveness.js";
import { fifoSink, openLogFifo } from "./log-fifo.js";
import { configuredSandboxFactory } from "./sandbox-factory.js";
import { runShim } from "./shim-cli.js";
import { LISTEN_FD, start } from "./start.js";
import { TaskService } from "./task-service.js";

async function serve(args: ShimArgs): Promise<void> {
  const logFd = openLogFifo(args.bundle);
  const sink: LogSink = logFd === undefined ? stderrSink : fifoSink(logFd);
  const podId = await podIdOf(args.bundle, args.id);
  const log = createLogger({ level: args.debug ? "debug" : "info", sink, fields: { sandbox: podId } });
  const socket = shimSocketPath(args.address, args.namespace, podId);
  try {
    const server = new TtrpcServer({ logger: log });
    const events = new EventPublisher(process.env.TTRPC_ADDRESS ?? `${args.address}.ttrpc`, args.namespace, log);
    const exit = async (code: number) => {
      // Calls still in flight (a Wait whose caller is gone) must not keep a finished shim alive.
      const closed = server.close().catch(() => {});
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000).unref())]);
      events.close();
      await rm(socket, { force: true });
      process.exit(code);
    };
    const service = new TaskService(
      podId,
      events,
      configuredSandboxFactory(args.namespace, log),
      log,
      () => void exit(0),
    );
    server.addService(Task, service.impl);
    await server.listenOnFd(LISTEN_FD, socket);
    for (const sig of ["SIGTERM", "SIGINT"] as const) {
      process.on(sig, () => {
        log.info("signal received, stopping the sandbox", { signal: sig });
        void (service.currentSandbox?.stop() ?? Promise.resolve()).finally(() => exit(0));
      });
    }
    process.on("SIGPIPE", () => {});
    log.info("shim serving", { socket, pid: process.pid });
  } catch (err) {
    // containerd's requests on the socket fail when this process is gone; why is in its log (the fifo).
    log.error("shim failed to start", { err });
    await rm(socket, { force: true });
    process.exitCode = 1;
  }
}

async function deleteAction(args: ShimArgs, _argv: string[], log: Logger): Promise<void> {
  // Clean-up must go on without the bundle's spec: the container is then taken for its own pod.
  const podId = await podIdOf(args.bundle, args.id).catch((err) => {
    log.warn("delete: the bundle's spec is unreadable; cleaning up as the container's own pod", { id: args.id, err });
    return args.id;
  });
  const paths = sandboxPaths(podId);
  const socket = shimSocketPath(args.address, args.namespace, podId);
  if (await shimServes(socket, args.id)) {
    // containerd runs delete when it believes the shim dead (no address file, a lost connection). A shim that
    // answers is not: its pod keeps running, and its own Delete/Shutdown clean up when containerd asks them to.
    log.warn("delete: the pod's shim is alive and answers; its sandbox is left running", { id: args.id, socket });
  } else if (podId === args.id) {
    const state = await readSandboxState(paths.stateFile).catch(() => undefined);
    if (state && state.ownerPid !== process.pid && isAlive(state.ownerPid)) {
      log.warn("asking the live shim to stop before cleaning up", { pid: state.ownerPid });
      process.kill(state.ownerPid, "SIGTERM");
      for (let i = 0; i < 50 && isAlive(state.ownerPid); i++) await new Promise((r) => setTimeout(r, 100));
    }
    await cleanupSandbox(podId, log);
    await rm(socket, { force: true });
  } else {
    await unmountAll(join(paths.sharedDir, args.id));
  }
  writeDeleteResponse();
}

void runShim({ start, delete: deleteAction, serve });
