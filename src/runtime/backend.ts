// What a sandbox needs from the host, as one seam: a VM (with its share daemon) and the agent connection.
// qemu-backend.ts wires the real ones from the configuration; tests pass fakes.
import type { AgentApi, GuestStorage } from "../agent/api/agent-api.js";
import type { Logger } from "../common/log.js";
import type { Vm } from "../hypervisor/hypervisor.js";
import type { Endpoint } from "../network/network-model.js";

export interface VmRequest {
  sandboxId: string;
  /** Host directory exported to the guest. */
  sharedDir: string;
  /** Root of the sandbox's host state: a VM that keeps files (sockets, pid files) puts them in <stateRoot>/<id>. */
  stateRoot: string;
  vcpus: number;
  memoryMiB: number;
  /** The pod network: the VM runs in `netns` with one NIC per endpoint (absent: no NIC). */
  network?: { netns: string; endpoints: Endpoint[] };
}

export interface SandboxBackend {
  startVm(req: VmRequest, logger: Logger): Promise<Vm>;
  connectAgent(vm: Vm, logger: Logger): Promise<AgentApi>;
  /** How the guest mounts the shared directory (empty when nothing is shared). */
  readonly guestStorages: GuestStorage[];
  /** Extra kernel modules for the guest (agent.kata kernel_modules). */
  readonly kernelModules: string[];
}
