// Turns the configuration and one sandbox's request into a QemuPlan (cmdline/build.ts makes the argument list of
// it): checks the assets exist, picks the agent channel, sizes CPUs and memory, and maps the share and the NICs to
// devices. Reads the host (asset files, /dev/vhost-*, /proc/cpuinfo) but starts nothing.
import { existsSync, readFileSync, statSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname } from "node:path";
import { Code, HakoError } from "../../common/errors.js";
import { assetsDir } from "../../config/defaults.js";
import type { AgentConfig, QemuConfig } from "../../config/types.js";
import { manifestListing } from "../../image/manifest.js";
import type { ShareDevice } from "../../sharefs/share-manager.js";
import { hostKernelModules, missingModuleFix } from "../../sys/kernel-modules.js";
import type { Accelerator, NicRequest } from "../hypervisor.js";
import type { AgentChannelPlan, QemuPlan } from "./cmdline/build.js";
import { chooseFirmware } from "./cmdline/firmware.js";
import { hostTscKhz, kernelParams } from "./cmdline/kernel.js";
import { tcgThreading } from "./cmdline/machine.js";
import type { VmPaths } from "./state-dir.js";

const MiB = 1024 * 1024;

/**
 * Throws FailedPrecondition, naming the file and the `[hypervisor.qemu]` key that points at it, when `path` does not
 * exist. The fix offered: for the QEMU binary, installing it; for a guest asset in hako's own assets directory,
 * `hako image build`; for one elsewhere, pointing the key at an existing file (or building the assets there).
 */
export function requireFile(path: string, what: string, key: string): void {
  if (existsSync(path)) return;
  const fix =
    key === "path"
      ? `install qemu-system-x86, or point \`path\` under [hypervisor.qemu] at the QEMU binary`
      : dirname(path) === assetsDir
        ? "build the guest image with `hako image build`"
        : `point \`${key}\` under [hypervisor.qemu] at an existing file, or build the assets there with ` +
          `\`hako image build -o ${dirname(path)}\``;
  throw new HakoError(Code.FailedPrecondition, `${what} ${path} does not exist (${fix})`, { fields: { path } });
}

/** Fails early, naming the file, when an asset the config boots is missing. */
export function checkAssets(h: QemuConfig): QemuPlan["pmem"] {
  requireFile(h.path, "qemu binary", "path");
  requireFile(h.kernel, "guest kernel", "kernel");
  requireFile(h.initrd, "guest initrd", "initrd");
  if (h.rootfsMode !== "pmem") return undefined;
  requireFile(h.image, "guest root image", "image");
  return { path: h.image, sizeBytes: statSync(h.image).size };
}

export function chooseChannel(h: QemuConfig, paths: VmPaths): AgentChannelPlan {
  const choice = h.agentChannel;
  const vsock = existsSync("/dev/vhost-vsock");
  if (choice === "vsock" && !vsock) {
    throw new HakoError(
      Code.FailedPrecondition,
      `agent_channel = vsock but /dev/vhost-vsock does not exist (${missingModuleFix(hostKernelModules(), "vhost_vsock", "CONFIG_VHOST_VSOCK")}; or set agent_channel = "auto")`,
    );
  }
  if (choice === "vsock" || (choice === "auto" && vsock)) {
    // CIDs 0-2 are reserved; a clash makes QEMU fail at start, which the caller sees as an error.
    return { kind: "vsock", cid: 3 + Math.floor(Math.random() * 0x7ffffff0) };
  }
  return { kind: "serial", socketPath: paths.agentSocket };
}

export interface PlanInput {
  id: string;
  qemu: QemuConfig;
  agent: AgentConfig;
  accel: Accelerator;
  vcpus: number;
  memoryMiB: number;
  /** vCPUs may be hot-plugged after the start (hot-plug sizing; a template's clones, grown to their sandbox's size). */
  mayGrow: boolean;
  /** The plan of a VM template, or of a sandbox VM as a template of it would be (kernelParams' `template`). */
  template?: boolean;
  pmem: QemuPlan["pmem"];
  channel: AgentChannelPlan;
  share: ShareDevice;
  nics: readonly NicRequest[];
  paths: VmPaths;
}

