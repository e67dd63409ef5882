// A SandboxBackend of fakes, for tests: a FakeHypervisor (each VM asked for is a FakeVm) and an agent dialer whose
// every connection is a new FakeAgent; what was made is recorded so a test can crash the VM, script the agent or
// check the requests.
import { join } from "node:path";
import type { AgentApi } from "../agent/api/agent-api.js";
import { SHARE_TAG } from "../agent/api/guest-contract.js";
import { FakeAgent } from "../agent/client/fake-agent.js";
import { FakeHypervisor } from "../hypervisor/fake-hypervisor.js";
import type { FakeVm } from "../hypervisor/fake-vm.js";
import type { VmRequest } from "../hypervisor/hypervisor.js";
import type { SandboxBackend } from "./backend.js";

export interface MadeByFakes {
  hypervisor: FakeHypervisor;
  vms: FakeVm[];
  agents: FakeAgent[];
  requests: VmRequest[];
}

/** A backend whose VMs' agent sockets would be under runRoot; `over` replaces any member (a failing step). */
export function fakeBackend(
  runRoot: string,
  over: Partial<SandboxBackend> = {},
): { backend: SandboxBackend; made: MadeByFakes } {
  const hypervisor = new FakeHypervisor(
    [{ driver: "virtio-fs", source: SHARE_TAG, fstype: "virtiofs", options: [], mountPoint: "/run/shared" }],
    (id) => join(runRoot, id, "agent.sock"),
  );
  const made: MadeByFakes = { hypervisor, vms: hypervisor.vms, agents: [], requests: hypervisor.requests };
  const backend: SandboxBackend = {
    hypervisor,
    kernelModules: [],
    dialAgent: async (): Promise<AgentApi> => {
      const agent = new FakeAgent();
      made.agents.push(agent);
      return agent;
    },
    ...over,
  };
  return { backend, made };
}
