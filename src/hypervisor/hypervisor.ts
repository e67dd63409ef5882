// The role a VMM plays for the runtime. QEMU is the driver today (qemu/); the shape also fits REST-driven VMMs
// (Cloud Hypervisor, Firecracker) whose agent channel is a hybrid-vsock unix socket.

/** How the host reaches the agent inside a started VM. */
export type AgentAddress =
  | { kind: "serial"; path: string } // QEMU chardev socket behind a virtio-serial port
  | { kind: "vsock"; cid: number; port: number }
  | { kind: "hybrid-vsock"; path: string; port: number }; // unix socket + "CONNECT <port>\n"

export type Accelerator = "kvm" | "tcg";

export interface VmExit {
  /** Exit code of the VMM process, or null when it died from a signal. */
  code: number | null;
  signal: string | null;
  /** True when the runtime asked for the stop. */
  requested: boolean;
}

export interface BlockDevice {
  id: string;
  path: string;
  readonly: boolean;
}

export interface Vm {
  readonly id: string;
  readonly pid: number;
  readonly accelerator: Accelerator;
  readonly agentAddress: AgentAddress;
  readonly consoleLogPath: string;
  /** Resolves once, when the VMM process is gone for whatever reason. */
  readonly exited: Promise<VmExit>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Graceful quit, then SIGKILL after the grace period; removes the VM's sockets and files. Idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** Attaches a raw file or block device to the guest (virtio-blk in a free PCIe root port). */
  hotplugBlock(dev: BlockDevice): Promise<void>;
  /** Plugs vCPUs until `total` are present (never unplugs); resolves with the count present. */
  hotplugVcpus(total: number): Promise<number>;
  /** Adds at least `addMiB` (rounded up to 128 MiB blocks); resolves with the guest's memory size now, in MiB. */
  hotplugMemory(addMiB: number): Promise<number>;
  /** QEMU's run state (`running`, `paused`, `prelaunch`, …). Added with the QEMU driver. */
  status?(): Promise<string>;
  /**
   * Resolves with an error if a helper daemon (virtiofsd) dies while the VM runs; never restarted silently.
   * Added with the QEMU driver; optional so that other drivers need not have helpers.
   */
  readonly daemonFailure?: Promise<Error>;
}