/**
 * `lpj=` for a guest whose TSC runs at the host's rate (TCG): the host's TSC kHz × 1000 / the guest kernel's HZ, as
 * its boot CPU computes it. HZ comes from the image builder's manifest.json beside the kernel (`kernelHz`), trusted
 * only when it lists this very file (same name and size); undefined without one, or without a TSC rate.
 */
export function guestLpj(kernel: string, tscKhz: number | undefined): number | undefined {
  if (tscKhz === undefined) return undefined;
  const hz = manifestListing(kernel)?.manifest.kernelHz;
  return typeof hz === "number" && hz > 0 ? Math.round((tscKhz * 1000) / hz) : undefined;
}

export function qemuPlan(p: PlanInput): QemuPlan {
  const h = p.qemu;
  const maxVcpus = Math.max(p.vcpus, h.defaultMaxVcpus > 0 ? h.defaultMaxVcpus : cpus().length);
  const pmemMiB = p.pmem ? Math.ceil(p.pmem.sizeBytes / MiB) : 0;
  // Room above RAM for the pmem image and for hot-plugged DIMMs (default: up to the host's RAM).
  const maxMemoryMiB =
    Math.max(p.memoryMiB, h.defaultMaxMemoryMiB > 0 ? h.defaultMaxMemoryMiB : Math.floor(totalmem() / MiB)) + pmemMiB;
  const hostTsc = p.accel === "tcg" ? hostTscKhz(readFileSync("/proc/cpuinfo", "utf8")) : undefined;
  const tscKhz = h.machineType === "microvm" ? hostTsc : undefined;
  const lpj = guestLpj(h.kernel, hostTsc);
  const firmware = chooseFirmware(h.machineType);
  // disable_vhost_net, or a host without /dev/vhost-net, keeps the NIC's data path in QEMU.
  const vhost = !h.disableVhostNet && existsSync("/dev/vhost-net");
  return {
    id: p.id,
    machine: h.machineType,
    machineOptions: h.machineAccelerators,
    ...(firmware !== undefined ? { firmware } : {}),
    accel: p.accel,
    tcgTbSizeMiB: h.tcgTbSizeMiB,
    tcgThread: tcgThreading(p.mayGrow, p.vcpus, maxVcpus),
    cpuFeatures: h.cpuFeatures,
    vcpus: p.vcpus,
    maxVcpus,
    memoryMiB: p.memoryMiB,
    maxMemoryMiB,
    memorySlots: h.memorySlots,
    kernel: h.kernel,
    initrd: h.initrd,
    kernelParams: kernelParams({
      debug: h.enableDebug || p.agent.enableDebug,
      channel: p.channel.kind,
      extra: h.kernelParams,
      ...(tscKhz !== undefined ? { tscKhz } : {}),
      ...(lpj !== undefined ? { lpj } : {}),
      jitless: p.accel === "tcg",
      emulatedCpu: p.accel === "tcg",
      template: p.template === true,
    }),
    ...(p.pmem ? { pmem: p.pmem } : {}),
    agent: p.channel,
    ...(p.agent.debugConsoleEnabled ? { debugConsole: { socketPath: p.paths.debugConsoleSocket } } : {}),
    share: p.share,
    consoleLogPath: p.paths.consoleLog,
    qmpSocketPath: p.paths.qmpSocket,
    nics: p.nics.map((n, i) => ({
      id: `net${i}`,
      tapName: n.tap,
      mac: n.mac,
      mtu: n.mtu,
      vhost,
      ...(n.device !== undefined ? { fd: nicFd(p.nics, i) } : {}),
    })),
    pcieRootPorts: h.pcieRootPorts,
    entropySource: h.entropySource,
  };
}

/** First fd QEMU inherits for NIC devices: spawnQemu passes them after stdin, stdout and stderr. */
export const FIRST_NIC_FD = 3;

/** The fd number the i-th NIC's device has in QEMU: NICs with a device get consecutive fds, in order. */
export function nicFd(nics: readonly NicRequest[], i: number): number {
  return FIRST_NIC_FD + nics.slice(0, i).filter((n) => n.device !== undefined).length;
}
