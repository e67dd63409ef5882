// A SandboxBackend of fakes, for tests: each VM asked for is a FakeVm, each agent connection a new FakeAgent; what
// was made is recorded so a test can crash the VM, script the agent or check the requests.
import { join } from "node:path";
import type { AgentApi } from "../agent/api/agent-api.js";
import { SHARE_TAG } from "../agent/api/guest-contract.js";
import { FakeAgent } from "../agent/client/fake-agent.js";
import { FakeVm } from "../hypervisor/fake-vm.js";
import type { SandboxBackend, VmRequest } from "./backend.js";

export interface MadeByFakes {
  vms: FakeVm[];
  agents: FakeAgent[];
  requests: VmRequest[];
}

/** A backend whose VMs' agent sockets would be under runRoot; `over` replaces any member (a failing step). */
export function fakeBackend(
  runRoot: string,
  over: Partial<SandboxBackend> = {},
): { backend: SandboxBackend; made: MadeByFakes } {
  const made: MadeByFakes = { vms: [], agents: [], requests: [] };
  const backend: SandboxBackend = {
    guestStorages: [
      { driver: "virtio-fs", source: SHARE_TAG, fstype: "virtiofs", options: [], mountPoint: "/run/shared" },
    ],
    kernelModules: [],
    startVm: async (req) => {
      made.requests.push(req);
      const vm = new FakeVm(
        req.sandboxId,
        { kind: "serial", path: join(runRoot, req.sandboxId, "agent.sock") },
        { vcpus: req.vcpus, memoryMiB: req.memoryMiB },
      );
      made.vms.push(vm);
      return vm;
    },
    connectAgent: async (): Promise<AgentApi> => {
      const agent = new FakeAgent();
      made.agents.push(agent);
      return agent;
    },
    ...over,
  };
  return { backend, made };
}
