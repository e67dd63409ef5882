// The containers of one sandbox and every verb on them (create, start, exec, kill, pause, resume, update, stats,
// delete): each checks the container's or process's status, calls the agent, and records the outcome. Exits are
// watched here (the agent's WaitProcess long-poll) and reported through the sandbox's events.
import type { AgentApi, ContainerStats } from "../../agent/api/agent-api.js";
import { mustBeAbleTo, ProcessStatus } from "../../agent/api/process-status.js";
import { Code, failedPrecondition, HakoError, invalidArgument, notFound } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import type { OciLinuxResources, OciProcess, OciSpec } from "../../oci/spec.js";
import { Container } from "../container.js";
import type { HostMounts, MountSpec } from "../host-mounts.js";
import type { SandboxPaths } from "../layout.js";
import { ContainerProcess, type ExitInfo } from "../process.js";
import { mountContainerFiles, releaseContainerFiles } from "../resource/share-mounts.js";
import type { PersistedContainer } from "../sandbox-state.js";
import { mapMountsIntoShare } from "../spec-rewrite.js";

/** Exit status reported for processes whose VM died under them (as if SIGKILLed). */
export const VM_DIED_STATUS = 128 + 9;
/** Exit status kept for a process whose start failed (it never ran; containerd's own "unknown exit" value). */
export const NEVER_STARTED_STATUS = 255;

export interface CreateContainerOptions {
  id: string;
  bundle: string;
  spec: OciSpec;
  rootfs: MountSpec[];
}

export interface ContainerManagerDeps {
  sandboxId: string;
  paths: SandboxPaths;
  mounts: HostMounts;
  agent: AgentApi;
  log: Logger;
  exited(container: Container, process: ContainerProcess, exit: ExitInfo): void;
  persist(): Promise<void>;
  /** Records a start-up phase (ms since the sandbox's creation began). */
  markPhase(name: string): void;
  /** Sizes the VM for the sum of its containers' limits (runtime/resource/cpu-mem.ts). Absent without hot-plug. */
  sizing: ContainerSizing | undefined;
  stopping(): boolean;
  vmDead(): boolean;
  /** Containers reach the guest without linux.seccomp (SandboxOptions.disableGuestSeccomp). */
  disableGuestSeccomp: boolean;
}

export interface ContainerSizing {
  /** Grows the VM for a container's new or updated limits; returns whether the size should be persisted. */
  growFor(containerId: string, r: OciLinuxResources): Promise<boolean>;
  forget(containerId: string): void;
  /** Takes a restored container's recorded share of the sizing back, without plugging anything. */
  adoptShare(containerId: string, share: { vcpus: number; memoryMiB: number }): void;
}

export class ContainerManager {
  readonly containers = new Map<string, Container>();
  /** Mount points a release could not unmount; persisted, retried at stop and by clean-up. */
  readonly leftoverMounts: string[] = [];

  constructor(private readonly d: ContainerManagerDeps) {}

  container(id: string): Container {
    const c = this.containers.get(id);
    if (!c) throw notFound(`container ${id} not found in sandbox ${this.d.sandboxId}`);
    return c;
  }

  async createContainer(opts: CreateContainerOptions): Promise<Container> {
    if (this.containers.has(opts.id)) {
      throw new HakoError(Code.AlreadyExists, `container ${opts.id} already exists in sandbox ${this.d.sandboxId}`);
    }
    const log = this.d.log.child({ container: opts.id });
    const { spec, binds, dropped } = mapMountsIntoShare(opts.id, opts.spec);
    if (dropped.length > 0) log.debug("spec fields not carried into the guest", { dropped });
    if (this.d.disableGuestSeccomp && spec.linux?.seccomp) {
      delete spec.linux.seccomp;
      log.debug("seccomp profile not applied in the guest (disable_guest_seccomp)");
    }
    const container = new Container(opts.id, opts.bundle, new ContainerProcess(opts.id, "", opts.spec.process));
    try {
      // Before the container exists in the guest, so that its limits fit in the VM from its first instruction.
      const resources = opts.spec.linux?.resources;
      if (this.d.sizing && resources) await this.d.sizing.growFor(opts.id, resources);
      await mountContainerFiles(this.d.mounts, this.d.paths, container, opts.rootfs, opts.spec, binds);
      await this.d.agent.createContainer({ containerId: opts.id, spec, storages: [] });
    } catch (err) {
      this.d.sizing?.forget(opts.id);
      if (await this.release(container)) await this.d.persist();
      throw err;
    }
    this.containers.set(opts.id, container);
    await this.d.persist();
    return container;
  }

