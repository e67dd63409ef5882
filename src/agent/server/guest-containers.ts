// The pod's containers in the guest: create (bundle, storages, sysctls, crun create), start, exec, signal, wait,
// pause/resume/update, stats and remove, with the registry of containers and their processes. Starting a process's
// I/O is process-io.ts's.
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, HakoError, notFound } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import { CRI_CONTAINER_TYPE, CRI_SANDBOX_ID } from "../../oci/cri-annotations.js";
import type { OciLinuxResources, OciProcess, OciSpec } from "../../oci/spec.js";
import type { ContainerStats, CreateContainerRequest, GuestStorage } from "../api/agent-api.js";
import { ProcessStatus } from "../api/process-status.js";
import { CGROUP_ROOT, cgroupPids, cgroupStats, OomWatch } from "./cgroup.js";
import { GuestContainer, GuestProcess } from "./container.js";
import { Crun } from "./crun.js";
import { checkContainerId, containerCgroupPath, guestSpec, netSysctls, type PodNamespaces } from "./guest-spec.js";
import { withHome } from "./process-identity.js";
import { ProcessSpawner } from "./process-io.js";
import type { Reaper } from "./reaper.js";
import type { ProcessStdio } from "./stdio.js";
import { mountStorage, unmountStorage } from "./storage.js";
import { updateResources } from "./update-resources.js";

export interface GuestContainersOptions {
  /** tmpfs directory for bundles, crun state and sockets. */
  stateDir: string;
  crunBinary: string;
  reaper: Reaper;
  log: Logger;
}

export class GuestContainers {
  private readonly containers = new Map<string, GuestContainer>();
  /** Ids whose CreateContainer is in flight: a second create for the same id must not race the first. */
  private readonly creating = new Set<string>();
  private readonly crun: Crun;
  private readonly spawner: ProcessSpawner;
  private readonly oom = new OomWatch();
  private readonly log: Logger;

  constructor(private readonly opts: GuestContainersOptions) {
    this.log = opts.log;
    mkdirSync(`${opts.stateDir}/containers`, { recursive: true });
    mkdirSync(`${opts.stateDir}/crun`, { recursive: true });
    mkdirSync(`${opts.stateDir}/log`, { recursive: true });
    mkdirSync(`${opts.stateDir}/tty`, { recursive: true });
    this.crun = new Crun(
      { binary: opts.crunBinary, root: `${opts.stateDir}/crun`, logDir: `${opts.stateDir}/log` },
      opts.reaper,
      opts.log.child({ subsystem: "crun" }),
    );
    this.spawner = new ProcessSpawner(`${opts.stateDir}/tty`);
  }

  /** Removes every container (at sandbox teardown); a failure is logged, the others still go. */
  /**
   * Ends every container before the VM goes away (DestroySandbox): running processes are killed and waited for
   * (≤ 5 s) and storages unmounted (a virtio-fs unmount writes back what the guest still holds dirty). crun's own
   * state is not deleted: it lives in the guest's tmpfs, which goes with the VM, and `crun delete` would cost a
   * process start per container on the guest's vCPU for nothing.
   */
  async endAll(): Promise<void> {
    for (const id of [...this.containers.keys()]) {
      await this.removeContainer(id, 5, { crunDelete: false }).catch((err) =>
        this.log.warn("remove failed", { container: id, err }),
      );
    }
  }

  async createContainer(req: CreateContainerRequest): Promise<void> {
    const id = req.containerId;
    checkContainerId(id);
    if (this.containers.has(id) || this.creating.has(id)) {
      throw new HakoError(Code.AlreadyExists, `container ${id} already exists`);
    }
    const spec = guestSpec(id, req.spec, this.podNamespaces(id, req.spec));
    for (const [key, value] of netSysctls(req.spec)) {
      try {
        writeFileSync(`/proc/sys/${key.replace(/\./g, "/")}`, value);
      } catch (err) {
        throw HakoError.from(err, Code.InvalidArgument, `container ${id}: sysctl ${key}=${value}`);
      }
    }
    this.creating.add(id);
    try {
      await this.create(id, spec, req.storages);
    } finally {
      this.creating.delete(id);
    }
  }

  /**
   * For a CRI app container, the namespaces of its pod's sandbox container (annotations from containerd's CRI:
   * src/oci/cri-annotations.ts); undefined for the sandbox container itself and for containers outside a CRI pod.
   */
  private podNamespaces(id: string, spec: OciSpec): PodNamespaces | undefined {
    const annotations = spec.annotations ?? {};
    if (annotations[CRI_CONTAINER_TYPE] !== "container") return undefined;
    const sandboxId = annotations[CRI_SANDBOX_ID];
    const sandbox = sandboxId === undefined ? undefined : this.containers.get(sandboxId);
    if (!sandbox?.init.running) {
      // Without the pause container its namespaces are gone; fresh ones keep the container runnable.
      this.log.warn("pod sandbox container not running: fresh namespaces", { container: id, sandbox: sandboxId });
      return undefined;
    }
    return { sandboxInitPid: sandbox.init.pid };
  }

