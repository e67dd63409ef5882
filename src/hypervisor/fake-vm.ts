// A Vm that runs nothing: for runtime unit tests. It records what was asked of it and lets a test make the "VM"
// die (crash()) or its share daemon die (failShareDaemon()) to exercise supervision paths.
import { Code, HakoError } from "../common/errors.js";
import type { Accelerator, AgentAddress, BlockDevice, PersistedVm, Vm, VmExit } from "./hypervisor.js";

export class FakeVm implements Vm {
  readonly pid: number;
  readonly accelerator: Accelerator = "tcg";
  readonly consoleLogPath: string;
  readonly exited: Promise<VmExit>;
  startedSmaller: { vcpus: number; memoryMiB: number } | undefined;
  readonly shareDaemonFailure: Promise<Error>;
  readonly calls: string[] = [];
  readonly blocks: BlockDevice[] = [];
  state: "running" | "paused" | "stopped" = "running";
  vcpus: number;
  memoryMiB: number;
  /** The VM's maxcpus: hotplugVcpus stops there, as QEMU runs out of slots. */
  maxVcpus = Number.POSITIVE_INFINITY;
  private finish!: (exit: VmExit) => void;
  private failShare!: (err: Error) => void;

  constructor(
    readonly id: string,
    readonly agentAddress: AgentAddress = { kind: "serial", path: `/run/hako/${id}/agent.sock` },
    sizing: { vcpus: number; memoryMiB: number } = { vcpus: 1, memoryMiB: 2048 },
  ) {
    this.pid = 100000 + Math.floor(Math.random() * 100000);
    this.consoleLogPath = `/run/hako/${id}/console.log`;
    this.vcpus = sizing.vcpus;
    this.memoryMiB = sizing.memoryMiB;
    this.exited = new Promise((resolve) => {
      this.finish = resolve;
    });
    this.shareDaemonFailure = new Promise((resolve) => {
      this.failShare = resolve;
    });
  }

  private running(what: string) {
    this.calls.push(what);
    if (this.state === "stopped")
      throw new HakoError(Code.FailedPrecondition, `vm of sandbox ${this.id} is not running`);
  }

  /** Simulates QEMU dying on its own (requested = false). */
  crash(signal = "SIGKILL"): void {
    if (this.state === "stopped") return;
    this.state = "stopped";
    this.finish({ code: null, signal, requested: false });
  }

  /** Simulates the share daemon dying while the VM runs. */
  failShareDaemon(err = new HakoError(Code.Unavailable, "virtiofsd exited unexpectedly (SIGKILL)")): void {
    if (this.state !== "stopped") this.failShare(err);
  }

  persistable(): PersistedVm {
    return {
      kind: "qemu",
      id: this.id,
      pid: this.pid,
      stateRoot: "/run/hako",
      accelerator: this.accelerator,
      agentAddress: this.agentAddress,
      consoleLogPath: this.consoleLogPath,
      share: { kind: "none" },
      driver: { vcpus: this.vcpus, memoryMiB: this.memoryMiB, blocks: this.blocks.map((b) => b.id) },
    };
  }

  async status(): Promise<string> {
    this.running("status");
    return this.state;
  }

  /** No threads of its own: the fake's "vCPUs" have no host thread ids. */
  async vcpuThreadIds(): Promise<number[]> {
    this.running("vcpuThreadIds");
    return [];
  }

  async pause(): Promise<void> {
    this.running("pause");
    this.state = "paused";
  }

  async resume(): Promise<void> {
    this.running("resume");
    this.state = "running";
  }

  async stop(): Promise<void> {
    this.calls.push("stop");
    if (this.state === "stopped") return;
    this.state = "stopped";
    this.finish({ code: 0, signal: null, requested: true });
  }

  async hotplugBlock(dev: BlockDevice): Promise<void> {
    this.running(`hotplugBlock ${dev.id}`);
    this.blocks.push(dev);
  }

  async hotplugVcpus(total: number): Promise<number> {
    this.running(`hotplugVcpus ${total}`);
    this.vcpus = Math.max(this.vcpus, Math.min(total, this.maxVcpus));
    return this.vcpus;
  }

  async hotplugMemory(addMiB: number): Promise<number> {
    this.running(`hotplugMemory ${addMiB}`);
    this.memoryMiB += Math.ceil(addMiB / 128) * 128;
    return this.memoryMiB;
  }
}
