// The VM's vCPUs and memory: its boot size, grown by hot-plug so that it holds the boot size plus the sum of every
// container's limits (Kata's updateResources with static_sandbox_resource_mgmt = false). It never shrinks: memory
// stays plugged when a container goes, as in Kata.
import type { AgentApi } from "../../agent/api/agent-api.js";
import type { Logger } from "../../common/log.js";
import type { Vm } from "../../hypervisor/hypervisor.js";
import type { OciLinuxResources } from "../../oci/spec.js";

export interface VmSize {
  vcpus: number;
  memoryMiB: number;
}

/** What one container's limits ask of the VM: CPU quota/period rounded up to whole vCPUs, memory to MiB. */
interface ContainerShare {
  vcpus: number;
  memoryMiB: number;
}

export class CpuMem {
  /** vCPUs and memory the VM has now (grown by hot-plug). */
  readonly size: VmSize;
  /** Each container's share, by container id: the VM is sized for their sum. */
  private readonly shares = new Map<string, ContainerShare>();

  constructor(
    /** The size the VM booted with: the base every container's limits are added to. */
    private readonly base: VmSize,
    private readonly vm: Vm,
    private readonly agent: AgentApi,
    private readonly log: Logger,
    /** The size now, when it grew before (a restored sandbox); the base otherwise. */
    now: VmSize = base,
  ) {
    this.size = { ...now };
  }

  /** The size the VM booted with. */
  get bootSize(): VmSize {
    return { ...this.base };
  }

  /**
   * Records a container's limits (new ones, or an update: a limit `r` leaves out keeps its earlier value) and plugs
   * vCPUs / memory until the VM holds its base size plus the sum over all containers. Returns whether the limits
   * named any size (the caller then persists the size).
   */
  async growFor(containerId: string, r: OciLinuxResources): Promise<boolean> {
    const quota = r.cpu?.quota ?? 0;
    const period = r.cpu?.period ?? 0;
    const limit = r.memory?.limit ?? 0;
    const before = this.shares.get(containerId) ?? { vcpus: 0, memoryMiB: 0 };
    this.shares.set(containerId, {
      vcpus: quota > 0 && period > 0 ? Math.ceil(quota / period) : before.vcpus,
      memoryMiB: limit > 0 ? Math.ceil(limit / (1024 * 1024)) : before.memoryMiB,
    });
    const sum = [...this.shares.values()].reduce((a, b) => ({
      vcpus: a.vcpus + b.vcpus,
      memoryMiB: a.memoryMiB + b.memoryMiB,
    }));
    const wantVcpus = this.base.vcpus + sum.vcpus;
    if (wantVcpus > this.size.vcpus) {
      const now = await this.vm.hotplugVcpus(wantVcpus);
      await this.agent.onlineCpuMem(now, true);
      this.log.info("vcpus hot-plugged", { container: containerId, from: this.size.vcpus, to: now });
      this.size.vcpus = now;
    }
    const wantMiB = this.base.memoryMiB + sum.memoryMiB;
    if (wantMiB > this.size.memoryMiB) {
      const now = await this.vm.hotplugMemory(wantMiB - this.size.memoryMiB);
      await this.agent.onlineCpuMem(0, false);
      this.log.info("memory hot-plugged", { container: containerId, fromMiB: this.size.memoryMiB, toMiB: now });
      this.size.memoryMiB = now;
    }
    return (quota > 0 && period > 0) || limit > 0;
  }

  /** A container's recorded share (persisted, so that a new owner sizes for the same sum). */
  shareOf(containerId: string): VmSize | undefined {
    const share = this.shares.get(containerId);
    return share && { ...share };
  }

  /** Takes a restored container's recorded share back, without plugging anything. */
  adoptShare(containerId: string, share: VmSize): void {
    this.shares.set(containerId, { vcpus: share.vcpus, memoryMiB: share.memoryMiB });
  }

  /** Forgets a removed container's share (the VM keeps its size: nothing is unplugged). */
  forget(containerId: string): void {
    this.shares.delete(containerId);
  }
}
