// AgentApi over ttrpc: hako's types in, grpc.AgentService / grpc.Health messages out. This is the one place where
// the host side translates to and from the agent's protobuf.
import type { Duplex } from "node:stream";
import { Code, HakoError } from "../../common/errors.js";
import { type Logger, silentLogger } from "../../common/log.js";
import type { OciLinuxResources, OciProcess } from "../../oci/spec.js";
import { AgentService, HakoPortForwardService } from "../../proto/gen/agent/agent_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../proto/gen/agent/health_pb.js";
import { TtrpcClient } from "../../ttrpc/client.js";
import { createClient, type TypedClient } from "../../ttrpc/typed-client.js";
import type {
  AgentApi,
  CallOptions,
  ContainerStats,
  CreateContainerRequest,
  CreateSandboxRequest,
  GuestDetails,
  GuestProcessInfo,
  GuestStorage,
} from "../api/agent-api.js";
import { GUEST_INFO_METRIC, PIDS_FORMAT, PROCESS_PID_FORMAT, SIGNAL_ALL_METADATA } from "../api/conventions.js";
import type { GuestInterface, GuestNeighbor, GuestRoute } from "../api/guest-network.js";
import { interfaceFromWire, interfaceToWire, neighborToWire, routeFromWire, routeToWire } from "../api/network-wire.js";
import { processToProto, resourcesToProto, specToProto } from "../api/spec-to-wire.js";

/** Largest CopyFile chunk: one request must fit a ttrpc frame. */
const COPY_CHUNK = 1024 * 1024;

export interface AgentClientOptions {
  logger?: Logger;
  /** Deadline of calls that are not long polls (create, start, …): generous, TCG guests are slow. */
  controlTimeoutMs?: number;
}

export function storageToProto(s: GuestStorage) {
  return {
    driver: s.driver,
    driverOptions: [],
    source: s.source,
    fstype: s.fstype,
    options: [...s.options],
    mountPoint: s.mountPoint,
  };
}

export class AgentClient implements AgentApi {
  readonly closed: Promise<void>;
  private readonly ttrpc: TtrpcClient;
  private readonly agent: TypedClient<typeof AgentService>;
  private readonly health: TypedClient<typeof Health>;
  private readonly ports: TypedClient<typeof HakoPortForwardService>;
  private readonly controlTimeoutMs: number;

  constructor(stream: Duplex, opts: AgentClientOptions = {}) {
    this.ttrpc = new TtrpcClient(stream, {
      logger: (opts.logger ?? silentLogger).child({ subsystem: "agent-client" }),
    });
    this.agent = createClient(AgentService, this.ttrpc);
    this.health = createClient(Health, this.ttrpc);
    this.ports = createClient(HakoPortForwardService, this.ttrpc);
    this.closed = this.ttrpc.closed;
    this.controlTimeoutMs = opts.controlTimeoutMs ?? 120_000;
  }

  private ctl(opts?: CallOptions) {
    const o: { timeoutMs: number; signal?: AbortSignal } = { timeoutMs: opts?.timeoutMs ?? this.controlTimeoutMs };
    if (opts?.signal) o.signal = opts.signal;
    return o;
  }

  private poll(opts?: CallOptions) {
    const o: { timeoutMs?: number; signal?: AbortSignal } = {};
    if (opts?.timeoutMs !== undefined) o.timeoutMs = opts.timeoutMs;
    if (opts?.signal) o.signal = opts.signal;
    return o;
  }

  async check(opts?: CallOptions): Promise<void> {
    const r = await this.health.check({ service: "" }, this.ctl(opts));
    if (r.status !== HealthCheckResponse_ServingStatus.SERVING) {
      throw new HakoError(Code.Unavailable, `agent is not serving (status ${r.status})`);
    }
  }

  async version(): Promise<{ agentVersion: string; grpcVersion: string }> {
    const r = await this.health.version({ service: "" }, this.ctl());
    return { agentVersion: r.agentVersion, grpcVersion: r.grpcVersion };
  }

  async createSandbox(req: CreateSandboxRequest): Promise<void> {
    await this.agent.createSandbox(
      {
        sandboxId: req.sandboxId,
        hostname: req.hostname,
        dns: req.dns,
        storages: req.storages.map(storageToProto),
        kernelModules: req.kernelModules.map((m) => {
          const [name = "", ...parameters] = m.trim().split(/\s+/);
          return { name, parameters };
        }),
      },
      this.ctl(),
    );
  }

