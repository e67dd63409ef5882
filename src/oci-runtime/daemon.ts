// The pod daemon (`hako-runtime daemon`, internal): the long-lived owner of one pod's VM between CLI calls. It is the
// shim's own TaskService (containerd's Task API over ttrpc) on a socket of its own; hako-runtime's verbs are thin
// clients of it. Task events have no containerd to go to: they are logged. It exits after Shutdown, once its last
// container was deleted (the VM is stopped first), or on SIGTERM/SIGINT (stopping the VM).
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { Logger } from "../common/log.js";
import { Task } from "../proto/gen/containerd/task/v2/shim_pb.js";
import type { EventSink } from "../shim/events.js";
import { configuredSandboxFactory } from "../shim/sandbox-factory.js";
import type { TaskEvent } from "../shim/task-events.js";
import { TaskService } from "../shim/task-service.js";
import { TtrpcServer } from "../ttrpc/index.js";
import { DAEMON_READY_FD } from "./daemon-client.js";

/** The namespace the daemon's sandboxes are recorded under (sandbox.json, metrics labels). */
export const DAEMON_NAMESPACE = "hako-runtime";

/** Task events, logged: hako-runtime's callers learn of exits from the stand-in processes instead. */
export class LoggedEvents implements EventSink {
  constructor(private readonly log: Logger) {}
  publish(event: TaskEvent): void {
    this.log.debug("task event", { event });
  }
  async flush(): Promise<void> {}
}

export async function runDaemon(podId: string, socket: string, log: Logger): Promise<void> {
  const plog = log.child({ sandbox: podId, role: "daemon" });
  const readyOut = createWriteStream("", { fd: DAEMON_READY_FD });
  try {
    const server = new TtrpcServer({ logger: plog });
    const exit = async (code: number) => {
      const closed = server.close().catch(() => {});
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000).unref())]);
      await rm(socket, { force: true });
      plog.info("pod daemon exiting", { code });
      process.exit(code);
    };
    const factory = configuredSandboxFactory(DAEMON_NAMESPACE, plog);
    const service = new TaskService(podId, new LoggedEvents(plog), factory, plog, () => void exit(0));
    server.addService(Task, service.impl);
    await server.listen(socket);
    for (const sig of ["SIGTERM", "SIGINT"] as const) {
      process.on(sig, () => {
        plog.info("signal received, stopping the sandbox", { signal: sig });
        void (service.currentSandbox?.stop() ?? Promise.resolve()).finally(() => exit(0));
      });
    }
    process.on("SIGPIPE", () => {});
    process.on("SIGHUP", () => {});
    readyOut.end("ready\n");
    plog.info("pod daemon serving", { socket, pid: process.pid });
  } catch (err) {
    plog.error("pod daemon failed to start", { err });
    readyOut.end(`error: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
