// Starting a sandbox's VM from a VM template (`[factory] enable_template`; template.ts says what a template holds):
// whether this VM may (same key, q35, a share that can be hot-plugged, enough PCIe root ports for the share, the
// NICs and the block devices), the clone's plan (the template's devices, RAM from a private copy of the template's,
// `-incoming defer`), and the steps once QMP answers (restore, drop the copy's name, hot-plug the share and the NICs:
// clone-devices.ts). A failed restore or hot-plug is a TemplateRestoreError: the driver then boots the VM instead.
import { rmSync } from "node:fs";
import { Code, HakoError } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import type { FactoryConfig } from "../../config/types.js";
import type { ShareDevice } from "../../sharefs/share-manager.js";
import { clonePorts, plugCloneDevices } from "./clone-devices.js";
import type { QemuPlan } from "./cmdline/build.js";
import { dimmSizeMiB } from "./hotplug.js";
import type { QemuVm } from "./qemu-vm.js";
import {
  copyTemplateMemory,
  findTemplate,
  markTemplateBroken,
  restoreTemplateState,
  templateInputs,
} from "./template.js";

/** A clone restores the template into `plan`: the request's own, or its default-size twin (then grown). */
export type StartMode = { kind: "cold" } | { kind: "clone"; dir: string; key: string; plan: QemuPlan };

/** A clone whose restore failed: the driver cleans it up and boots the VM instead. */
export class TemplateRestoreError extends HakoError {}

/**
 * Why this VM cannot come from a template at all (whatever templates exist), or undefined. A clone hot-plugs its
 * share and NICs into PCIe root ports (a cold boot puts NICs on the root bus), and `blockDevices` more are
 * hot-plugged after the start either way, so all of them must fit in pcie_root_port.
 */
export function templateUnsuitable(plan: QemuPlan, blockDevices = 0): string | undefined {
  if (plan.machine !== "q35") {
    return `machine ${plan.machine} has no PCIe root ports to hot-plug a clone's devices into (templates need q35)`;
  }
  if (plan.share.kind === "virtio-9p") return "shared_fs = virtio-9p cannot be hot-plugged (use virtio-fs)";
  const ports = clonePorts(plan) + blockDevices;
  if (ports > plan.pcieRootPorts) {
    const share = plan.share.kind === "virtio-fs" ? "the share, " : "";
    return (
      `pcie_root_port = ${plan.pcieRootPorts} is too few for a clone: ${share}${plan.nics.length} NIC(s) and ` +
      `${blockDevices} block device(s) need ${ports} (raise pcie_root_port, then hako factory init)`
    );
  }
  return undefined;
}

/** The memory a VM planned as `small` has once grown to `plan`'s: DIMMs add whole 128 MiB blocks (MiB). */
export function grownMemoryMiB(small: QemuPlan, plan: QemuPlan): number {
  return plan.memoryMiB > small.memoryMiB
    ? small.memoryMiB + dimmSizeMiB(plan.memoryMiB - small.memoryMiB)
    : small.memoryMiB;
}

/**
 * Why a VM planned as `small` cannot be grown by hot-plug into one planned as `plan`, or undefined when it can:
 * it must be no bigger in either, and have room for the vCPUs (maxcpus) and for the memory as it is plugged, in
 * 128 MiB blocks (maxmem, DIMM slots).
 */
export function growthRefusal(small: QemuPlan, plan: QemuPlan): string | undefined {
  if (small.vcpus > plan.vcpus || small.memoryMiB > plan.memoryMiB) {
    return `it is bigger (${small.vcpus} vCPUs, ${small.memoryMiB} MiB) than this VM (${plan.vcpus}, ${plan.memoryMiB} MiB)`;
  }
  if (plan.vcpus > small.maxVcpus) {
    return `it can grow to ${small.maxVcpus} vCPUs (maxcpus: default_maxvcpus, else the host's CPUs), this VM has ${plan.vcpus}`;
  }
  const memory = grownMemoryMiB(small, plan);
  if (memory > small.maxMemoryMiB) {
    return `grown in 128 MiB blocks its memory would be ${memory} MiB, above maxmem (${small.maxMemoryMiB} MiB)`;
  }
  if (memory > small.memoryMiB && small.memorySlots === 0) return "memory_slots = 0 leaves no DIMM slot to grow it";
  return undefined;
}

