// An in-memory AgentApi for runtime unit tests. It keeps the agent's rules (status checks, error codes, pull
// semantics of stdio, many waiters); its processes play a few programs by their first argument (fake-process.ts).
// Its "guest" ports are the test host's loopback ports: the agent's own PortConnections, pointed at 127.0.0.1.
import { Code, HakoError, notFound } from "../../common/errors.js";
import { silentLogger } from "../../common/log.js";
import type { OciLinuxResources, OciProcess } from "../../oci/spec.js";
import type {
  AgentApi,
  CallOptions,
  ContainerStats,
  CreateContainerRequest,
  CreateSandboxRequest,
  GuestDetails,
  GuestProcessInfo,
} from "../api/agent-api.js";
import type { GuestInterface, GuestNeighbor, GuestRoute } from "../api/guest-network.js";
import { ProcessStatus } from "../api/process-status.js";
import { PortConnections } from "../server/port-connections.js";
import { FakeContainer, FakeProcess } from "./fake-process.js";

export class FakeAgent implements AgentApi {
  readonly closed: Promise<void>;
  /** Every call, in order, by method name: tests assert on the conversation. */
  readonly calls: string[] = [];
  sandboxId: string | undefined;
  readonly files = new Map<string, { data: Uint8Array; mode: number }>();
  guestTime: Date | undefined;
  /** Seeds given to reseedRandomDev, in order. */
  readonly reseeds: Buffer[] = [];
  private readonly containers = new Map<string, FakeContainer>();
  private nextPid = 100;
  private isClosed = false;
  private closeNow!: () => void;
  /** MACs of the NICs the "VM" has; undefined accepts any MAC. updateInterface on another MAC is NotFound. */
  nics: Set<string> | undefined;
  /** The guest's network as the RPCs left it. */
  readonly interfaces = new Map<string, GuestInterface>();
  routes: GuestRoute[] = [];
  readonly neighbors: GuestNeighbor[] = [];
  /** The port-forward connections open "in the guest" (to the test host's loopback). */
  readonly ports = new PortConnections(silentLogger);
  private readonly oomQueue: string[] = [];
  private oomWaiters: ((id: string) => void)[] = [];

  constructor() {
    this.closed = new Promise((resolve) => {
      this.closeNow = resolve;
    });
  }

  private enter(name: string): void {
    if (this.isClosed) throw new HakoError(Code.Unavailable, `agent connection closed (${name})`);
    this.calls.push(name);
  }

  private container(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw notFound(`container ${id} not found`);
    return c;
  }

  private process(id: string, execId: string): FakeProcess {
    const c = this.container(id);
    const p = execId === "" ? c.init : c.execs.get(execId);
    if (!p) throw notFound(`process ${execId} not found in container ${id}`);
    return p;
  }

  async check(): Promise<void> {
    this.enter("check");
  }

  async version(): Promise<{ agentVersion: string; grpcVersion: string }> {
    this.enter("version");
    return { agentVersion: "fake", grpcVersion: "ttrpc" };
  }

  async createSandbox(req: CreateSandboxRequest): Promise<void> {
    this.enter("createSandbox");
    if (this.sandboxId !== undefined)
      throw new HakoError(Code.AlreadyExists, `sandbox ${this.sandboxId} already exists`);
    this.sandboxId = req.sandboxId;
  }

  async destroySandbox(): Promise<void> {
    this.enter("destroySandbox");
    for (const c of this.containers.values()) {
      c.init.exit(137);
      for (const p of c.execs.values()) p.exit(137);
    }
    this.containers.clear();
    this.sandboxId = undefined;
  }

  async createContainer(req: CreateContainerRequest): Promise<void> {
    this.enter("createContainer");
    if (this.containers.has(req.containerId)) {
      throw new HakoError(Code.AlreadyExists, `container ${req.containerId} already exists`);
    }
    if (!req.spec.process || !req.spec.root?.path) {
      throw new HakoError(Code.InvalidArgument, `container ${req.containerId}: spec lacks process or root`);
    }
    this.containers.set(
      req.containerId,
      new FakeContainer(req.containerId, new FakeProcess(this.nextPid++, req.spec.process)),
    );
  }

  async startContainer(containerId: string): Promise<GuestProcessInfo> {
    this.enter("startContainer");
    const c = this.container(containerId);
    c.mustAllow("start");
    c.status = ProcessStatus.Running;
    c.init.run();
    return { pid: c.init.pid };
  }

  async removeContainer(containerId: string): Promise<void> {
    this.enter("removeContainer");
    const c = this.container(containerId);
    c.init.exit(137);
    this.containers.delete(containerId);
  }

