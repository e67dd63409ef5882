// Guest cgroup v2 figures of one container (stats, pids) and the OOM-kill watch over memory.events.
import { existsSync, type FSWatcher, readdirSync, readFileSync, watch } from "node:fs";
import type { ContainerStats } from "../api/agent-api.js";

export const CGROUP_ROOT = "/sys/fs/cgroup";

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function readBig(path: string): bigint {
  const t = readText(path)?.trim();
  if (!t || t === "max") return 0n;
  try {
    return BigInt(t);
  } catch {
    return 0n;
  }
}

export function parseKeyed(text: string | undefined): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of (text ?? "").split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v && /^\d+$/.test(v)) out.set(k, BigInt(v));
  }
  return out;
}

export function cgroupStats(dir: string): ContainerStats {
  const cpu = parseKeyed(readText(`${dir}/cpu.stat`));
  return {
    cpuUsageNs: (cpu.get("usage_usec") ?? 0n) * 1000n,
    cpuUserNs: (cpu.get("user_usec") ?? 0n) * 1000n,
    cpuSystemNs: (cpu.get("system_usec") ?? 0n) * 1000n,
    memoryUsage: readBig(`${dir}/memory.current`),
    memoryLimit: readBig(`${dir}/memory.max`),
    memoryMaxUsage: readBig(`${dir}/memory.peak`),
    pidsCurrent: readBig(`${dir}/pids.current`),
    pidsLimit: readBig(`${dir}/pids.max`),
  };
}

/** Every pid in the cgroup and its descendants (crun may nest the container's processes). */
export function cgroupPids(dir: string): number[] {
  const pids: number[] = [];
  const walk = (d: string) => {
    for (const line of (readText(`${d}/cgroup.procs`) ?? "").split("\n")) if (line.trim()) pids.push(Number(line));
    let entries: string[] = [];
    try {
      entries = readdirSync(d, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      return;
    }
    for (const e of entries) walk(`${d}/${e}`);
  };
  if (existsSync(dir)) walk(dir);
  return pids;
}

/** Queues container ids whose cgroup's oom_kill counter grew; GetOOMEvent long-polls the queue. */
export class OomWatch {
  private readonly watchers = new Map<string, { w: FSWatcher; kills: bigint }>();
  private readonly queue: string[] = [];
  private waiters: ((id: string) => void)[] = [];

  add(containerId: string, dir: string): void {
    const file = `${dir}/memory.events`;
    if (!existsSync(file) || this.watchers.has(containerId)) return;
    const kills = parseKeyed(readText(file)).get("oom_kill") ?? 0n;
    try {
      const w = watch(file, () => this.check(containerId, file));
      w.on("error", () => {});
      this.watchers.set(containerId, { w, kills });
    } catch {
      // No inotify on this file: OOM events are simply not reported for it.
    }
  }

  remove(containerId: string): void {
    this.watchers.get(containerId)?.w.close();
    this.watchers.delete(containerId);
  }

  private check(containerId: string, file: string): void {
    const entry = this.watchers.get(containerId);
    if (!entry) return;
    const kills = parseKeyed(readText(file)).get("oom_kill") ?? 0n;
    if (kills <= entry.kills) return;
    entry.kills = kills;
    const waiter = this.waiters.shift();
    if (waiter) waiter(containerId);
    else this.queue.push(containerId);
  }

  next(signal?: AbortSignal): Promise<string> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const waiter = (id: string) => resolve(id);
      this.waiters.push(waiter);
      signal?.addEventListener(
        "abort",
        () => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  close(): void {
    for (const id of [...this.watchers.keys()]) this.remove(id);
  }
}
