// Host memory of processes as the kernel accounts it: PSS (proportional set size) from /proc/<pid>/smaps_rollup, so
// pages shared between sandboxes (the guest kernel and DAX rootfs in the page cache, Node's code) count once overall.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { commandOf, parseKb, parseStat } from "../src/metrics/proc-stats.js";

/** PSS of one process in KiB, or null if it is gone or unreadable. */
export function pssKiB(pid: number): number | null {
  try {
    const bytes = parseKb(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"), "Pss");
    return bytes === null ? null : bytes / 1024;
  } catch {
    return null;
  }
}

export function parentPid(pid: number): number | null {
  try {
    const ppid = parseStat(readFileSync(`/proc/${pid}/stat`, "utf8")).ppid;
    return Number.isNaN(ppid) ? null : ppid;
  } catch {
    return null;
  }
}

export function commandName(pid: number): string {
  return commandOf(pid) ?? "?";
}

/** The given pids and all their descendants, without duplicates. */
export function processTrees(roots: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = parentPid(Number(entry));
    if (ppid === null) continue;
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const seen = new Set<number>();
  const stack = [...roots];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return [...seen];
}

export interface ProcessMemory {
  pid: number;
  command: string;
  pssKiB: number;
}

export function memoryOf(pids: number[]): ProcessMemory[] {
  const out: ProcessMemory[] = [];
  for (const pid of pids) {
    const pss = pssKiB(pid);
    if (pss !== null) out.push({ pid, command: commandName(pid), pssKiB: pss });
  }
  return out;
}

/**
 * KiB of deleted tmpfs files a process maps (a template clone's private RAM copy) that are allocated but not in its
 * page tables: st_blocks of the file (through /proc/<pid>/map_files) less the mapping's Rss. 0 when there is none.
 */
export function unmappedFileKiB(pid: number): number {
  let smaps: string;
  try {
    smaps = readFileSync(`/proc/${pid}/smaps`, "utf8");
  } catch {
    return 0;
  }
  let total = 0;
  const blocks = smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
  for (const block of blocks) {
    const head = /^([0-9a-f]+-[0-9a-f]+) \S+ \S+ \S+ \S+ +(\/dev\/shm\/\S+) \(deleted\)/.exec(block);
    if (!head?.[1]) continue;
    const rssKiB = Number(/^Rss:\s+(\d+) kB/m.exec(block)?.[1] ?? 0);
    try {
      const allocatedKiB = (statSync(`/proc/${pid}/map_files/${head[1]}`).blocks * 512) / 1024;
      total += Math.max(0, allocatedKiB - rssKiB);
    } catch {
      // the mapping went away between the two reads
    }
  }
  return total;
}

/**
 * KiB of PSS in QEMU's TCG translation cache: its anonymous mappings that are readable, writable and executable
 * (`rwxp`, no file). QEMU maps the code buffer of `-accel tcg,tb-size=N` that way: one mapping under single-threaded
 * TCG, regions with guard pages between them under multi-threaded; nothing else in QEMU is mapped rwx. Under KVM
 * there is none, so 0.
 */
export function tcgCacheKiB(pid: number): number {
  try {
    return tcgCacheKiBOf(readFileSync(`/proc/${pid}/smaps`, "utf8"));
  } catch {
    return 0;
  }
}

/** tcgCacheKiB of the text of a /proc/<pid>/smaps. */
export function tcgCacheKiBOf(smaps: string): number {
  let total = 0;
  for (const block of smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    if (!/^[0-9a-f]+-[0-9a-f]+ rwxp \S+ 00:00 0 *$/.test(block.split("\n")[0] ?? "")) continue;
    total += Number(/^Pss:\s+(\d+) kB/m.exec(block)?.[1] ?? 0);
  }
  return total;
}
