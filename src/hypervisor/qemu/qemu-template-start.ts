// Starting a sandbox's VM from a VM template (`[factory] enable_template`; template.ts says what a template holds):
// whether this VM may (same key, a machine and share that can be hot-plugged, no NICs yet), the clone's plan (the
// template's devices, RAM from a private copy of the template's, `-incoming defer`), and the steps once QMP answers
// (restore, drop the copy's name, hot-plug the share). A failed restore is a TemplateRestoreError: the driver then
// boots the VM instead.
import { rmSync } from "node:fs";
import { Code, HakoError } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import type { FactoryConfig } from "../../config/types.js";
import type { ShareDevice } from "../../sharefs/share-manager.js";
import type { QemuPlan } from "./cmdline/build.js";
import type { QemuVm } from "./qemu-vm.js";
import { copyTemplateMemory, findTemplate, hotplugVirtioFs, restoreTemplateState, templateInputs } from "./template.js";

export type StartMode = { kind: "cold" } | { kind: "clone"; dir: string; key: string };

/** A clone whose restore failed: the driver cleans it up and boots the VM instead. */
export class TemplateRestoreError extends HakoError {}

/** Why this VM cannot come from a template at all (whatever templates exist), or undefined. */
export function templateUnsuitable(plan: QemuPlan): string | undefined {
  if (plan.machine !== "q35") return `machine ${plan.machine} has no PCIe root port to hot-plug the share into`;
  if (plan.share.kind === "virtio-9p") return "shared_fs = virtio-9p cannot be hot-plugged (use virtio-fs)";
  if (plan.nics.length > 0) return "NICs are not hot-plugged into clones yet";
  if (plan.share.kind === "virtio-fs" && plan.pcieRootPorts < 1)
    return "pcie_root_port = 0 leaves no port for the share";
  return undefined;
}

/** Cold unless templates are enabled and one matches this plan; says why not (warning) when enabled. */
export function chooseStart(
  factory: FactoryConfig | undefined,
  plan: QemuPlan,
  qemuBinary: string,
  log: Logger,
): StartMode {
  if (!factory?.enableTemplate) return { kind: "cold" };
  const unsuitable = templateUnsuitable(plan);
  const found = unsuitable ? undefined : findTemplate(factory.templatePath, templateInputs(plan, qemuBinary));
  if (found?.ok) return { kind: "clone", dir: found.dir, key: found.info.key };
  log.warn("VM template not used: booting the VM", { reason: unsuitable ?? (found?.ok ? "" : found?.reason) });
  return { kind: "cold" };
}

/** Where a clone's private copy of the template RAM lives while QEMU opens it: tmpfs, unlinked right after. */
export const cloneMemoryPath = (id: string) => `/dev/shm/hako-clone-${id}.mem`;

export interface ClonePlan {
  plan: QemuPlan;
  /** Restores the template into the started QEMU and hot-plugs the share; throws TemplateRestoreError. */
  finish(vm: QemuVm, share: ShareDevice): Promise<void>;
  /** Removes the RAM copy if it still has a name (idempotent). */
  discard(): void;
}

export async function clonePlan(plan: QemuPlan, mode: { dir: string; key: string }): Promise<ClonePlan> {
  const memory = cloneMemoryPath(plan.id);
  const discard = () => rmSync(memory, { force: true });
  try {
    await copyTemplateMemory(mode.dir, memory);
  } catch (err) {
    discard();
    throw new TemplateRestoreError(Code.Internal, `copying the RAM of template ${mode.dir} failed`, { cause: err });
  }
  return {
    plan: { ...plan, share: { kind: "none" }, memoryFile: memory, incoming: true },
    discard,
    finish: async (vm, share) => {
      try {
        await restoreTemplateState(vm.qmpControl(), mode.dir);
        // QEMU has the RAM mapped: the file need not outlive it (nothing to clean up if the VM dies).
        discard();
        if (share.kind === "virtio-fs")
          await hotplugVirtioFs(vm.qmpControl(), share.socketPath, vm.claimPort("the share"));
      } catch (err) {
        throw new TemplateRestoreError(Code.Internal, `restoring template ${mode.dir} failed`, { cause: err });
      }
    },
  };
}
