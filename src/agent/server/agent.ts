// The agent's work in hako's own types: sandbox, containers (through crun), processes and their stdio. rpc.ts
// translates the wire messages to these calls; nothing here knows about protobuf.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, HakoError, notFound } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import { CRI_CONTAINER_TYPE, CRI_SANDBOX_ID } from "../../oci/cri-annotations.js";
import type { OciLinuxResources, OciProcess, OciSpec } from "../../oci/spec.js";
import { closeFd } from "../../sys/fd.js";
import { setHostname, setRealtime } from "../../sys/process.js";
import { reseedRandom } from "../../sys/random.js";
import { setWindowSize } from "../../sys/tty.js";
import type {
  ContainerStats,
  CreateContainerRequest,
  CreateSandboxRequest,
  GuestDetails,
  GuestStorage,
} from "../api/agent-api.js";
import { ProcessStatus } from "../api/process-status.js";
import { CGROUP_ROOT, cgroupPids, cgroupStats, OomWatch } from "./cgroup.js";
import { ConsoleSocket } from "./console-socket.js";
import { GuestContainer, GuestProcess } from "./container.js";
import { Crun } from "./crun.js";
import { guestDetails, metricsText, onlineCpuMem } from "./guest-info.js";
import { checkContainerId, containerCgroupPath, guestSpec, netSysctls, type PodNamespaces } from "./guest-spec.js";
import { GuestNetwork } from "./network.js";
import { giveStdioTo, giveTerminalTo, withHome } from "./process-identity.js";
import type { Reaper } from "./reaper.js";
import { type ProcessStdio, pipeStdio, ttyStdio } from "./stdio.js";
import { mountStorage, unmountStorage } from "./storage.js";

/** Bound on crun passing a terminal's master over the console socket, in ms (crun's whole create/exec). */
const CRUN_CONSOLE_TIMEOUT_MS = 60_000;

export interface GuestAgentOptions {
  /** tmpfs directory for bundles, crun state and sockets. */
  stateDir: string;
  crunBinary: string;
  /** Where /etc/resolv.conf lives (a writable copy of /etc in the guest). */
  resolvConf: string;
  reaper: Reaper;
  log: Logger;
  loadModule?: (spec: string) => Promise<void>;
  /** Default: busybox ip/arp in the guest's own network namespace. */
  network?: GuestNetwork;
}

export class GuestAgent {
  private readonly containers = new Map<string, GuestContainer>();
  /** Names the console sockets crun hands terminals over (one per process started with a terminal). */
  private ttySeq = 0;
  /** Ids whose CreateContainer is in flight: a second create for the same id must not race the first. */
  private readonly creating = new Set<string>();
  private sandboxStorages: GuestStorage[] = [];
  private sandboxId: string | undefined;
  private readonly crun: Crun;
  private readonly oom = new OomWatch();
  private readonly log: Logger;
  /** The pod's network: lo, the NICs the host wired, routes, ARP entries. */
  readonly network: GuestNetwork;

  constructor(private readonly opts: GuestAgentOptions) {
    this.log = opts.log;
    this.network = opts.network ?? new GuestNetwork(opts.log.child({ subsystem: "network" }));
    mkdirSync(`${opts.stateDir}/containers`, { recursive: true });
    mkdirSync(`${opts.stateDir}/crun`, { recursive: true });
    mkdirSync(`${opts.stateDir}/log`, { recursive: true });
    mkdirSync(`${opts.stateDir}/tty`, { recursive: true });
    this.crun = new Crun(
      { binary: opts.crunBinary, root: `${opts.stateDir}/crun`, logDir: `${opts.stateDir}/log` },
      opts.reaper,
      opts.log.child({ subsystem: "crun" }),
    );
  }

  // ---- sandbox