  async start(containerId: string, execId: string): Promise<ContainerProcess> {
    const c = this.container(containerId);
    const p = c.process(execId);
    if (p.isInit) mustBeAbleTo(c.status, "start", `container ${containerId}`);
    else {
      if (p.status !== ProcessStatus.Created)
        throw failedPrecondition(`exec ${execId} of ${containerId} is ${p.status}`);
      mustBeAbleTo(c.status, "exec", `container ${containerId}`);
    }
    const sentSize = p.pendingTtySize;
    try {
      const info = p.isInit
        ? await this.d.agent.startContainer(containerId)
        : await this.d.agent.execProcess(containerId, execId, withConsoleSize(p.spec as OciProcess, sentSize));
      p.pid = info.pid;
    } catch (err) {
      // It never ran: Stopped (Wait answers, Delete is allowed), and no exit event, as runc's shim does.
      p.markExited(NEVER_STARTED_STATUS);
      await this.d.persist();
      throw err;
    }
    // The exit (or the VM's death) can be seen while the agent's reply is on its way: never undo a Stopped.
    if (p.exitInfo === undefined) p.status = ProcessStatus.Running;
    // A resize that came while the exec was being started went nowhere: the guest gets it now.
    const size = p.pendingTtySize;
    p.pendingTtySize = undefined;
    if (size && size !== sentSize && p.status === ProcessStatus.Running) {
      await this.d.agent.resizeTty(containerId, execId, size.rows, size.cols).catch((err) =>
        this.d.log.debug("cannot resize the terminal of a started exec", {
          container: containerId,
          exec: execId,
          err,
        }),
      );
    }
    this.watchExit(c, p);
    if (p.isInit) this.d.markPhase("container-started");
    await this.d.persist();
    return p;
  }

  private watchExit(c: Container, p: ContainerProcess): void {
    void (async () => {
      try {
        const status = await this.d.agent.waitProcess(c.id, p.execId);
        if (p.markExited(status)) this.d.exited(c, p, p.exitInfo as ExitInfo);
        // `hako ps` reads container statuses from the state file; a new owner takes over from it.
        await this.d.persist();
      } catch (err) {
        // Losing the agent means the VM is going away; the supervisor reports those exits.
        if (!this.d.stopping()) this.d.log.warn("wait failed", { container: c.id, exec: p.execId, err });
      }
    })();
  }

  /**
   * Takes over the containers and processes a persisted state lists (Sandbox.restore): statuses, pids and exits as
   * recorded, and the exit of every process that still runs (or ended meanwhile: the agent keeps exit statuses until
   * the container is removed) is watched again.
   */
  adopt(persisted: readonly PersistedContainer[], leftoverMounts: readonly string[]): void {
    this.leftoverMounts.push(...leftoverMounts);
    for (const pc of persisted) {
      const c = new Container(pc.id, pc.bundle, new ContainerProcess(pc.id, "", undefined));
      c.hostMounts.push(...pc.hostMounts);
      c.init.adopt(pc.pid, pc.status as ProcessStatus, pc.exit);
      for (const pe of pc.execs ?? []) {
        const p = new ContainerProcess(pc.id, pe.id, pe.process);
        p.adopt(pe.pid, pe.status as ProcessStatus, pe.exit);
        c.addExec(p);
      }
      this.containers.set(c.id, c);
      if (pc.limits) this.d.sizing?.adoptShare(pc.id, pc.limits);
      for (const p of [c.init, ...c.execs.values()]) {
        if (p.pid > 0 && p.exitInfo === undefined) this.watchExit(c, p);
      }
    }
  }

  /** Marks every process that ran (or could still run) as killed with its VM, and reports each exit. */
  failAllProcesses(): void {
    for (const c of this.containers.values()) {
      for (const p of [c.init, ...c.execs.values()]) {
        if (p.pid === 0 && p.status === ProcessStatus.Created && !p.isInit) continue;
        if (p.markExited(VM_DIED_STATUS)) this.d.exited(c, p, p.exitInfo as ExitInfo);
      }
    }
  }

  addExec(containerId: string, execId: string, process: OciProcess): ContainerProcess {
    const c = this.container(containerId);
    mustBeAbleTo(c.status, "exec", `container ${containerId}`);
    const p = new ContainerProcess(containerId, execId, process);
    c.addExec(p);
    void this.d.persist();
    return p;
  }

  async kill(containerId: string, execId: string, signal: number, all: boolean): Promise<void> {
    // Linux numbers its signals 1 to 64 (SIGRTMAX); crun would answer "send signal to pidfd: Invalid argument".
    if (!Number.isInteger(signal) || signal < 1 || signal > 64)
      throw invalidArgument(`signal ${signal} is not a signal number: Linux's run from 1 to 64`);
    const c = this.container(containerId);
    const p = c.process(execId);
    if (p.status === ProcessStatus.Stopped) throw notFound(`process ${execId || containerId} has already exited`);
    if (!p.isInit && p.status === ProcessStatus.Created)
      throw failedPrecondition(`exec ${execId} has not been started`);
    await this.d.agent.signalProcess(containerId, execId, signal, all);
  }

