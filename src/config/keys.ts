// Every key hako accepts, by section, with its type and what it sets. The names are Kata's (configuration-qemu.toml
// of Kata 3.x), so a Kata file loads unchanged; a key with no `set`, or marked `notActedOn`, is accepted and reported
// as ignored. Keys marked `hako: true` exist only in hako. Each hypervisor has its own table ([hypervisor.qemu]).
import { availableParallelism } from "node:os";
import { invalidArgument } from "../common/errors.js";
import { DEFAULT_MEMORY_MIB } from "./defaults.js";
import type {
  AccelChoice,
  AgentChannelChoice,
  BlockDeviceDriver,
  HakoConfig,
  InternetworkingModel,
  MachineType,
  RootfsMode,
  SharedFs,
  VirtioFsCache,
} from "./types.js";

type Set<T> = (config: HakoConfig, value: T) => void;

/**
 * `notActedOn`: the value is parsed, validated and stored, but nothing in hako uses it yet; such a key is reported
 * in `ignoredKeys` like a key with no setter, until the feature that reads it lands and drops the mark.
 */
export type KeySpec = { hako?: true; notActedOn?: true } & (
  | { type: "string"; set?: Set<string> }
  | { type: "bool"; set?: Set<boolean> }
  | { type: "int"; min?: number; set?: Set<number> }
  | { type: "number"; set?: Set<number> }
  | { type: "strings"; set?: Set<string[]> }
  | { type: "enum"; values: readonly string[]; set?: Set<string> }
);

const str = (set?: Set<string>): KeySpec => (set ? { type: "string", set } : { type: "string" });
const bool = (set?: Set<boolean>): KeySpec => (set ? { type: "bool", set } : { type: "bool" });
const uint = (set?: Set<number>): KeySpec => (set ? { type: "int", min: 0, set } : { type: "int", min: 0 });
const int = (set?: Set<number>): KeySpec => (set ? { type: "int", set } : { type: "int" });
const strs = (set?: Set<string[]>): KeySpec => (set ? { type: "strings", set } : { type: "strings" });
function oneOf<T extends string>(values: readonly T[], set: Set<T>): KeySpec {
  return { type: "enum", values, set: set as Set<string> };
}
const hako = (spec: KeySpec): KeySpec => ({ ...spec, hako: true });
const notActedOn = (spec: KeySpec): KeySpec => ({ ...spec, notActedOn: true });
type Qemu = HakoConfig["hypervisor"]["qemu"];
/** A setter that copies the value into one field of [hypervisor.qemu]. */
function setHv<K extends keyof Qemu>(field: K): Set<Qemu[K]> {
  return (c, v) => {
    c.hypervisor.qemu[field] = v;
  };
}