  async destroySandbox(): Promise<void> {
    await this.agent.destroySandbox({}, this.ctl());
  }

  async createContainer(req: CreateContainerRequest): Promise<void> {
    await this.agent.createContainer(
      {
        containerId: req.containerId,
        execId: req.containerId,
        storages: req.storages.map(storageToProto),
        oci: specToProto(req.spec),
      },
      this.ctl(),
    );
  }

  async startContainer(containerId: string): Promise<GuestProcessInfo> {
    // The init's pid is known from CreateContainer on: asked alongside Start, it costs no extra round trip. Start's
    // error is the one reported; the pid's is only seen when Start succeeded.
    const pid = this.processPid(containerId, "");
    pid.catch(() => {});
    await this.agent.startContainer({ containerId }, this.ctl());
    return { pid: await pid };
  }

  async removeContainer(containerId: string, timeoutSec = 0): Promise<void> {
    await this.agent.removeContainer({ containerId, timeout: timeoutSec }, this.ctl());
  }

  async execProcess(containerId: string, execId: string, process: OciProcess): Promise<GuestProcessInfo> {
    await this.agent.execProcess({ containerId, execId, process: processToProto(process) }, this.ctl());
    return { pid: await this.processPid(containerId, execId) };
  }

  async signalProcess(containerId: string, execId: string, signal: number, all = false): Promise<void> {
    const o = this.ctl();
    await this.agent.signalProcess(
      { containerId, execId, signal },
      all ? { ...o, metadata: new Map([[SIGNAL_ALL_METADATA, ["1"]]]) } : o,
    );
  }

  async waitProcess(containerId: string, execId: string, opts?: CallOptions): Promise<number> {
    return (await this.agent.waitProcess({ containerId, execId }, this.poll(opts))).status;
  }

  async pauseContainer(containerId: string): Promise<void> {
    await this.agent.pauseContainer({ containerId }, this.ctl());
  }

  async resumeContainer(containerId: string): Promise<void> {
    await this.agent.resumeContainer({ containerId }, this.ctl());
  }

  async updateContainer(containerId: string, resources: OciLinuxResources): Promise<void> {
    await this.agent.updateContainer({ containerId, resources: resourcesToProto(resources) }, this.ctl());
  }

  async statsContainer(containerId: string): Promise<ContainerStats> {
    const r = await this.agent.statsContainer({ containerId }, this.ctl());
    const cg = r.cgroupStats;
    return {
      cpuUsageNs: cg?.cpuStats?.cpuUsage?.totalUsage ?? 0n,
      cpuUserNs: cg?.cpuStats?.cpuUsage?.usageInUsermode ?? 0n,
      cpuSystemNs: cg?.cpuStats?.cpuUsage?.usageInKernelmode ?? 0n,
      memoryUsage: cg?.memoryStats?.usage?.usage ?? 0n,
      memoryLimit: cg?.memoryStats?.usage?.limit ?? 0n,
      memoryMaxUsage: cg?.memoryStats?.usage?.maxUsage ?? 0n,
      pidsCurrent: cg?.pidsStats?.current ?? 0n,
      pidsLimit: cg?.pidsStats?.limit ?? 0n,
    };
  }

  async listProcesses(containerId: string): Promise<number[]> {
    const r = await this.agent.listProcesses({ containerId, format: PIDS_FORMAT, args: [] }, this.ctl());
    return parseJson<number[]>(r.processList, `process list of ${containerId}`);
  }

  private async processPid(containerId: string, execId: string): Promise<number> {
    const r = await this.agent.listProcesses({ containerId, format: PROCESS_PID_FORMAT, args: [execId] }, this.ctl());
    return parseJson<number>(r.processList, `pid of ${execId || "init"} in ${containerId}`);
  }

  async writeStdin(containerId: string, execId: string, data: Uint8Array): Promise<number> {
    return (await this.agent.writeStdin({ containerId, execId, data }, this.ctl())).len;
  }

  async readStdout(containerId: string, execId: string, max: number, opts?: CallOptions): Promise<Uint8Array | null> {
    const r = await this.agent.readStdout({ containerId, execId, len: max }, this.poll(opts));
    return r.data.length === 0 ? null : r.data;
  }

  async readStderr(containerId: string, execId: string, max: number, opts?: CallOptions): Promise<Uint8Array | null> {
    const r = await this.agent.readStderr({ containerId, execId, len: max }, this.poll(opts));
    return r.data.length === 0 ? null : r.data;
  }

