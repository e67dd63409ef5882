// containerd's Task service (containerd.task.v2.Task): each RPC translates its request, calls the runtime's Sandbox,
// publishes the matching event and translates the answer back. The first Create boots the sandbox.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Code, failedPrecondition, HakoError, invalidArgument, notFound, unimplemented } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import { CRI_CONTAINER_TYPE } from "../oci/cri-annotations.js";
import type { OciSpec } from "../oci/spec.js";
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
import type { Task } from "../proto/gen/containerd/task/v2/shim_pb.js";
import type { Container } from "../runtime/container.js";
import { type Deferred, deferred } from "../runtime/deferred.js";
import type { ContainerProcess, ExitInfo, StdioPaths } from "../runtime/process.js";
import type { Sandbox, SandboxEvents } from "../runtime/sandbox.js";
import type { CallContext, ServiceImpl } from "../ttrpc/index.js";
import type { EventSink } from "./events.js";
import { StdioRelay } from "./stdio.js";
import {
  configPathFromOptions,
  exitFields,
  metricsAny,
  mountsFromProto,
  processFromAny,
  resourcesFromAny,
  timestamp,
  toProtoStatus,
} from "./translate.js";

/** Boots the sandbox for the first container of the pod. */
export type SandboxFactory = (req: {
  sandboxId: string;
  spec: OciSpec;
  configPath: string | undefined;
  events: SandboxEvents;
}) => Promise<Sandbox>;

interface Tracked {
  relay: StdioRelay;
  /** Settled once the exit has been published (after output drained): Wait answers from it. */
  reported: Deferred<ExitInfo>;
}

export class TaskService {
  private sandbox: Sandbox | undefined;
  private creating: Promise<Sandbox> | undefined;
  private readonly tracked = new Map<string, Tracked>();
  private shuttingDown = false;

  constructor(
    /** The pod's id: the sandbox container's id, shared by every container of the pod. */
    private readonly sandboxId: string,
    private readonly events: EventSink,
    private readonly createSandbox: SandboxFactory,
    private readonly log: Logger,
    /** Called when Shutdown finds nothing left to serve. */
    private readonly onShutdown: () => void,
  ) {}

  get currentSandbox(): Sandbox | undefined {
    return this.sandbox;
  }

  private requireSandbox(): Sandbox {
    if (!this.sandbox) throw notFound(`sandbox ${this.sandboxId} has no containers`);
    return this.sandbox;
  }

  private key(containerId: string, execId: string): string {
    return `${containerId}/${execId}`;
  }

  private track(p: ContainerProcess): Tracked {
    const sandbox = this.requireSandbox();
    const t: Tracked = {
      relay: new StdioRelay(p, sandbox.agent, this.log.child({ container: p.containerId, exec: p.execId })),
      reported: deferred<ExitInfo>(),
    };
    this.tracked.set(this.key(p.containerId, p.execId), t);
    return t;
  }

  private readonly sandboxEvents: SandboxEvents = {
    exited: (c, p, exit) => void this.reportExit(c, p, exit),
    oom: (containerId) => this.events.publish("/tasks/oom", TaskOOMSchema, { containerId }),
    vmDied: (exit) => this.log.error("the sandbox VM died; its containers are reported exited", { ...exit }),
  };

  private async reportExit(c: Container, p: ContainerProcess, exit: ExitInfo): Promise<void> {
    const t = this.tracked.get(this.key(c.id, p.execId));
    if (t) await t.relay.drained();
    this.events.publish("/tasks/exit", TaskExitSchema, {
      containerId: c.id,
      id: p.isInit ? c.id : p.execId,
      pid: p.pid,
      ...exitFields(exit),
    });
    await this.events.flush();
    t?.reported.resolve(exit);
  }

  private async sandboxFor(id: string, spec: OciSpec, configPath: string | undefined): Promise<Sandbox> {
    if (this.sandbox) return this.sandbox;
    const type = spec.annotations?.[CRI_CONTAINER_TYPE];
    if (type === "container") {
      throw failedPrecondition(`container ${id} joins pod ${this.sandboxId}, whose sandbox does not exist`);
    }
    this.creating ??= this.createSandbox({ sandboxId: this.sandboxId, spec, configPath, events: this.sandboxEvents });
    try {
      this.sandbox = await this.creating;
    } finally {
      this.creating = undefined;
    }
    return this.sandbox;
  }

  readonly impl: ServiceImpl<typeof Task> = {
    create: async (req) => {
      if (req.checkpoint) throw unimplemented("restoring from a checkpoint");
      const spec = await readSpec(req.bundle);
      const sandbox = await this.sandboxFor(req.id, spec, configPathFromOptions(req.options));
      const stdio: StdioPaths = { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal };
      if (spec.process) spec.process.terminal = req.terminal;
      const container = await sandbox.createContainer({
        id: req.id,
        bundle: req.bundle,
        spec,
        rootfs: mountsFromProto(req.rootfs),
        stdio,
      });
      this.track(container.init);
      this.events.publish("/tasks/create", TaskCreateSchema, {
        containerId: req.id,
        bundle: req.bundle,
        rootfs: req.rootfs,
        io: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal },
        pid: sandbox.vm.pid,
      });
      return { pid: sandbox.vm.pid };
    },

