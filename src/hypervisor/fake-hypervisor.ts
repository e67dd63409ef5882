// A Hypervisor that runs nothing, for runtime unit tests: prepare() and start() record the request and hand out a
// FakeVm; attach() gives a FakeVm back for a persisted one it started; cleanupStale() records the id. A test can
// make a step fail (failOn) to exercise the runtime's undo paths.
import type { GuestStorage } from "../agent/api/agent-api.js";
import { Code, HakoError } from "../common/errors.js";
import { FakeVm } from "./fake-vm.js";
import type { Hypervisor, PersistedVm, PreparedVm, StaleCleanup, Vm, VmRequest } from "./hypervisor.js";

export type FakeStep = "prepare" | "start" | "attach";

export class FakeHypervisor implements Hypervisor {
  readonly kind = "qemu" as const;
  readonly requests: VmRequest[] = [];
  readonly vms: FakeVm[] = [];
  /** Sandboxes whose prepare() was undone by abort(). */
  readonly aborted: string[] = [];
  readonly cleaned: string[] = [];
  failOn: FakeStep | undefined;
  /** Start VMs at this size instead of the request's, as a clone of a default-size VM template (startedSmaller). */
  cloneAt: { vcpus: number; memoryMiB: number } | undefined;

  constructor(
    readonly guestStorages: GuestStorage[] = [],
    private readonly agentSocket: (id: string) => string = (id) => `/run/hako/${id}/agent.sock`,
  ) {}

  private step(what: FakeStep): void {
    if (this.failOn === what) throw new HakoError(Code.Internal, `fake hypervisor: ${what} failed`);
  }

  async prepare(req: VmRequest): Promise<PreparedVm> {
    this.step("prepare");
    this.requests.push(req);
    let started = false;
    return {
      guestStorages: this.guestStorages,
      start: async () => {
        started = true;
        this.step("start");
        const vm = new FakeVm(
          req.sandboxId,
          { kind: "serial", path: this.agentSocket(req.sandboxId) },
          this.cloneAt ?? { vcpus: req.vcpus, memoryMiB: req.memoryMiB },
        );
        if (this.cloneAt) vm.startedSmaller = { ...this.cloneAt };
        for (const dev of req.devices ?? []) await vm.hotplugBlock(dev);
        this.vms.push(vm);
        return vm;
      },
      abort: async () => {
        if (!started) this.aborted.push(req.sandboxId);
      },
    };
  }

  async attach(persisted: PersistedVm): Promise<Vm> {
    this.step("attach");
    const vm = this.vms.find((v) => v.id === persisted.id && v.pid === persisted.pid && v.state !== "stopped");
    if (!vm) throw new HakoError(Code.FailedPrecondition, `vm of sandbox ${persisted.id} is not running`);
    return vm;
  }

  async cleanupStale(id: string): Promise<StaleCleanup> {
    this.cleaned.push(id);
    return { killed: [], removedDir: false };
  }
}
