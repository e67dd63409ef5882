// Boots a sandbox's host side and guest: the share's mount point, the pod network (wired before the VM, configured
// in the guest after CreateSandbox), the VM (the hypervisor prepares it, with its share daemon and NICs, then starts
// it), the agent connection, the guest sandbox and the state directory. Each step that succeeded pushes its undo; if
// a later step fails, the undo steps run in reverse.
import { randomBytes } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import type { AgentApi } from "../../agent/api/agent-api.js";
import { Code, HakoError } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import type { Vm } from "../../hypervisor/hypervisor.js";
import { type NetworkModel, type NetworkSetup, noNetwork } from "../../network/network-model.js";
import { applyGuestNetwork, dnsLines, unwirePodNetwork, wirePodNetwork } from "../../network/pod-network.js";
import type { OciSpec } from "../../oci/spec.js";
import type { SandboxBackend } from "../backend.js";
import type { HostMounts } from "../host-mounts.js";
import type { SandboxPaths } from "../layout.js";
import { plugUpTo, type VmSize } from "../resource/cpu-mem.js";
import type { PhaseClock } from "./phase-clock.js";

export interface BootRequest {
  id: string;
  backend: SandboxBackend;
  mounts: HostMounts;
  paths: SandboxPaths;
  /** Root of the sandbox's host state (paths.stateDir's parent). */
  runRoot: string;
  vcpus: number;
  memoryMiB: number;
  /** Containers may grow the VM by hot-plug (hot-plug sizing, not static). */
  mayGrow: boolean;
  hostname: string;
  /** Wire the pod netns the sandbox spec names with this model; absent: the VM gets no NIC (unit tests). */
  network?: { model: NetworkModel; spec: OciSpec };
}

export interface Booted {
  vm: Vm;
  agent: AgentApi;
  network: NetworkSetup;
  /** The VM's size when it is not the request's: a clone grown in 128 MiB memory blocks can hold more. */
  grownTo?: VmSize;
}

/**
 * A VM restored from a template wakes with the template's wall clock (stopped when it was saved) and CRNG state
 * (the same in every clone): set the clock and reseed the RNG from the host before any container runs. The
 * hostname and MACs are per sandbox already (CreateSandbox, the NICs it is given).
 */
async function giveCloneItsIdentity(agent: AgentApi, template: string, log: Logger): Promise<void> {
  await Promise.all([agent.reseedRandomDev(randomBytes(512)), agent.setGuestDateTime(new Date())]);
  log.debug("clone of a VM template reseeded and its clock set", { template });
}

/**
 * A clone of a default-size VM template, for a sandbox sized for more (its pod's limits with static sizing), is
 * grown to the requested size by hot-plug before any container runs, as a VM grows for a container's limits.
 */
async function growCloneToRequest(vm: Vm, agent: AgentApi, want: VmSize, log: Logger): Promise<VmSize | undefined> {
  const from = vm.startedSmaller;
  if (!from) return undefined;
  const size = { ...from };
  await plugUpTo(vm, agent, size, want);
  log.info("clone of a VM template grown to the sandbox's size", { from, to: size });
  return size;
}

/** Runs the boot steps; on failure undoes what was done and throws the cause wrapped as Internal (code kept). */
export async function bootSandbox(req: BootRequest, clock: PhaseClock, log: Logger): Promise<Booted> {
  const { paths, backend, mounts } = req;
  const undo: { what: string; run: () => Promise<unknown> }[] = [];
  try {
    await mounts.makeSharedMountPoint(paths.sharedDir);
    undo.push({
      what: "unmount and remove the shared directory",
      run: async () => {
        await mounts.unmountAll(paths.sharedDir);
        await rm(paths.sharedDir, { recursive: true, force: true });
      },
    });
    let network = noNetwork("none");
    if (req.network) {
      const { model, spec } = req.network;
      network = await wirePodNetwork({ sandboxId: req.id, spec, model, recordPath: paths.networkRecord }, log);
      undo.push({ what: "unwire the pod network", run: () => unwirePodNetwork(paths.networkRecord, log, () => model) });
      clock.mark("network-wired");
    }
    const prepared = await backend.hypervisor.prepare(
      {
        sandboxId: req.id,
        sharedDir: paths.sharedDir,
        stateRoot: req.runRoot,
        vcpus: req.vcpus,
        memoryMiB: req.memoryMiB,
        mayGrow: req.mayGrow,
        ...(network.endpoints.length > 0
          ? {
              network: {
                netns: network.netns,
                nics: network.endpoints.map((e) => ({
                  tap: e.tap,
                  mac: e.mac,
                  mtu: e.mtu,
                  ...(e.device ? { device: e.device } : {}),
                })),
              },
            }
          : {}),
      },
      log,
    );
    clock.mark("vm-prepared");
    const vm = await prepared.start();
    undo.push({ what: "stop the VM", run: () => vm.stop() });
    clock.mark("vm-started");
    const agent = await backend.dialAgent(vm, log);
    undo.push({ what: "close the agent connection", run: async () => agent.close() });
    clock.mark("agent-ready");
    // A clone's identity and CreateSandbox go out together: the agent serves them in order of arrival, and no
    // container runs before both are done, so waiting for one reply before sending the next only adds round trips.
    const [, grownTo] = await Promise.all([
      vm.fromTemplate !== undefined ? giveCloneItsIdentity(agent, vm.fromTemplate, log) : undefined,
      growCloneToRequest(vm, agent, { vcpus: req.vcpus, memoryMiB: req.memoryMiB }, log),
      agent.createSandbox({
        sandboxId: req.id,
        hostname: req.hostname,
        dns: dnsLines(network.guest.dns),
        storages: prepared.guestStorages,
        kernelModules: backend.kernelModules,
      }),
    ]);
    clock.mark("sandbox-created");
    if (network.guest.interfaces.length > 0) {
      await applyGuestNetwork(agent, network.guest, log);
      clock.mark("network-ready");
    }
    // The VM backend may keep its files elsewhere (or nowhere: the fake), so the state dir is made here.
    await mkdir(paths.stateDir, { recursive: true, mode: 0o700 });
    return { vm, agent, network, ...(grownTo ? { grownTo } : {}) };
  } catch (err) {
    log.error("sandbox creation failed, cleaning up", { err });
    // Each step runs even if one before it failed; a failure is logged, as it may leave a mount or a VM behind.
    for (const step of undo.reverse()) {
      await step
        .run()
        .catch((undoErr) =>
          log.error("rollback step failed; it may have left something behind", { step: step.what, err: undoErr }),
        );
    }
    throw HakoError.from(err, Code.Internal, `creating sandbox ${req.id}`);
  }
}
