// What a sandbox needs from the host, as one seam: the Hypervisor that prepares and starts its VM (the hypervisor's
// share manager serves the shared directory) and the dialer that connects to the agent inside it. sandboxBackend()
// wires the real ones from the configuration (the registry picks the driver by `hypervisor.kind`); tests pass fakes.
import type { AgentApi } from "../agent/api/agent-api.js";
import { waitForAgent } from "../agent/client/wait-for-agent.js";
import { Code, HakoError } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import { fileTail } from "../common/tail-buffer.js";
import type { HakoConfig } from "../config/types.js";
import type { Hypervisor, Vm, VmExit } from "../hypervisor/hypervisor.js";
import { hypervisorFor } from "../hypervisor/registry.js";

/** Connects to the agent of a started VM; resolves once the agent answers. */
export type AgentDialer = (vm: Vm, logger: Logger) => Promise<AgentApi>;

export interface SandboxBackend {
  readonly hypervisor: Hypervisor;
  readonly dialAgent: AgentDialer;
  /** Extra kernel modules for the guest (agent.kata kernel_modules). */
  readonly kernelModules: string[];
}

/**
 * Dials the agent at the VM's address, retrying until dial_timeout. A VM that exits meanwhile (a guest kernel panic
 * powers it off, `panic=1`) ends the wait at once: Unavailable, with the exit and the tail of its console log.
 */
export function agentDialer(config: HakoConfig): AgentDialer {
  return async (vm, logger) => {
    const gone = new AbortController();
    let dialing = true;
    void vm.exited.then((exit) => {
      if (dialing) gone.abort(vmExitedError(vm, exit));
    });
    try {
      return await waitForAgent(vm.agentAddress, {
        timeoutMs: Math.max(1, config.agent.dialTimeoutS) * 1000,
        logger: logger.child({ subsystem: "agent-client" }),
        signal: gone.signal,
      });
    } finally {
      dialing = false;
    }
  };
}

/** Console lines kept in the error when a VM dies before its agent answers. */
const CONSOLE_TAIL_BYTES = 1500;

function vmExitedError(vm: Vm, exit: VmExit): HakoError {
  const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
  const console = fileTail(vm.consoleLogPath, CONSOLE_TAIL_BYTES).trim();
  return new HakoError(
    Code.Unavailable,
    `the VM exited (${how}) before its agent answered; console log ${vm.consoleLogPath} ends:\n${console || "(empty)"}`,
  );
}

/** The real backend the configuration describes. */
export function sandboxBackend(config: HakoConfig): SandboxBackend {
  return {
    hypervisor: hypervisorFor(config),
    dialAgent: agentDialer(config),
    kernelModules: config.agent.kernelModules,
  };
}