  private async create(id: string, spec: OciSpec, storages: GuestStorage[]): Promise<void> {
    const bundle = `${this.opts.stateDir}/containers/${id}`;
    // Synchronous on purpose: tmpfs answers at once, and each trip through libuv's thread pool costs a few ms
    // of thread switching on the guest's one vCPU under TCG, on the path of every container start.
    mkdirSync(bundle, { recursive: true });
    const mounted: GuestStorage[] = [];
    let stdio: ProcessStdio | undefined;
    try {
      for (const s of storages) {
        mountStorage(s);
        mounted.push(s);
      }
      if (!existsSync(spec.root?.path ?? "")) {
        throw notFound(`container ${id}: rootfs ${spec.root?.path} does not exist in the guest`);
      }
      if (spec.process) spec.process = withHome(spec.process, spec.root?.path ?? "");
      writeFileSync(`${bundle}/config.json`, JSON.stringify(spec));
      const terminal = spec.process?.terminal === true;
      const uid = spec.process?.user?.uid ?? 0;
      const started = await this.spawner.spawn(
        terminal,
        uid,
        (fds, consoleSocket) => this.crun.create(id, bundle, `${bundle}/init.pid`, { fds }, consoleSocket),
        spec.process?.consoleSize,
      );
      stdio = started.stdio;
      const init = new GuestProcess("", started.pid, stdio);
      const cgroupDir = `${CGROUP_ROOT}${containerCgroupPath(id)}`;
      const container = new GuestContainer(id, bundle, spec, init, mounted, cgroupDir);
      this.containers.set(id, container);
      this.track(container, init);
      this.oom.add(id, cgroupDir);
      this.log.info("container created", { container: id, pid: started.pid });
    } catch (err) {
      stdio?.destroy();
      for (const s of mounted.reverse()) unmountStorage(s, this.log);
      await rm(bundle, { recursive: true, force: true });
      throw HakoError.from(err, Code.Internal, `container ${id}`);
    }
  }

  async startContainer(id: string): Promise<{ pid: number }> {
    const c = this.container(id);
    if (!c.canStart()) throw new HakoError(Code.FailedPrecondition, `container ${id} is ${c.status}, not created`);
    await this.crun.start(id, { poststartHooks: (c.spec.hooks?.poststart?.length ?? 0) > 0 });
    if (c.status === ProcessStatus.Created) c.status = ProcessStatus.Running;
    return { pid: c.init.pid };
  }

  async execProcess(id: string, execId: string, proc: OciProcess): Promise<{ pid: number }> {
    const c = this.container(id);
    if (!execId) throw new HakoError(Code.InvalidArgument, `container ${id}: exec id is empty`);
    if (c.execs.has(execId))
      throw new HakoError(Code.AlreadyExists, `exec ${execId} already exists in container ${id}`);
    if (!c.canExec()) throw new HakoError(Code.FailedPrecondition, `container ${id} is ${c.status}, not running`);
    if (!proc.args?.length) throw new HakoError(Code.InvalidArgument, `exec ${execId}: process has no args`);
    const procFile = `${c.bundle}/exec-${execId}.json`;
    const clean: OciProcess = withHome({ ...proc }, c.spec.root?.path ?? "");
    delete clean.apparmorProfile;
    delete clean.selinuxLabel;
    const pidFile = `${c.bundle}/exec-${execId}.pid`;
    await writeFile(procFile, JSON.stringify(clean));
    let started: { pid: number; stdio: ProcessStdio };
    try {
      const uid = proc.user?.uid ?? 0;
      started = await this.spawner.spawn(
        proc.terminal === true,
        uid,
        (fds, cs) => this.crun.exec(id, procFile, pidFile, { fds }, cs),
        proc.consoleSize,
      );
    } catch (err) {
      // crun's reason goes back as the call's error; nothing of the exec stays (its stdio is closed already).
      rmSync(procFile, { force: true });
      rmSync(pidFile, { force: true });
      // crun does not always name the command ("open executable: Permission denied"); the caller gets it here.
      const e = HakoError.from(err, Code.Internal);
      throw new HakoError(e.code, `exec ${execId} of ${id} (${JSON.stringify(proc.args[0])}): ${e.message}`, {
        cause: err,
      });
    }
    const p = new GuestProcess(execId, started.pid, started.stdio);
    c.execs.set(execId, p);
    this.track(c, p);
    return { pid: started.pid };
  }