const hypervisorQemu: Record<string, KeySpec> = {
  path: str((c, v) => {
    c.hypervisor.qemu.path = v;
  }),
  kernel: str((c, v) => {
    c.hypervisor.qemu.kernel = v;
  }),
  image: str((c, v) => {
    c.hypervisor.qemu.image = v;
  }),
  initrd: str((c, v) => {
    c.hypervisor.qemu.initrd = v;
  }),
  machine_type: oneOf<MachineType>(["q35", "microvm"], (c, v) => {
    c.hypervisor.qemu.machineType = v;
  }),
  kernel_params: str((c, v) => {
    c.hypervisor.qemu.kernelParams = v.split(/\s+/).filter((p) => p !== "");
  }),
  // A float since Kata 3.x (fractions of a CPU for sizing); a VM gets whole vCPUs, so fractions round up.
  // 0 means the default (1), a negative number means every host CPU.
  default_vcpus: {
    type: "number",
    set: (c, v) => {
      c.hypervisor.qemu.defaultVcpus = v === 0 ? 1 : v < 0 ? availableParallelism() : Math.ceil(v);
    },
  },
  default_maxvcpus: uint((c, v) => {
    c.hypervisor.qemu.defaultMaxVcpus = v;
  }),
  default_memory: uint((c, v) => {
    c.hypervisor.qemu.defaultMemoryMiB = v === 0 ? DEFAULT_MEMORY_MIB : v;
  }),
  default_maxmemory: uint((c, v) => {
    c.hypervisor.qemu.defaultMaxMemoryMiB = v;
  }),
  memory_slots: uint((c, v) => {
    c.hypervisor.qemu.memorySlots = v === 0 ? 10 : v;
  }),
  shared_fs: oneOf<SharedFs>(["virtio-fs", "virtio-9p", "none"], (c, v) => {
    c.hypervisor.qemu.sharedFs = v;
  }),
  virtio_fs_daemon: str((c, v) => {
    c.hypervisor.qemu.virtioFsDaemon = v;
  }),
  virtio_fs_cache: oneOf<VirtioFsCache>(["auto", "always", "never", "metadata"], (c, v) => {
    c.hypervisor.qemu.virtioFsCache = v;
  }),
  virtio_fs_extra_args: strs((c, v) => {
    c.hypervisor.qemu.virtioFsExtraArgs = v;
  }),
  msize_9p: uint((c, v) => {
    c.hypervisor.qemu.msize9p = v === 0 ? 8192 : v;
  }),
  block_device_driver: notActedOn(
    oneOf<BlockDeviceDriver>(["virtio-blk", "virtio-scsi", "virtio-mmio", "nvdimm", "virtio-blk-ccw"], (c, v) => {
      c.hypervisor.qemu.blockDeviceDriver = v;
    }),
  ),
  disable_vhost_net: bool((c, v) => {
    c.hypervisor.qemu.disableVhostNet = v;
  }),
  pcie_root_port: uint((c, v) => {
    c.hypervisor.qemu.pcieRootPorts = v;
  }),
  cpu_features: str((c, v) => {
    c.hypervisor.qemu.cpuFeatures = v;
  }),
  machine_accelerators: str((c, v) => {
    c.hypervisor.qemu.machineAccelerators = v;
  }),
  entropy_source: str((c, v) => {
    c.hypervisor.qemu.entropySource = v;
  }),
  enable_debug: bool((c, v) => {
    c.hypervisor.qemu.enableDebug = v;
  }),
  enable_annotations: strs((c, v) => {
    for (const re of v) compileAnnotationRegex(re);
    c.hypervisor.qemu.enableAnnotations = v;
  }),
  valid_hypervisor_paths: strs((c, v) => {
    c.hypervisor.qemu.validHypervisorPaths = v;
  }),
  valid_virtio_fs_daemon_paths: strs((c, v) => {
    c.hypervisor.qemu.validVirtioFsDaemonPaths = v;
  }),
  // Kata keys hako accepts without acting on them (yet).
  jailer_path: str(),
  ctlpath: str(),
  rootfs_type: str(),
  firmware: str(),
  firmware_volume: str(),
  seccompsandbox: str(),
  confidential_guest: bool(),
  sev_snp_guest: bool(),
  rootless: bool(),
  default_bridges: uint(),
  memory_offset: uint(),
  enable_virtio_mem: bool(),
  disable_block_device_use: bool(),
  valid_jailer_paths: strs(),
  valid_ctlpaths: strs(),
  virtio_fs_cache_size: uint(),
  virtio_fs_queue_size: uint(),
  virtio_fs_inode_file_handles: str(),
  block_device_aio: str(),
  block_device_cache_set: bool(),
  block_device_cache_direct: bool(),
  block_device_cache_noflush: bool(),
  enable_iothreads: bool(),
  indep_iothreads: uint(),
  enable_mem_prealloc: bool(),
  reclaim_guest_freed_memory: bool(),
  enable_hugepages: bool(),
  enable_vhost_user_store: bool(),
  vhost_user_store_path: str(),
  valid_vhost_user_store_paths: strs(),
  vhost_user_reconnect_timeout_sec: uint(),
  enable_iommu: bool(),
  enable_iommu_platform: bool(),
  file_mem_backend: str(),
  valid_file_mem_backends: strs(),
  pflashes: strs(),
  extra_monitor_socket: str(),
  disable_nesting_checks: bool(),
  disable_image_nvdimm: bool(),
  hotplug_vfio_on_root_bus: bool(),
  hot_plug_vfio: str(),
  cold_plug_vfio: str(),
  pcie_switch_port: uint(),
  valid_entropy_sources: strs(),
  guest_hook_path: str(),
  rx_rate_limiter_max_rate: uint(),
  tx_rate_limiter_max_rate: uint(),
  disk_rate_limiter_bw_max_rate: int(),
  disk_rate_limiter_bw_one_time_burst: int(),
  disk_rate_limiter_ops_max_rate: int(),
  disk_rate_limiter_ops_one_time_burst: int(),
  net_rate_limiter_bw_max_rate: int(),
  net_rate_limiter_bw_one_time_burst: int(),
  net_rate_limiter_ops_max_rate: int(),
  net_rate_limiter_ops_one_time_burst: int(),
  guest_memory_dump_path: str(),
  guest_memory_dump_paging: bool(),
  enable_guest_swap: bool(),
  use_legacy_serial: bool(),
  disable_seccomp: bool(),
  disable_selinux: bool(),
  disable_guest_selinux: bool(),
  snp_id_block: str(),
  snp_id_auth: str(),
  snp_guest_policy: uint(),
  qgs_port: uint(),
  network_queues: uint(),
  tdx_quote_generation_service_socket_port: uint(),
  remote_hypervisor_socket: str(),
  remote_hypervisor_timeout: uint(),
  hypervisor_loglevel: uint(),
  // hako-only keys.
  accel: hako(oneOf<AccelChoice>(["auto", "kvm", "tcg"], setHv("accel"))),
  agent_channel: hako(oneOf<AgentChannelChoice>(["auto", "serial", "vsock"], setHv("agentChannel"))),
  rootfs_mode: hako(oneOf<RootfsMode>(["pmem", "initrd"], setHv("rootfsMode"))),
  tcg_tb_size: hako(uint(setHv("tcgTbSizeMiB"))),
  valid_kernel_paths: hako(strs(setHv("validKernelPaths"))),
  valid_image_paths: hako(strs(setHv("validImagePaths"))),
  valid_initrd_paths: hako(strs(setHv("validInitrdPaths"))),
};

