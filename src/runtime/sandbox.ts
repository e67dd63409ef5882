// A sandbox: one VM with its share daemon and agent connection, and the containers running in it. Every operation
// on a container goes through here; the shim translates containerd's requests into these calls.
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { AgentApi, ContainerStats } from "../agent/client/agent-api.js";
import { Code, failedPrecondition, HakoError, notFound } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import type { Vm, VmExit } from "../hypervisor/hypervisor.js";
import type { OciLinuxResources, OciProcess, OciSpec } from "../oci/spec.js";
import type { SandboxBackend } from "./backend.js";
import { Container } from "./container.js";
import { bindMount, type MountSpec, makeSharedMountPoint, mountRootfs, unmountAll } from "./host-mounts.js";
import { hostRootfs, runDir, type SandboxPaths, sandboxPaths } from "./layout.js";
import { ContainerProcess, type ExitInfo, type StdioPaths } from "./process.js";
import { type SandboxStateV1, writeSandboxState } from "./sandbox-state.js";
import { rewriteSpecForGuest } from "./spec-rewrite.js";
import { mustBeAbleTo, Status } from "./status.js";

/** Exit status reported for processes whose VM died under them (as if SIGKILLed). */
export const VM_DIED_STATUS = 128 + 9;

export interface SandboxEvents {
  exited(container: Container, process: ContainerProcess, exit: ExitInfo): void;
  oom(containerId: string): void;
  /** The VM died without being asked to stop. */
  vmDied(exit: VmExit): void;
}

export interface SandboxOptions {
  id: string;
  namespace: string;
  backend: SandboxBackend;
  logger: Logger;
  events: SandboxEvents;
  vcpus: number;
  memoryMiB: number;
  hostname?: string;
  /** Alternative root for state, for tests. */
  runRoot?: string;
  /**
   * Grow the VM (hot-plugged vCPUs and memory) when a container's resources are updated beyond what the VM has.
   * Off under static sizing (runtime.static_sandbox_resource_mgmt), where the VM was booted big enough.
   */
  hotplug?: boolean;
}

export interface CreateContainerOptions {
  id: string;
  bundle: string;
  spec: OciSpec;
  rootfs: MountSpec[];
  stdio: StdioPaths;
}

export class Sandbox {
  readonly containers = new Map<string, Container>();
  private stopping = false;
  private vmDead = false;
  private persisting: Promise<void> = Promise.resolve();
  metricsSocket: string | undefined;
  private readonly stopHooks: (() => Promise<void> | void)[] = [];
  private constructor(
    readonly id: string,
    private readonly options: SandboxOptions,
    readonly paths: SandboxPaths,
    private readonly log: Logger,
    readonly vm: Vm,
    readonly agent: AgentApi,
    /** performance.now() when creation began; phases are measured from it. */
    private readonly t0: number,
    readonly phases: Record<string, number>,
  ) {
    this.size = { vcpus: options.vcpus, memoryMiB: options.memoryMiB };
  }

  /** Boots the VM, connects to the agent and prepares the guest. Tears everything down again if any step fails. */
  static async create(options: SandboxOptions): Promise<Sandbox> {
    const log = options.logger.child({ sandbox: options.id, subsystem: "runtime" });
    const runRoot = options.runRoot ?? runDir();
    const paths = sandboxPaths(options.id, runRoot);
    const t0 = performance.now();
    const phases: Record<string, number> = {};
    const mark = (name: string) => {
      phases[name] = Math.round(performance.now() - t0);
    };
    const undo: (() => Promise<unknown>)[] = [];
    try {
      await makeSharedMountPoint(paths.sharedDir);
      undo.push(async () => {
        await unmountAll(paths.sharedDir);
        await rm(paths.sharedDir, { recursive: true, force: true });
      });
      const vm = await options.backend.startVm(
        {
          sandboxId: options.id,
          sharedDir: paths.sharedDir,
          stateRoot: runRoot,
          vcpus: options.vcpus,
          memoryMiB: options.memoryMiB,
        },
        log,
      );
      undo.push(() => vm.stop());
      mark("vm-started");
      const agent = await options.backend.connectAgent(vm, log);
      undo.push(async () => agent.close());
      mark("agent-ready");
      await agent.createSandbox({
        sandboxId: options.id,
        hostname: options.hostname ?? "",
        dns: [],
        storages: options.backend.guestStorages,
        kernelModules: options.backend.kernelModules,
      });
      mark("sandbox-created");
      // The VM backend may keep its files elsewhere (or nowhere: the fake), so the state dir is made here.
      await mkdir(paths.stateDir, { recursive: true, mode: 0o700 });
      const sandbox = new Sandbox(options.id, options, paths, log, vm, agent, t0, phases);
      sandbox.supervise();
      await sandbox.persist();
      log.info("sandbox ready", { phases, vmPid: vm.pid, accelerator: vm.accelerator });
      return sandbox;
    } catch (err) {
      log.error("sandbox creation failed, cleaning up", { err });
      for (const step of undo.reverse()) await step().catch(() => {});
      throw HakoError.from(err, Code.Internal, `creating sandbox ${options.id}`);
    }
  }

