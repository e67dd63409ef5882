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

/**
 * Plugs vCPUs, then memory, until the VM holds `want` (it never unplugs), each step onlined by the agent. `size` is
 * the VM's size now and is updated as each step lands (a failed memory step leaves the vCPUs counted); `plugged`
 * hears each step's from → to. Memory comes in whole hot-plug blocks, so it may end above `want`.
 */
export async function plugUpTo(
  vm: Vm,
  agent: AgentApi,
  size: VmSize,
  want: VmSize,
  plugged: (step: "vcpus" | "memory", from: number, to: number) => void = () => {},
): Promise<void> {
  if (want.vcpus > size.vcpus) {
    // At most up to the VM's maxcpus (Kata caps the same way): `now` may stay below what was asked.
    const now = await vm.hotplugVcpus(want.vcpus);
    if (now > size.vcpus) {
      await agent.onlineCpuMem(now - size.vcpus, true);
      plugged("vcpus", size.vcpus, now);
      size.vcpus = now;
    }
  }
  if (want.memoryMiB > size.memoryMiB) {
    const now = await vm.hotplugMemory(want.memoryMiB - size.memoryMiB);
    await agent.onlineCpuMem(0, false);
    plugged("memory", size.memoryMiB, now);
    size.memoryMiB = now;
  }
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
    const want = { vcpus: this.base.vcpus + sum.vcpus, memoryMiB: this.base.memoryMiB + sum.memoryMiB };
    await plugUpTo(this.vm, this.agent, this.size, want, (step, from, to) =>
      step === "vcpus"
        ? this.log.info("vcpus hot-plugged", { container: containerId, from, to })
        : this.log.info("memory hot-plugged", { container: containerId, fromMiB: from, toMiB: to }),
    );
    if (this.size.vcpus < want.vcpus) {
      this.log.warn("the VM has no room for more vCPUs (its maxcpus: default_maxvcpus, else the host's CPUs)", {
        container: containerId,
        wanted: want.vcpus,
        vcpus: this.size.vcpus,
      });
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
