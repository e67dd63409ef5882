// A HostCgroups in memory for unit tests: which groups exist, and which pid or thread went where.
import { Code, HakoError } from "../common/errors.js";
import type { HostCgroups } from "./host-cgroups.js";

export class FakeHostCgroups implements HostCgroups {
  readonly groups = new Set<string>();
  /** pid → the group it was last moved to ("" is the root). */
  readonly processes = new Map<number, string>();
  /** tid → group (v1 thread moves). */
  readonly threads = new Map<number, string>();

  constructor(readonly version: 1 | 2 = 1) {}

  async create(rel: string): Promise<void> {
    const parts = rel.split("/");
    for (let i = 1; i <= parts.length; i++) this.groups.add(parts.slice(0, i).join("/"));
  }

  async addProcess(rel: string, pid: number): Promise<void> {
    if (rel !== "" && !this.groups.has(rel)) throw new HakoError(Code.NotFound, `no cgroup ${rel}`);
    this.processes.set(pid, rel);
  }

  async addThread(rel: string, tid: number): Promise<void> {
    if (this.version === 2) throw new HakoError(Code.FailedPrecondition, "v2 moves whole processes only");
    this.threads.set(tid, rel);
  }

  exists(rel: string): boolean {
    return this.groups.has(rel);
  }

  async remove(rel: string): Promise<void> {
    const busy = [...this.processes].filter(([, g]) => g === rel).map(([pid]) => pid);
    if (busy.length > 0) throw new HakoError(Code.Internal, `cgroup ${rel} holds ${busy.join(", ")}`);
    this.groups.delete(rel);
  }
}
