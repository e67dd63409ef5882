// What a sandbox needs from the host, as one seam: the shared filesystem daemon, the VM, the agent connection.
// qemu-backend.ts wires the real ones from the configuration; tests pass fakes.
import type { AgentApi, GuestStorage } from "../agent/client/agent-api.js";
import type { Logger } from "../common/log.js";
import type { Vm } from "../hypervisor/hypervisor.js";

export interface ShareHandle {
  /** How the guest mounts the share (undefined when no share daemon or device is used). */
  guestStorage: GuestStorage | undefined;
  pid: number | undefined;
  /** Resolves if the daemon dies; never for daemon-less shares. */
  readonly exited: Promise<unknown>;
  stop(): Promise<void>;
}

export interface VmRequest {
  sandboxId: string;
  stateDir: string;
  sharedDir: string;
  share: ShareHandle;
  vcpus: number;
  memoryMiB: number;
}

export interface SandboxBackend {
  startShare(sandboxId: string, sharedDir: string, stateDir: string, logger: Logger): Promise<ShareHandle>;
  startVm(req: VmRequest, logger: Logger): Promise<Vm>;
  connectAgent(vm: Vm, logger: Logger): Promise<AgentApi>;
  /** Extra kernel modules for the guest (agent.kata kernel_modules). */
  readonly kernelModules: string[];
}
