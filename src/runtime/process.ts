// One process of a container (its init, or an exec), as the host sees it: guest pid, status, exit. Where its stdio
// goes on the host (containerd's fifos) is the front end's business (src/shim/process-tracker.ts).
import { ProcessStatus } from "../agent/api/process-status.js";
import type { OciProcess } from "../oci/spec.js";
import { type Deferred, deferred } from "./deferred.js";

export interface ExitInfo {
  /** Exit code, or 128 + signal number. */
  status: number;
  exitedAt: Date;
}

export class ContainerProcess {
  pid = 0;
  status = ProcessStatus.Created;
  private readonly exit: Deferred<ExitInfo> = deferred<ExitInfo>();
  exitInfo: ExitInfo | undefined;
  /** The terminal size asked for before the guest had the process (an exec not started yet), rows × columns. */
  pendingTtySize: { rows: number; cols: number } | undefined;

  constructor(
    readonly containerId: string,
    /** "" for the container's init process. */
    readonly execId: string,
    readonly spec: OciProcess | undefined,
  ) {}

  get isInit(): boolean {
    return this.execId === "";
  }

  /** Resolves once, when the process has exited (or its VM died). */
  get exited(): Promise<ExitInfo> {
    return this.exit.promise;
  }

  /**
   * Takes over the process as a persisted state recorded it (Sandbox.restore): its pid, and its status or exit.
   * Call once, on a new process object.
   */
  adopt(pid: number, status: ProcessStatus, exit: { status: number; at: string } | undefined): void {
    this.pid = pid;
    if (exit) this.markExited(exit.status, new Date(exit.at));
    else this.status = status;
  }

  markExited(status: number, exitedAt = new Date()): boolean {
    if (this.exit.settled) return false;
    this.status = ProcessStatus.Stopped;
    this.exitInfo = { status, exitedAt };
    this.exit.resolve(this.exitInfo);
    return true;
  }
}
