// A running QEMU VM, the Vm role of ../hypervisor.ts: watches the process (a child, or a pid after attach), drives
// it over QMP (status, pause/resume, hot-plug, quit), reports the share daemon's death, stops and cleans up after it,
// and gives its state as plain data (persistable()) for a later process to attach to.
import { rmSync } from "node:fs";
import { Code, HakoError } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import type { TailBuffer } from "../../common/tail-buffer.js";
import type { WatchedProcess } from "../../common/watched-process.js";
import type { Share } from "../../sharefs/share-manager.js";
import type { Accelerator, AgentAddress, BlockDevice, PersistedVm, Vm, VmExit } from "../hypervisor.js";
import { rootPortId } from "./cmdline/pcie-root-port.js";
import * as hotplug from "./hotplug.js";
import type { QmpClient } from "./qmp.js";
import type { VmPaths } from "./state-dir.js";

/** What QEMU's Vm keeps beyond the common fields of PersistedVm (its `driver` part). */
export interface QemuVmState {
  qmpSocket: string;
  pcieRootPorts: number;
  usedPorts: string[];
  dimms: number;
  memoryMiB: number;
  /** Guest RAM is a shared memfd (virtio-fs needs it), so hot-plugged DIMMs must be too. */
  sharedMemory: boolean;
  /** The key of the VM template it was restored from; absent when it booted (or in state from before the field). */
  fromTemplate?: string;
}

/** Reads the driver part of a persisted QEMU VM back, refusing a malformed one. */
export function qemuVmState(driver: Record<string, unknown>): QemuVmState {
  const d = driver as Partial<QemuVmState>;
  const ok =
    typeof d.qmpSocket === "string" &&
    typeof d.pcieRootPorts === "number" &&
    Array.isArray(d.usedPorts) &&
    d.usedPorts.every((p) => typeof p === "string") &&
    typeof d.dimms === "number" &&
    typeof d.memoryMiB === "number" &&
    typeof d.sharedMemory === "boolean" &&
    (d.fromTemplate === undefined || typeof d.fromTemplate === "string");
  if (!ok) throw new HakoError(Code.DataLoss, "persisted qemu vm state is incomplete");
  return d as QemuVmState;
}

export interface QemuVmParts {
  id: string;
  stateRoot: string;
  paths: VmPaths;
  proc: WatchedProcess;
  qmp: QmpClient;
  agentAddress: AgentAddress;
  accelerator: Accelerator;
  share: Share;
  /** Our child's stderr; absent after attach (the process is not ours). */
  stderr?: TailBuffer;
  state: QemuVmState;
  log: Logger;
  /** The size it was restored at, when less than the request (Vm.startedSmaller). */
  startedSmaller?: { vcpus: number; memoryMiB: number };
}