    start: async (req) => {
      const sandbox = this.requireSandbox();
      const t = this.tracked.get(this.key(req.id, req.execId));
      const p = await sandbox.start(req.id, req.execId);
      t?.relay.start();
      if (p.isInit) {
        sandbox.mark("container-started");
        void sandbox.persist();
        this.events.publish("/tasks/start", TaskStartSchema, { containerId: req.id, pid: p.pid });
      } else {
        this.events.publish("/tasks/exec-started", TaskExecStartedSchema, {
          containerId: req.id,
          execId: req.execId,
          pid: p.pid,
        });
      }
      return { pid: p.pid };
    },

    state: async (req) => {
      const c = this.requireSandbox().container(req.id);
      const p = c.process(req.execId);
      return {
        id: req.execId || req.id,
        bundle: c.bundle,
        pid: p.pid,
        status: toProtoStatus(p.status),
        stdin: p.stdio.stdin,
        stdout: p.stdio.stdout,
        stderr: p.stdio.stderr,
        terminal: p.stdio.terminal,
        execId: req.execId,
        ...exitFields(p.exitInfo),
      };
    },

    delete: async (req) => {
      const sandbox = this.requireSandbox();
      const key = this.key(req.id, req.execId);
      const { pid, exit } = await sandbox.delete(req.id, req.execId);
      this.tracked.get(key)?.relay.close();
      this.tracked.delete(key);
      if (req.execId === "") {
        const at = exit?.exitedAt ?? new Date();
        this.events.publish("/tasks/delete", TaskDeleteSchema, {
          containerId: req.id,
          id: req.id,
          pid,
          exitStatus: exit?.status ?? 0,
          exitedAt: timestamp(at),
        });
      }
      return { pid, ...exitFields(exit) };
    },

    pids: async (req) => {
      const pids = await this.requireSandbox().pids(req.id);
      return { processes: pids.map((pid) => ({ pid })) };
    },

    pause: async (req) => {
      await this.requireSandbox().pause(req.id);
      this.events.publish("/tasks/paused", TaskPausedSchema, { containerId: req.id });
      return {};
    },

    resume: async (req) => {
      await this.requireSandbox().resume(req.id);
      this.events.publish("/tasks/resumed", TaskResumedSchema, { containerId: req.id });
      return {};
    },

    checkpoint: async () => {
      throw unimplemented("checkpoint");
    },

    kill: async (req) => {
      await this.requireSandbox().kill(req.id, req.execId, req.signal, req.all);
      return {};
    },

    exec: async (req) => {
      const sandbox = this.requireSandbox();
      if (!req.execId) throw invalidArgument(`exec in container ${req.id} needs an exec id`);
      const process = processFromAny(req.spec);
      process.terminal = req.terminal;
      const stdio: StdioPaths = { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal };
      const p = sandbox.addExec(req.id, req.execId, process, stdio);
      this.track(p);
      this.events.publish("/tasks/exec-added", TaskExecAddedSchema, { containerId: req.id, execId: req.execId });
      return {};
    },

    resizePty: async (req) => {
      const sandbox = this.requireSandbox();
      sandbox.container(req.id).process(req.execId);
      await sandbox.agent.resizeTty(req.id, req.execId, req.height, req.width);
      return {};
    },

    closeIO: async (req) => {
      this.requireSandbox().container(req.id).process(req.execId);
      if (req.stdin) await this.tracked.get(this.key(req.id, req.execId))?.relay.closeStdin();
      return {};
    },

    update: async (req) => {
      await this.requireSandbox().update(req.id, resourcesFromAny(req.resources));
      return {};
    },

    wait: async (req) => {
      const sandbox = this.requireSandbox();
      const p = sandbox.container(req.id).process(req.execId);
      const t = this.tracked.get(this.key(req.id, req.execId));
      const exit = t ? await t.reported.promise : await p.exited;
      return exitFields(exit);
    },

    stats: async (req) => {
      const stats = await this.requireSandbox().stats(req.id);
      return { stats: metricsAny(stats) };
    },

    connect: async () => {
      return { shimPid: process.pid, taskPid: this.sandbox?.vm.pid ?? 0, version: "hako" };
    },

    shutdown: async (req, _ctx: CallContext) => {
      if (this.sandbox && this.sandbox.containers.size > 0 && !req.now) return {};
      if (this.shuttingDown) return {};
      this.shuttingDown = true;
      await this.sandbox?.stop();
      await this.events.flush(5000);
      setImmediate(this.onShutdown);
      return {};
    },
  };
}

async function readSpec(bundle: string): Promise<OciSpec> {
  const path = join(bundle, "config.json");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new HakoError(Code.InvalidArgument, `cannot read the OCI spec ${path}`, { cause: err });
  }
  try {
    return JSON.parse(text) as OciSpec;
  } catch (err) {
    throw invalidArgument(`the OCI spec ${path} is not valid JSON: ${(err as Error).message}`);
  }
}
