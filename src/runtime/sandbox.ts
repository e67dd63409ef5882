// A sandbox: one VM with its share daemon and agent connection, and the containers running in it. This class is the
// facade the shim (and tests) use; the work is done by its parts: boot with its undo stack (sandbox/sandbox-boot.ts),
// supervision (sandbox/supervisor.ts), the container verbs (container/container-manager.ts), the resources
// (resource/share-mounts.ts, resource/cpu-mem.ts) and the state file (sandbox/sandbox-persist.ts).
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import type { AgentApi, ContainerStats } from "../agent/api/agent-api.js";
import { type HostCgroups, systemCgroups } from "../cgroups/host-cgroups.js";
import { placeSandbox, releaseSandboxCgroups } from "../cgroups/sandbox-cgroups.js";
import { Code, HakoError } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import type { Accelerator, Vm, VmExit } from "../hypervisor/hypervisor.js";
import { watchNewLinks } from "../network/link-watch.js";
import type { NetworkModel } from "../network/network-model.js";
import { unwirePodNetwork } from "../network/pod-network.js";
import type { OciLinuxResources, OciProcess, OciSpec } from "../oci/spec.js";
import {
  type PodPortForward,
  type PortForwardStarter,
  restorePodPortForward,
  startPodPortForward,
} from "../port-forward/pod-port-forward.js";
import type { SandboxBackend } from "./backend.js";
import { ContainerManager, type CreateContainerOptions } from "./container/container-manager.js";
import type { Container } from "./container.js";
import { type HostMounts, systemHostMounts } from "./host-mounts.js";
import { runDir, type SandboxPaths, sandboxPaths } from "./layout.js";
import type { ContainerProcess, ExitInfo } from "./process.js";
import { CpuMem, type VmSize } from "./resource/cpu-mem.js";
import { PhaseClock } from "./sandbox/phase-clock.js";
import { attachSandbox } from "./sandbox/sandbox-attach.js";
import { bootSandbox } from "./sandbox/sandbox-boot.js";
import { SandboxPersister, sandboxState } from "./sandbox/sandbox-persist.js";
import { Supervisor } from "./sandbox/supervisor.js";
import { type SandboxStateV1, writeSandboxState } from "./sandbox-state.js";

export { type CreateContainerOptions, NEVER_STARTED_STATUS, VM_DIED_STATUS } from "./container/container-manager.js";

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
  /**
   * The pod network: the model that wires it and the sandbox spec that names the netns. Absent: no NIC. A pod with
   * a netns also gets port forwarding for CRI PortForward (`portForward`: startPodPortForward unless a test fakes it).
   */
  network?: { model: NetworkModel; spec: OciSpec; portForward?: PortForwardStarter };
  /** Alternative root for state, for tests. */
  runRoot?: string;
  /** The host mount table; the system's by default, a fake in unit tests. */
  mounts?: HostMounts;
  /**
   * Grow the VM (hot-plugged vCPUs and memory) when a container's resources are updated beyond what the VM has.
   * Off under static sizing (runtime.static_sandbox_resource_mgmt), where the VM was booted big enough.
   */
  hotplug?: boolean;
  /**
   * Drop each container's seccomp profile before it reaches the guest (runtime.disable_guest_seccomp, as Kata's
   * runtime does): the VM is the boundary, and the guest then spends nothing on filters.
   */
  disableGuestSeccomp?: boolean;
  /** Put the shim, VMM and share daemon into host cgroups (cgroups/sandbox-cgroups.ts); absent: leave them be. */
  hostCgroups?: { cgroups: HostCgroups; cgroupsPath: string | undefined; sandboxOnly: boolean };
}

/** What Sandbox.restore needs besides the state: the same backend, mounts and events a creation takes. */
export interface RestoreOptions {
  backend: SandboxBackend;
  logger: Logger;
  events: SandboxEvents;
  /** Alternative root for state, for tests. */
  runRoot?: string;
  mounts?: HostMounts;
}

export class Sandbox {
  private stopping = false;
  metricsSocket: string | undefined;
  private readonly stopHooks: (() => Promise<void> | void)[] = [];
  private readonly supervisor: Supervisor;
  private readonly manager: ContainerManager;
  private readonly cpuMem: CpuMem;
  private readonly persister: SandboxPersister;
  private readonly mounts: HostMounts;

