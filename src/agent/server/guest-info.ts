// The guest's own figures and utilities: details for the host, hotplugged CPU/memory onlining, the Prometheus text
// of GetMetrics (written by hand: a few gauges do not justify a metrics library in the guest bundle), the clock,
// the CRNG reseed and CopyFile's writes.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { loadavg, release } from "node:os";
import { dirname } from "node:path";
import { Code, HakoError } from "../../common/errors.js";
import { setRealtime } from "../../sys/process.js";
import { reseedRandom } from "../../sys/random.js";
import type { GuestDetails } from "../api/agent-api.js";
import { GUEST_INFO_METRIC } from "../api/conventions.js";
import { parseKeyed } from "./cgroup.js";

export const AGENT_VERSION = "0.1.0";

export function guestDetails(): GuestDetails {
  let block = 0n;
  try {
    block = BigInt(`0x${readFileSync("/sys/devices/system/memory/block_size_bytes", "utf8").trim()}`);
  } catch {
    // No memory hotplug support in this kernel.
  }
  return { memBlockSizeBytes: block, agentVersion: AGENT_VERSION, kernelVersion: release() };
}

/** Where the guest kernel lists CPUs and memory blocks (sysfs); a test points it elsewhere. */
export const SYS_DEVICES = "/sys/devices/system";

/**
 * How long a hot-plugged CPU may take to appear: QEMU's device_add returns once the device exists, and the guest
 * kernel registers the CPU later, from its ACPI hot-plug worker (Kata's agent polls the same way).
 */
export const CPU_APPEAR_TIMEOUT_MS = 5000;
const CPU_POLL_MS = 20;

function onlineAll(dir: string, prefix: string, limit: number): number {
  if (!existsSync(dir)) return 0;
  let count = 0;
  const names = readdirSync(dir)
    .filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)))
    .sort((a, b) => Number(a.slice(prefix.length)) - Number(b.slice(prefix.length)));
  for (const n of names) {
    if (count >= limit) break;
    const file = `${dir}/${n}/online`;
    try {
      if (readFileSync(file, "utf8").trim() === "0") {
        writeFileSync(file, "1");
        count++;
      }
    } catch {
      // cpu0 has no online file; a block may refuse to go online: skip it.
    }
  }
  return count;
}

/**
 * Brings hot-plugged CPUs and memory online. `nbCpus` > 0: the CPUs just plugged; waits until that many offline CPUs
 * have appeared and been onlined, polling every 20 ms, and throws DeadlineExceeded after CPU_APPEAR_TIMEOUT_MS with
 * how many came. 0: onlines whatever CPU is offline now. Unless `cpuOnly`, also every offline memory block (the
 * kernel onlines hot-added memory itself with `memhp_default_state=online`; this catches the rest).
 */
export async function onlineCpuMem(
  nbCpus: number,
  cpuOnly: boolean,
  opts: { root?: string; timeoutMs?: number } = {},
): Promise<{ cpus: number; memBlocks: number }> {
  const root = opts.root ?? SYS_DEVICES;
  const timeoutMs = opts.timeoutMs ?? CPU_APPEAR_TIMEOUT_MS;
  const cpuDir = `${root}/cpu`;
  let cpus = onlineAll(cpuDir, "cpu", nbCpus > 0 ? nbCpus : Number.MAX_SAFE_INTEGER);
  const deadline = Date.now() + timeoutMs;
  while (cpus < nbCpus) {
    if (Date.now() >= deadline) {
      throw new HakoError(
        Code.DeadlineExceeded,
        `onlined ${cpus} of ${nbCpus} hot-plugged CPUs: the others did not appear in ${cpuDir} within ${timeoutMs} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, CPU_POLL_MS));
    cpus += onlineAll(cpuDir, "cpu", nbCpus - cpus);
  }
  const memBlocks = cpuOnly ? 0 : onlineAll(`${root}/memory`, "memory", Number.MAX_SAFE_INTEGER);
  return { cpus, memBlocks };
}

export function metricsText(): string {
  const mem = new Map<string, bigint>();
  try {
    for (const line of readFileSync("/proc/meminfo", "utf8").split("\n")) {
      const m = /^(\w+):\s+(\d+)\s*kB/.exec(line);
      if (m?.[1] && m[2]) mem.set(m[1], BigInt(m[2]) * 1024n);
    }
  } catch {
    // Not Linux: report what Node knows.
  }
  const [l1, l5, l15] = loadavg();
  const lines: string[] = [];
  const gauge = (name: string, help: string, value: string | number | bigint, labels = "") => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name}${labels} ${value}`);
  };
  gauge(GUEST_INFO_METRIC, "The guest kernel.", 1, `{kernel="${release()}"}`);
  gauge("hako_guest_memory_total_bytes", "Guest memory in total.", mem.get("MemTotal") ?? 0n);
  gauge("hako_guest_memory_free_bytes", "Guest memory free.", mem.get("MemFree") ?? 0n);
  gauge("hako_guest_memory_available_bytes", "Guest memory available.", mem.get("MemAvailable") ?? 0n);
  lines.push("# HELP hako_guest_load Guest load average.", "# TYPE hako_guest_load gauge");
  lines.push(`hako_guest_load{period="1m"} ${l1 ?? 0}`, `hako_guest_load{period="5m"} ${l5 ?? 0}`);
  lines.push(`hako_guest_load{period="15m"} ${l15 ?? 0}`);
  gauge("hako_agent_resident_memory_bytes", "hako-agent resident set size.", process.memoryUsage.rss());
  const cpu = parseKeyed(readFileSyncSafe("/sys/fs/cgroup/cpu.stat"));
  gauge(
    "hako_guest_cpu_usage_seconds",
    "CPU time used by the guest's cgroups.",
    Number(cpu.get("usage_usec") ?? 0n) / 1e6,
  );
  return `${lines.join("\n")}\n`;
}

function readFileSyncSafe(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

export function setGuestDateTime(date: Date): void {
  setRealtime(date);
}

/** Mixes host randomness into the guest pool and reseeds the CRNG (a clone of a VM template needs its own). */
export function reseedRandomDev(data: Uint8Array): void {
  if (data.length === 0) throw new HakoError(Code.InvalidArgument, "ReseedRandomDev: no data");
  reseedRandom(data);
}

/** Writes part of a file (offset) and creates its directory; the last chunk sets the mode. */
export function copyFile(path: string, data: Uint8Array, mode: number, offset = 0): void {
  if (!path.startsWith("/") || path.split("/").includes("..")) {
    throw new HakoError(Code.InvalidArgument, `copy file: path must be absolute and plain: "${path}"`);
  }
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, offset === 0 ? "w" : "r+", mode & 0o7777 || 0o644);
  try {
    writeSync(fd, data, 0, data.length, offset);
  } finally {
    closeSync(fd);
  }
}
