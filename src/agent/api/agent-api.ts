// What the host asks of the guest, in hako's own types. The runtime depends on this interface only; the ttrpc
// implementation (agent-client.ts) translates to the grpc.AgentService wire messages, and fake-agent.ts serves tests.
import type { OciLinuxResources, OciProcess, OciSpec } from "../../oci/spec.js";
import type { GuestInterface, GuestNeighbor, GuestRoute } from "./guest-network.js";

export interface GuestStorage {
  /** e.g. "virtio-fs", "9p", "blk", "local" */
  driver: string;
  source: string;
  fstype: string;
  options: string[];
  mountPoint: string;
}

export interface CreateSandboxRequest {
  sandboxId: string;
  hostname: string;
  dns: string[];
  storages: GuestStorage[];
  /** Extra kernel modules to load, "name arg=value …" each. */
  kernelModules: string[];
}

export interface CreateContainerRequest {
  containerId: string;
  /** Spec already rewritten for the guest: root.path and mount sources are guest paths. */
  spec: OciSpec;
  storages: GuestStorage[];
}

export interface ContainerStats {
  cpuUsageNs: bigint;
  cpuUserNs: bigint;
  cpuSystemNs: bigint;
  memoryUsage: bigint;
  memoryLimit: bigint;
  memoryMaxUsage: bigint;
  pidsCurrent: bigint;
  pidsLimit: bigint;
}

export interface GuestDetails {
  memBlockSizeBytes: bigint;
  agentVersion: string;
  kernelVersion: string;
}

export interface GuestProcessInfo {
  pid: number;
}

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * hako's own extension of the agent protocol (HakoPortForwardService, not Kata's): TCP connections from the host to
 * 127.0.0.1:<port> in the guest, whose network namespace is the pod's. The shim serves CRI PortForward with them
 * (src/port-forward/). A connection is named by the id openPort resolves with; closePort ends it.
 */
export interface GuestPorts {
  /**
   * Connects to 127.0.0.1:port in the guest; resolves with the connection's id.
   * @throws HakoError Unavailable when nothing listens there (connection refused), InvalidArgument for a port
   * outside 1-65535
   */
  openPort(port: number): Promise<number>;
  /** Long-polls; resolves with 1..max bytes, or null once the guest side finished writing (or reset). */
  readPort(id: number, max: number, opts?: CallOptions): Promise<Uint8Array | null>;
  /** Resolves with data.length once the guest socket took the bytes. NotFound for an unknown id. */
  writePort(id: number, data: Uint8Array): Promise<number>;
  /** Half close: the guest side reads end of stream and may still write. */
  closeWritePort(id: number): Promise<void>;
  /** Closes the connection and forgets it; a pending readPort resolves null. An unknown id is not an error. */
  closePort(id: number): Promise<void>;
}

export interface AgentApi extends GuestPorts {
  check(opts?: CallOptions): Promise<void>;
  version(): Promise<{ agentVersion: string; grpcVersion: string }>;
  createSandbox(req: CreateSandboxRequest): Promise<void>;
  destroySandbox(): Promise<void>;

  createContainer(req: CreateContainerRequest): Promise<void>;
  /** Returns the guest pid of the container's init process. */
  startContainer(containerId: string): Promise<GuestProcessInfo>;
  removeContainer(containerId: string, timeoutSec?: number): Promise<void>;
  execProcess(containerId: string, execId: string, process: OciProcess): Promise<GuestProcessInfo>;
  /** execId "" with all=true signals every process of the container. */
  signalProcess(containerId: string, execId: string, signal: number, all?: boolean): Promise<void>;
  /** Resolves with the exit status: the exit code, or 128 + signal number. */
  waitProcess(containerId: string, execId: string, opts?: CallOptions): Promise<number>;
  pauseContainer(containerId: string): Promise<void>;
  resumeContainer(containerId: string): Promise<void>;
  updateContainer(containerId: string, resources: OciLinuxResources): Promise<void>;
  statsContainer(containerId: string): Promise<ContainerStats>;
  listProcesses(containerId: string): Promise<number[]>;

  writeStdin(containerId: string, execId: string, data: Uint8Array): Promise<number>;
  /** Long-polls; resolves with at least one byte, or null at end of stream. */
  readStdout(containerId: string, execId: string, max: number, opts?: CallOptions): Promise<Uint8Array | null>;
  readStderr(containerId: string, execId: string, max: number, opts?: CallOptions): Promise<Uint8Array | null>;
  closeStdin(containerId: string, execId: string): Promise<void>;
  resizeTty(containerId: string, execId: string, rows: number, cols: number): Promise<void>;

  /** Long-polls; resolves with the id of a container whose cgroup saw an OOM kill. */
  getOomEvent(opts?: CallOptions): Promise<string>;
  getGuestDetails(): Promise<GuestDetails>;
  /**
   * Onlines `nbCpus` CPUs just hot-plugged, waiting for the guest kernel to list them (DeadlineExceeded if they do not
   * appear); 0 onlines whatever is offline. Unless `cpuOnly`, also offline memory blocks.
   */
  onlineCpuMem(nbCpus: number, cpuOnly: boolean): Promise<void>;
  setGuestDateTime(date: Date): Promise<void>;
  /** Mixes `data` into the guest's entropy pool and reseeds its CRNG (clones of a VM template). */
  reseedRandomDev(data: Uint8Array): Promise<void>;
  copyFile(path: string, data: Uint8Array, mode: number): Promise<void>;
  /** Prometheus text exposition of the guest's own figures. */
  getMetrics(): Promise<string>;

  /** Configures the NIC with `iface.mac` (name, addresses, MTU, up); resolves with it as the guest now has it. */
  updateInterface(iface: GuestInterface): Promise<GuestInterface>;
  /** Adds or replaces each route; resolves with the guest's routes afterwards. */
  updateRoutes(routes: GuestRoute[]): Promise<GuestRoute[]>;
  /** Permanent neighbour entries (IPv4). */
  addArpNeighbors(neighbors: GuestNeighbor[]): Promise<void>;
  listInterfaces(): Promise<GuestInterface[]>;
  listRoutes(): Promise<GuestRoute[]>;

  close(): void;
  /** Resolves when the connection to the guest is gone (VM death, close()). */
  readonly closed: Promise<void>;
}
