// The agent's work in hako's own types, as one facade: the sandbox (guest-sandbox.ts), its containers and processes
// (guest-containers.ts), their stdio (process-io.ts) and the guest's utilities (guest-info.ts). rpc.ts translates
// the wire messages to these calls; nothing here knows about protobuf.
import type { Logger } from "../../common/log.js";
import type { OciLinuxResources, OciProcess } from "../../oci/spec.js";
import type { ContainerStats, CreateContainerRequest, CreateSandboxRequest, GuestDetails } from "../api/agent-api.js";
import { GuestContainers } from "./guest-containers.js";
import * as guest from "./guest-info.js";
import { GuestSandbox } from "./guest-sandbox.js";
import { GuestNetwork } from "./network.js";
import * as io from "./process-io.js";
import type { Reaper } from "./reaper.js";

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
  private readonly sandbox: GuestSandbox;
  private readonly containers: GuestContainers;
  private readonly log: Logger;
  /** The pod's network: lo, the NICs the host wired, routes, ARP entries. */
  readonly network: GuestNetwork;

  constructor(opts: GuestAgentOptions) {
    this.log = opts.log;
    this.network = opts.network ?? new GuestNetwork(opts.log.child({ subsystem: "network" }));
    this.sandbox = new GuestSandbox({
      resolvConf: opts.resolvConf,
      ...(opts.loadModule ? { loadModule: opts.loadModule } : {}),
      network: this.network,
      log: opts.log,
    });
    this.containers = new GuestContainers({
      stateDir: opts.stateDir,
      crunBinary: opts.crunBinary,
      reaper: opts.reaper,
      log: opts.log,
    });
  }

  // ---- sandbox

  createSandbox(req: CreateSandboxRequest): Promise<void> {
    return this.sandbox.create(req);
  }

  async destroySandbox(): Promise<void> {
    await this.containers.endAll();
    this.sandbox.destroy();
  }

  // ---- containers

  createContainer(req: CreateContainerRequest): Promise<void> {
    return this.containers.createContainer(req);
  }

  startContainer(id: string): Promise<{ pid: number }> {
    return this.containers.startContainer(id);
  }

  execProcess(id: string, execId: string, proc: OciProcess): Promise<{ pid: number }> {
    return this.containers.execProcess(id, execId, proc);
  }

  signalProcess(id: string, execId: string, signal: number, all: boolean): Promise<void> {
    return this.containers.signalProcess(id, execId, signal, all);
  }

  waitProcess(id: string, execId: string, signal?: AbortSignal): Promise<number> {
    return this.containers.waitProcess(id, execId, signal);
  }

  removeContainer(id: string, timeoutSec = 0): Promise<void> {
    return this.containers.removeContainer(id, timeoutSec);
  }

  pauseContainer(id: string): Promise<void> {
    return this.containers.pauseContainer(id);
  }

  resumeContainer(id: string): Promise<void> {
    return this.containers.resumeContainer(id);
  }

  updateContainer(id: string, resources: OciLinuxResources): Promise<void> {
    return this.containers.updateContainer(id, resources);
  }

  statsContainer(id: string): ContainerStats {
    return this.containers.statsContainer(id);
  }

  /** The guest pid of one process ("" = the container's init). */
  processPid(id: string, execId: string): number {
    return this.containers.processPid(id, execId);
  }

  listProcesses(id: string): number[] {
    return this.containers.listProcesses(id);
  }

  // ---- stdio

  writeStdin(id: string, execId: string, data: Uint8Array): Promise<number> {
    return io.writeStdin(id, this.containers.process(id, execId), data);
  }

  closeStdin(id: string, execId: string): void {
    io.closeStdin(this.containers.process(id, execId));
  }

  readStdout(id: string, execId: string, max: number, signal?: AbortSignal): Promise<Buffer | null> {
    return io.readStdout(this.containers.process(id, execId), max, signal);
  }

  readStderr(id: string, execId: string, max: number, signal?: AbortSignal): Promise<Buffer | null> {
    return io.readStderr(this.containers.process(id, execId), max, signal);
  }

  resizeTty(id: string, execId: string, rows: number, cols: number): void {
    io.resizeTty(id, this.containers.process(id, execId), rows, cols);
  }

  // ---- guest

  getOomEvent(signal?: AbortSignal): Promise<string> {
    return this.containers.nextOom(signal);
  }

  getGuestDetails(): GuestDetails {
    return guest.guestDetails();
  }

  async onlineCpuMem(nbCpus: number, cpuOnly: boolean): Promise<void> {
    const r = await guest.onlineCpuMem(nbCpus, cpuOnly);
    this.log.info("onlined cpus and memory", { ...r, asked: nbCpus });
  }

  setGuestDateTime(date: Date): void {
    guest.setGuestDateTime(date);
  }

  reseedRandomDev(data: Uint8Array): void {
    guest.reseedRandomDev(data);
  }

  copyFile(path: string, data: Uint8Array, mode: number, offset = 0): void {
    guest.copyFile(path, data, mode, offset);
  }

  getMetrics(): string {
    return guest.metricsText();
  }

  close(): void {
    this.containers.close();
  }
}
