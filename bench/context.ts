// What every benchmark section needs: the private containerd with the busybox image, the host's hako settings and
// a way to record why a section could not run.
import { loadConfig } from "../src/config/index.js";
import { probeAccelerator } from "../src/hypervisor/accel.js";
import type { Accelerator } from "../src/hypervisor/hypervisor.js";
import type { Containerd } from "../test/helpers/containerd.js";

export interface BenchContext {
  containerd: Containerd;
  image: string;
  runs: number;
  concurrency: number;
  fileMiB: number;
  /** Idle pod counts the memory section measures, increasing (`--pods`, default POD_COUNTS). */
  podCounts: readonly number[];
  qemu: string;
  kernel: string;
  accelerator: Accelerator;
  accelReason: string;
  tcgTbSizeMiB: number;
  memoryMiB: number;
  /** Debian's cloud kernel (vmlinux): the raw-boot reference whatever kernel hako's assets hold. */
  debianKernel: string;
  /**
   * A config file like the benchmark's with `[factory] enable_template` on, passed to the shim as the runtime's
   * config path (`ctr run --runtime-config-path`); undefined when the template could not be made (see templateError).
   */
  templateConfig?: string;
  templateError?: string;
  /** Unique per benchmark run, so container ids never collide with a previous run's leftovers. */
  tag: string;
  log(line: string): void;
}

export type Section<T> = { available: true; value: T } | { available: false; reason: string };

export const notAvailable = (reason: string): { available: false; reason: string } => ({ available: false, reason });

export function hostSettings(configPath: string | undefined) {
  const config = loadConfig(configPath === undefined ? {} : { path: configPath });
  const probe = probeAccelerator();
  const accelerator: Accelerator =
    config.hypervisor.qemu.accel === "auto" ? probe.usable : config.hypervisor.qemu.accel;
  return {
    qemu: config.hypervisor.qemu.path,
    kernel: config.hypervisor.qemu.kernel,
    accelerator,
    accelReason: probe.reason,
    tcgTbSizeMiB: config.hypervisor.qemu.tcgTbSizeMiB,
    memoryMiB: config.hypervisor.qemu.defaultMemoryMiB,
  };
}
