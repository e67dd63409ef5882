// A process the runtime watches until it is gone: either a child it spawned (exit code and signal known), or a
// process found again by pid in a later process (after a restart), where only its disappearance can be seen. The
// pid is then polled through /proc, and a pid counts as gone once its command line no longer carries `mark`
// (the process exited, or it is a zombie, or the pid was reused by something else).
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export interface ProcessExit {
  /** Exit code, or null when it died from a signal or was not our child (exit status unknown). */
  code: number | null;
  signal: string | null;
}

export interface WatchedProcess {
  readonly pid: number;
  /** Resolves once, when the process is gone. */
  readonly exited: Promise<ProcessExit>;
  readonly gone: boolean;
  /** Sends a signal; a process that is already gone is not an error. */
  kill(signal: NodeJS.Signals): void;
}

/** The process's argv, or undefined when it does not exist. */
export function processArgv(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`);
    return raw
      .toString("utf8")
      .split("\0")
      .filter((a) => a !== "");
  } catch {
    return undefined;
  }
}

/** True when `pid` is running and its argv holds `mark` as one argument or inside one. */
export function processMatches(pid: number, mark: string): boolean {
  const argv = processArgv(pid);
  return argv?.some((a) => a === mark || a.includes(mark)) ?? false;
}

/** SIGKILL, then wait (bounded) until the process is gone or only a zombie. */
export async function killAndWait(pid: number, timeoutMs: number): Promise<void> {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  // A zombie keeps its /proc entry until reaped but loses its cmdline; an empty argv counts as gone.
  while (Date.now() < deadline && (processArgv(pid)?.length ?? 0) > 0) await sleep(10);
}

/** Watches a child this process spawned. */
export function watchChild(child: ChildProcess): WatchedProcess {
  let gone = false;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once("exit", (code, signal) => {
      gone = true;
      resolve({ code, signal });
    });
  });
  return {
    pid: child.pid ?? -1,
    exited,
    get gone() {
      return gone;
    },
    kill: (signal) => {
      if (!gone) child.kill(signal);
    },
  };
}

/**
 * Watches a process that is not our child, by polling every `intervalMs`. `mark` is a string its command line must
 * hold (the VM name, the daemon's socket path), so a reused pid is never taken for it.
 */
export function watchPid(pid: number, mark: string, intervalMs = 100): WatchedProcess {
  let gone = false;
  let finish!: (exit: ProcessExit) => void;
  const exited = new Promise<ProcessExit>((resolve) => {
    finish = resolve;
  });
  const check = () => {
    if (gone || processMatches(pid, mark)) return;
    gone = true;
    clearInterval(timer);
    finish({ code: null, signal: null });
  };
  const timer = setInterval(check, intervalMs);
  check();
  return {
    pid,
    exited,
    get gone() {
      return gone;
    },
    kill: (signal) => {
      if (gone || !processMatches(pid, mark)) return;
      try {
        process.kill(pid, signal);
      } catch {
        // gone in between: the poll reports it
      }
    },
  };
}
