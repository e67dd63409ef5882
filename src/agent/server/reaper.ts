// Exit statuses of the processes crun leaves to PID 1 (container inits, detached execs), and the reaping of other
// orphans. Never waitpid(-1): that would steal the statuses of libuv's own children (crun invocations).
import { readdirSync, readFileSync } from "node:fs";
import type { Logger } from "../../common/log.js";
import { waitPidNoHang } from "../../sys/process.js";

const POLL_MS = 250;
const ORPHAN_SWEEP_MS = 2000;

export class Reaper {
  private readonly watched = new Map<number, (status: number) => void>();
  private readonly spawned = new Set<number>();
  private zombiesSeen = new Set<number>();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly log: Logger) {}

  start(): void {
    // SIGCHLD wakes us at once; the poll covers a signal coalesced with one libuv consumed.
    process.on("SIGCHLD", () => this.poll());
    const t = setInterval(() => this.poll(), POLL_MS);
    const s = setInterval(() => this.sweepOrphans(), ORPHAN_SWEEP_MS);
    t.unref();
    s.unref();
    this.timers.push(t, s);
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    process.removeAllListeners("SIGCHLD");
  }

  /** Marks a pid as libuv's child, so the orphan sweep leaves it to libuv. */
  noteSpawned(pid: number | undefined): void {
    if (pid !== undefined) this.spawned.add(pid);
  }

  noteExited(pid: number | undefined): void {
    if (pid !== undefined) this.spawned.delete(pid);
  }

  /** Resolves with pid's exit status (128 + signal when signalled). The pid must be ours (child or orphan). */
  watch(pid: number): Promise<number> {
    return new Promise((resolve) => {
      this.watched.set(pid, resolve);
      this.poll();
    });
  }

  private poll(): void {
    for (const [pid, resolve] of this.watched) {
      let r: ReturnType<typeof waitPidNoHang>;
      try {
        r = waitPidNoHang(pid);
      } catch (err) {
        this.log.warn("waitpid failed", { pid, err });
        continue;
      }
      if (r === undefined) continue;
      if (r === null) {
        // Not our child (only outside PID 1 without a subreaper): all we can tell is whether it is gone.
        if (processExists(pid)) continue;
        this.watched.delete(pid);
        resolve(255);
        continue;
      }
      this.watched.delete(pid);
      this.log.debug("process exited", { pid, status: r.status });
      resolve(r.status);
    }
  }

  /** Reaps zombies whose parent is us and that nobody watches, once they were already zombies at the last sweep. */
  private sweepOrphans(): void {
    const now = new Set<number>();
    for (const pid of zombieChildren(process.pid)) {
      if (this.watched.has(pid) || this.spawned.has(pid)) continue;
      if (this.zombiesSeen.has(pid)) {
        const r = waitPidNoHang(pid);
        if (r) this.log.debug("reaped orphan", { pid, status: r.status });
      } else {
        now.add(pid);
      }
    }
    this.zombiesSeen = now;
  }
}

export function processExists(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return statState(stat) !== "Z";
  } catch {
    return false;
  }
}

function statState(stat: string): string | undefined {
  // The command name is in parentheses and may hold spaces: the fields after the last ')' are fixed.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return rest[0];
}

function zombieChildren(parent: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (rest[0] === "Z" && Number(rest[1]) === parent) out.push(Number(name));
    } catch {
      // Gone between readdir and read.
    }
  }
  return out;
}
