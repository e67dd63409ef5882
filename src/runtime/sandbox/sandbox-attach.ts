// The take-over counterpart of sandbox-boot.ts: from a persisted state, re-attaches to the running VM and its share
// daemon (Hypervisor.attach), dials the agent again, and works out what the Sandbox is built from (its options as
// created, its paths, its phase clock, the VM's size now). Nothing is undone on failure: a failed take-over must not
// stop what it could not reach, and the state still names the previous owner for a later restore or clean-up.
import type { AgentApi } from "../../agent/api/agent-api.js";
import { failedPrecondition } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import type { Vm } from "../../hypervisor/hypervisor.js";
import type { SandboxBackend } from "../backend.js";
import type { HostMounts } from "../host-mounts.js";
import { runDir, type SandboxPaths, sandboxPaths } from "../layout.js";
import type { VmSize } from "../resource/cpu-mem.js";
import type { SandboxStateV1 } from "../sandbox-state.js";
import { PhaseClock } from "./phase-clock.js";

export interface AttachRequest {
  backend: SandboxBackend;
  runRoot?: string;
  mounts?: HostMounts;
}

export interface Attached {
  vm: Vm;
  agent: AgentApi;
  paths: SandboxPaths;
  runRoot: string;
  /** Boot size and hot-plug as the sandbox was created with them. */
  boot: VmSize;
  hotplug: boolean;
  /** The VM's size now (grown by hot-plug). */
  size: VmSize;
  clock: PhaseClock;
}

/**
 * Errors: FailedPrecondition when the state names no VM handle (written before restore existed) or the VM is gone
 * (Hypervisor.attach); the dial's error when the agent does not answer.
 */
export async function attachSandbox(state: SandboxStateV1, req: AttachRequest, log: Logger): Promise<Attached> {
  const handle = state.vm?.handle;
  if (!state.vm || !handle) {
    throw failedPrecondition(`sandbox ${state.id}: its state names no VM to attach to (written by an older hako)`);
  }
  const runRoot = req.runRoot ?? runDir();
  const vm = await req.backend.hypervisor.attach(handle, log);
  const agent = await req.backend.dialAgent(vm, log);
  return {
    vm,
    agent,
    paths: sandboxPaths(state.id, runRoot),
    runRoot,
    boot: state.vm.boot ?? { vcpus: state.vm.vcpus, memoryMiB: state.vm.memoryMiB },
    hotplug: state.vm.hotplug ?? false,
    size: { vcpus: state.vm.vcpus, memoryMiB: state.vm.memoryMiB },
    clock: PhaseClock.resumed(new Date(state.createdAt), state.phases),
  };
}
