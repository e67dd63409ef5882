// A container process's I/O: starting it through a crun verb with pipes or a terminal (handed over crun's console
// socket), then the stdio accessors the RPCs use (stdin writes, stdout/stderr reads, terminal resize).
import { Code, HakoError } from "../../common/errors.js";
import { closeFd } from "../../sys/fd.js";
import { setWindowSize } from "../../sys/tty.js";
import { ConsoleSocket } from "./console-socket.js";
import type { GuestProcess } from "./container.js";
import { giveStdioTo, giveTerminalTo } from "./process-identity.js";
import { type ProcessStdio, pipeStdio, ttyStdio } from "./stdio.js";

/** Bound on crun passing a terminal's master over the console socket, in ms (crun's whole create/exec). */
const CRUN_CONSOLE_TIMEOUT_MS = 60_000;

/** A crun verb that starts a process on the given stdio fds (or console socket) and resolves to its pid. */
export type StartVerb = (fds: [number, number, number], consoleSocket?: string) => Promise<number>;

export class ProcessSpawner {
  /** Names the console sockets crun hands terminals over (one per process started with a terminal). */
  private ttySeq = 0;

  /** ttyDir: a directory for console sockets, with a short path (sockets are limited to 107 bytes). */
  constructor(private readonly ttyDir: string) {}

  /**
   * Runs a crun verb that starts a process, with pipes or a console socket, and returns its pid and stdio. A
   * terminal gets `size` (the OCI process's consoleSize: rows = height, columns = width) as soon as its master
   * arrives, before an exec's process runs.
   */
  async spawn(
    terminal: boolean,
    uid: number,
    run: StartVerb,
    size?: { height: number; width: number },
  ): Promise<{ pid: number; stdio: ProcessStdio }> {
    if (terminal) {
      // Not beside the bundle: a socket path is limited to 107 bytes, and CRI's 64-character container and exec ids
      // in `<stateDir>/containers/<id>/exec-<id>.sock` go past that.
      const socket = new ConsoleSocket(`${this.ttyDir}/${this.ttySeq++}.sock`);
      // The terminal goes to the process's user the moment crun passes its master, while crun still runs (an exec
      // is started when crun returns): as near as hako gets to runc doing it before the process runs.
      const master = socket.master(CRUN_CONSOLE_TIMEOUT_MS).then((fd) => {
        giveTerminalTo(fd, uid);
        if (size && size.height > 0 && size.width > 0) setWindowSize(fd, size.height, size.width);
        return fd;
      });
      master.catch(() => {});
      try {
        const pid = await run([-1, -1, -1], socket.path);
        return { pid, stdio: ttyStdio(await master) };
      } catch (err) {
        void master.then(closeFd, () => {});
        throw err;
      } finally {
        socket.close();
      }
    }
    const stdio = pipeStdio(true);
    try {
      giveStdioTo(stdio.childFds, uid);
      const pid = await run(stdio.childFds);
      return { pid, stdio };
    } catch (err) {
      stdio.destroy();
      throw err;
    } finally {
      stdio.releaseChildFds();
    }
  }
}

/** "process init of c1" / "process e1 of c1": how the stdio errors name a process. */
function processName(containerId: string, p: GuestProcess): string {
  return `process ${p.execId || "init"} of ${containerId}`;
}

/** Resolves to the bytes written; FailedPrecondition without stdin or once it is closed. */
export function writeStdin(containerId: string, p: GuestProcess, data: Uint8Array): Promise<number> {
  const what = processName(containerId, p);
  if (!p.stdio.stdin) throw new HakoError(Code.FailedPrecondition, `${what} has no stdin`);
  // The writer knows only its stream; the message names the process here ("process init of c1: stdin is closed").
  return p.stdio.stdin.write(data).catch((err: unknown) => {
    throw err instanceof HakoError ? new HakoError(err.code, `${what}: ${err.message}`, { cause: err }) : err;
  });
}

export function closeStdin(p: GuestProcess): void {
  p.stdio.stdin?.close();
}

/** Up to max bytes of stdout; null at end of stream. */
export function readStdout(p: GuestProcess, max: number, signal?: AbortSignal): Promise<Buffer | null> {
  return p.stdio.stdout.read(max, signal);
}

/** Up to max bytes of stderr; null at end of stream. */
export function readStderr(p: GuestProcess, max: number, signal?: AbortSignal): Promise<Buffer | null> {
  return p.stdio.stderr.read(max, signal);
}

/** Sets the terminal's size in character cells; FailedPrecondition for a process without a terminal. */
export function resizeTty(containerId: string, p: GuestProcess, rows: number, cols: number): void {
  if (p.stdio.ttyMaster === undefined) {
    throw new HakoError(Code.FailedPrecondition, `${processName(containerId, p)} has no terminal`);
  }
  if (!p.running) return;
  setWindowSize(p.stdio.ttyMaster, rows, cols);
}
