// containerd's Task service (containerd.task.v2.Task) as a table: each RPC translates its request (task-translate.ts),
// calls the pod's Sandbox, raises the matching TaskEvent (encoded by the publisher) and translates the answer back.
// The first Create boots the sandbox (pod.ts); each process's fifos and relay are kept by the tracker.
import { invalidArgument, unimplemented } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import { readSpec } from "../oci/spec-file.js";
import type { Task } from "../proto/gen/containerd/task/v2/shim_pb.js";
import type { Container } from "../runtime/container.js";
import type { ContainerProcess, ExitInfo } from "../runtime/process.js";
import type { Sandbox, SandboxEvents } from "../runtime/sandbox.js";
import type { CallContext, ServiceImpl } from "../ttrpc/index.js";
import type { EventSink } from "./events.js";
import { Pod, type SandboxFactory } from "./pod.js";
import { ProcessTracker } from "./process-tracker.js";
import {
  configPathFromOptions,
  exitFields,
  metricsAny,
  mountsFromProto,
  processFromAny,
  resourcesFromAny,
  stateResponse,
  stdioOf,
  taskMounts,
} from "./task-translate.js";

export class TaskService {
  private readonly pod: Pod;
  private readonly processes: ProcessTracker;
  private shuttingDown = false;

  constructor(
    /** The pod's id: the sandbox container's id, shared by every container of the pod. */
    sandboxId: string,
    private readonly events: EventSink,
    createSandbox: SandboxFactory,
    private readonly log: Logger,
    /** Called when Shutdown finds nothing left to serve. */
    private readonly onShutdown: () => void,
  ) {
    this.pod = new Pod(sandboxId, createSandbox, this.sandboxEvents);
    this.processes = new ProcessTracker(log);
  }

  get currentSandbox(): Sandbox | undefined {
    return this.pod.current;
  }

  private get sandboxEvents(): SandboxEvents {
    return {
      exited: (c, p, exit) => void this.reportExit(c, p, exit),
      oom: (containerId) => this.events.publish({ type: "oom", containerId }),
      vmDied: (exit) => this.log.error("the sandbox VM died; its containers are reported exited", { ...exit }),
    };
  }

  /**
   * Publishes the exit once the process's start has been published and its output has drained, then lets Wait
   * answer. A process can exit while its Start is still answering (the agent's exit poll is already running): the
   * start event and the relay come first. A process that never got a pid (a created container whose VM died) has
   * no start to wait for.
   */
  private async reportExit(c: Container, p: ContainerProcess, exit: ExitInfo): Promise<void> {
    const t = this.processes.get(p);
    if (t && p.pid > 0) await t.started.promise;
    if (t) await t.relay.drained();
    this.events.publish({ type: "exit", containerId: c.id, id: p.isInit ? c.id : p.execId, pid: p.pid, exit });
    // Wait answers after the event went out, but not later than 10 s: a containerd that cannot take events (down,
    // restarting) gets them from the queue later, and Wait must not hang on it.
    await this.events.flush(10_000);
    t?.reported.resolve(exit);
  }

  /**
   * A process that never ran: nothing will be written to its fifos, so they are let go (a client reads them to end
   * of file before it shows the error), and a pending Wait answers with the never-started exit the runtime set.
   */
  private startFailed(containerId: string, execId: string): void {
    let p: ContainerProcess;
    try {
      p = this.pod.require().process(containerId, execId);
    } catch {
      return;
    }
    const t = this.processes.get(p);
    t?.relay.close();
    if (t && p.exitInfo) t.reported.resolve(p.exitInfo);
  }