  private constructor(
    readonly id: string,
    private readonly options: SandboxOptions,
    readonly paths: SandboxPaths,
    private readonly log: Logger,
    readonly vm: Vm,
    readonly agent: AgentApi,
    private readonly clock: PhaseClock,
    /** The VM's size now, for a restored sandbox whose VM grew. */
    sizeNow?: VmSize,
  ) {
    this.mounts = options.mounts ?? systemHostMounts;
    const boot = { vcpus: options.vcpus, memoryMiB: options.memoryMiB };
    this.cpuMem = new CpuMem(boot, vm, agent, log, sizeNow ?? boot);
    this.persister = new SandboxPersister(
      paths.stateFile,
      () => (this.stopping || this.supervisor.vmDead ? undefined : this.state()),
      log,
    );
    this.manager = new ContainerManager({
      sandboxId: id,
      paths,
      mounts: this.mounts,
      agent,
      log,
      exited: (c, p, exit) => options.events.exited(c, p, exit),
      persist: () => this.persist(),
      markPhase: (name) => clock.mark(name),
      sizing: options.hotplug ? this.cpuMem : undefined,
      disableGuestSeccomp: options.disableGuestSeccomp === true,
      stopping: () => this.stopping,
      vmDead: () => this.supervisor.vmDead,
    });
    this.supervisor = new Supervisor(vm, agent, log, {
      stopping: () => this.stopping,
      vmDied: (exit) => {
        this.manager.failAllProcesses();
        options.events.vmDied(exit);
      },
      oom: (containerId) => options.events.oom(containerId),
    });
  }

  /** Boots the VM, connects to the agent and prepares the guest. Tears everything down again if any step fails. */
  static async create(options: SandboxOptions): Promise<Sandbox> {
    const log = options.logger.child({ sandbox: options.id, subsystem: "runtime" });
    const runRoot = options.runRoot ?? runDir();
    const paths = sandboxPaths(options.id, runRoot);
    const clock = new PhaseClock();
    const { vm, agent, network, grownTo } = await bootSandbox(
      {
        id: options.id,
        backend: options.backend,
        mounts: options.mounts ?? systemHostMounts,
        paths,
        runRoot,
        vcpus: options.vcpus,
        memoryMiB: options.memoryMiB,
        mayGrow: options.hotplug === true,
        hostname: options.hostname ?? "",
        ...(options.network ? { network: options.network } : {}),
      },
      clock,
      log,
    );
    const sandbox = new Sandbox(options.id, options, paths, log, vm, agent, clock, grownTo);
    if (options.hostCgroups) {
      const { cgroups, cgroupsPath, sandboxOnly } = options.hostCgroups;
      const daemonPid = vm.persistable().share.daemonPid;
      const req = { sandboxId: options.id, cgroupsPath, sandboxOnly, shimPid: process.pid, vmmPid: vm.pid };
      try {
        const threads = { daemonPids: daemonPid ? [daemonPid] : [], vcpuThreads: await vm.vcpuThreadIds() };
        await placeSandbox(cgroups, { ...req, ...threads }, paths.cgroupsRecord, log);
      } catch (err) {
        await sandbox.stop();
        throw HakoError.from(err, Code.Internal, `sandbox ${options.id}: placing its processes in host cgroups`);
      }
    }
    if (network.endpoints.length > 0) {
      const watch = watchNewLinks(
        network.netns,
        network.endpoints.map((e) => e.link),
        log,
      );
      sandbox.onStop(() => watch.stop());
    }
    if (network.netns !== "") {
      const start = options.network?.portForward ?? startPodPortForward;
      sandbox.keepPortForward(
        await start({ netns: network.netns, guest: agent, recordPath: paths.portForwardRecord }, log),
      );
      clock.mark("port-forward-ready");
    }
    sandbox.supervisor.start();
    await sandbox.persist();
    log.info("sandbox ready", { phases: clock.phases, vmPid: vm.pid, accelerator: vm.accelerator });
    return sandbox;
  }