  async createSandbox(req: CreateSandboxRequest): Promise<void> {
    if (this.sandboxId !== undefined) {
      throw new HakoError(Code.AlreadyExists, `sandbox ${this.sandboxId} already exists`);
    }
    for (const m of req.kernelModules) await this.opts.loadModule?.(m);
    // Every pod, NIC or not: containers of one pod reach each other over 127.0.0.1.
    await this.network.loopbackUp();
    if (req.hostname) setHostname(req.hostname);
    if (req.dns.length > 0) {
      writeFileSync(this.opts.resolvConf, dnsFile(req.dns));
    }
    const mounted: GuestStorage[] = [];
    try {
      for (const s of req.storages) {
        mountStorage(s);
        mounted.push(s);
      }
    } catch (err) {
      for (const s of mounted.reverse()) unmountStorage(s, this.log);
      throw HakoError.from(err, Code.Internal, `sandbox ${req.sandboxId}: mounting storage`);
    }
    this.sandboxStorages = mounted;
    this.sandboxId = req.sandboxId;
    this.log.info("sandbox created", { sandbox: req.sandboxId });
  }

  async destroySandbox(): Promise<void> {
    for (const id of [...this.containers.keys()]) {
      await this.removeContainer(id, 5).catch((err) => this.log.warn("remove failed", { container: id, err }));
    }
    for (const s of this.sandboxStorages.reverse()) unmountStorage(s, this.log);
    this.sandboxStorages = [];
    this.log.info("sandbox destroyed", { sandbox: this.sandboxId });
    this.sandboxId = undefined;
  }