  readonly impl: ServiceImpl<typeof Task> = {
    create: async (req) => {
      if (req.checkpoint) throw unimplemented("restoring from a checkpoint");
      const spec = await readSpec(req.bundle);
      const sandbox = await this.pod.sandboxFor(req.id, spec, configPathFromOptions(req.options));
      const stdio = stdioOf(req);
      if (spec.process) spec.process.terminal = req.terminal;
      const rootfs = mountsFromProto(req.rootfs);
      const container = await sandbox.createContainer({ id: req.id, bundle: req.bundle, spec, rootfs });
      this.processes.track(container.init, stdio, sandbox);
      const pid = sandbox.taskPid;
      const mounts = taskMounts(req.rootfs);
      this.events.publish({ type: "create", containerId: req.id, bundle: req.bundle, rootfs: mounts, io: stdio, pid });
      return { pid };
    },

    start: async (req) => {
      const sandbox = this.pod.require();
      let p: ContainerProcess;
      try {
        p = await sandbox.start(req.id, req.execId);
      } catch (err) {
        this.startFailed(req.id, req.execId);
        throw err;
      }
      const t = this.processes.get(p);
      t?.relay.start();
      if (p.isInit) this.events.publish({ type: "start", containerId: req.id, pid: p.pid });
      else this.events.publish({ type: "exec-started", containerId: req.id, execId: req.execId, pid: p.pid });
      t?.started.resolve();
      return { pid: p.pid };
    },

    state: async (req) => {
      const sandbox = this.pod.require();
      const c = sandbox.container(req.id);
      const p = c.process(req.execId);
      return stateResponse(c, p, this.processes.get(p)?.stdio, req.execId);
    },

    delete: async (req) => {
      const sandbox = this.pod.require();
      const p = sandbox.process(req.id, req.execId);
      const { pid, exit } = await sandbox.delete(req.id, req.execId);
      this.processes.release(p);
      if (req.execId === "") this.events.publish({ type: "delete", containerId: req.id, pid, exit });
      return { pid, ...exitFields(exit) };
    },

    pids: async (req) => {
      const pids = await this.pod.require().pids(req.id);
      return { processes: pids.map((pid) => ({ pid })) };
    },

    pause: async (req) => {
      await this.pod.require().pause(req.id);
      this.events.publish({ type: "paused", containerId: req.id });
      return {};
    },

    resume: async (req) => {
      await this.pod.require().resume(req.id);
      this.events.publish({ type: "resumed", containerId: req.id });
      return {};
    },

    checkpoint: async () => {
      throw unimplemented("checkpoint");
    },

    kill: async (req) => {
      await this.pod.require().kill(req.id, req.execId, req.signal, req.all);
      return {};
    },

    exec: async (req) => {
      const sandbox = this.pod.require();
      if (!req.execId) throw invalidArgument(`exec in container ${req.id} needs an exec id`);
      const process = processFromAny(req.spec);
      process.terminal = req.terminal;
      const p = sandbox.addExec(req.id, req.execId, process);
      this.processes.track(p, stdioOf(req), sandbox);
      this.events.publish({ type: "exec-added", containerId: req.id, execId: req.execId });
      return {};
    },

    resizePty: async (req) => {
      await this.pod.require().resizeTty(req.id, req.execId, req.height, req.width);
      return {};
    },

    closeIO: async (req) => {
      const p = this.pod.require().process(req.id, req.execId);
      if (req.stdin) await this.processes.get(p)?.relay.closeStdin();
      return {};
    },

    update: async (req) => {
      await this.pod.require().update(req.id, resourcesFromAny(req.resources));
      return {};
    },

    wait: async (req) => {
      const p = this.pod.require().process(req.id, req.execId);
      const t = this.processes.get(p);
      const exit = t ? await t.reported.promise : await p.exited;
      return exitFields(exit);
    },

    stats: async (req) => {
      const stats = await this.pod.require().stats(req.id);
      return { stats: metricsAny(stats) };
    },

    connect: async () => {
      return { shimPid: process.pid, taskPid: this.pod.current?.taskPid ?? 0, version: "hako" };
    },

    shutdown: async (req, _ctx: CallContext) => {
      const sandbox = this.pod.current;
      if (sandbox && sandbox.containers.size > 0 && !req.now) return {};
      if (this.shuttingDown) return {};
      this.shuttingDown = true;
      try {
        await sandbox?.stop();
      } finally {
        // Also when the stop failed: containerd's `delete` of a gone shim cleans up what is left, while a shim that
        // stays would answer containerd's liveness probe forever and keep that clean-up away.
        await this.events.flush(5000);
        setImmediate(this.onShutdown);
      }
      return {};
    },
  };
}
