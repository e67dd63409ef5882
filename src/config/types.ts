// hako's configuration as the rest of the code sees it: plain typed values with hako's own field names. The
// Kata-compatible TOML keys that fill these fields are listed in keys.ts.

export type SharedFs = "virtio-fs" | "virtio-9p" | "none";
export type VirtioFsCache = "auto" | "always" | "never" | "metadata";
export type MachineType = "q35" | "microvm";
export type AccelChoice = "auto" | "kvm" | "tcg";
export type AgentChannelChoice = "auto" | "serial" | "vsock";
/** pmem: tiny initrd + read-only DAX root image; initrd: the whole root in the initrd. */
export type RootfsMode = "pmem" | "initrd";
export type BlockDeviceDriver = "virtio-blk" | "virtio-scsi" | "virtio-mmio" | "nvdimm" | "virtio-blk-ccw";
export type InternetworkingModel = "tcfilter" | "macvtap" | "none";

/**
 * What every hypervisor section carries: Kata spells these keys the same under each `[hypervisor.<kind>]`, and the
 * runtime-facing code (sizing, annotations, assets) reads them without knowing which VMM runs.
 */
export interface CommonHypervisorConfig {
  path: string;
  kernel: string;
  /** Root filesystem image (pmem mode). */
  image: string;
  initrd: string;
  rootfsMode: RootfsMode;
  /** Extra kernel parameters (space separated in the file); they come after hako's own, so they win. */
  kernelParams: string[];
  defaultVcpus: number;
  /** 0 means "the host's CPU count". */
  defaultMaxVcpus: number;
  defaultMemoryMiB: number;
  /** 0 means "the host's RAM". */
  defaultMaxMemoryMiB: number;
  sharedFs: SharedFs;
  virtioFsDaemon: string;
  virtioFsCache: VirtioFsCache;
  virtioFsExtraArgs: string[];
  /** Parsed and validated; nothing acts on it yet (reported in ignoredKeys). */
  blockDeviceDriver: BlockDeviceDriver;
  disableVhostNet: boolean;
  enableDebug: boolean;
  /** Regular expressions (unanchored, as Kata) over annotation key names that a pod may override. */
  enableAnnotations: string[];
  validHypervisorPaths: string[];
  validVirtioFsDaemonPaths: string[];
  validKernelPaths: string[];
  validImagePaths: string[];
  validInitrdPaths: string[];
}

/** `[hypervisor.qemu]`: the common keys plus QEMU's own. */
export interface QemuConfig extends CommonHypervisorConfig {
  machineType: MachineType;
  memorySlots: number;
  msize9p: number;
  /** PCIe root ports created at boot, so that devices can be hot-plugged later. */
  pcieRootPorts: number;
  cpuFeatures: string;
  machineAccelerators: string;
  entropySource: string;
  accel: AccelChoice;
  agentChannel: AgentChannelChoice;
  /** Translation-block cache under TCG, MiB. */
  tcgTbSizeMiB: number;
}

/** The hypervisors hako has a driver for; each has its own section below and a folder under src/hypervisor/. */
export type HypervisorKind = "qemu";

/**
 * One section per hypervisor, as Kata's files have: `kind` names the one that runs sandboxes (the section the file
 * configures). A second VMM adds its kind, its section type here and its key table in keys.ts.
 */
export interface HypervisorSections {
  kind: HypervisorKind;
  qemu: QemuConfig;
}

export interface AgentConfig {
  dialTimeoutS: number;
  debugConsoleEnabled: boolean;
  kernelModules: string[];
  enableDebug: boolean;
  /** Not acted on yet (reported in ignoredKeys). */
  enableTracing: boolean;
}

/** Every field but staticSandboxResourceMgmt is parsed and validated but not acted on yet (see keys.ts). */
export interface RuntimeConfig {
  internetworkingModel: InternetworkingModel;
  sandboxCgroupOnly: boolean;
  staticSandboxResourceMgmt: boolean;
  disableNewNetns: boolean;
  enableDebug: boolean;
  disableGuestSeccomp: boolean;
  experimental: string[];
}

/** `[factory]`: VM templates (Kata's keys). */
export interface FactoryConfig {
  /** Start sandboxes by restoring a saved VM template (made by `hako factory init`) instead of booting. */
  enableTemplate: boolean;
  /** Where templates live: one directory per template key below it. */
  templatePath: string;
  /** Kata's pool of pre-booted VMs: parsed, not acted on (reported in ignoredKeys). */
  vmCacheNumber: number;
}

export interface HakoConfig {
  /** The file the values came from, or null for built-in defaults. */
  source: string | null;
  hypervisor: HypervisorSections;
  agent: AgentConfig;
  runtime: RuntimeConfig;
  factory: FactoryConfig;
  /**
   * Keys present in the file (or annotations) that hako accepts but does not act on, as `section.key`: Kata keys
   * with no meaning here, and keys that are parsed and validated but not implemented yet.
   */
  ignoredKeys: string[];
}
