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

export interface HypervisorConfig {
  path: string;
  kernel: string;
  /** Root filesystem image (pmem mode). */
  image: string;
  initrd: string;
  rootfsMode: RootfsMode;
  machineType: MachineType;
  /** Extra kernel parameters (space separated in the file); they come after hako's own, so they win. */
  kernelParams: string[];
  defaultVcpus: number;
  /** 0 means "the host's CPU count". */
  defaultMaxVcpus: number;
  defaultMemoryMiB: number;
  /** 0 means "the host's RAM". */
  defaultMaxMemoryMiB: number;
  memorySlots: number;
  sharedFs: SharedFs;
  virtioFsDaemon: string;
  virtioFsCache: VirtioFsCache;
  virtioFsExtraArgs: string[];
  msize9p: number;
  blockDeviceDriver: BlockDeviceDriver;
  disableVhostNet: boolean;
  /** PCIe root ports created at boot, so that devices can be hot-plugged later. */
  pcieRootPorts: number;
  cpuFeatures: string;
  machineAccelerators: string;
  entropySource: string;
  enableDebug: boolean;
  /** Regular expressions (unanchored, as Kata) over annotation key names that a pod may override. */
  enableAnnotations: string[];
  validHypervisorPaths: string[];
  validVirtioFsDaemonPaths: string[];
  validKernelPaths: string[];
  validImagePaths: string[];
  validInitrdPaths: string[];
  accel: AccelChoice;
  agentChannel: AgentChannelChoice;
  /** Translation-block cache under TCG, MiB. */
  tcgTbSizeMiB: number;
}

export interface AgentConfig {
  dialTimeoutS: number;
  debugConsoleEnabled: boolean;
  kernelModules: string[];
  enableDebug: boolean;
  enableTracing: boolean;
}

export interface RuntimeConfig {
  internetworkingModel: InternetworkingModel;
  sandboxCgroupOnly: boolean;
  staticSandboxResourceMgmt: boolean;
  disableNewNetns: boolean;
  enableDebug: boolean;
  disableGuestSeccomp: boolean;
  experimental: string[];
}

export interface HakoConfig {
  /** The file the values came from, or null for built-in defaults. */
  source: string | null;
  hypervisor: HypervisorConfig;
  agent: AgentConfig;
  runtime: RuntimeConfig;
  /** Kata keys present in the file that hako accepts but does not act on, as `section.key`. */
  ignoredKeys: string[];
}