  async execProcess(containerId: string, execId: string, process: OciProcess): Promise<GuestProcessInfo> {
    this.enter("execProcess");
    const c = this.container(containerId);
    if (c.execs.has(execId)) throw new HakoError(Code.AlreadyExists, `exec ${execId} already exists in ${containerId}`);
    c.mustAllow("spawnExec");
    const p = new FakeProcess(this.nextPid++, process);
    c.execs.set(execId, p);
    p.run();
    return { pid: p.pid };
  }

  async signalProcess(containerId: string, execId: string, signal: number, all = false): Promise<void> {
    this.enter("signalProcess");
    const c = this.container(containerId);
    const p = this.process(containerId, execId);
    // A paused process only acts on SIGKILL (cgroup freezer semantics).
    if (c.status === ProcessStatus.Paused && signal !== 9) return;
    if (signal === 0 || signal === 28 /* SIGWINCH */ || signal === 17 /* SIGCHLD */) return;
    p.exit(128 + signal);
    if (all && execId === "") for (const e of c.execs.values()) e.exit(128 + signal);
  }

  async waitProcess(containerId: string, execId: string, opts?: CallOptions): Promise<number> {
    this.enter("waitProcess");
    const p = this.process(containerId, execId);
    if (!opts?.signal) return p.exited;
    return Promise.race([
      p.exited,
      new Promise<never>((_, reject) =>
        opts.signal?.addEventListener("abort", () => reject(new HakoError(Code.Cancelled, "wait cancelled")), {
          once: true,
        }),
      ),
    ]);
  }

  async pauseContainer(containerId: string): Promise<void> {
    this.enter("pauseContainer");
    const c = this.container(containerId);
    c.mustAllow("pause");
    c.status = ProcessStatus.Paused;
  }

  async resumeContainer(containerId: string): Promise<void> {
    this.enter("resumeContainer");
    const c = this.container(containerId);
    c.mustAllow("resume");
    c.status = c.init.running ? ProcessStatus.Running : ProcessStatus.Stopped;
  }

  async updateContainer(containerId: string, resources: OciLinuxResources): Promise<void> {
    this.enter("updateContainer");
    this.container(containerId).resources = resources;
  }

  async statsContainer(containerId: string): Promise<ContainerStats> {
    this.enter("statsContainer");
    const c = this.container(containerId);
    const running = [c.init, ...c.execs.values()].filter((p) => p.running).length;
    return {
      cpuUsageNs: 1_000_000n,
      cpuUserNs: 600_000n,
      cpuSystemNs: 400_000n,
      memoryUsage: 4n << 20n,
      memoryLimit: BigInt(c.resources.memory?.limit ?? 0),
      memoryMaxUsage: 5n << 20n,
      pidsCurrent: BigInt(running),
      pidsLimit: BigInt(c.resources.pids?.limit ?? 0),
    };
  }

  async listProcesses(containerId: string): Promise<number[]> {
    this.enter("listProcesses");
    const c = this.container(containerId);
    return [c.init, ...c.execs.values()]
      .filter((p) => p.running && c.status !== ProcessStatus.Created)
      .map((p) => p.pid);
  }

  async writeStdin(containerId: string, execId: string, data: Uint8Array): Promise<number> {
    this.enter("writeStdin");
    return this.process(containerId, execId).writeStdin(data);
  }

  async readStdout(containerId: string, execId: string, max: number, opts?: CallOptions): Promise<Uint8Array | null> {
    this.enter("readStdout");
    return this.process(containerId, execId).stdout.read(max, opts);
  }

  async readStderr(containerId: string, execId: string, max: number, opts?: CallOptions): Promise<Uint8Array | null> {
    this.enter("readStderr");
    return this.process(containerId, execId).stderr.read(max, opts);
  }

  async closeStdin(containerId: string, execId: string): Promise<void> {
    this.enter("closeStdin");
    this.process(containerId, execId).closeStdin();
  }

  async resizeTty(containerId: string, execId: string, rows: number, cols: number): Promise<void> {
    this.enter("resizeTty");
    const p = this.process(containerId, execId);
    if (!p.tty)
      throw new HakoError(Code.FailedPrecondition, `process ${execId || "init"} of ${containerId} has no terminal`);
    p.tty = { rows, cols };
  }

  /** The terminal size a process last got (tests). */
  ttySize(containerId: string, execId: string): { rows: number; cols: number } | undefined {
    return this.process(containerId, execId).tty;
  }