  async pause(containerId: string): Promise<void> {
    const c = this.container(containerId);
    mustBeAbleTo(c.status, "pause", `container ${containerId}`);
    await this.d.agent.pauseContainer(containerId);
    if (c.init.exitInfo === undefined) c.status = ProcessStatus.Paused;
    await this.d.persist();
  }

  async resume(containerId: string): Promise<void> {
    const c = this.container(containerId);
    mustBeAbleTo(c.status, "resume", `container ${containerId}`);
    await this.d.agent.resumeContainer(containerId);
    if (c.init.exitInfo === undefined) c.status = ProcessStatus.Running;
    await this.d.persist();
  }

  async update(containerId: string, resources: OciLinuxResources): Promise<void> {
    const c = this.container(containerId);
    mustBeAbleTo(c.status, "update", `container ${containerId}`);
    if (this.d.sizing && (await this.d.sizing.growFor(containerId, resources))) await this.d.persist();
    await this.d.agent.updateContainer(containerId, resources);
  }

  /** Sets the size of the process's terminal (rows × columns); NotFound for an unknown container or exec. */
  async resizeTty(containerId: string, execId: string, rows: number, cols: number): Promise<void> {
    const p = this.container(containerId).process(execId);
    // An exec not started yet has no terminal in the guest: its size goes with its process (consoleSize), which the
    // agent sets on the terminal before the process runs, or after its start if the start was already on its way.
    // runc's callers size the pty that early (conmon, as soon as it has the master).
    if (!p.isInit && p.status === ProcessStatus.Created) {
      if (p.spec?.terminal !== true) throw failedPrecondition(`exec ${execId} of ${containerId} has no terminal`);
      p.pendingTtySize = { rows, cols };
      return;
    }
    await this.d.agent.resizeTty(containerId, execId, rows, cols);
  }

  stats(containerId: string): Promise<ContainerStats> {
    this.container(containerId);
    return this.d.agent.statsContainer(containerId);
  }

  pids(containerId: string): Promise<number[]> {
    this.container(containerId);
    return this.d.agent.listProcesses(containerId);
  }

  /** Deletes an exec, or the container itself when execId is "". Returns the exit the caller reports. */
  async delete(containerId: string, execId: string): Promise<{ pid: number; exit: ExitInfo | undefined }> {
    const c = this.container(containerId);
    const p = c.process(execId);
    if (!p.isInit) {
      if (p.status === ProcessStatus.Running)
        throw failedPrecondition(`exec ${execId} of ${containerId} is still running`);
      c.execs.delete(execId);
      await this.d.persist();
      return { pid: p.pid, exit: p.exitInfo };
    }
    mustBeAbleTo(c.status, "delete", `container ${containerId}`);
    // The sandbox's own container, deleted last, is not removed from the guest: the VM goes with the pod (the
    // Shutdown that follows stops it), so `crun delete` would cost a guest round trip for nothing. Kata's shim skips
    // the sandbox container the same way (its deleteContainer removes only non-sandbox containers from the guest).
    const vmGoesNext = containerId === this.d.sandboxId && this.containers.size === 1;
    if (!this.d.vmDead() && !vmGoesNext) {
      await this.d.agent.removeContainer(containerId).catch((err) => {
        if (!(err instanceof HakoError && (err.code === Code.NotFound || err.code === Code.Unavailable))) throw err;
      });
    }
    await this.release(c);
    this.d.sizing?.forget(containerId);
    this.containers.delete(containerId);
    await this.d.persist();
    return { pid: p.pid, exit: p.exitInfo };
  }

  /** Releases the container's host mounts; returns whether some stay (kept in leftoverMounts). */
  private async release(c: Container): Promise<boolean> {
    const left = await releaseContainerFiles(this.d.mounts, this.d.paths, c, this.d.log.child({ container: c.id }));
    this.leftoverMounts.push(...left);
    return left.length > 0;
  }

  /**
   * Releases every container's host mounts (the sandbox is stopping), after one more try at the leftovers of
   * earlier releases. Returns the mount points that stay (each logged).
   */
  async releaseAll(): Promise<string[]> {
    for (const mp of this.leftoverMounts.splice(0)) {
      await this.d.mounts.unmountAll(mp).catch((err) => {
        this.d.log.error("cannot release a leftover mount", { path: mp, err });
        this.leftoverMounts.push(mp);
      });
    }
    for (const c of this.containers.values()) await this.release(c);
    return [...this.leftoverMounts];
  }
}

/** `spec` with the terminal size asked for before its start, as OCI's consoleSize (height = rows). */
function withConsoleSize(spec: OciProcess, size: { rows: number; cols: number } | undefined): OciProcess {
  return size ? { ...spec, consoleSize: { height: size.rows, width: size.cols } } : spec;
}
