// The guest debug console behind `hako exec`: when the host gave the VM a virtio-serial port named hako.debug.0
// (debug_console_enabled), a shell runs on it, in the guest's own root next to the agent. One shell per host
// connection, so that a command left running by a host that went away dies with its shell; a shell that exits
// while the host stays is replaced. (A host that reconnects within milliseconds is not seen to have left: the
// guest only learns the port's latest state, and the shell goes on serving it.)
// Nothing here may take the agent down: every failure is logged and the console just stops answering.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import type { Duplex } from "node:stream";
import type { Logger } from "../../common/log.js";
import { DEBUG_CONSOLE_PORT_NAME } from "../api/guest-contract.js";
import { type AgentChannel, findSerialPort, SerialChannel } from "./channel.js";

export interface DebugConsoleOptions {
  log: Logger;
  /** Default /bin/sh (busybox's ash in the guest). */
  shell?: string;
  /** The reaper is told about the shells so that its orphan sweep leaves them to libuv. */
  reaper?: { noteSpawned(pid: number | undefined): void; noteExited(pid: number | undefined): void };
}

/** The shell's whole environment: PID 1's own is nearly empty, and a dumb terminal keeps tools from drawing. */
export const CONSOLE_ENV: Readonly<Record<string, string>> = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  TERM: "dumb",
  HOME: "/",
  SHELL: "/bin/sh",
};

/** Without a host, the port reads as closed at once: looking for one is a cheap read, done ten times a second. */
const IDLE_POLL_MS = 100;
/** A shell that lives shorter than this is not restarted at once (a broken /bin/sh must not spin). */
const QUICK_EXIT_MS = 1000;

/**
 * Looks for the port for a while and serves the console on it if it shows up. The ports of one virtio-serial
 * device appear one after the other, so the agent's own port can be there before this one.
 */
export function startDebugConsole(opts: DebugConsoleOptions, lookForMs = 10_000): void {
  const { log } = opts;
  const deadline = Date.now() + lookForMs;
  const look = async (): Promise<void> => {
    for (;;) {
      const device = findSerialPort(DEBUG_CONSOLE_PORT_NAME);
      if (device && existsSync(device)) {
        log.info("debug console enabled", { device });
        return serveDebugConsole(new SerialChannel(device, log, IDLE_POLL_MS), opts);
      }
      if (Date.now() > deadline) {
        log.debug("no debug console port", { port: DEBUG_CONSOLE_PORT_NAME });
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  look().catch((err: unknown) => log.error("debug console failed; the agent goes on without it", { err }));
}

/** Serves host connections one after the other, for as long as the channel gives them. */
export async function serveDebugConsole(channel: AgentChannel, opts: DebugConsoleOptions): Promise<void> {
  for (;;) {
    const conn = await channel.accept();
    opts.log.info("host attached to the debug console");
    await consoleSession(conn, opts);
    opts.log.info("host left the debug console");
  }
}

/**
 * One host connection: its bytes are a shell's input, the shell's output and errors go back. The shell's stdio
 * are pipes, not a terminal, so nothing is echoed and a command's output is exactly what it printed. When the host
 * goes, the shell's whole process group is killed; when the shell exits first, a fresh one takes the next input.
 */
export function consoleSession(conn: Duplex, opts: DebugConsoleOptions): Promise<void> {
  const { log } = opts;
  let shell: ChildProcess | undefined;
  let pending: Buffer[] = [];
  let ended = false;
  let respawn: NodeJS.Timeout | undefined;

  const toHost = (b: Buffer) => {
    if (!ended) conn.write(b);
  };

  const start = () => {
    respawn = undefined;
    if (ended) return;
    const startedAt = Date.now();
    let child: ChildProcess;
    try {
      child = spawn(opts.shell ?? "/bin/sh", [], {
        cwd: "/",
        env: CONSOLE_ENV,
        stdio: ["pipe", "pipe", "pipe"],
        // Its own process group: a disconnect kills the commands it runs too.
        detached: true,
      });
    } catch (err) {
      log.warn("debug console shell did not start", { err });
      respawn = setTimeout(start, QUICK_EXIT_MS);
      return;
    }
    shell = child;
    opts.reaper?.noteSpawned(child.pid);
    child.stdout?.on("data", toHost);
    child.stderr?.on("data", toHost);
    // EPIPE when the shell exits with input unread; what it had not read is lost with it.
    for (const s of [child.stdin, child.stdout, child.stderr]) s?.on("error", () => {});
    let gone = false;
    const onGone = (why: Record<string, unknown>) => {
      if (gone) return;
      gone = true;
      opts.reaper?.noteExited(child.pid);
      if (shell === child) shell = undefined;
      if (ended) return;
      const lived = Date.now() - startedAt;
      log.info("debug console shell exited; starting a fresh one", { ...why, ms: lived });
      respawn = setTimeout(start, lived < QUICK_EXIT_MS ? QUICK_EXIT_MS : 0);
    };
    child.once("error", (err) => onGone({ err }));
    child.once("exit", (code, signal) => onGone({ code, signal }));
    const queued = pending;
    pending = [];
    for (const b of queued) child.stdin?.write(b);
  };

  const toShell = (b: Buffer) => {
    const s = shell;
    if (s?.stdin && s.exitCode === null && s.signalCode === null) s.stdin.write(b);
    else pending.push(b);
  };

  return new Promise<void>((resolve) => {
    const finish = () => {
      if (ended) return;
      ended = true;
      if (respawn) clearTimeout(respawn);
      pending = [];
      const s = shell;
      if (s?.pid !== undefined && s.exitCode === null && s.signalCode === null) {
        try {
          process.kill(-s.pid, "SIGKILL");
        } catch (err) {
          log.warn("could not kill the debug console shell", { pid: s.pid, err });
        }
      }
      conn.destroy();
      resolve();
    };
    conn.on("data", toShell);
    conn.once("end", finish);
    conn.once("close", finish);
    conn.on("error", (err) => {
      log.warn("debug console connection failed", { err });
      finish();
    });
    start();
  });
}
