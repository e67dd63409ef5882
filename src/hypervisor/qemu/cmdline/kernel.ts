// The guest kernel, initrd and command line, and the parameters hako always passes.
import { GUEST_PARAM } from "../../../agent/api/guest-contract.js";
import type { QemuDevice } from "./device.js";

/** Kata's x86 parameters for a fast boot: no timer/TSC calibration, no legacy probing, panic → exit. */
export const fastBootParams = [
  "tsc=reliable",
  "no_timer_check",
  "rcupdate.rcu_expedited=1",
  "i8042.direct=1",
  "i8042.dumbkbd=1",
  "i8042.nopnp=1",
  "i8042.noaux=1",
  "noreplace-smp",
  "reboot=k",
  "cryptomgr.notests",
  "panic=1",
  // Hot-plugged DIMMs come online as the kernel registers them, instead of racing the agent's onlining.
  "memhp_default_state=online",
];

/**
 * Guest memory savers, measured under TCG: `swiotlb=noforce` stops the kernel from zeroing a 64 MiB bounce buffer
 * that no virtio device uses (the hot-plug range above 4 GiB makes it think one may be needed), and
 * `init_on_alloc=0` stops it from zeroing every page it allocates (the distribution kernel's hardening default).
 */
export const leanGuestParams = ["swiotlb=noforce", "init_on_alloc=0"];

export interface KernelParamsInput {
  debug: boolean;
  channel: "serial" | "vsock";
  /** Parameters from the config's kernel_params: they come last, so they win. */
  extra: readonly string[];
  /**
   * The TSC frequency to trust, for guests that cannot calibrate it: microvm under TCG has no PIT speaker port,
   * HPET or ACPI PM timer, and without this the kernel hangs at timer set-up. TCG's TSC runs at the host's rate.
   */
  tscKhz?: number;
  /**
   * Loops per jiffy (`lpj=`): the delay-loop calibration every CPU would otherwise run as it comes up. The boot CPU
   * takes its value from the TSC, but a CPU brought up later (a vCPU hot-plugged into a clone grown to its pod's
   * size, or a second vCPU at boot) measures it against the timer tick: under TCG a hot-plugged vCPU took ~1.5 s to
   * come online that way, ~50 ms with the value given. The runtime gives it only where it knows the guest kernel's
   * tick rate (the assets' manifest) and the guest TSC runs at the host's (TCG): TSC kHz × 1000 / HZ.
   */
  lpj?: number;
  /**
   * Run the agent's node with --jitless (hako.jitless=1): under TCG every piece of code V8 compiles must be
   * translated again by QEMU, and the interpreter alone starts the agent about a second sooner.
   */
  jitless?: boolean;
  /**
   * The guest CPU is emulated (TCG): boot with `noapictimer`. Without a TSC-deadline timer (TCG has none) the kernel
   * calibrates the local APIC timer by waiting HZ/10 ticks of the PM timer, 100 ms of guest time that emulation
   * stretches; measured, `ctr run` starts ~0.13 s sooner without it. The HPET then drives the tick (broadcast to
   * every vCPU). Under KVM the guest has the host's TSC-deadline timer and calibrates nothing: not passed there.
   */
  emulatedCpu?: boolean;
  /**
   * A VM template's guest: it boots once and its clones stay up, so it keeps the local APIC timer (no
   * `noapictimer`) and pays the calibration once, in `hako factory init`. With the HPET broadcasting the tick the
   * kernel cannot stop it when idle (NO_HZ): an idle guest took 251 timer interrupts a second against 41 with
   * the local APIC timer (10 s of an idle container, TCG), each one a wake-up of QEMU.
   *
   * Its agent also starts from the bundle (`hako.snapshot=0`), not from the startup snapshot: node keeps the blob it
   * read (5.6 MiB) in its heap for as long as it runs, and every clone's RAM is a copy of the template's. Measured,
   * the template's memory file 48 → 44 MiB and the guest's AnonPages 16.9 → 11.8 MiB; the snapshot saves ~0.46 s of
   * a cold boot, which `hako factory init` pays once.
   */
  template?: boolean;
}

export function kernelParams(input: KernelParamsInput): string[] {
  const params = [...fastBootParams, ...leanGuestParams, "console=ttyS0"];
  params.push(input.debug ? `${GUEST_PARAM.debug}=1` : "quiet");
  params.push(`${GUEST_PARAM.channel}=${input.channel}`);
  if (input.tscKhz !== undefined) params.push(`tsc_early_khz=${input.tscKhz}`);
  if (input.lpj !== undefined) params.push(`lpj=${input.lpj}`);
  if (input.jitless) params.push(`${GUEST_PARAM.jitless}=1`);
  if (input.emulatedCpu && !input.template) params.push("noapictimer");
  if (input.template) params.push(`${GUEST_PARAM.snapshot}=0`);
  return [...params, ...input.extra];
}

/** The host's TSC frequency in kHz, from /proc/cpuinfo ("cpu MHz"), or undefined when unknown. */
export function hostTscKhz(cpuinfo: string): number | undefined {
  const mhz = /^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo)?.[1];
  return mhz === undefined ? undefined : Math.round(Number(mhz) * 1000);
}

export class Kernel implements QemuDevice {
  constructor(
    readonly kernel: string,
    readonly initrd: string | undefined,
    readonly params: readonly string[],
  ) {}

  args(): string[] {
    const out = ["-kernel", this.kernel];
    if (this.initrd !== undefined) out.push("-initrd", this.initrd);
    out.push("-append", this.params.join(" "));
    return out;
  }
}