  /**
   * Takes over a running sandbox from its persisted state, in a new process (its owner died, or handed it over):
   * re-attaches to the VM and its share daemon (Hypervisor.attach), dials the agent again (the guest takes the new
   * connection in place of the old one), takes over the containers and processes as recorded, watches again every
   * exit still to come, and records this process as the owner (the old owner's metrics socket is not carried over:
   * the caller serves metrics again if it wants them). Errors: FailedPrecondition when the state has no VM
   * handle (written before restore existed) or the VM is gone; the dial's error when the agent does not answer.
   */
  static async restore(state: SandboxStateV1, options: RestoreOptions): Promise<Sandbox> {
    const log = options.logger.child({ sandbox: state.id, subsystem: "runtime" });
    const { vm, agent, paths, runRoot, boot, hotplug, size, clock } = await attachSandbox(state, options, log);
    const sandboxOptions: SandboxOptions = {
      ...options,
      id: state.id,
      namespace: state.namespace,
      vcpus: boot.vcpus,
      memoryMiB: boot.memoryMiB,
      hotplug,
      runRoot,
    };
    const sandbox = new Sandbox(state.id, sandboxOptions, paths, log, vm, agent, clock, size);
    sandbox.manager.adopt(state.containers, state.leftoverMounts ?? []);
    sandbox.keepPortForward(
      await restorePodPortForward({ guest: agent, recordPath: paths.portForwardRecord }, log).catch((err) => {
        log.error("cannot restore port forwarding", { err, record: paths.portForwardRecord });
        return undefined;
      }),
    );
    sandbox.supervisor.start();
    clock.mark("restored");
    await sandbox.persist();
    log.info("sandbox restored", { vmPid: vm.pid, containers: state.containers.length, previousOwner: state.ownerPid });
    return sandbox;
  }

  /** Start-up phases, milliseconds since creation began. */
  get phases(): Record<string, number> {
    return this.clock.phases;
  }

  get containers(): ReadonlyMap<string, Container> {
    return this.manager.containers;
  }

  /** vCPUs and memory the VM has now (grown by hot-plug). */
  get size(): VmSize {
    return this.cpuMem.size;
  }

  container(id: string): Container {
    return this.manager.container(id);
  }

  createContainer(opts: CreateContainerOptions): Promise<Container> {
    return this.manager.createContainer(opts);
  }

  start(containerId: string, execId: string): Promise<ContainerProcess> {
    return this.manager.start(containerId, execId);
  }

  addExec(containerId: string, execId: string, process: OciProcess): ContainerProcess {
    return this.manager.addExec(containerId, execId, process);
  }

  kill(containerId: string, execId: string, signal: number, all: boolean): Promise<void> {
    return this.manager.kill(containerId, execId, signal, all);
  }

  pause(containerId: string): Promise<void> {
    return this.manager.pause(containerId);
  }

  resume(containerId: string): Promise<void> {
    return this.manager.resume(containerId);
  }

  update(containerId: string, resources: OciLinuxResources): Promise<void> {
    return this.manager.update(containerId, resources);
  }

  /** The process, by container id and exec id ("" for the init); NotFound if either is unknown. */
  process(containerId: string, execId: string): ContainerProcess {
    return this.manager.container(containerId).process(execId);
  }

  resizeTty(containerId: string, execId: string, rows: number, cols: number): Promise<void> {
    return this.manager.resizeTty(containerId, execId, rows, cols);
  }

  /**
   * A process's output, pulled from the guest: resolves with at least one byte, or null at end of stream. The
   * caller's back-pressure reaches the process: nothing more is pulled until it asks again.
   */
  readStdout(containerId: string, execId: string, max: number): Promise<Uint8Array | null> {
    return this.agent.readStdout(containerId, execId, max);
  }

  readStderr(containerId: string, execId: string, max: number): Promise<Uint8Array | null> {
    return this.agent.readStderr(containerId, execId, max);
  }

  /** Writes to a process's stdin; resolves with the number of bytes it took. */
  writeStdin(containerId: string, execId: string, data: Uint8Array): Promise<number> {
    return this.agent.writeStdin(containerId, execId, data);
  }