/**
 * Cold unless templates are enabled and one fits this plan; says why not (warning) when enabled. A template of the
 * plan's own inputs fits; so does one of `defaultSize` (the plan at the configuration's default size, what `hako
 * factory init` makes) when the plan only asks for more vCPUs or memory than that: the clone is then grown by
 * hot-plug (Vm.startedSmaller). `blockDevices`: how many block devices the start hot-plugs after the VM runs.
 */
export function chooseStart(
  factory: FactoryConfig | undefined,
  plan: QemuPlan,
  qemuBinary: string,
  log: Logger,
  blockDevices = 0,
  defaultSize?: QemuPlan,
): StartMode {
  if (!factory?.enableTemplate) return { kind: "cold" };
  const unsuitable = templateUnsuitable(plan, blockDevices);
  const found = unsuitable ? undefined : findTemplate(factory.templatePath, templateInputs(plan, qemuBinary));
  if (found?.ok) return { kind: "clone", dir: found.dir, key: found.info.key, plan };
  let reason = unsuitable ?? (found?.ok ? "" : found?.reason);
  const resized = defaultSize && (defaultSize.vcpus !== plan.vcpus || defaultSize.memoryMiB !== plan.memoryMiB);
  if (!unsuitable && defaultSize && resized) {
    // The default-size template is the one this VM would grow from: why it cannot (too big to grow into, broken,
    // missing) says more than the sizes this VM's own inputs differ in.
    const refusal = growthRefusal(defaultSize, plan);
    const small = refusal ? undefined : findTemplate(factory.templatePath, templateInputs(defaultSize, qemuBinary));
    if (small?.ok) return { kind: "clone", dir: small.dir, key: small.info.key, plan: defaultSize };
    reason = refusal ? `the default-size VM template cannot grow into this VM: ${refusal}` : small?.reason;
  }
  log.warn("VM template not used: booting the VM", { reason });
  return { kind: "cold" };
}

/** Where a clone's private copy of the template RAM lives while QEMU opens it: tmpfs, unlinked right after. */
export const cloneMemoryPath = (id: string) => `/dev/shm/hako-clone-${id}.mem`;

export interface ClonePlan {
  plan: QemuPlan;
  /** Restores the template into the started QEMU and hot-plugs the share and NICs; throws TemplateRestoreError. */
  finish(vm: QemuVm, share: ShareDevice, log: Logger): Promise<void>;
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
    // The template has neither share nor NIC: the command line must match its devices for the restore. QEMU still
    // inherits the macvtap fds (the plan's NICs name them) and opens the taps by name once they are hot-plugged.
    plan: { ...plan, share: { kind: "none" }, nics: [], memoryFile: memory, incoming: true },
    discard,
    finish: async (vm, share, log) => {
      try {
        await restoreTemplateState(vm.qmpControl(), mode.dir);
      } catch (err) {
        // QEMU read the template's files and failed (or died on them): later sandboxes must not try it again. A
        // restore that only ran out of time (a loaded host) and a failed hot-plug below say nothing about the files.
        if (!(err instanceof HakoError && err.code === Code.DeadlineExceeded)) {
          // QMP only sees the connection close when QEMU gives up on the file; QEMU's own line says why.
          const qemuSaid = await vm.lastStderrLine(1000);
          const why = err instanceof Error ? err.message : String(err);
          markTemplateBroken(mode.dir, qemuSaid ? `${qemuSaid} (${why})` : why, log);
        }
        throw new TemplateRestoreError(Code.Internal, `restoring template ${mode.dir} failed`, { cause: err });
      } finally {
        // QEMU has the RAM mapped (or failed): the file need not outlive it (nothing to clean up if the VM dies).
        discard();
      }
      try {
        await plugCloneDevices(vm.qmpControl(), (what) => vm.claimPort(what), { share, nics: plan.nics }, log);
      } catch (err) {
        const msg = `hot-plugging the devices of the clone of template ${mode.dir} failed`;
        throw new TemplateRestoreError(Code.Internal, msg, { cause: err });
      }
      log.info("sandbox VM started from VM template", { template: mode.key, dir: mode.dir });
    },
  };
}
