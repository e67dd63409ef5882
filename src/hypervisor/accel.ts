// Decides whether QEMU can use KVM on this host, and says why not when it cannot. `hako check` prints the reason.
//
// Why not simply "does /dev/kvm open": on a PVM host (kvm_pvm module) /dev/kvm is a software KVM that runs only
// PVM-enabled guest kernels. It answers every ioctl, and even a tiny real-mode guest (`hlt` at 0x1000) exits with
// KVM_EXIT_HLT through KVM_RUN, so a KVM_RUN probe cannot tell it apart; a standard kernel then hangs or faults at
// boot. What does tell it apart: which module provides /dev/kvm. Hardware KVM is kvm_intel or kvm_amd, and those
// need the CPU's vmx/svm flag; kvm_pvm (or no vendor module, or no flag) means no usable KVM for standard guests.
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../common/log.js";
import type { AccelChoice } from "../config/types.js";
import type { Accelerator } from "./hypervisor.js";

export interface AccelProbe {
  /** The accelerator a standard guest kernel can use here. */
  usable: Accelerator;
  /** One sentence: why KVM is or is not usable. */
  reason: string;
}

/** `root` lets tests point the probe at a fake /dev, /sys and /proc tree. */
export function probeAccelerator(root = "/"): AccelProbe {
  const at = (p: string) => join(root, p);
  if (!existsSync(at("dev/kvm"))) return { usable: "tcg", reason: "/dev/kvm does not exist" };
  try {
    accessSync(at("dev/kvm"), constants.R_OK | constants.W_OK);
  } catch {
    return { usable: "tcg", reason: "/dev/kvm is not readable and writable by this user" };
  }
  if (existsSync(at("sys/module/kvm_pvm"))) {
    return {
      usable: "tcg",
      reason: "/dev/kvm is provided by kvm_pvm (PVM), which runs only PVM-enabled guest kernels, not standard ones",
    };
  }
  const vendor = ["kvm_intel", "kvm_amd"].find((m) => existsSync(at(`sys/module/${m}`)));
  if (!vendor)
    return { usable: "tcg", reason: "neither kvm_intel nor kvm_amd is loaded: /dev/kvm is not hardware KVM" };
  const flags = cpuFlags(at("proc/cpuinfo"));
  const wanted = vendor === "kvm_intel" ? "vmx" : "svm";
  if (!flags.has(wanted)) {
    return { usable: "tcg", reason: `${vendor} is loaded but the CPU does not expose ${wanted}` };
  }
  return { usable: "kvm", reason: `hardware KVM via ${vendor} (${wanted})` };
}

function cpuFlags(path: string): Set<string> {
  try {
    const text = readFileSync(path, "utf8");
    const line = text.split("\n").find((l) => l.startsWith("flags"));
    return new Set((line?.split(":")[1] ?? "").trim().split(/\s+/));
  } catch {
    return new Set();
  }
}

/** Applies the config's `accel` choice: forced values win, `auto` follows the probe and warns when it falls back. */
export function chooseAccelerator(choice: AccelChoice, logger: Logger, probe: () => AccelProbe = probeAccelerator) {
  if (choice === "tcg") return "tcg";
  const found = probe();
  if (choice === "kvm") {
    if (found.usable !== "kvm")
      logger.warn("accel = kvm is forced although the probe says otherwise", { reason: found.reason });
    return "kvm";
  }
  if (found.usable === "tcg") {
    logger.warn("KVM is not usable, running guests under TCG (slower)", { reason: found.reason });
  }
  return found.usable;
}
