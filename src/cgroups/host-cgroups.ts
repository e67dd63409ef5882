// The host's cgroup hierarchies as hako uses them for a sandbox's processes: make a cgroup in every hierarchy, put a
// process (or, on cgroup v1, one thread) in it, remove it. v2: the one unified hierarchy at the root. v1: every
// hierarchy mounted under the root (cpu, memory, pids, name=systemd, a hybrid host's cgroup2 "unified", …; symlinks
// such as cpu → cpu,cpuacct are skipped), with cpuset's cpus and mems copied from the parent into each new group
// (v1 leaves them empty, and an empty cpuset takes no task). Threads move only in v1 hierarchies (a `tasks` file);
// a hybrid host's cgroup2 hierarchy keeps each process whole.
import { existsSync, lstatSync, readdirSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Code, errnoCode, HakoError } from "../common/errors.js";

export interface HostCgroups {
  readonly version: 1 | 2;
  /** Creates `rel` (and missing parents) in every hierarchy. Idempotent. */
  create(rel: string): Promise<void>;
  /** Moves a process, all its threads, into `rel`. */
  addProcess(rel: string, pid: number): Promise<void>;
  /**
   * Moves one thread into `rel` in every v1 hierarchy (cgroup2 keeps a process's threads together outside threaded
   * groups: on a v2 host this throws FailedPrecondition, a hybrid host's cgroup2 hierarchy is left as it is).
   */
  addThread(rel: string, tid: number): Promise<void>;
  /** Whether `rel` exists in any hierarchy. */
  exists(rel: string): boolean;
  /** Removes `rel` from every hierarchy (it must hold no process); a group already gone is not an error. */
  remove(rel: string): Promise<void>;
}

export const SYS_CGROUP_ROOT = "/sys/fs/cgroup";

/** The host's hierarchies under `root`; v2 if the root itself is a cgroup2 mount. */
export function systemCgroups(root = SYS_CGROUP_ROOT): HostCgroups {
  if (existsSync(join(root, "cgroup.controllers"))) return new FsCgroups(2, [root]);
  const hierarchies = readdirSync(root)
    .map((name) => join(root, name))
    .filter((dir) => !lstatSync(dir).isSymbolicLink() && existsSync(join(dir, "cgroup.procs")));
  if (hierarchies.length === 0) throw new HakoError(Code.FailedPrecondition, `no cgroup hierarchy under ${root}`);
  return new FsCgroups(1, hierarchies);
}

async function write(path: string, value: string): Promise<void> {
  try {
    await writeFile(path, value);
  } catch (err) {
    throw HakoError.from(err, Code.Internal, `writing ${value} to ${path}`);
  }
}

class FsCgroups implements HostCgroups {
  constructor(
    readonly version: 1 | 2,
    private readonly hierarchies: string[],
  ) {}

  async create(rel: string): Promise<void> {
    for (const h of this.hierarchies) {
      const parts = rel.split("/");
      for (let i = 1; i <= parts.length; i++) {
        const dir = join(h, ...parts.slice(0, i));
        if (existsSync(dir)) continue;
        await mkdir(dir).catch((err) => {
          if (errnoCode(err) !== "EEXIST") throw HakoError.from(err, Code.Internal, `creating cgroup ${dir}`);
        });
        if (this.version === 1) await inheritCpuset(dir);
      }
    }
  }

  async addProcess(rel: string, pid: number): Promise<void> {
    for (const h of this.hierarchies) await write(join(h, rel, "cgroup.procs"), String(pid));
  }

  async addThread(rel: string, tid: number): Promise<void> {
    if (this.version === 2) {
      throw new HakoError(Code.FailedPrecondition, "cgroup v2 moves whole processes only (no threaded group here)");
    }
    for (const h of this.hierarchies) {
      if (existsSync(join(h, "tasks"))) await write(join(h, rel, "tasks"), String(tid));
    }
  }

  exists(rel: string): boolean {
    return this.hierarchies.some((h) => existsSync(join(h, rel)));
  }

  async remove(rel: string): Promise<void> {
    const failures: string[] = [];
    for (const h of this.hierarchies) {
      await rmdir(join(h, rel)).catch((err) => {
        if (errnoCode(err) !== "ENOENT") failures.push(`${join(h, rel)}: ${errnoCode(err) ?? String(err)}`);
      });
    }
    if (failures.length > 0) throw new HakoError(Code.Internal, `cannot remove cgroup ${rel}: ${failures.join(", ")}`);
  }
}

/** v1 cpuset: a new group starts with empty cpus and mems; give it its parent's. */
async function inheritCpuset(dir: string): Promise<void> {
  for (const file of ["cpuset.cpus", "cpuset.mems"]) {
    const own = join(dir, file);
    if (!existsSync(own) || (await readFile(own, "utf8")).trim() !== "") continue;
    await write(own, (await readFile(join(dirname(dir), file), "utf8")).trim());
  }
}
