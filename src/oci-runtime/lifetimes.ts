// Waiting for host processes the CLI started earlier (daemon, stand-ins) to go, and making sure they do. A pid is only
// signalled while /proc says it still runs hako-runtime for this container or pod, so a reused pid is never hit.
import { existsSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../common/log.js";
import { cleanupSandbox, isAlive } from "../runtime/cleanup.js";
import { sandboxPaths } from "../runtime/layout.js";

/** True while `pid` runs a command line holding every one of `words` (e.g. "stand-in" and the container id). */
export function runsWith(pid: number, words: readonly string[]): boolean {
  if (pid <= 0) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return words.every((w) => argv.includes(w));
  } catch {
    return false;
  }
}

/** Waits up to timeoutMs (ms) for `pid` to stop running `words`; true if it did. */
export async function waitGone(pid: number, words: readonly string[], timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (runsWith(pid, words) && isAlive(pid)) {
    if (Date.now() > until) return false;
    await sleep(50);
  }
  return true;
}

/** SIGTERM, then SIGKILL after graceMs (ms), to a process still running `words`; resolves once it is gone. */
export async function stopProcess(pid: number, words: readonly string[], graceMs: number, log: Logger): Promise<void> {
  if (!runsWith(pid, words)) return;
  log.warn("stopping a leftover process", { pid, words });
  process.kill(pid, "SIGTERM");
  if (await waitGone(pid, words, graceMs)) return;
  process.kill(pid, "SIGKILL");
  await waitGone(pid, words, 5000);
}

/** Removes what a pod's VM left on the host if its daemon died without stopping it (runtime/cleanup.ts). */
export async function cleanupPodLeftovers(podId: string, log: Logger): Promise<void> {
  if (!existsSync(sandboxPaths(podId).stateDir)) return;
  log.warn("the pod's daemon left its sandbox behind; cleaning it up", { pod: podId });
  await cleanupSandbox(podId, log);
}