  mark(phase: string): void {
    this.phases[phase] = Math.round(performance.now() - this.t0);
  }

  private supervise(): void {
    void this.vm.exited.then((exit) => {
      this.vmDead = true;
      if (exit.requested || this.stopping) return;
      this.log.error("vm died", { code: exit.code, signal: exit.signal, console: this.vm.consoleLogPath });
      this.agent.close();
      this.failAllProcesses();
      this.options.events.vmDied(exit);
    });
    void this.vm.daemonFailure?.then((err) => {
      if (this.stopping) return;
      this.log.error("share daemon died; stopping the VM, its containers cannot reach their files", { err });
      void this.vm.stop();
    });
    void this.watchOom();
  }

  private failAllProcesses(): void {
    for (const c of this.containers.values()) {
      for (const p of [c.init, ...c.execs.values()]) {
        if (p.pid === 0 && p.status === Status.Created && !p.isInit) continue;
        if (p.markExited(VM_DIED_STATUS)) this.options.events.exited(c, p, p.exitInfo as ExitInfo);
      }
    }
  }

  private async watchOom(): Promise<void> {
    while (!this.stopping) {
      try {
        const id = await this.agent.getOomEvent();
        this.log.warn("container hit its memory limit (oom kill)", { container: id });
        this.options.events.oom(id);
      } catch (err) {
        if (this.stopping) return;
        if (err instanceof HakoError && err.code === Code.Unimplemented) return;
        if (err instanceof HakoError && err.code === Code.Unavailable) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  container(id: string): Container {
    const c = this.containers.get(id);
    if (!c) throw notFound(`container ${id} not found in sandbox ${this.id}`);
    return c;
  }

  async createContainer(opts: CreateContainerOptions): Promise<Container> {
    if (this.containers.has(opts.id)) {
      throw new HakoError(Code.AlreadyExists, `container ${opts.id} already exists in sandbox ${this.id}`);
    }
    const log = this.log.child({ container: opts.id });
    const { spec, binds, dropped } = rewriteSpecForGuest(opts.id, opts.spec);
    if (dropped.length > 0) log.debug("spec fields not carried into the guest", { dropped });
    const container = new Container(
      opts.id,
      opts.bundle,
      opts.spec,
      new ContainerProcess(opts.id, "", opts.stdio, opts.spec.process),
    );
    try {
      const rootfs = hostRootfs(this.paths, opts.id);
      if (opts.rootfs.length > 0) await mountRootfs(opts.rootfs, rootfs);
      else await bindMount(join(opts.bundle, opts.spec.root?.path ?? "rootfs"), rootfs, false);
      container.hostMounts.push(rootfs);
      for (const b of binds) {
        const target = join(this.paths.sharedDir, b.sharedPath);
        await bindMount(b.source, target, b.readonly);
        container.hostMounts.push(target);
      }
      await this.agent.createContainer({ containerId: opts.id, spec, storages: [] });
    } catch (err) {
      await this.releaseHostMounts(container);
      throw err;
    }
    this.containers.set(opts.id, container);
    await this.persist();
    return container;
  }

  async start(containerId: string, execId: string): Promise<ContainerProcess> {
    const c = this.container(containerId);
    const p = c.process(execId);
    if (p.isInit) {
      mustBeAbleTo(c.status, "start", `container ${containerId}`);
      const info = await this.agent.startContainer(containerId);
      p.pid = info.pid;
    } else {
      if (p.status !== Status.Created) throw failedPrecondition(`exec ${execId} of ${containerId} is ${p.status}`);
      mustBeAbleTo(c.status, "exec", `container ${containerId}`);
      const info = await this.agent.execProcess(containerId, execId, p.spec as OciProcess);
      p.pid = info.pid;
    }
    // The exit (or the VM's death) can be seen while the agent's reply is on its way: never undo a Stopped.
    if (p.exitInfo === undefined) p.status = Status.Running;
    this.watchExit(c, p);
    if (p.isInit) await this.persist();
    return p;
  }

  private watchExit(c: Container, p: ContainerProcess): void {
    void (async () => {
      try {
        const status = await this.agent.waitProcess(c.id, p.execId);
        if (p.markExited(status)) this.options.events.exited(c, p, p.exitInfo as ExitInfo);
        // `hako ps` reads container statuses from the state file.
        if (p.isInit) await this.persist();
      } catch (err) {
        // Losing the agent means the VM is going away; supervise() reports those exits.
        if (!this.stopping) this.log.warn("wait failed", { container: c.id, exec: p.execId, err });
      }
    })();
  }

  addExec(containerId: string, execId: string, process: OciProcess, stdio: StdioPaths): ContainerProcess {
    const c = this.container(containerId);
    mustBeAbleTo(c.status, "exec", `container ${containerId}`);
    const p = new ContainerProcess(containerId, execId, stdio, process);
    c.addExec(p);
    return p;
  }

  async kill(containerId: string, execId: string, signal: number, all: boolean): Promise<void> {
    const c = this.container(containerId);
    const p = c.process(execId);
    if (p.status === Status.Stopped) throw notFound(`process ${execId || containerId} has already exited`);
    if (!p.isInit && p.status === Status.Created) throw failedPrecondition(`exec ${execId} has not been started`);
    await this.agent.signalProcess(containerId, execId, signal, all);
  }

  async pause(containerId: string): Promise<void> {
    const c = this.container(containerId);
    mustBeAbleTo(c.status, "pause", `container ${containerId}`);
    await this.agent.pauseContainer(containerId);
    if (c.init.exitInfo === undefined) c.status = Status.Paused;
    await this.persist();
  }

  async resume(containerId: string): Promise<void> {
    const c = this.container(containerId);
    mustBeAbleTo(c.status, "resume", `container ${containerId}`);
    await this.agent.resumeContainer(containerId);
    if (c.init.exitInfo === undefined) c.status = Status.Running;
    await this.persist();
  }

  async update(containerId: string, resources: OciLinuxResources): Promise<void> {
    const c = this.container(containerId);
    mustBeAbleTo(c.status, "update", `container ${containerId}`);
    if (this.options.hotplug) await this.growFor(resources);
    await this.agent.updateContainer(containerId, resources);
  }

  /** vCPUs and memory the VM has now (grown by hot-plug). */
  readonly size: { vcpus: number; memoryMiB: number };

  /** Plugs vCPUs / memory so the VM holds the sandbox's base size plus this container's new limits. */
  private async growFor(r: OciLinuxResources): Promise<void> {
    const quota = r.cpu?.quota ?? 0;
    const period = r.cpu?.period ?? 0;
    if (quota > 0 && period > 0) {
      const want = this.options.vcpus + Math.ceil(quota / period);
      if (want > this.size.vcpus) {
        const now = await this.vm.hotplugVcpus(want);
        await this.agent.onlineCpuMem(now, true);
        this.log.info("vcpus hot-plugged", { from: this.size.vcpus, to: now });
        this.size.vcpus = now;
      }
    }
    const limit = r.memory?.limit ?? 0;
    if (limit > 0) {
      const want = this.options.memoryMiB + Math.ceil(limit / (1024 * 1024));
      if (want > this.size.memoryMiB) {
        const now = await this.vm.hotplugMemory(want - this.size.memoryMiB);
        await this.agent.onlineCpuMem(0, false);
        this.log.info("memory hot-plugged", { fromMiB: this.size.memoryMiB, toMiB: now });
        this.size.memoryMiB = now;
      }
    }
    if (quota > 0 || limit > 0) await this.persist();
  }

  stats(containerId: string): Promise<ContainerStats> {
    this.container(containerId);
    return this.agent.statsContainer(containerId);
  }

  pids(containerId: string): Promise<number[]> {
    this.container(containerId);
    return this.agent.listProcesses(containerId);
  }

  /** Deletes an exec, or the container itself when execId is "". Returns the exit the caller reports. */
  async delete(containerId: string, execId: string): Promise<{ pid: number; exit: ExitInfo | undefined }> {
    const c = this.container(containerId);
    const p = c.process(execId);
    if (!p.isInit) {
      if (p.status === Status.Running) throw failedPrecondition(`exec ${execId} of ${containerId} is still running`);
      c.execs.delete(execId);
      return { pid: p.pid, exit: p.exitInfo };
    }
    mustBeAbleTo(c.status, "delete", `container ${containerId}`);
    if (!this.vmDead) {
      await this.agent.removeContainer(containerId).catch((err) => {
        if (!(err instanceof HakoError && (err.code === Code.NotFound || err.code === Code.Unavailable))) throw err;
      });
    }
    await this.releaseHostMounts(c);
    this.containers.delete(containerId);
    await this.persist();
    return { pid: p.pid, exit: p.exitInfo };
  }

  private async releaseHostMounts(c: Container): Promise<void> {
    for (const mp of [...c.hostMounts].reverse()) await unmountAll(mp).catch(() => {});
    await rm(join(this.paths.sharedDir, c.id), { recursive: true, force: true }).catch(() => {});
  }

  /** Runs fn first thing when the sandbox stops (servers bound to it, …). */
  onStop(fn: () => Promise<void> | void): void {
    this.stopHooks.push(fn);
  }

  /** Stops everything: guest, VM, share, host mounts, state. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info("stopping sandbox");
    for (const hook of this.stopHooks) await Promise.resolve(hook()).catch(() => {});
    if (!this.vmDead) {
      await Promise.race([this.agent.destroySandbox(), new Promise((r) => setTimeout(r, 2000))]).catch(() => {});
    }
    this.agent.close();
    await this.vm.stop().catch((err) => this.log.warn("vm stop failed", { err }));
    for (const c of this.containers.values()) await this.releaseHostMounts(c);
    await unmountAll(this.paths.sharedDir);
    await rm(this.paths.sharedDir, { recursive: true, force: true });
    // A write already under way would otherwise fail (and warn) as the directory goes.
    await this.persisting;
    await rm(this.paths.stateDir, { recursive: true, force: true });
  }

  state(): SandboxStateV1 {
    return {
      version: 1,
      id: this.id,
      namespace: this.options.namespace,
      ownerPid: process.pid,
      createdAt: new Date(Date.now() - (performance.now() - this.t0)).toISOString(),
      stateDir: this.paths.stateDir,
      sharedDir: this.paths.sharedDir,
      vm: {
        pid: this.vm.pid,
        accelerator: this.vm.accelerator,
        consoleLog: this.vm.consoleLogPath,
        vcpus: this.size.vcpus,
        memoryMiB: this.size.memoryMiB,
      },
      ...(this.metricsSocket === undefined ? {} : { metricsSocket: this.metricsSocket }),
      containers: [...this.containers.values()].map((c) => ({
        id: c.id,
        bundle: c.bundle,
        status: c.status,
        pid: c.init.pid,
        hostMounts: c.hostMounts,
      })),
      phases: this.phases,
    };
  }

  async persist(): Promise<void> {
    // One write at a time, each taking the state as it is when it runs, so the file never goes back to an older
    // state when concurrent requests finish out of order.
    this.persisting = this.persisting.then(async () => {
      if (this.stopping || this.vmDead) return;
      await writeSandboxState(this.paths.stateFile, this.state()).catch((err) =>
        this.log.warn("cannot persist sandbox state", { err, path: this.paths.stateFile }),
      );
    });
    await this.persisting;
  }
}
