// -cpu and -smp. Under KVM the guest sees the host CPU; under TCG `max` gives every feature TCG can emulate.
// Sockets are sized to maxcpus so that a vCPU can be hot-plugged one socket at a time.
import type { Accelerator } from "../../hypervisor.js";
import type { QemuDevice } from "./device.js";

/**
 * Features `max` has that cost an emulated guest time: with ERMS (fast `rep movsb/stosb`) the guest kernel clears
 * and copies pages, and glibc fills large buffers, a byte per iteration of a `rep` instruction, and QEMU's TCG runs
 * each iteration on its own; without it they move 8 bytes per iteration (`rep stosq`, `clear_page_rep`). Kata's
 * `cpu_features` given in the configuration come after these and can turn them back on.
 */
export const TCG_FEATURES = ["erms=off"];

export class Cpu implements QemuDevice {
  constructor(
    readonly accel: Accelerator,
    /** Kata's cpu_features, e.g. "pmu=off". */
    readonly features = "",
  ) {}

  args(): string[] {
    const model = this.accel === "kvm" ? "host" : "max";
    const features = this.features
      .split(",")
      .map((f) => f.trim())
      .filter((f) => f !== "");
    return ["-cpu", [model, ...(this.accel === "kvm" ? [] : TCG_FEATURES), ...features].join(",")];
  }
}

export class Smp implements QemuDevice {
  constructor(
    readonly vcpus: number,
    readonly maxVcpus: number,
  ) {}

  args(): string[] {
    const max = Math.max(this.vcpus, this.maxVcpus);
    return ["-smp", `${this.vcpus},cores=1,threads=1,sockets=${max},maxcpus=${max}`];
  }
}
