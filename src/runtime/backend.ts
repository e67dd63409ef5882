// What a sandbox needs from the host, as one seam: the Hypervisor that prepares and starts its VM (the hypervisor's
// share manager serves the shared directory) and the dialer that connects to the agent inside it. sandboxBackend()
// wires the real ones from the configuration (the registry picks the driver by `hypervisor.kind`); tests pass fakes.
import type { AgentApi } from "../agent/api/agent-api.js";
import { waitForAgent } from "../agent/client/wait-for-agent.js";
import type { Logger } from "../common/log.js";
import type { HakoConfig } from "../config/types.js";
import type { Hypervisor, Vm } from "../hypervisor/hypervisor.js";
import { hypervisorFor } from "../hypervisor/registry.js";

/** Connects to the agent of a started VM; resolves once the agent answers. */
export type AgentDialer = (vm: Vm, logger: Logger) => Promise<AgentApi>;

export interface SandboxBackend {
  readonly hypervisor: Hypervisor;
  readonly dialAgent: AgentDialer;
  /** Extra kernel modules for the guest (agent.kata kernel_modules). */
  readonly kernelModules: string[];
}

/** Dials the agent at the VM's address, retrying until dial_timeout. */
export function agentDialer(config: HakoConfig): AgentDialer {
  return (vm, logger) =>
    waitForAgent(vm.agentAddress, {
      timeoutMs: Math.max(1, config.agent.dialTimeoutS) * 1000,
      logger: logger.child({ subsystem: "agent-client" }),
    });
}

/** The real backend the configuration describes. */
export function sandboxBackend(config: HakoConfig): SandboxBackend {
  return {
    hypervisor: hypervisorFor(config),
    dialAgent: agentDialer(config),
    kernelModules: config.agent.kernelModules,
  };
}
