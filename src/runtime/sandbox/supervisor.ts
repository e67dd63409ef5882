// Watches a running sandbox for what nobody asked for: the VM dying, the share daemon dying (the VM is then stopped,
// its containers cannot reach their files) and containers hitting their memory limit (the agent's OOM long-poll).
import type { AgentApi } from "../../agent/api/agent-api.js";
import { Code, HakoError } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import type { Vm, VmExit } from "../../hypervisor/hypervisor.js";

/** Wait before asking the agent for OOM events again after a failure, in ms: the first, doubled up to the last. */
export const OOM_RETRY_MS = { first: 1000, max: 30_000 };

export interface SupervisorHooks {
  /** True once the sandbox is being stopped on request: nothing seen after that is a fault. */
  stopping(): boolean;
  /** The VM died without being asked to stop; the agent connection is already closed. */
  vmDied(exit: VmExit): void;
  oom(containerId: string): void;
}

export class Supervisor {
  /** Set once the VM has exited, asked to or not. */
  vmDead = false;

  constructor(
    private readonly vm: Vm,
    private readonly agent: AgentApi,
    private readonly log: Logger,
    private readonly hooks: SupervisorHooks,
  ) {}

  /** Set when the share daemon died: the VM is then stopped on purpose, yet its processes died of a fault. */
  private shareDied = false;

  start(): void {
    void this.vm.exited.then((exit) => {
      this.vmDead = true;
      if ((exit.requested && !this.shareDied) || this.hooks.stopping()) return;
      this.log.error("vm died", { code: exit.code, signal: exit.signal, console: this.vm.consoleLogPath });
      this.agent.close();
      this.hooks.vmDied(exit);
    });
    void this.vm.shareDaemonFailure.then((err) => {
      if (this.hooks.stopping()) return;
      this.log.error("share daemon died; stopping the VM, its containers cannot reach their files", { err });
      this.shareDied = true;
      void this.vm.stop();
    });
    void this.watchOom();
  }

  /**
   * The agent's OOM long-poll, asked again after each event. A failed poll is logged once (then again only after a
   * poll succeeded) and retried with back-off; an agent without OOM events (Unimplemented) or gone (Unavailable)
   * ends the watch.
   */
  private async watchOom(): Promise<void> {
    let retryMs = OOM_RETRY_MS.first;
    let failing = false;
    while (!this.hooks.stopping()) {
      try {
        const id = await this.agent.getOomEvent();
        failing = false;
        retryMs = OOM_RETRY_MS.first;
        this.log.warn("container hit its memory limit (oom kill)", { container: id });
        this.hooks.oom(id);
      } catch (err) {
        if (this.hooks.stopping()) return;
        if (err instanceof HakoError && err.code === Code.Unimplemented) return;
        if (err instanceof HakoError && err.code === Code.Unavailable) return;
        if (!failing) this.log.warn("oom events unavailable; retrying with back-off", { err, retryMs });
        failing = true;
        await new Promise((r) => setTimeout(r, retryMs));
        retryMs = Math.min(retryMs * 2, OOM_RETRY_MS.max);
      }
    }
  }
}
