// A container inside a sandbox: its bundle, its host mounts, its init and exec processes.

import type { ProcessStatus } from "../agent/api/process-status.js";
import { alreadyExists, notFound } from "../common/errors.js";
import type { ContainerProcess } from "./process.js";

export class Container {
  readonly execs = new Map<string, ContainerProcess>();
  /** Host mount points made for this container (rootfs, volumes), unmounted in reverse order on delete. */
  readonly hostMounts: string[] = [];

  constructor(
    readonly id: string,
    readonly bundle: string,
    readonly init: ContainerProcess,
  ) {}

  get status(): ProcessStatus {
    return this.init.status;
  }

  set status(s: ProcessStatus) {
    this.init.status = s;
  }

  /** The init process for "", else the named exec. */
  process(execId: string): ContainerProcess {
    if (execId === "") return this.init;
    const p = this.execs.get(execId);
    if (!p) throw notFound(`exec ${execId} not found in container ${this.id}`);
    return p;
  }

  addExec(p: ContainerProcess): void {
    if (this.execs.has(p.execId)) throw alreadyExists(`exec ${p.execId} already exists in container ${this.id}`);
    this.execs.set(p.execId, p);
  }
}
