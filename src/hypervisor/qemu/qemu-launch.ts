// Spawning QEMU (optionally inside the pod's network namespace) and waiting for its QMP socket: the two steps of a
// start that touch processes and sockets. A QEMU that exits before QMP answers fails the start with its stderr.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, HakoError } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import { TailBuffer } from "../../common/tail-buffer.js";
import { type WatchedProcess, watchChild } from "../../common/watched-process.js";
import { QmpClient } from "./qmp.js";

/** Command prefix that runs a program in `netns` (a name under /var/run/netns or a path); none without one. */
export function netnsWrapper(netns: string | undefined): string[] {
  if (!netns) return [];
  // Node is multithreaded, so setns from here is unreliable; both tools setns and then exec the real binary,
  // which keeps the pid (the pid files and /proc checks stay right).
  return netns.startsWith("/") ? ["nsenter", `--net=${netns}`, "--"] : ["ip", "netns", "exec", netns];
}

export interface Launched {
  proc: WatchedProcess;
  /** The last 8 KiB of QEMU's stderr, to explain an exit. */
  stderr: TailBuffer;
}

/**
 * QEMU's environment: the caller's, with glib's slice allocator set to plain malloc (`G_SLICE=always-malloc`) unless
 * the caller chose a `G_SLICE` of its own. Under TCG, QEMU keeps one glib tree node per translated block (~80,000 in
 * a booted pod); glib 2.74's slice magazines (Debian 12's; glib 2.76 dropped them for malloc) held them in 6 MiB
 * where malloc holds 3.8. Measured per idle pod, PSS of QEMU's anonymous memory: booted 22.9 → 20.4 MiB, a template
 * clone 21.7 → 20.4 MiB (3 runs each); start unchanged.
 */
export function qemuEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, G_SLICE: env.G_SLICE ?? "always-malloc" };
}

/** `fds` become QEMU's fds 3, 4, … (NIC devices, see nicFd in qemu-plan.ts); the caller closes its copies. */
export function spawnQemu(argv: readonly string[], fds: readonly number[] = []): Launched {
  // Detached: its own process group, no terminal, nothing of the caller's stdio (the shim's stdout is a protocol).
  const child = spawn(argv[0] as string, argv.slice(1), {
    stdio: ["ignore", "ignore", "pipe", ...fds],
    detached: true,
    env: qemuEnvironment(process.env),
  });
  const stderr = new TailBuffer(8192);
  child.stderr?.on("data", (c: Buffer) => stderr.push(c));
  return { proc: watchChild(child), stderr };
}

/** Waits for the QMP socket and connects; fails early (with QEMU's stderr) if QEMU exits first. */
export async function connectQmp(
  id: string,
  qmpSocket: string,
  launched: Launched,
  timeoutMs: number,
  log: Logger,
): Promise<QmpClient> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (launched.proc.gone) {
      throw new HakoError(
        Code.FailedPrecondition,
        `qemu for sandbox ${id} exited at start-up: ${launched.stderr.text().trim()}`,
      );
    }
    if (existsSync(qmpSocket)) {
      try {
        return await QmpClient.connect(qmpSocket, { logger: log, connectTimeoutMs: 2000 });
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
    }
    if (Date.now() > deadline) {
      throw new HakoError(Code.DeadlineExceeded, `qemu for sandbox ${id} did not open ${qmpSocket} in ${timeoutMs} ms`);
    }
    await sleep(5);
  }
}
