// Sets up one container process's host side: its fifo directory, the stand-in's stdio (the caller's own fds, or a
// host pty whose master goes to `--console-socket`), and the stand-in itself, started detached so that it outlives
// the CLI call and is reaped by the caller's subreaper, as runc's container process is.
import { execFileSync, spawn } from "node:child_process";
import { closeSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { type HostCgroups, systemCgroups } from "../cgroups/host-cgroups.js";
import { readSandboxCgroupRecord } from "../cgroups/sandbox-cgroups.js";
import { Code, HakoError, invalidArgument } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import { sandboxPaths } from "../runtime/layout.js";
import type { RuntimeContext } from "./context.js";
import { makeRaw, openPty, sendConsole } from "./pty.js";
import { fifoPaths } from "./stand-in.js";
import { ioDir } from "./state-store.js";

export interface ProcessIo {
  dir: string;
  fifos: { stdin: string; stdout: string; stderr: string };
  tty: boolean;
}

/** runc's checks on terminal vs console socket (`create`/`exec` with `--detach`), with runc's wording. */
export function checkTerminal(tty: boolean, consoleSocket: string | undefined, detached: boolean): void {
  if (tty && !consoleSocket && detached) {
    throw invalidArgument("cannot allocate tty if runc will detach without setting console socket");
  }
  if (!tty && consoleSocket) {
    throw invalidArgument("cannot use console socket if runc will not detach or allocate tty");
  }
}

/** Makes the process's fifos (stdin, stdout, and stderr unless it has a terminal). */
export async function makeProcessIo(ctx: RuntimeContext, id: string, execId: string, tty: boolean): Promise<ProcessIo> {
  const dir = ioDir(ctx.root, id, execId);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const fifos = fifoPaths(dir, tty);
  const paths = [fifos.stdin, fifos.stdout, fifos.stderr].filter((p) => p !== "");
  try {
    execFileSync("mkfifo", ["-m", "600", ...paths], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    throw HakoError.from(err, Code.Internal, `cannot make the stdio fifos in ${dir}`);
  }
  return { dir, fifos, tty };
}

/**
 * Starts the stand-in of a process whose daemon-side stdio is `io`; returns its pid. With a console socket, a host
 * pty is made, its master sent to the socket and its slave given to the stand-in as fds 0-2; otherwise the stand-in
 * inherits ours.
 */
export function spawnStandIn(
  ctx: RuntimeContext,
  daemonSocket: string,
  id: string,
  execId: string,
  io: ProcessIo,
  consoleSocket: string | undefined,
): number {
  let stdio: ("inherit" | number)[] = ["inherit", "inherit", "inherit"];
  let pty: ReturnType<typeof openPty> | undefined;
  if (consoleSocket) {
    pty = openPty();
    makeRaw(pty.slave);
    try {
      sendConsole(consoleSocket, pty.master, pty.path);
    } finally {
      closeSync(pty.master);
    }
    stdio = [pty.slave, pty.slave, pty.slave];
  }
  const args = [...process.execArgv, process.argv[1] as string, "--root", ctx.root];
  if (ctx.logPath) args.push("--log", ctx.logPath, "--log-format", ctx.logFormat);
  if (ctx.debug) args.push("--debug");
  args.push("stand-in", "--socket", daemonSocket, "--io", io.dir, ...(io.tty ? ["--tty"] : []));
  if (execId) args.push("--exec", execId);
  args.push(id);
  try {
    // A session of its own (a terminal's hang-up or the caller's Ctrl-C reach it only through the caller), cwd "/"
    // so that it keeps no mount busy.
    const child = spawn(process.execPath, args, { detached: true, stdio, cwd: "/" });
    if (child.pid === undefined) throw new HakoError(Code.Internal, `cannot start the stand-in of ${id}`);
    child.unref();
    return child.pid;
  } finally {
    if (pty) closeSync(pty.slave);
  }
}

/**
 * Moves a stand-in into its pod's host cgroup, the one the daemon put the VM in (the spec's cgroupsPath). An
 * engine finds a container's cgroup from its pid as runc leaves it: containerd's runc shim loads the cgroup of the
 * pid it was given (`docker stats`, `docker top`), podman 4 reads /proc/PID/cgroup (`podman stats`). There they now
 * read the cost of the container's VM, not the caller's own group. A pod without a cgroup record (the daemon could
 * not place one) leaves the stand-in where it is.
 */
export async function joinPodCgroup(
  log: Logger,
  podId: string,
  pid: number,
  cgroups: HostCgroups = systemCgroups(),
  recordPath = sandboxPaths(podId).cgroupsRecord,
): Promise<void> {
  const record = await readSandboxCgroupRecord(recordPath).catch(() => undefined);
  if (!record) {
    log.debug("no host cgroup recorded for the pod; the stand-in stays in its caller's", { pod: podId, pid });
    return;
  }
  await cgroups
    .addProcess(record.sandbox, pid)
    .catch((err) => log.warn("cannot move the stand-in into the pod's cgroup", { pod: podId, pid, err }));
}
