// Assembles QEMU's argument list from a VM plan (hako's own description of one VM). Pure: the same plan always
// gives the same arguments, so unit tests can assert them exactly.
import { Code, HakoError } from "../../../common/errors.js";
import type { ShareDevice } from "../../../sharefs/share-manager.js";
import type { Accelerator } from "../../hypervisor.js";
import { AgentSerialPort } from "./agent-serial.js";
import { SerialConsole } from "./console.js";
import { Cpu, Smp } from "./cpu.js";
import { DebugConsolePort } from "./debug-console.js";
import type { QemuDevice, Transport } from "./device.js";
import { Firmware } from "./firmware.js";
import { Kernel } from "./kernel.js";
import { Machine, type MachineType, type TcgThread } from "./machine.js";
import { Memory } from "./memory.js";
import { type TapNic, VirtioNet } from "./netdev.js";
import { NineP } from "./ninep.js";
import { PcieRootPort } from "./pcie-root-port.js";
import { PmemRootfs } from "./pmem.js";
import { QmpSocket } from "./qmp-socket.js";
import { Rng } from "./rng.js";
import { VirtioFs } from "./virtio-fs.js";
import { Vsock } from "./vsock.js";

export type AgentChannelPlan = { kind: "serial"; socketPath: string } | { kind: "vsock"; cid: number };
/** The share device the share manager readied (virtio-fs socket, 9p directory, or none). */
export type SharePlan = ShareDevice;

export interface QemuPlan {
  /** Sandbox id: the VM is named `sandbox-<id>` so that `ps` finds it. */
  id: string;
  machine: MachineType;
  machineOptions: string;
  /** `-bios`: the firmware image; QEMU's default when absent. */
  firmware?: string;
  accel: Accelerator;
  tcgTbSizeMiB: number;
  /** Multi- or single-threaded TCG (tcgThreading in cmdline/machine.ts); KVM ignores it. */
  tcgThread: TcgThread;
  cpuFeatures: string;
  vcpus: number;
  maxVcpus: number;
  memoryMiB: number;
  maxMemoryMiB: number;
  memorySlots: number;
  kernel: string;
  /** The initrd: the tiny one in pmem mode, the whole root in initrd mode. */
  initrd?: string;
  kernelParams: readonly string[];
  /** The DAX root image (pmem mode). */
  pmem?: { path: string; sizeBytes: number };
  agent: AgentChannelPlan;
  /** The guest debug console's socket (debug_console_enabled). */
  debugConsole?: { socketPath: string };
  share: SharePlan;
  consoleLogPath: string;
  qmpSocketPath: string;
  nics: TapNic[];
  pcieRootPorts: number;
  entropySource?: string;
  /** Guest RAM in this file, mapped shared (a VM template and its clones); a memfd or anonymous RAM otherwise. */
  memoryFile?: string;
  /** Start paused, waiting for `migrate-incoming` (a clone restoring a template's device state). */
  incoming?: boolean;
}

export function buildQemuArgs(plan: QemuPlan): string[] {
  const transport: Transport = plan.machine === "microvm" ? "mmio" : "pci";
  if (plan.machine === "microvm" && plan.pmem) {
    throw new HakoError(
      Code.InvalidArgument,
      `sandbox ${plan.id}: microvm has no PCI for virtio-pmem; use rootfs_mode = "initrd"`,
    );
  }
  const hotplugMemory = plan.machine === "q35";
  const devices: QemuDevice[] = [
    new Machine(plan.machine, plan.accel, plan.machineOptions, plan.tcgTbSizeMiB, plan.tcgThread),
    ...(plan.firmware !== undefined ? [new Firmware(plan.firmware)] : []),
    new Cpu(plan.accel, plan.cpuFeatures),
    new Smp(plan.vcpus, plan.maxVcpus),
    new Memory(plan.memoryMiB, {
      shared: plan.share.kind === "virtio-fs",
      ...(plan.memoryFile !== undefined ? { file: plan.memoryFile } : {}),
      ...(hotplugMemory ? { slots: plan.memorySlots, maxMiB: plan.maxMemoryMiB } : {}),
    }),
    new Kernel(plan.kernel, plan.initrd, plan.kernelParams),
  ];
  if (plan.pmem) devices.push(new PmemRootfs(plan.pmem.path, plan.pmem.sizeBytes));
  if (plan.machine === "q35") for (let i = 0; i < plan.pcieRootPorts; i++) devices.push(new PcieRootPort(i));
  devices.push(
    plan.agent.kind === "serial"
      ? new AgentSerialPort(plan.agent.socketPath, transport)
      : new Vsock(plan.agent.cid, transport),
  );
  if (plan.debugConsole) {
    devices.push(new DebugConsolePort(plan.debugConsole.socketPath, transport, plan.agent.kind === "serial"));
  }
  if (plan.share.kind === "virtio-fs") devices.push(new VirtioFs(plan.share.socketPath, transport));
  if (plan.share.kind === "virtio-9p") devices.push(new NineP(plan.share.path, transport));
  for (const nic of plan.nics) devices.push(new VirtioNet(nic, transport));
  if (plan.entropySource) devices.push(new Rng(plan.entropySource, transport));
  devices.push(new SerialConsole(plan.consoleLogPath), new QmpSocket(plan.qmpSocketPath));

  return [
    "-name",
    `sandbox-${plan.id}`,
    "-nodefaults",
    "-nographic",
    "-no-user-config",
    "-no-reboot",
    ...devices.flatMap((d) => d.args()),
    ...(plan.incoming ? ["-incoming", "defer"] : []),
  ];
}