  closeStdin(containerId: string, execId: string): Promise<void> {
    return this.agent.closeStdin(containerId, execId);
  }

  /** The host pid that stands for the sandbox's tasks before they start (the VM's), as `ctr task ls` shows it. */
  get taskPid(): number {
    return this.vm.pid;
  }

  /** How the VM runs (kvm or tcg). */
  get accelerator(): Accelerator {
    return this.vm.accelerator;
  }

  /** The guest's own figures in Prometheus text (the agent's GetMetrics). */
  guestMetrics(): Promise<string> {
    return this.agent.getMetrics();
  }

  stats(containerId: string): Promise<ContainerStats> {
    return this.manager.stats(containerId);
  }

  pids(containerId: string): Promise<number[]> {
    return this.manager.pids(containerId);
  }

  /** Deletes an exec, or the container itself when execId is "". Returns the exit the caller reports. */
  delete(containerId: string, execId: string): Promise<{ pid: number; exit: ExitInfo | undefined }> {
    return this.manager.delete(containerId, execId);
  }

  /** Stops the pod's port forwarding first thing at stop; a failure is logged (the record stays for clean-up). */
  private keepPortForward(forward: PodPortForward | undefined): void {
    if (!forward) return;
    this.onStop(() =>
      forward.stop().catch((err) => this.log.error("cannot remove port forwarding", { err, port: forward.port })),
    );
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
    if (!this.supervisor.vmDead) {
      await Promise.race([this.agent.destroySandbox(), new Promise((r) => setTimeout(r, 2000))]).catch(() => {});
    }
    this.agent.close();
    await this.vm.stop().catch((err) => this.log.warn("vm stop failed", { err }));
    if (existsSync(this.paths.cgroupsRecord)) {
      // Also for a restored sandbox, whose options carry no cgroups. The record stays when this fails, so clean-up
      // after this shim retries (releaseSandboxCgroups logged why).
      const cgroups = this.options.hostCgroups?.cgroups ?? systemCgroups();
      await releaseSandboxCgroups(cgroups, this.paths.cgroupsRecord, this.log, process.pid).catch(() => {});
    }
    const left = await this.manager.releaseAll();
    // After the VM: its taps are free then. A failure is logged loudly, since it leaves devices in the pod netns.
    const model = this.options.network?.model;
    await unwirePodNetwork(this.paths.networkRecord, this.log, model ? () => model : undefined).catch((err) =>
      this.log.error("cannot unwire the pod network", { err, record: this.paths.networkRecord }),
    );
    const shareLeft = await this.mounts.unmountAll(this.paths.sharedDir).then(
      () => false,
      (err) => {
        this.log.error("cannot unmount the shared directory", { path: this.paths.sharedDir, err });
        return true;
      },
    );
    // A write already under way would otherwise fail (and warn) as the directory goes.
    await this.persister.settled();
    if (left.length > 0 || shareLeft) {
      // Removing the directories would reach through live bind mounts into host files. The state file stays, naming
      // what is left, so that clean-up after this (gone) owner retries.
      await writeSandboxState(this.paths.stateFile, this.state()).catch((err) =>
        this.log.error("cannot write the state file", { path: this.paths.stateFile, err }),
      );
      this.log.error("sandbox stopped with host mounts left; its state stays for clean-up", {
        mounts: left,
        stateFile: this.paths.stateFile,
      });
      return;
    }
    await rm(this.paths.sharedDir, { recursive: true, force: true });
    await rm(this.paths.stateDir, { recursive: true, force: true });
  }

  state(): SandboxStateV1 {
    return sandboxState({
      id: this.id,
      namespace: this.options.namespace,
      startedAt: this.clock.startedAt(),
      paths: this.paths,
      vm: this.vm,
      size: this.size,
      bootSize: this.cpuMem.bootSize,
      hotplug: this.options.hotplug ?? false,
      metricsSocket: this.metricsSocket,
      containers: this.containers.values(),
      limitsOf: (id) => this.cpuMem.shareOf(id),
      leftoverMounts: this.manager.leftoverMounts,
      phases: this.phases,
    });
  }

  persist(): Promise<void> {
    return this.persister.persist();
  }
}