const agentKata: Record<string, KeySpec> = {
  dial_timeout: uint((c, v) => {
    c.agent.dialTimeoutS = v === 0 ? 45 : v;
  }),
  debug_console_enabled: bool((c, v) => {
    c.agent.debugConsoleEnabled = v;
  }),
  kernel_modules: strs((c, v) => {
    c.agent.kernelModules = v;
  }),
  enable_debug: bool((c, v) => {
    c.agent.enableDebug = v;
  }),
  enable_tracing: notActedOn(
    bool((c, v) => {
      c.agent.enableTracing = v;
    }),
  ),
  cdh_api_timeout: uint(),
  container_pipe_size: uint(),
};

const runtime: Record<string, KeySpec> = {
  // Read by network/models.ts when a sandbox boots.
  internetworking_model: oneOf<InternetworkingModel>(["tcfilter", "macvtap", "none"], (c, v) => {
    c.runtime.internetworkingModel = v;
  }),
  // Read by shim/sandbox-factory.ts: where the shim, VMM and share daemon go (cgroups/sandbox-cgroups.ts).
  sandbox_cgroup_only: bool((c, v) => {
    c.runtime.sandboxCgroupOnly = v;
  }),
  static_sandbox_resource_mgmt: bool((c, v) => {
    c.runtime.staticSandboxResourceMgmt = v;
  }),
  disable_new_netns: notActedOn(
    bool((c, v) => {
      c.runtime.disableNewNetns = v;
    }),
  ),
  // The shim's log level follows containerd's --debug, not this key.
  enable_debug: notActedOn(
    bool((c, v) => {
      c.runtime.enableDebug = v;
    }),
  ),
  // As Kata's runtime: true drops each container's linux.seccomp before it reaches the guest.
  disable_guest_seccomp: bool((c, v) => {
    c.runtime.disableGuestSeccomp = v;
  }),
  experimental: notActedOn(
    strs((c, v) => {
      c.runtime.experimental = v;
    }),
  ),
  enable_tracing: bool(),
  jaeger_endpoint: str(),
  jaeger_user: str(),
  jaeger_password: str(),
  enable_vcpus_pinning: bool(),
  guest_selinux_label: str(),
  sandbox_bind_mounts: strs(),
  vfio_mode: str(),
  disable_guest_empty_dir: bool(),
  enable_pprof: bool(),
  create_container_timeout: uint(),
  dan_conf: str(),
};

const factory: Record<string, KeySpec> = {
  enable_template: bool((c, v) => {
    c.factory.enableTemplate = v;
  }),
  template_path: str((c, v) => {
    c.factory.templatePath = v;
  }),
  vm_cache_number: notActedOn(
    uint((c, v) => {
      c.factory.vmCacheNumber = v;
    }),
  ),
  vm_cache_endpoint: str(),
};

const image: Record<string, KeySpec> = {
  provision: str(),
  service_offload: bool(),
};

/** Sections by their dotted TOML name. */
export const sections: Record<string, Record<string, KeySpec>> = {
  "hypervisor.qemu": hypervisorQemu,
  "agent.kata": agentKata,
  runtime,
  factory,
  image,
};

/** Kata's enable_annotations entries are Go regular expressions matched anywhere in the key name. */
export function compileAnnotationRegex(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    // applyValue (parse.ts) prefixes the key and the file: "hypervisor.qemu.enable_annotations in /etc/…: …".
    throw invalidArgument(`invalid regular expression ${JSON.stringify(source)}: ${(err as Error).message}`);
  }
}
