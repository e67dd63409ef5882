// The VM's vCPUs and memory: its boot size, grown by hot-plug when a container's limits are raised beyond it.
import type { AgentApi } from "../../agent/api/agent-api.js";
import type { Logger } from "../../common/log.js";
import type { Vm } from "../../hypervisor/hypervisor.js";
import type { OciLinuxResources } from "../../oci/spec.js";

export interface VmSize {
  vcpus: number;
  memoryMiB: number;
}

export class CpuMem {
  /** vCPUs and memory the VM has now (grown by hot-plug). */
  readonly size: VmSize;

  constructor(
    /** The size the VM booted with: the base every container's limits are added to. */
    private readonly base: VmSize,
    private readonly vm: Vm,
    private readonly agent: AgentApi,
    private readonly log: Logger,
  ) {
    this.size = { ...base };
  }

  /**
   * Plugs vCPUs / memory so the VM holds the sandbox's base size plus this container's new limits (CPU quota/period
   * rounded up to whole vCPUs, memory limit in bytes rounded up to MiB). Returns whether the limits named any size
   * (the caller then persists the size).
   */
  async growFor(r: OciLinuxResources): Promise<boolean> {
    const quota = r.cpu?.quota ?? 0;
    const period = r.cpu?.period ?? 0;
    if (quota > 0 && period > 0) {
      const want = this.base.vcpus + Math.ceil(quota / period);
      if (want > this.size.vcpus) {
        const now = await this.vm.hotplugVcpus(want);
        await this.agent.onlineCpuMem(now, true);
        this.log.info("vcpus hot-plugged", { from: this.size.vcpus, to: now });
        this.size.vcpus = now;
      }
    }
    const limit = r.memory?.limit ?? 0;
    if (limit > 0) {
      const want = this.base.memoryMiB + Math.ceil(limit / (1024 * 1024));
      if (want > this.size.memoryMiB) {
        const now = await this.vm.hotplugMemory(want - this.size.memoryMiB);
        await this.agent.onlineCpuMem(0, false);
        this.log.info("memory hot-plugged", { fromMiB: this.size.memoryMiB, toMiB: now });
        this.size.memoryMiB = now;
      }
    }
    return quota > 0 || limit > 0;
  }
}
