// The guest kernel, initrd and command line, and the parameters hako always passes.
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
];

export interface KernelParamsInput {
  debug: boolean;
  channel: "serial" | "vsock";
  /** Parameters from the config's kernel_params: they come last, so they win. */
  extra: readonly string[];
}

export function kernelParams(input: KernelParamsInput): string[] {
  const params = [...fastBootParams, "console=ttyS0"];
  params.push(input.debug ? "hako.debug=1" : "quiet");
  params.push(`hako.channel=${input.channel}`);
  return [...params, ...input.extra];
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
