// Built-in defaults: what hako uses when no configuration file exists, and the starting point a file overrides.
import type { HakoConfig } from "./types.js";

export const assetsDir = "/var/lib/hako";
export const systemConfigPath = "/etc/hako/configuration.toml";
/** `[factory] template_path` default (Kata's is /run/vc/vm/template). */
export const DEFAULT_TEMPLATE_PATH = "/run/hako-factory/template";
/**
 * `default_memory` when a file does not set it (or sets 0), in MiB: the guest's own share, to which a pod's memory
 * limits are added. Kata's configuration ships 2048; hako's default is smaller because every MiB of guest RAM costs
 * the host a `struct page` (64 bytes per 4 KiB page, touched at boot): 2048 MiB left 71 MiB of guest RAM touched
 * on the host after boot, 512 MiB 42 MiB (docs/benchmarks.md). A Kata file's `default_memory` is used as written.
 */
export const DEFAULT_MEMORY_MIB = 512;

export function defaultConfig(): HakoConfig {
  return {
    source: null,
    hypervisor: {
      kind: "qemu",
      qemu: {
        path: "/usr/bin/qemu-system-x86_64",
        kernel: `${assetsDir}/vmlinux`,
        image: `${assetsDir}/hako-rootfs.img`,
        initrd: `${assetsDir}/hako-initrd.img`,
        rootfsMode: "pmem",
        machineType: "q35",
        kernelParams: [],
        defaultVcpus: 1,
        defaultMaxVcpus: 0,
        defaultMemoryMiB: DEFAULT_MEMORY_MIB,
        defaultMaxMemoryMiB: 0,
        memorySlots: 10,
        sharedFs: "virtio-fs",
        virtioFsDaemon: "/usr/lib/qemu/virtiofsd",
        virtioFsCache: "auto",
        virtioFsExtraArgs: [],
        msize9p: 8192,
        blockDeviceDriver: "virtio-blk",
        disableVhostNet: false,
        pcieRootPorts: 2,
        cpuFeatures: "",
        machineAccelerators: "",
        entropySource: "/dev/urandom",
        enableDebug: false,
        enableAnnotations: [],
        validHypervisorPaths: ["/usr/bin/qemu-system-x86_64"],
        validVirtioFsDaemonPaths: ["/usr/lib/qemu/virtiofsd"],
        validKernelPaths: [`${assetsDir}/*`],
        validImagePaths: [`${assetsDir}/*`],
        validInitrdPaths: [`${assetsDir}/*`],
        accel: "auto",
        agentChannel: "auto",
        // A cold boot translates ~90 MiB of code, so 64 MiB is flushed once per boot (96 MiB: −40 ms cold, +25 MiB
        // per booted pod). A VM that can grow runs single-threaded TCG, which a vCPU hot-plug cannot abort whatever
        // the cache holds (tcgThreading in src/hypervisor/qemu/cmdline/machine.ts).
        tcgTbSizeMiB: 64,
      },
    },
    agent: {
      dialTimeoutS: 45,
      debugConsoleEnabled: false,
      kernelModules: [],
      enableDebug: false,
      enableTracing: false,
    },
    runtime: {
      internetworkingModel: "tcfilter",
      sandboxCgroupOnly: false,
      staticSandboxResourceMgmt: true,
      disableNewNetns: false,
      enableDebug: false,
      disableGuestSeccomp: true,
      experimental: [],
    },
    factory: {
      enableTemplate: false,
      templatePath: DEFAULT_TEMPLATE_PATH,
      vmCacheNumber: 0,
    },
    ignoredKeys: [],
  };
}
