// `hako check` rules for the accelerator: whether KVM runs a standard guest (a PVM host's /dev/kvm does not), and
// which accelerator the configuration will get. Pure: the probe's answer is passed in.
import type { HakoConfig } from "../../config/index.js";
import type { AccelProbe } from "../../hypervisor/accel.js";
import type { Accelerator } from "../../hypervisor/hypervisor.js";
import { type CheckItem, item } from "./item.js";

export function acceleratorItems(config: HakoConfig, probe: AccelProbe): { items: CheckItem[]; accel: Accelerator } {
  const items: CheckItem[] = [];
  const pvm = /kvm_pvm|PVM/.test(probe.reason);
  if (probe.usable === "kvm") items.push(item("kvm", "/dev/kvm", "ok", probe.reason));
  else {
    items.push(
      item(
        "kvm",
        "/dev/kvm",
        "warn",
        pvm ? `PVM host: ${probe.reason}` : probe.reason,
        pvm
          ? "standard guest kernels need hardware KVM: run on a host (or a VM with nested virtualization) whose CPU exposes vmx/svm with kvm_intel/kvm_amd loaded"
          : "load kvm_intel or kvm_amd (modprobe) on a CPU with vmx/svm, or enable nested virtualization in the outer hypervisor",
      ),
    );
  }
  const choice = config.hypervisor.qemu.accel;
  const accel: Accelerator = choice === "auto" ? probe.usable : choice;
  if (choice === "kvm" && probe.usable !== "kvm") {
    items.push(
      item(
        "accelerator",
        "accelerator",
        "fail",
        'accel = "kvm" is forced in the config but KVM cannot run a standard guest here',
        'set accel = "auto" (or "tcg") under [hypervisor.qemu]',
      ),
    );
  } else if (accel === "kvm") {
    items.push(
      item("accelerator", "accelerator", "ok", "kvm: hardware virtualization, sandboxes start in well under a second"),
    );
  } else {
    items.push(
      item(
        "accelerator",
        "accelerator",
        "warn",
        `tcg${choice === "tcg" ? " (forced by the config)" : ""}: QEMU emulates the guest CPU in software; a sandbox starts in seconds rather than under one, and CPU-heavy work in it runs several times slower`,
        choice === "tcg"
          ? 'set accel = "auto" to use KVM where it works'
          : "run on a host with hardware KVM for full speed",
      ),
    );
  }
  return { items, accel };
}
