// Built-in defaults: what hako uses when no configuration file exists, and the starting point a file overrides.
import type { HakoConfig } from "./types.js";

export const assetsDir = "/var/lib/hako";
export const systemConfigPath = "/etc/hako/configuration.toml";
/** `[factory] template_path` default (Kata's is /run/vc/vm/template). */
export const DEFAULT_TEMPLATE_PATH = "/run/hako-factory/template";

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
        defaultMemoryMiB: 2048,
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
