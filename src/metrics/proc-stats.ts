// CPU and memory of one host process from /proc: what a sandbox's shim, QEMU and virtiofsd cost the host.
import { readdirSync, readFileSync } from "node:fs";

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux ABI hako runs on. */
const CLOCK_TICKS = 100;

export interface ProcStats {
  pid: number;
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  residentBytes: number;
  /** Proportional set size: shared pages divided among their users (null where smaps_rollup is unavailable). */
  pssBytes: number | null;
  threads: number;
  openFds: number | null;
  /** Seconds since boot when the process started. */
  startSeconds: number;
}

/** Parses /proc/<pid>/stat; the comm field may hold spaces and parentheses, so fields resume after the last ')'. */
export function parseStat(text: string): {
  ppid: number;
  utime: number;
  stime: number;
  threads: number;
  starttime: number;
} {
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); field n is rest[n - 3].
  const field = (n: number) => Number(rest[n - 3] ?? Number.NaN);
  return { ppid: field(4), utime: field(14), stime: field(15), threads: field(20), starttime: field(22) };
}

export function parseKb(text: string, key: string): number | null {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text);
  return m?.[1] === undefined ? null : Number(m[1]) * 1024;
}

/** Stats of pid, or undefined when it is gone. */
export function procStats(pid: number, proc = "/proc"): ProcStats | undefined {
  let stat: string;
  let status: string;
  try {
    stat = readFileSync(`${proc}/${pid}/stat`, "utf8");
    status = readFileSync(`${proc}/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const s = parseStat(stat);
  let pss: number | null = null;
  try {
    pss = parseKb(readFileSync(`${proc}/${pid}/smaps_rollup`, "utf8"), "Pss");
  } catch {
    // kernels before 4.14, or no permission
  }
  let fds: number | null = null;
  try {
    fds = readdirSync(`${proc}/${pid}/fd`).length;
  } catch {
    // not ours to read
  }
  return {
    pid,
    cpuUserSeconds: s.utime / CLOCK_TICKS,
    cpuSystemSeconds: s.stime / CLOCK_TICKS,
    residentBytes: parseKb(status, "VmRSS") ?? 0,
    pssBytes: pss,
    threads: s.threads,
    openFds: fds,
    startSeconds: s.starttime / CLOCK_TICKS,
  };
}

/** Direct children of pid (from every thread's children list). */
export function childrenOf(pid: number, proc = "/proc"): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`${proc}/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      for (const c of readFileSync(`${proc}/${pid}/task/${t}/children`, "utf8").split(" ").filter(Boolean)) {
        out.push(Number(c));
      }
    } catch {
      // thread gone
    }
  }
  return out;
}

export function commandOf(pid: number, proc = "/proc"): string | undefined {
  try {
    return readFileSync(`${proc}/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}
