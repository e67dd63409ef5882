// The host stand-in of one container process. Callers of an OCI runtime wait on, signal and reap a host pid (conmon
// and containerd's runc shim are child subreapers and take the container's exit status from it), but a hako
// container process lives in a VM. So each one gets a host process that plays its part:
// - stdio: its own fds 0-2 (the caller's pipes, or the slave of the pty whose master went to `--console-socket`)
//   relayed to and from the fifos the pod's daemon relays to the guest process;
// - signals sent to it are forwarded to the guest process (Task/Kill); a terminal resize (SIGWINCH) becomes
//   Task/ResizePty;
// - it exits when the guest process has exited and its output is drained, with the same status (128+N after
//   signal N), or 137 if the pod's daemon (and so the VM) is gone.

import type { Socket } from "node:net";
import { constants as osConstants } from "node:os";
import { join } from "node:path";
import type { Logger } from "../common/log.js";
import { openFifoReader, openFifoWriter } from "../shim/fifo.js";
import { connectDaemon, type DaemonConnection } from "./daemon-client.js";
import { makeRaw, takeControllingTerminal, windowSize } from "./pty.js";

/** Signals forwarded to the guest process (SIGKILL and SIGSTOP cannot be caught; SIGCHLD is the stand-in's own). */
const FORWARDED: NodeJS.Signals[] = [
  "SIGTERM",
  "SIGINT",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
  "SIGCONT",
  "SIGALRM",
];

/** Status reported when the daemon (and with it the VM) went away under the process: as if SIGKILLed. */
export const LOST_STATUS = 128 + 9;

/** How long output may keep flowing after the exit is known, in ms, before the stand-in exits anyway. */
const DRAIN_MS = 5000;

export interface StandInOptions {
  socket: string;
  id: string;
  /** "" for the container's init process. */
  execId: string;
  /** The process's fifo directory (`0`, `1`, `2`). */
  io: string;
  tty: boolean;
  log: Logger;
}

/** The fifo names in a process's io directory, as the daemon is told them at Create/Exec. */
export function fifoPaths(io: string, tty: boolean): { stdin: string; stdout: string; stderr: string } {
  return { stdin: join(io, "0"), stdout: join(io, "1"), stderr: tty ? "" : join(io, "2") };
}

function ended(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    s.once("end", resolve);
    s.once("close", resolve);
    s.once("error", () => resolve());
  });
}

/** Relays stdio and signals until the guest process exits, then exits this process with its status. */
export async function runStandIn(o: StandInOptions): Promise<never> {
  const log = o.log.child({ container: o.id, exec: o.execId, role: "stand-in" });
  const fifos = fifoPaths(o.io, o.tty);
  let daemon: DaemonConnection | undefined;
  const outputs: Promise<void>[] = [];
  try {
    daemon = await connectDaemon(o.socket);
    const out = await openFifoReader(fifos.stdout);
    out.pipe(process.stdout, { end: false });
    outputs.push(ended(out));
    if (fifos.stderr) {
      const err = await openFifoReader(fifos.stderr);
      err.pipe(process.stderr, { end: false });
      outputs.push(ended(err));
    }
    relayStdin(fifos.stdin, log);
    forwardSignals(daemon, o, log);
    const { exitStatus } = await daemon.task.wait({ id: o.id, execId: o.execId });
    await Promise.race([Promise.all(outputs), new Promise((r) => setTimeout(r, DRAIN_MS).unref())]);
    log.debug("process exited", { status: exitStatus });
    process.exit(exitStatus);
  } catch (err) {
    log.error("lost the guest process; reporting it killed", { err });
    process.exit(LOST_STATUS);
  }
}

function relayStdin(path: string, log: Logger): void {
  void openFifoWriter(path)
    .then((sink) => {
      sink.on("error", (err) => log.debug("stdin fifo error", { err }));
      process.stdin.on("error", () => sink.end());
      process.stdin.pipe(sink);
    })
    .catch((err) => log.warn("cannot open the stdin fifo; the process gets no input", { err }));
}

function forwardSignals(daemon: DaemonConnection, o: StandInOptions, log: Logger): void {
  const send = (signal: number) =>
    void daemon.task
      .kill({ id: o.id, execId: o.execId, signal, all: false })
      .catch((err) => log.warn("cannot forward a signal", { signal, err }));
  for (const sig of FORWARDED) process.on(sig, () => send(osConstants.signals[sig]));
  if (!o.tty || !process.stdin.isTTY) return;
  makeRaw(0);
  takeControllingTerminal();
  const resize = () => {
    const ws = windowSize(0);
    log.debug("terminal size", { rows: ws?.rows, cols: ws?.cols });
    if (!ws || ws.rows === 0) return;
    void daemon.task
      .resizePty({ id: o.id, execId: o.execId, width: ws.cols, height: ws.rows })
      .catch((err) => log.debug("cannot resize the guest terminal", { err }));
  };
  process.on("SIGWINCH", resize);
  // The caller may have sized the pty before it became this process's controlling terminal (conmon does it as soon
  // as the console socket hands it the master): no SIGWINCH comes for that size, so it is sent once now.
  resize();
}
