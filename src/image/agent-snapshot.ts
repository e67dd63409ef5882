// The agent's V8 startup snapshot, made inside a guest at image-build time. V8 refuses a snapshot made under other
// CPU features or flags than its own (a host-built one is refused in a TCG guest, whose `-cpu max` differs from the
// host), so the freshly built image is booted once, the way the runtime boots it (same QEMU command line builder,
// accelerator and `-cpu`), with hako.snapshot=build: the guest's init makes the snapshot, checks that a fresh node
// loads it, and writes it with the CPU line it was made under as a tar archive to a scratch virtio disk; then the VM powers off.
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { GUEST_PARAM } from "../agent/api/guest-contract.js";
import { Code, HakoError } from "../common/errors.js";
import { type Logger, silentLogger } from "../common/log.js";
import { fileTail } from "../common/tail-buffer.js";
import type { HakoConfig, QemuConfig } from "../config/types.js";
import { chooseAccelerator } from "../hypervisor/accel.js";
import type { Accelerator } from "../hypervisor/hypervisor.js";
import { buildQemuArgs } from "../hypervisor/qemu/cmdline/build.js";
import { Cpu } from "../hypervisor/qemu/cmdline/cpu.js";
import { virtioDevice } from "../hypervisor/qemu/cmdline/device.js";
import { spawnQemu } from "../hypervisor/qemu/qemu-launch.js";
import { checkAssets, qemuPlan } from "../hypervisor/qemu/qemu-plan.js";
import { vmPaths } from "../hypervisor/qemu/state-dir.js";
import { runText } from "./exec.js";
import type { SnapshotInput } from "./manifest.js";
import { readTar } from "./ustar.js";

/** The scratch disk: room for the archive (the blob is ~6 MB); sparse, so only what the guest writes is stored. */
const DISK_BYTES = 64 * 1024 * 1024;
/** Guest RAM of the snapshot boot: node builds the snapshot in a tmpfs-backed directory. */
const MEMORY_MIB = 1024;
/** Boot, build and check under TCG take ~10 s on a 2-core host; a hung guest is stopped after this. */
export const SNAPSHOT_BOOT_TIMEOUT_MS = 180_000;

/** The VM the snapshot is made in: the runtime's QEMU section and the accelerator the runtime picks on this host. */
export interface SnapshotVm {
  qemu: QemuConfig;
  accel: Accelerator;
}

export function snapshotVm(config: HakoConfig): SnapshotVm {
  const qemu = config.hypervisor.qemu;
  return { qemu, accel: chooseAccelerator(qemu.accel, silentLogger) };
}

/** What the manifest records of the snapshot VM: a change (another QEMU, KVM instead of TCG) rebuilds the image. */
export async function snapshotInput(vm: SnapshotVm): Promise<SnapshotInput> {
  const version = (await runText(vm.qemu.path, ["--version"]).catch(() => "")).split("\n")[0]?.trim() || "unknown";
  const cpu = new Cpu(vm.accel, vm.qemu.cpuFeatures).args()[1] ?? "";
  return { qemu: { path: vm.qemu.path, version }, accel: vm.accel, cpu };
}

export interface SnapshotBoot {
  vm: SnapshotVm;
  kernel: string;
  initrd: string;
  rootfs: string;
  /** An empty directory for the VM's sockets, console log and disk. */
  dir: string;
  timeoutMs?: number;
  log?: Logger;
}

/** The QEMU argv of the snapshot boot: the runtime's plan for a 1 GiB sandbox, plus the scratch disk. */
export function snapshotQemuArgs(b: SnapshotBoot, disk: string): string[] {
  const paths = vmPaths("image-snapshot", b.dir);
  // The DAX root is what the runtime boots by default; microvm has no PCI for it (its CPU is the same).
  const qemu: QemuConfig = {
    ...b.vm.qemu,
    kernel: b.kernel,
    initrd: b.initrd,
    image: b.rootfs,
    rootfsMode: "pmem",
    machineType: b.vm.qemu.machineType === "microvm" ? "q35" : b.vm.qemu.machineType,
    kernelParams: [...b.vm.qemu.kernelParams, `${GUEST_PARAM.snapshot}=build`],
  };
  const plan = qemuPlan({
    id: "image-snapshot",
    qemu,
    agent: { dialTimeoutS: 0, debugConsoleEnabled: false, kernelModules: [], enableDebug: false, enableTracing: false },
    accel: b.vm.accel,
    vcpus: Math.max(1, qemu.defaultVcpus),
    memoryMiB: MEMORY_MIB,
    mayGrow: false,
    pmem: checkAssets(qemu),
    channel: { kind: "serial", socketPath: paths.agentSocket },
    share: { kind: "none" },
    nics: [],
    paths,
  });
  return [
    qemu.path,
    ...buildQemuArgs(plan),
    "-drive",
    `file=${disk.replaceAll(",", ",,")},if=none,id=snapshot0,format=raw`,
    "-device",
    `${virtioDevice("virtio-blk", "pci")},drive=snapshot0`,
  ];
}

/**
 * Boots the image once to make the agent's snapshot; returns the blob and the guest's CPU line (HAKO_CPU: the CPU
 * and node flags it was made under). Throws a HakoError carrying the end of the guest's console when the guest
 * wrote no snapshot or did not power off in time.
 */
export async function makeAgentSnapshot(b: SnapshotBoot): Promise<{ cpu: string; blob: Buffer }> {
  const timeoutMs = b.timeoutMs ?? SNAPSHOT_BOOT_TIMEOUT_MS;
  mkdirSync(vmPaths("image-snapshot", b.dir).dir, { recursive: true });
  const disk = join(b.dir, "snapshot-disk.img");
  writeFileSync(disk, "");
  truncateSync(disk, DISK_BYTES);
  const argv = snapshotQemuArgs(b, disk);
  const consoleLog = vmPaths("image-snapshot", b.dir).consoleLog;
  b.log?.debug("snapshot boot", { argv });
  const launched = spawnQemu(argv);
  const timedOut = Symbol("timeout");
  const ac = new AbortController();
  const exit = await Promise.race([
    launched.proc.exited,
    sleep(timeoutMs, timedOut, { signal: ac.signal }).catch(() => undefined),
  ]);
  ac.abort();
  const consoleTail = () => fileTail(consoleLog, 2048).trim();
  if (exit === timedOut) {
    launched.proc.kill("SIGKILL");
    await launched.proc.exited;
    throw new HakoError(
      Code.DeadlineExceeded,
      `the snapshot boot did not power off in ${timeoutMs} ms: ${consoleTail()}`,
    );
  }
  const files = readTar(readFileSync(disk));
  const cpu = files.get("cpu")?.toString("utf8").trim();
  const blob = files.get("agent.blob");
  if (!cpu?.includes("flags :") || cpu.includes("\n") || !blob || blob.length === 0) {
    const how = exit && typeof exit === "object" ? `qemu exited with ${exit.code ?? exit.signal}` : "";
    throw new HakoError(
      Code.Internal,
      `the snapshot boot wrote no snapshot (${how}${launched.stderr.text().trim()}): ${consoleTail()}`,
    );
  }
  return { cpu, blob };
}
