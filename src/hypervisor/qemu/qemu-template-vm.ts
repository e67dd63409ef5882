// Making a VM template: the template VM is a sandbox VM of the configuration's default size with nothing
// per-sandbox (no share, NIC or block device) whose RAM is a file in the template directory; once its agent
// answers, save() writes QEMU's device state beside that file and stops the VM. src/factory/ drives it.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Logger, silentLogger } from "../../common/log.js";
import type { HakoConfig } from "../../config/types.js";
import { type ShareDevice, ShareManager } from "../../sharefs/share-manager.js";
import { chooseAccelerator } from "../accel.js";
import type { Vm } from "../hypervisor.js";
import type { QemuPlan } from "./cmdline/build.js";
import { buildQemuArgs } from "./cmdline/build.js";
import { agentAddress } from "./qemu-hypervisor.js";
import { connectQmp, spawnQemu } from "./qemu-launch.js";
import { checkAssets, chooseChannel, qemuPlan } from "./qemu-plan.js";
import { templateUnsuitable } from "./qemu-template-start.js";
import { QemuVm } from "./qemu-vm.js";
import { vmPaths } from "./state-dir.js";
import { saveTemplateState, TEMPLATE_MEMORY, type TemplateInputs, templateInputs, templateKey } from "./template.js";

/** The plan of a template VM (or of the sandbox VMs that can clone it): default size, no share, no NIC. */
function templatePlan(config: HakoConfig, id: string, stateRoot: string, log: Logger): QemuPlan {
  const h = config.hypervisor.qemu;
  const paths = vmPaths(id, stateRoot);
  return qemuPlan({
    id,
    qemu: h,
    agent: config.agent,
    accel: chooseAccelerator(h.accel, log),
    vcpus: Math.max(1, h.defaultVcpus),
    memoryMiB: h.defaultMemoryMiB,
    // Its clones grow to their sandbox's size by hot-plug, and a clone's command line is the template's.
    mayGrow: true,
    template: true,
    pmem: checkAssets(h),
    channel: chooseChannel(h, paths),
    share: { kind: "none" },
    nics: [],
    paths,
  });
}

/** What a template for sandbox VMs of this configuration (default size) is keyed by. */
export function currentTemplateInputs(config: HakoConfig, logger: Logger): TemplateInputs {
  return templateInputs(templatePlan(config, "template-key", "/nonexistent", logger), config.hypervisor.qemu.path);
}

/**
 * Why sandboxes of this configuration never start from a template, whatever templates exist (machine type,
 * `shared_fs = "virtio-9p"`), or undefined. Per-pod reasons (too many NICs for the root ports) are not known here.
 */
export function templatesUnusable(config: HakoConfig): string | undefined {
  const plan = templatePlan(config, "template-key", "/nonexistent", silentLogger);
  const share: ShareDevice =
    config.hypervisor.qemu.sharedFs === "virtio-9p" ? { kind: "virtio-9p", path: "/nonexistent" } : { kind: "none" };
  return templateUnsuitable({ ...plan, share });
}

export interface TemplateVm extends Vm {
  readonly key: string;
  readonly inputs: TemplateInputs;
  /** Saves the device state next to the RAM file (the VM is left stopped: stop() it). */
  save(): Promise<void>;
}

/** Boots the template VM with its RAM in `dir`/memory; its sockets go under `stateRoot`/`id`. */
export async function startTemplateVm(
  config: HakoConfig,
  id: string,
  stateRoot: string,
  dir: string,
  logger: Logger,
): Promise<TemplateVm> {
  const log = logger.child({ subsystem: "qemu", sandbox: id });
  const h = config.hypervisor.qemu;
  const paths = vmPaths(id, stateRoot);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  // The caller (initTemplate) already said why KVM is not used, if it is not.
  const plan = templatePlan(config, id, stateRoot, silentLogger);
  const inputs = templateInputs(plan, h.path);
  const launched = spawnQemu([h.path, ...buildQemuArgs({ ...plan, memoryFile: join(dir, TEMPLATE_MEMORY) })]);
  writeFileSync(paths.qemuPid, `${launched.proc.pid}\n`);
  const share = await new ShareManager({
    sharedFs: "none",
    virtioFsDaemon: h.virtioFsDaemon,
    virtioFsCache: h.virtioFsCache,
    virtioFsExtraArgs: [],
    msize9p: h.msize9p,
    debug: false,
  }).start(
    { sandboxId: id, socketPath: paths.virtiofsdSocket, pidFile: paths.virtiofsdPid, logPath: paths.virtiofsdLog },
    log,
  );
  try {
    const qmp = await connectQmp(id, paths.qmpSocket, launched, 10_000, log);
    const vm = new QemuVm({
      id,
      stateRoot,
      paths,
      proc: launched.proc,
      qmp,
      agentAddress: agentAddress(plan.agent),
      accelerator: plan.accel,
      share,
      stderr: launched.stderr,
      state: {
        qmpSocket: paths.qmpSocket,
        pcieRootPorts: plan.pcieRootPorts,
        usedPorts: [],
        dimms: 0,
        memoryMiB: plan.memoryMiB,
        sharedMemory: true,
      },
      log,
    });
    return Object.assign(vm, {
      key: templateKey(inputs),
      inputs,
      save: () => saveTemplateState(vm.qmpControl(), dir),
    });
  } catch (err) {
    if (!launched.proc.gone) {
      launched.proc.kill("SIGKILL");
      await launched.proc.exited;
    }
    throw err;
  }
}
