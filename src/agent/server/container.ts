// A container and its processes as the agent tracks them: status, pids, stdio and exit statuses. One process may
// have many waiters; an exit status stays readable until the container is removed.
import type { OciSpec } from "../../oci/spec.js";
import type { GuestStorage } from "../api/agent-api.js";
import { can, ProcessStatus } from "../api/process-status.js";
import type { ProcessStdio } from "./stdio.js";

export class GuestProcess {
  exitStatus: number | undefined;
  readonly exited: Promise<number>;
  private settle!: (status: number) => void;

  constructor(
    readonly execId: string,
    readonly pid: number,
    readonly stdio: ProcessStdio,
  ) {
    this.exited = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  markExited(status: number): void {
    if (this.exitStatus !== undefined) return;
    this.exitStatus = status;
    this.settle(status);
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }
}

export class GuestContainer {
  status: ProcessStatus = ProcessStatus.Created;
  readonly execs = new Map<string, GuestProcess>();

  constructor(
    readonly id: string,
    readonly bundle: string,
    readonly spec: OciSpec,
    readonly init: GuestProcess,
    readonly storages: GuestStorage[],
    readonly cgroupDir: string,
  ) {}

  canStart(): boolean {
    return can(this.status, "start");
  }
  canExec(): boolean {
    return can(this.status, "spawnExec");
  }
  canPause(): boolean {
    return can(this.status, "pause");
  }
  canResume(): boolean {
    return can(this.status, "resume");
  }

  process(execId: string): GuestProcess | undefined {
    return execId === "" ? this.init : this.execs.get(execId);
  }
}