  async closeStdin(containerId: string, execId: string): Promise<void> {
    await this.agent.closeStdin({ containerId, execId }, this.ctl());
  }

  async resizeTty(containerId: string, execId: string, rows: number, cols: number): Promise<void> {
    await this.agent.ttyWinResize({ containerId, execId, row: rows, column: cols }, this.ctl());
  }

  async getOomEvent(opts?: CallOptions): Promise<string> {
    return (await this.agent.getOOMEvent({}, this.poll(opts))).containerId;
  }

  async getGuestDetails(): Promise<GuestDetails> {
    const r = await this.agent.getGuestDetails({ memBlockSize: true, memHotplugProbe: false }, this.ctl());
    // The wire message has no kernel field; the agent's metrics carry it as a label.
    const metrics = await this.getMetrics();
    const kernel = new RegExp(`${GUEST_INFO_METRIC}\\{kernel="([^"]*)"\\}`).exec(metrics)?.[1] ?? "";
    return {
      memBlockSizeBytes: r.memBlockSizeBytes,
      agentVersion: r.agentDetails?.version ?? "",
      kernelVersion: kernel,
    };
  }

  async onlineCpuMem(nbCpus: number, cpuOnly: boolean): Promise<void> {
    await this.agent.onlineCPUMem({ wait: true, nbCpus, cpuOnly }, this.ctl());
  }

  async setGuestDateTime(date: Date): Promise<void> {
    const ms = BigInt(date.getTime());
    await this.agent.setGuestDateTime({ sec: ms / 1000n, usec: (ms % 1000n) * 1000n }, this.ctl());
  }

  async reseedRandomDev(data: Uint8Array): Promise<void> {
    await this.agent.reseedRandomDev({ data }, this.ctl());
  }

  async copyFile(path: string, data: Uint8Array, mode: number): Promise<void> {
    let offset = 0;
    do {
      const chunk = data.subarray(offset, offset + COPY_CHUNK);
      await this.agent.copyFile(
        {
          path,
          fileSize: BigInt(data.length),
          fileMode: mode,
          dirMode: 0o755,
          uid: 0,
          gid: 0,
          offset: BigInt(offset),
          data: chunk,
        },
        this.ctl(),
      );
      offset += chunk.length;
    } while (offset < data.length);
  }

  async getMetrics(): Promise<string> {
    return (await this.agent.getMetrics({}, this.ctl())).metrics;
  }

  async updateInterface(iface: GuestInterface): Promise<GuestInterface> {
    return interfaceFromWire(await this.agent.updateInterface({ interface: interfaceToWire(iface) }, this.ctl()));
  }

  async updateRoutes(routes: GuestRoute[]): Promise<GuestRoute[]> {
    const res = await this.agent.updateRoutes({ routes: { routes: routes.map(routeToWire) } }, this.ctl());
    return res.routes.map(routeFromWire);
  }

  async addArpNeighbors(neighbors: GuestNeighbor[]): Promise<void> {
    await this.agent.addARPNeighbors({ neighbors: { arpNeighbors: neighbors.map(neighborToWire) } }, this.ctl());
  }

  async listInterfaces(): Promise<GuestInterface[]> {
    return (await this.agent.listInterfaces({}, this.ctl())).interfaces.map(interfaceFromWire);
  }

  async listRoutes(): Promise<GuestRoute[]> {
    return (await this.agent.listRoutes({}, this.ctl())).routes.map(routeFromWire);
  }

  async openPort(port: number): Promise<number> {
    return (await this.ports.openPort({ port }, this.ctl())).connectionId;
  }

  async readPort(id: number, max: number, opts?: CallOptions): Promise<Uint8Array | null> {
    const r = await this.ports.readPort({ connectionId: id, len: max }, this.poll(opts));
    return r.data.length === 0 ? null : r.data;
  }

  async writePort(id: number, data: Uint8Array): Promise<number> {
    return (await this.ports.writePort({ connectionId: id, data }, this.ctl())).len;
  }

  async closeWritePort(id: number): Promise<void> {
    await this.ports.closeWritePort({ connectionId: id }, this.ctl());
  }

  async closePort(id: number): Promise<void> {
    await this.ports.closePort({ connectionId: id }, this.ctl());
  }

  close(): void {
    this.ttrpc.close();
  }
}

function parseJson<T>(bytes: Uint8Array, what: string): T {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (err) {
    throw HakoError.from(err, Code.Internal, `agent sent an unreadable ${what}`);
  }
}
