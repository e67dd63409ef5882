// The OCI runtime spec (config.json) as hako's own TS types: the fields hako reads, rewrites or translates to the
// agent API are typed, the rest is carried through untouched (index signatures). The shim reads it from the bundle,
// the runtime rewrites it for the guest, and the agent writes it back out for crun.

export interface OciSpec {
  ociVersion: string;
  process?: OciProcess;
  root?: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts?: OciMount[];
  hooks?: OciHooks;
  annotations?: Record<string, string>;
  linux?: OciLinux;
  [extra: string]: unknown;
}

export interface OciUser {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  username?: string;
}

export interface OciCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface OciRlimit {
  type: string;
  hard: number;
  soft: number;
}

export interface OciProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: OciUser;
  args?: string[];
  commandLine?: string;
  env?: string[];
  cwd: string;
  capabilities?: OciCapabilities;
  rlimits?: OciRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
  [extra: string]: unknown;
}

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  [extra: string]: unknown;
}

export interface OciHook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface OciHooks {
  prestart?: OciHook[];
  createRuntime?: OciHook[];
  createContainer?: OciHook[];
  startContainer?: OciHook[];
  poststart?: OciHook[];
  poststop?: OciHook[];
  [extra: string]: unknown;
}

export interface OciDeviceCgroup {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

export interface OciLinuxMemory {
  limit?: number;
  reservation?: number;
  swap?: number;
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  [extra: string]: unknown;
}

export interface OciLinuxCpu {
  shares?: number;
  quota?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  [extra: string]: unknown;
}

export interface OciWeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}

export interface OciThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export interface OciBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: OciWeightDevice[];
  throttleReadBpsDevice?: OciThrottleDevice[];
  throttleWriteBpsDevice?: OciThrottleDevice[];
  throttleReadIOPSDevice?: OciThrottleDevice[];
  throttleWriteIOPSDevice?: OciThrottleDevice[];
}

export interface OciLinuxResources {
  devices?: OciDeviceCgroup[];
  memory?: OciLinuxMemory;
  cpu?: OciLinuxCpu;
  pids?: { limit: number };
  blockIO?: OciBlockIO;
  hugepageLimits?: { pageSize: string; limit: number }[];
  network?: { classID?: number; priorities?: { name: string; priority: number }[] };
  /** cgroup v2 files written as they are ("memory.high": "…"). */
  unified?: Record<string, string>;
  [extra: string]: unknown;
}

export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface OciLinuxDevice {
  path: string;
  type: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface OciSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: OciSeccompArg[];
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: OciSyscall[];
}

export interface OciLinux {
  namespaces?: { type: string; path?: string }[];
  resources?: OciLinuxResources;
  cgroupsPath?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  seccomp?: OciSeccomp;
  sysctl?: Record<string, string>;
  uidMappings?: OciIdMapping[];
  gidMappings?: OciIdMapping[];
  devices?: OciLinuxDevice[];
  rootfsPropagation?: string;
  mountLabel?: string;
  intelRdt?: { closID?: string; l3CacheSchema?: string; memBwSchema?: string };
  [extra: string]: unknown;
}