  // ---- containers

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
      const started = await this.spawnProcess(terminal, uid, (fds, consoleSocket) =>
        this.crun.create(id, bundle, `${bundle}/init.pid`, { fds }, consoleSocket),
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
    await this.crun.start(id);
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
      started = await this.spawnProcess(proc.terminal === true, uid, (fds, cs) =>
        this.crun.exec(id, procFile, pidFile, { fds }, cs),
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
    const c = this.container(id);
    const p = this.process(c, execId);
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
    const p = this.process(this.container(id), execId);
    if (!signal) return p.exited;
    signal.throwIfAborted();
    return Promise.race([
      p.exited,
      new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true })),
    ]);
  }

  async removeContainer(id: string, timeoutSec = 0): Promise<void> {
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
    await this.crun.delete(id, true).catch((err) => this.log.warn("crun delete failed", { container: id, err }));
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
    await writeFile(file, JSON.stringify(resources));
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
    return this.process(this.container(id), execId).pid;
  }

  listProcesses(id: string): number[] {
    const c = this.container(id);
    const pids = cgroupPids(c.cgroupDir);
    if (pids.length === 0 && c.init.running) return [c.init.pid];
    return pids;
  }

  // ---- stdio

  writeStdin(id: string, execId: string, data: Uint8Array): Promise<number> {
    const p = this.process(this.container(id), execId);
    const what = `process ${execId || "init"} of ${id}`;
    if (!p.stdio.stdin) throw new HakoError(Code.FailedPrecondition, `${what} has no stdin`);
    // The writer knows only its stream; the message names the process here ("process init of c1: stdin is closed").
    return p.stdio.stdin.write(data).catch((err: unknown) => {
      throw err instanceof HakoError ? new HakoError(err.code, `${what}: ${err.message}`, { cause: err }) : err;
    });
  }

  closeStdin(id: string, execId: string): void {
    this.process(this.container(id), execId).stdio.stdin?.close();
  }

  readStdout(id: string, execId: string, max: number, signal?: AbortSignal): Promise<Buffer | null> {
    return this.process(this.container(id), execId).stdio.stdout.read(max, signal);
  }

  readStderr(id: string, execId: string, max: number, signal?: AbortSignal): Promise<Buffer | null> {
    return this.process(this.container(id), execId).stdio.stderr.read(max, signal);
  }

  resizeTty(id: string, execId: string, rows: number, cols: number): void {
    const p = this.process(this.container(id), execId);
    if (p.stdio.ttyMaster === undefined) {
      throw new HakoError(Code.FailedPrecondition, `process ${execId || "init"} of ${id} has no terminal`);
    }
    if (!p.running) return;
    setWindowSize(p.stdio.ttyMaster, rows, cols);
  }

  // ---- guest

  getOomEvent(signal?: AbortSignal): Promise<string> {
    return this.oom.next(signal);
  }

  getGuestDetails(): GuestDetails {
    return guestDetails();
  }

  onlineCpuMem(nbCpus: number, cpuOnly: boolean): void {
    const r = onlineCpuMem(nbCpus, cpuOnly);
    this.log.info("onlined cpus and memory", r);
  }

  setGuestDateTime(date: Date): void {
    setRealtime(date);
  }

  /** Mixes host randomness into the guest pool and reseeds the CRNG (a clone of a VM template needs its own). */
  reseedRandomDev(data: Uint8Array): void {
    if (data.length === 0) throw new HakoError(Code.InvalidArgument, "ReseedRandomDev: no data");
    reseedRandom(data);
  }

  /** Writes part of a file (offset) and creates its directory; the last chunk sets the mode. */
  copyFile(path: string, data: Uint8Array, mode: number, offset = 0): void {
    if (!path.startsWith("/") || path.split("/").includes("..")) {
      throw new HakoError(Code.InvalidArgument, `copy file: path must be absolute and plain: "${path}"`);
    }
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(path, offset === 0 ? "w" : "r+", mode & 0o7777 || 0o644);
    try {
      writeSync(fd, data, 0, data.length, offset);
    } finally {
      closeSync(fd);
    }
  }

  getMetrics(): string {
    return metricsText();
  }

  close(): void {
    this.oom.close();
  }

  // ---- helpers

  private container(id: string): GuestContainer {
    const c = this.containers.get(id);
    if (!c) throw notFound(`container ${id} not found`);
    return c;
  }

  private process(c: GuestContainer, execId: string): GuestProcess {
    const p = c.process(execId);
    if (!p) throw notFound(`process ${execId} not found in container ${c.id}`);
    return p;
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

  /** Runs a crun verb that starts a process, with pipes or a console socket, and returns its pid and stdio. */
  private async spawnProcess(
    terminal: boolean,
    uid: number,
    run: (fds: [number, number, number], consoleSocket?: string) => Promise<number>,
  ): Promise<{ pid: number; stdio: ProcessStdio }> {
    if (terminal) {
      // Not beside the bundle: a socket path is limited to 107 bytes, and CRI's 64-character container and exec ids
      // in `<stateDir>/containers/<id>/exec-<id>.sock` go past that.
      const socket = new ConsoleSocket(`${this.opts.stateDir}/tty/${this.ttySeq++}.sock`);
      // The terminal goes to the process's user the moment crun passes its master, while crun still runs (an exec
      // is started when crun returns): as near as hako gets to runc doing it before the process runs.
      const master = socket.master(CRUN_CONSOLE_TIMEOUT_MS).then((fd) => {
        giveTerminalTo(fd, uid);
        return fd;
      });
      master.catch(() => {});
      try {
        const pid = await run([-1, -1, -1], socket.path);
        return { pid, stdio: ttyStdio(await master) };
      } catch (err) {
        void master.then(closeFd, () => {});
        throw err;
      } finally {
        socket.close();
      }
    }
    const stdio = pipeStdio(true);
    try {
      giveStdioTo(stdio.childFds, uid);
      const pid = await run(stdio.childFds);
      return { pid, stdio };
    } catch (err) {
      stdio.destroy();
      throw err;
    } finally {
      stdio.releaseChildFds();
    }
  }
}

export function dnsFile(dns: string[]): string {
  // Kata sends whole resolv.conf lines ("nameserver 1.1.1.1"); a bare address is a nameserver.
  return `${dns.map((l) => (/^\s*(nameserver|search|options|domain)\s/.test(l) ? l.trim() : `nameserver ${l.trim()}`)).join("\n")}\n`;
}

/** Runs busybox modprobe for "name arg=value …". */
export function modprobe(spec: string): Promise<void> {
  const [name, ...args] = spec.trim().split(/\s+/);
  if (!name) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const child = spawn("modprobe", [name, ...args], { stdio: "ignore" });
    child.once("error", (err) => reject(HakoError.from(err, Code.Internal, `modprobe ${name}`)));
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new HakoError(Code.Internal, `modprobe ${name} failed: exit ${code}`)),
    );
  });
}
