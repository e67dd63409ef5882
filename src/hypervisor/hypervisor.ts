// The role a VMM plays for the runtime, in Kata runtime-rs's shape: a Hypervisor prepares a VM from what is
// per-sandbox (state dir, sizing, share, NICs in a netns, cold-plugged devices), start() boots it and gives the
// running handle, a Vm; attach() finds a running VM again from its persisted form in a new process; cleanupStale()
// removes what a dead owner left. QEMU is the driver today (qemu/); the shape also fits REST-driven VMMs (Cloud
// Hypervisor, Firecracker) whose agent channel is a hybrid-vsock unix socket. registry.ts picks the driver.
import type { GuestStorage } from "../agent/api/agent-api.js";
import type { Logger } from "../common/log.js";
import type { HypervisorKind } from "../config/types.js";
import type { PersistedShare } from "../sharefs/share-manager.js";

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

/** One guest NIC backed by a device the network model made in the sandbox's netns. */
export interface NicRequest {
  /** The tap device (or macvtap) inside the netns that the VMM opens. */
  tap: string;
  /** Lower-case colon form; the guest NIC gets the pod link's MAC. */
  mac: string;
  /** Bytes. */
  mtu: number;
  /**
   * macvtap: the character device of `tap` (made by the network model); the VMM is given an open fd of it, since a
   * macvtap cannot be opened by name. Absent: a tap the VMM opens by name.
   */
  device?: string;
}

export interface VmRequest {
  sandboxId: string;
  /** Root of the sandbox's host state: a VM that keeps files (sockets, pid files) puts them in <stateRoot>/<id>. */
  stateRoot: string;
  vcpus: number;
  memoryMiB: number;
  /** vCPUs may be hot-plugged after the start (hot-plug sizing): the VMM must be able to take them. */
  mayGrow?: boolean;
  /** Host directory exported to the guest; the hypervisor's share manager serves it (absent: nothing shared). */
  sharedDir?: string;
  /** The pod network: the VMM (and its share daemon) run in `netns`, with one NIC per entry. */
  network?: { netns: string; nics: NicRequest[] };
  /** Block devices attached at boot. */
  devices?: BlockDevice[];
}

/** A VM whose host side is ready (state dir, share daemon) but that is not running yet. */
export interface PreparedVm {
  /** How the guest mounts the share (empty when nothing is shared): given to the agent at CreateSandbox. */
  readonly guestStorages: GuestStorage[];
  /** Boots the VM; on failure undoes prepare() as well. Call at most once. */
  start(): Promise<Vm>;
  /** Undoes prepare() when start() will not be called. Idempotent. */
  abort(): Promise<void>;
}

/**
 * A running VM as plain data, written into the sandbox state (versioned there) so that another process can attach
 * to it. `driver` holds what only the driver reads (QEMU: QMP socket, used root ports, plugged DIMMs).
 */
export interface PersistedVm {
  kind: HypervisorKind;
  id: string;
  pid: number;
  stateRoot: string;
  accelerator: Accelerator;
  agentAddress: AgentAddress;
  consoleLogPath: string;
  share: PersistedShare;
  driver: Record<string, unknown>;
}

export interface StaleCleanup {
  killed: number[];
  removedDir: boolean;
}

export interface Hypervisor {
  readonly kind: HypervisorKind;
  /** Checks the request and readies the host side: the state directory, the share daemon. */
  prepare(req: VmRequest, logger: Logger): Promise<PreparedVm>;
  /**
   * Re-attaches to a VM that another process started: reconnects its control channel and watches its processes by
   * pid (exit codes are unknown then: `exited` reports null). Fails with FailedPrecondition if the VM is gone.
   */
  attach(persisted: PersistedVm, logger: Logger): Promise<Vm>;
  /**
   * Kills what a dead owner left of sandbox `id` (VMM and share daemon, each only after /proc proves it is that
   * process) and removes its state directory. `knownPid` is the VMM pid from the sandbox state, if any.
   */
  cleanupStale(id: string, options: { stateRoot: string; knownPid?: number; logger?: Logger }): Promise<StaleCleanup>;
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
  /**
   * Plugs vCPUs until `total` are present or no free slot is left below maxcpus (never unplugs); resolves with the
   * count present, which may be below `total`.
   */
  hotplugVcpus(total: number): Promise<number>;
  /** Adds at least `addMiB` (rounded up to 128 MiB blocks); resolves with the guest's memory size now, in MiB. */
  hotplugMemory(addMiB: number): Promise<number>;
  /** The VMM's run state (`running`, `paused`, `prelaunch`, … in QEMU's words). */
  status(): Promise<string>;
  /** Host thread ids of the vCPUs (QEMU: query-cpus-fast), e.g. to put them into the pod's host cgroup. */
  vcpuThreadIds(): Promise<number[]>;
  /**
   * Resolves with an error if the share daemon (virtiofsd) dies while the VM runs; never restarted silently. Never
   * resolves when the share has no daemon.
   */
  readonly shareDaemonFailure: Promise<Error>;
  /** The VM as plain data for the sandbox state; attach() takes it back. */
  persistable(): PersistedVm;
  /**
   * The key of the VM template this VM was restored from (undefined when it booted): its guest then still has the
   * template's clock and random state, which the runtime replaces before anything else runs.
   */
  readonly fromTemplate?: string | undefined;
  /**
   * Set when the VM started smaller than the request asked: restored from a VM template of the configuration's
   * default size (what `hako factory init` makes) for a sandbox sized for its pod's limits. The runtime grows it to
   * the request by hot-plug before any container runs, as Kata's factory grows a VM it hands out.
   */
  readonly startedSmaller?: { vcpus: number; memoryMiB: number } | undefined;
}
