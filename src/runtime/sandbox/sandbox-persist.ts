// A sandbox's state file: what goes in it (sandboxState), and the writer that keeps one write at a time, each taking
// the state as it is when it runs, so the file never goes back to an older state when requests finish out of order.

import { ProcessStatus } from "../../agent/api/process-status.js";
import type { Logger } from "../../common/log.js";
import type { Vm } from "../../hypervisor/hypervisor.js";
import type { Container } from "../container.js";
import type { SandboxPaths } from "../layout.js";
import type { ContainerProcess } from "../process.js";
import type { VmSize } from "../resource/cpu-mem.js";
import { type PersistedExit, type SandboxStateV1, writeSandboxState } from "../sandbox-state.js";

export interface SandboxFacts {
  id: string;
  namespace: string;
  startedAt: Date;
  paths: SandboxPaths;
  vm: Vm;
  size: VmSize;
  bootSize: VmSize;
  hotplug: boolean;
  metricsSocket: string | undefined;
  containers: Iterable<Container>;
  /** A container's share of the hot-plug sizing, if one is recorded. */
  limitsOf(containerId: string): VmSize | undefined;
  leftoverMounts: readonly string[];
  phases: Record<string, number>;
}

/** The persisted form of a running sandbox; this process is recorded as its owner. */
export function sandboxState(s: SandboxFacts): SandboxStateV1 {
  return {
    version: 1,
    id: s.id,
    namespace: s.namespace,
    ownerPid: process.pid,
    createdAt: s.startedAt.toISOString(),
    stateDir: s.paths.stateDir,
    sharedDir: s.paths.sharedDir,
    vm: {
      pid: s.vm.pid,
      accelerator: s.vm.accelerator,
      consoleLog: s.vm.consoleLogPath,
      vcpus: s.size.vcpus,
      memoryMiB: s.size.memoryMiB,
      handle: s.vm.persistable(),
      boot: { ...s.bootSize },
      hotplug: s.hotplug,
      start: s.vm.fromTemplate === undefined ? { kind: "boot" } : { kind: "template", template: s.vm.fromTemplate },
    },
    ...(s.metricsSocket === undefined ? {} : { metricsSocket: s.metricsSocket }),
    containers: [...s.containers].map((c) => ({
      id: c.id,
      bundle: c.bundle,
      status: c.status,
      pid: c.init.pid,
      hostMounts: c.hostMounts,
      ...exitOf(c.init),
      ...limitsField(s.limitsOf(c.id)),
      execs: [...c.execs.values()].map((p) => ({
        id: p.execId,
        status: p.status,
        pid: p.pid,
        ...exitOf(p),
        ...(p.status === ProcessStatus.Created && p.spec ? { process: p.spec } : {}),
      })),
    })),
    ...(s.leftoverMounts.length > 0 ? { leftoverMounts: [...s.leftoverMounts] } : {}),
    phases: s.phases,
  };
}

function limitsField(limits: VmSize | undefined): { limits?: VmSize } {
  return limits ? { limits } : {};
}

function exitOf(p: ContainerProcess): { exit?: PersistedExit } {
  return p.exitInfo ? { exit: { status: p.exitInfo.status, at: p.exitInfo.exitedAt.toISOString() } } : {};
}

export class SandboxPersister {
  private persisting: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    /** The state to write now, or undefined when nothing may be written any more (stopping, VM gone). */
    private readonly snapshot: () => SandboxStateV1 | undefined,
    private readonly log: Logger,
  ) {}

  /** Queues a write of the current state and waits for it. Failures are logged, never thrown. */
  async persist(): Promise<void> {
    this.persisting = this.persisting.then(async () => {
      const state = this.snapshot();
      if (state === undefined) return;
      await writeSandboxState(this.path, state).catch((err) =>
        this.log.warn("cannot persist sandbox state", { err, path: this.path }),
      );
    });
    await this.persisting;
  }

  /** Resolves once the writes queued so far are done. */
  settled(): Promise<void> {
    return this.persisting;
  }
}