export class QemuVm implements Vm {
  readonly id: string;
  readonly pid: number;
  readonly accelerator: Accelerator;
  readonly agentAddress: AgentAddress;
  readonly consoleLogPath: string;
  readonly exited: Promise<VmExit>;
  readonly shareDaemonFailure: Promise<Error>;
  readonly fromTemplate: string | undefined;
  readonly startedSmaller: { vcpus: number; memoryMiB: number } | undefined;
  private readonly qmp: QmpClient;
  private readonly state: QemuVmState;
  private readonly usedPorts: Set<string>;
  private requested = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly parts: QemuVmParts) {
    const { proc, share, log } = parts;
    this.id = parts.id;
    this.pid = proc.pid;
    this.accelerator = parts.accelerator;
    this.agentAddress = parts.agentAddress;
    this.consoleLogPath = parts.paths.consoleLog;
    this.qmp = parts.qmp;
    // Kept in the driver state, so that a VM taken over by another process (attach) still says where it came from.
    this.fromTemplate = parts.state.fromTemplate;
    this.startedSmaller = parts.startedSmaller;
    this.state = { ...parts.state, usedPorts: [...parts.state.usedPorts] };
    this.usedPorts = new Set(parts.state.usedPorts);
    this.exited = proc.exited.then(({ code, signal }) => {
      const exit: VmExit = { code, signal, requested: this.requested };
      const stderr = parts.stderr?.text().trim();
      if (!this.requested) log.warn("qemu exited unexpectedly", { code, signal, ...(stderr ? { stderr } : {}) });
      else log.debug("qemu exited", { code, signal });
      // virtiofsd exits by itself once QEMU closes its socket: expected now.
      share.expectExit();
      this.qmp.close();
      return exit;
    });
    // A daemon that dies after QEMU is the consequence, not the fault.
    this.shareDaemonFailure = new Promise((resolve) => {
      void share.failure.then((err) => {
        if (!proc.gone) resolve(err);
      });
    });
  }

  /**
   * QEMU's last stderr line (e.g. why a migration failed) once it has exited, waiting up to `waitMs` for the exit;
   * "" when it still runs, said nothing, or is not our child (attach).
   */
  async lastStderrLine(waitMs: number): Promise<string> {
    const gone = await Promise.race([
      this.parts.proc.exited.then(() => true),
      new Promise<false>((r) => setTimeout(r, waitMs, false).unref()),
    ]);
    if (!gone) return "";
    return (this.parts.stderr?.text() ?? "").trim().split("\n").at(-1)?.trim() ?? "";
  }

  /** The QMP client, for the template steps (save, hot-plug of the share into a clone). */
  qmpControl(): QmpClient {
    return this.control();
  }

  /** Takes the first free PCIe root port for a hot-plugged device; ResourceExhausted when none is left. */
  claimPort(what: string): string {
    const free = Array.from({ length: this.state.pcieRootPorts }, (_, i) => rootPortId(i)).find(
      (p) => !this.usedPorts.has(p),
    );
    if (!free) {
      throw new HakoError(
        Code.ResourceExhausted,
        `sandbox ${this.id}: no free PCIe root port for ${what} (raise pcie_root_port)`,
      );
    }
    this.usedPorts.add(free);
    return free;
  }

  private control(): QmpClient {
    if (this.qmp.isClosed || this.parts.proc.gone) {
      throw new HakoError(Code.FailedPrecondition, `vm of sandbox ${this.id} is not running`);
    }
    return this.qmp;
  }

  async status(): Promise<string> {
    const s = await this.control().execute<{ status: string }>("query-status");
    return s.status;
  }

  async vcpuThreadIds(): Promise<number[]> {
    const cpus = await this.control().execute<{ "thread-id": number }[]>("query-cpus-fast");
    return cpus.map((c) => c["thread-id"]);
  }

  async pause(): Promise<void> {
    await this.control().execute("stop");
  }

  async resume(): Promise<void> {
    await this.control().execute("cont");
  }

  stop(graceMs = 2000): Promise<void> {
    this.stopping ??= this.doStop(graceMs);
    return this.stopping;
  }

  private async doStop(graceMs: number): Promise<void> {
    const { proc, share, log } = this.parts;
    this.requested = true;
    share.expectExit();
    if (!proc.gone) {
      const timer = setTimeout(() => {
        if (!proc.gone) {
          log.warn("qemu did not quit in time, killing it", { graceMs });
          proc.kill("SIGKILL");
        }
      }, graceMs);
      // quit's reply may race with the socket closing; either way we wait for the process itself.
      await this.qmp.execute("quit", undefined, graceMs).catch(() => {});
      await this.exited;
      clearTimeout(timer);
    }
    this.qmp.close();
    await share.stop(graceMs);
    rmSync(this.parts.paths.dir, { recursive: true, force: true });
    log.debug("vm stopped and cleaned up");
  }

  async hotplugBlock(dev: BlockDevice): Promise<void> {
    const qmp = this.control();
    const free = this.claimPort(dev.id);
    try {
      await hotplug.hotplugBlock(qmp, dev, free);
    } catch (err) {
      this.usedPorts.delete(free);
      throw err;
    }
  }

  async hotplugVcpus(total: number): Promise<number> {
    return hotplug.hotplugVcpus(this.control(), total);
  }

  async hotplugMemory(addMiB: number): Promise<number> {
    const size = hotplug.dimmSizeMiB(addMiB);
    await hotplug.hotplugMemory(this.control(), this.state.dimms++, size, this.state.sharedMemory);
    this.state.memoryMiB += size;
    return this.state.memoryMiB;
  }

  persistable(): PersistedVm {
    const state: QemuVmState = { ...this.state, usedPorts: [...this.usedPorts] };
    return {
      kind: "qemu",
      id: this.id,
      pid: this.pid,
      stateRoot: this.parts.stateRoot,
      accelerator: this.accelerator,
      agentAddress: { ...this.agentAddress },
      consoleLogPath: this.consoleLogPath,
      share: this.parts.share.persistable(),
      driver: { ...state },
    };
  }
}
