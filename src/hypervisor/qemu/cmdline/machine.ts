// -machine and the accelerator. KVM goes in `-machine …,accel=kvm`; TCG is named with `-accel` because only that
// form takes tb-size, the translation cache bound (QEMU's default is a gigabyte per VM), and thread.
import type { Accelerator } from "../../hypervisor.js";
import type { QemuDevice } from "./device.js";

export type MachineType = "q35" | "microvm";

/** How TCG runs the vCPUs: "multi", a host thread per vCPU (MTTCG); "single", all in turn on one host thread. */
export type TcgThread = "single" | "multi";

/**
 * Multi-threaded TCG splits the translation cache into regions, one in use per vCPU thread at a time, and hands a
 * thread the next free one when it fills its own; a region is freed only by the flush that follows the last. A vCPU
 * hot-plugged while every region is in use makes QEMU 7.2 abort (`tcg_region_initial_alloc__locked: assertion
 * failed`, tcg/region.c). A booted guest fills most of the cache, so a Task Update that added vCPUs hit it in about
 * one of four runs at a 64 MiB cache. Single-threaded TCG has one region and no thread to start for a new vCPU, so a
 * VM that may be given vCPUs after its start (`mayGrow`, and room under maxcpus) runs single-threaded; the others
 * keep a host thread per vCPU.
 */
export function tcgThreading(mayGrow: boolean, vcpus: number, maxVcpus: number): TcgThread {
  return mayGrow && maxVcpus > vcpus ? "single" : "multi";
}

/**
 * q35 devices a sandbox never uses, turned off: the ICH9 AHCI (SATA) controller and its SMBus. No guest disk is on
 * SATA (the root is virtio-pmem or virtio-blk) and nothing reads the SMBus. QEMU gives AHCI six IDE ports with a
 * 128 KiB DMA buffer each; an idle booted pod's QEMU held 1.5 MiB less anonymous memory without the two (PSS, 2 runs
 * each), and started as fast. A configuration's machine_accelerators come after these and can turn them on again.
 */
export const Q35_UNUSED_DEVICES_OFF = ["sata=off", "smbus=off"] as const;

export class Machine implements QemuDevice {
  constructor(
    readonly type: MachineType,
    readonly accel: Accelerator,
    /** Kata's machine_accelerators: extra comma-separated machine options. */
    readonly extra = "",
    /** TCG's translation cache, MiB (`tcg_tb_size`). */
    readonly tcgTbSizeMiB = 64,
    readonly tcgThread: TcgThread = "multi",
  ) {}

  args(): string[] {
    const options: string[] = [this.type];
    if (this.type === "q35") options.push(...Q35_UNUSED_DEVICES_OFF);
    if (this.type === "microvm") {
      options.push("x-option-roms=off", "isa-serial=on", "rtc=on");
      // Without the PIT a TCG guest has no clock to calibrate the TSC against (no kvmclock) and hangs at boot.
      if (this.accel === "kvm") options.push("pit=off", "pic=off");
    }
    for (const o of this.extra.split(",")) if (o.trim() !== "") options.push(o.trim());
    // microvm's virtio-mmio devices default to legacy virtio, which vhost-user (virtiofsd) refuses.
    const globals = this.type === "microvm" ? ["-global", "virtio-mmio.force-legacy=false"] : [];
    if (this.accel === "kvm") return ["-machine", [...options, "accel=kvm"].join(","), ...globals];
    const accel = `tcg,tb-size=${this.tcgTbSizeMiB},thread=${this.tcgThread}`;
    return ["-machine", options.join(","), "-accel", accel, ...globals];
  }
}
