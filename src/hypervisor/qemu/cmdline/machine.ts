// -machine and the accelerator. KVM goes in `-machine …,accel=kvm`; TCG is named with `-accel` because only that
// form takes tb-size, the translation cache bound (QEMU's default is a gigabyte per VM).
import type { Accelerator } from "../../hypervisor.js";
import type { QemuDevice } from "./device.js";

export type MachineType = "q35" | "microvm";

export class Machine implements QemuDevice {
  constructor(
    readonly type: MachineType,
    readonly accel: Accelerator,
    /** Kata's machine_accelerators: extra comma-separated machine options. */
    readonly extra = "",
    readonly tcgTbSizeMiB = 128,
  ) {}

  args(): string[] {
    const options: string[] = [this.type];
    if (this.type === "microvm") {
      options.push("x-option-roms=off", "isa-serial=on", "rtc=on");
      // Without the PIT a TCG guest has no clock to calibrate the TSC against (no kvmclock) and hangs at boot.
      if (this.accel === "kvm") options.push("pit=off", "pic=off");
    }
    for (const o of this.extra.split(",")) if (o.trim() !== "") options.push(o.trim());
    // microvm's virtio-mmio devices default to legacy virtio, which vhost-user (virtiofsd) refuses.
    const globals = this.type === "microvm" ? ["-global", "virtio-mmio.force-legacy=false"] : [];
    if (this.accel === "kvm") return ["-machine", [...options, "accel=kvm"].join(","), ...globals];
    return ["-machine", options.join(","), "-accel", `tcg,tb-size=${this.tcgTbSizeMiB}`, ...globals];
  }
}