  async signalProcess(id: string, execId: string, signal: number, all: boolean): Promise<void> {
    const p = this.process(id, execId);
    if (execId === "") {
      if (!p.running && !all) return;
      await this.crun.kill(id, signal, all).catch((err: unknown) => {
        if (p.running) throw err;
      });
      return;
    }
    if (!p.running) return;
    try {
      process.kill(p.pid, signal);
    } catch (err) {
      throw HakoError.from(err, Code.Internal, `signal ${signal} to exec ${execId} of container ${id}`);
    }
  }

  async waitProcess(id: string, execId: string, signal?: AbortSignal): Promise<number> {
    const p = this.process(id, execId);
    if (!signal) return p.exited;
    signal.throwIfAborted();
    return Promise.race([
      p.exited,
      new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true })),
    ]);
  }

  async removeContainer(
    id: string,
    timeoutSec = 0,
    opts: { crunDelete: boolean } = { crunDelete: true },
  ): Promise<void> {
    const c = this.container(id);
    const running = [c.init, ...c.execs.values()].filter((p) => p.running);
    if (running.length > 0) {
      // SIGKILL reaches frozen tasks too; resuming afterwards lets them die.
      await this.crun.kill(id, 9, true).catch(() => {});
      if (c.status === ProcessStatus.Paused) await this.crun.resume(id).catch(() => {});
      await Promise.race([
        Promise.all(running.map((p) => p.exited)),
        sleep(Math.max(timeoutSec, 5) * 1000, undefined, { ref: false }),
      ]);
    }
    if (opts.crunDelete) {
      await this.crun.delete(id, true).catch((err) => this.log.warn("crun delete failed", { container: id, err }));
    }
    this.oom.remove(id);
    for (const p of [c.init, ...c.execs.values()]) p.stdio.destroy();
    for (const s of [...c.storages].reverse()) unmountStorage(s, this.log);
    await rm(c.bundle, { recursive: true, force: true });
    this.containers.delete(id);
    this.log.info("container removed", { container: id });
  }

  async pauseContainer(id: string): Promise<void> {
    const c = this.container(id);
    if (!c.canPause()) throw new HakoError(Code.FailedPrecondition, `container ${id} is ${c.status}, not running`);
    await this.crun.pause(id);
    c.status = ProcessStatus.Paused;
  }

  async resumeContainer(id: string): Promise<void> {
    const c = this.container(id);
    if (!c.canResume()) throw new HakoError(Code.FailedPrecondition, `container ${id} is ${c.status}, not paused`);
    await this.crun.resume(id);
    c.status = c.init.running ? ProcessStatus.Running : ProcessStatus.Stopped;
  }

  async updateContainer(id: string, resources: OciLinuxResources): Promise<void> {
    const c = this.container(id);
    const file = `${c.bundle}/resources-${Date.now()}.json`;
    await writeFile(file, JSON.stringify(updateResources(resources)));
    try {
      await this.crun.update(id, file);
    } finally {
      await rm(file, { force: true });
    }
  }

  statsContainer(id: string): ContainerStats {
    return cgroupStats(this.container(id).cgroupDir);
  }

  /** The guest pid of one process ("" = the container's init). */
  processPid(id: string, execId: string): number {
    return this.process(id, execId).pid;
  }

  listProcesses(id: string): number[] {
    const c = this.container(id);
    const pids = cgroupPids(c.cgroupDir);
    if (pids.length === 0 && c.init.running) return [c.init.pid];
    return pids;
  }

  /** The next container id whose cgroup saw an OOM kill. */
  nextOom(signal?: AbortSignal): Promise<string> {
    return this.oom.next(signal);
  }

  close(): void {
    this.oom.close();
  }

  /** One process of a container ("" = its init); NotFound for an unknown container or exec. */
  process(id: string, execId: string): GuestProcess {
    const c = this.container(id);
    const p = c.process(execId);
    if (!p) throw notFound(`process ${execId} not found in container ${c.id}`);
    return p;
  }

  private container(id: string): GuestContainer {
    const c = this.containers.get(id);
    if (!c) throw notFound(`container ${id} not found`);
    return c;
  }

  private track(c: GuestContainer, p: GuestProcess): void {
    void this.opts.reaper.watch(p.pid).then((status) => {
      p.markExited(status);
      if (p === c.init) {
        c.status = ProcessStatus.Stopped;
        // The container's other processes die with its pid namespace; their stdio ends there too.
      }
      this.log.info("process exited", { container: c.id, exec: p.execId, pid: p.pid, status });
    });
  }
}