  /** Makes the fake report an OOM kill of a container (tests). */
  injectOom(containerId: string): void {
    const w = this.oomWaiters.shift();
    if (w) w(containerId);
    else this.oomQueue.push(containerId);
  }

  async getOomEvent(opts?: CallOptions): Promise<string> {
    this.enter("getOomEvent");
    const q = this.oomQueue.shift();
    if (q !== undefined) return q;
    return new Promise((resolve, reject) => {
      this.oomWaiters.push(resolve);
      opts?.signal?.addEventListener("abort", () => reject(new HakoError(Code.Cancelled, "oom wait cancelled")), {
        once: true,
      });
    });
  }

  async getGuestDetails(): Promise<GuestDetails> {
    this.enter("getGuestDetails");
    return { memBlockSizeBytes: 128n << 20n, agentVersion: "fake", kernelVersion: "6.1.0-fake" };
  }

  /** What each onlineCpuMem asked for, in order. */
  readonly onlined: { nbCpus: number; cpuOnly: boolean }[] = [];

  async onlineCpuMem(nbCpus: number, cpuOnly: boolean): Promise<void> {
    this.enter("onlineCpuMem");
    this.onlined.push({ nbCpus, cpuOnly });
  }

  async setGuestDateTime(date: Date): Promise<void> {
    this.enter("setGuestDateTime");
    this.guestTime = date;
  }

  async reseedRandomDev(data: Uint8Array): Promise<void> {
    this.enter("reseedRandomDev");
    this.reseeds.push(Buffer.from(data));
  }

  async copyFile(path: string, data: Uint8Array, mode: number): Promise<void> {
    this.enter("copyFile");
    this.files.set(path, { data: data.slice(), mode });
  }

  async getMetrics(): Promise<string> {
    this.enter("getMetrics");
    return "# TYPE hako_guest_memory_total_bytes gauge\nhako_guest_memory_total_bytes 2147483648\n";
  }

  async updateInterface(iface: GuestInterface): Promise<GuestInterface> {
    this.enter("updateInterface");
    const mac = iface.mac.toLowerCase();
    if (this.nics && !this.nics.has(mac)) throw notFound(`no guest network device has MAC ${iface.mac}`);
    for (const [name, i] of this.interfaces) if (i.mac === mac) this.interfaces.delete(name);
    const applied = { ...iface, mac, addresses: iface.addresses.map((a) => ({ ...a })) };
    this.interfaces.set(iface.name, applied);
    return applied;
  }

  async updateRoutes(routes: GuestRoute[]): Promise<GuestRoute[]> {
    this.enter("updateRoutes");
    for (const r of routes) {
      if (r.device && !this.interfaces.has(r.device))
        throw notFound(`route to "${r.destination}": no device ${r.device}`);
    }
    const key = (r: GuestRoute) => `${r.family} ${r.destination}`;
    const added = new Set(routes.map(key));
    this.routes = [...this.routes.filter((r) => !added.has(key(r))), ...routes.map((r) => ({ ...r }))];
    return this.routes.map((r) => ({ ...r }));
  }

  async addArpNeighbors(neighbors: GuestNeighbor[]): Promise<void> {
    this.enter("addArpNeighbors");
    this.neighbors.push(...neighbors.map((n) => ({ ...n })));
  }

  async listInterfaces(): Promise<GuestInterface[]> {
    this.enter("listInterfaces");
    return [...this.interfaces.values()].map((i) => ({ ...i }));
  }

  async listRoutes(): Promise<GuestRoute[]> {
    this.enter("listRoutes");
    return this.routes.map((r) => ({ ...r }));
  }

  async openPort(port: number): Promise<number> {
    this.enter("openPort");
    return this.ports.openPort(port);
  }

  async readPort(id: number, max: number, opts?: CallOptions): Promise<Uint8Array | null> {
    this.enter("readPort");
    return this.ports.readPort(id, max, opts);
  }

  async writePort(id: number, data: Uint8Array): Promise<number> {
    this.enter("writePort");
    return this.ports.writePort(id, data);
  }

  async closeWritePort(id: number): Promise<void> {
    this.enter("closeWritePort");
    return this.ports.closeWritePort(id);
  }

  async closePort(id: number): Promise<void> {
    this.enter("closePort");
    return this.ports.closePort(id);
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.ports.closeAll();
    this.closeNow();
  }

  /** Simulates the VM dying under the runtime: every process is gone, the connection with it. */
  crash(): void {
    for (const c of this.containers.values()) {
      c.init.exit(137);
      for (const p of c.execs.values()) p.exit(137);
    }
    this.close();
  }
}
