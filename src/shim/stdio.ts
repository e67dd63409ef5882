// Relays one process's stdio between containerd's fifos and the agent: stdout/stderr are pulled from the guest and
// written to the fifos (waiting for 'drain': back-pressure reaches the guest because nothing more is pulled), stdin is
// read from its fifo and pushed to the guest, one chunk at a time.
import type { Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../common/log.js";
import type { Sandbox } from "../runtime/sandbox.js";
import { endOfWriters, openFifoReader, openFifoWriter } from "./fifo.js";

const CHUNK = 128 * 1024;

/** containerd's fifo paths for one process ("" where containerd gave none). */
export interface StdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

/** What the relay needs from the runtime: a process's stdio in the guest. */
export type ProcessIo = Pick<Sandbox, "readStdout" | "readStderr" | "writeStdin" | "closeStdin">;

/** The process whose stdio is relayed. */
export interface ProcessRef {
  containerId: string;
  /** "" for the container's init process. */
  execId: string;
}

export class StdioRelay {
  private lastActivity = Date.now();
  private stdin: Socket | undefined;
  private closed = false;
  /** Cancels fifo opens still waiting for their peer (close()). */
  private readonly opening = new AbortController();
  private readonly outputs: Promise<void>[] = [];
  private stdinDone: Promise<void> = Promise.resolve();
  private started = false;
  private readonly sinks: { stdout?: Promise<Socket>; stderr?: Promise<Socket>; stdin?: Promise<Socket> } = {};

  constructor(
    private readonly process: ProcessRef,
    private readonly stdio: StdioPaths,
    private readonly io: ProcessIo,
    private readonly log: Logger,
  ) {
    // Open the fifos now, at Create/Exec, as containerd expects: a client may write all of stdin and close its end
    // before the process starts, and the data must still be there when it does.
    // Non-blocking (fifo.ts): a fifo nobody ever opens costs a timer at most, never a thread.
    const signal = this.opening.signal;
    const quiet = (p: Promise<Socket>) => {
      p.catch((err) => this.lost("cannot open fifo; the process's stdio there is lost", err));
      return p;
    };
    if (stdio.stdout) this.sinks.stdout = quiet(openFifoWriter(stdio.stdout, { signal }));
    if (stdio.stderr && !stdio.terminal) this.sinks.stderr = quiet(openFifoWriter(stdio.stderr, { signal }));
    if (stdio.stdin) this.sinks.stdin = quiet(openFifoReader(stdio.stdin, { signal }));
  }

  /** A relay failure: lost output or input is a warning, unless the process was deleted (then it is expected). */
  private lost(msg: string, err: unknown): void {
    if (this.closed) this.log.debug(msg, { err });
    else this.log.warn(msg, { err });
  }

  /** Starts relaying; call once the process runs in the guest. */
  start(): void {
    this.started = true;
    const { containerId, execId } = this.process;
    if (this.sinks.stdout) {
      this.outputs.push(this.pump(this.sinks.stdout, (max) => this.io.readStdout(containerId, execId, max), "stdout"));
    }
    if (this.sinks.stderr) {
      this.outputs.push(this.pump(this.sinks.stderr, (max) => this.io.readStderr(containerId, execId, max), "stderr"));
    }
    if (this.sinks.stdin) this.stdinDone = this.feedStdin(this.sinks.stdin);
  }

  private async pump(
    opened: Promise<Socket>,
    read: (max: number) => Promise<Uint8Array | null>,
    name: string,
  ): Promise<void> {
    let sink: Socket | undefined;
    try {
      sink = await opened;
      sink.on("error", (err) => this.lost(`${name} fifo error`, err));
      for (;;) {
        const data = await read(CHUNK);
        if (data === null) break;
        this.lastActivity = Date.now();
        if (!sink.write(data)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              sink?.off("drain", done);
              sink?.off("close", done);
              resolve();
            };
            sink?.on("drain", done);
            sink?.on("close", done);
          });
          if (sink.destroyed) break;
        }
      }
    } catch (err) {
      this.lost(`${name} relay ended early; output may be lost`, err);
    } finally {
      if (sink && !sink.destroyed) await new Promise<void>((r) => sink?.end(r));
    }
  }

  private async feedStdin(opened: Promise<Socket>): Promise<void> {
    const { containerId, execId } = this.process;
    try {
      const src = await opened;
      this.stdin = src;
      if (this.closed) src.destroy();
      for await (const chunk of src) {
        let buf = chunk as Buffer;
        while (buf.length > 0) {
          const n = await this.io.writeStdin(containerId, execId, buf);
          buf = buf.subarray(n);
        }
        this.lastActivity = Date.now();
      }
    } catch (err) {
      this.lost("stdin relay ended early; input may be lost", err);
    }
    await this.io.closeStdin(containerId, execId).catch(() => {});
  }

  /**
   * containerd's CloseIO: the client closed its end of stdin. What it wrote before is still in the fifo, so the
   * relay reads on to end of file (bounded wait) before the guest's stdin is closed.
   */
  async closeStdin(): Promise<void> {
    // The client's end is closed: the reader reaches end of file after the buffered bytes, even if the client never
    // opened it (stdin from /dev/null).
    if (this.stdio.stdin) endOfWriters(this.stdio.stdin);
    // ctr sends CloseIO as soon as its input ends, which for a short input is before Start: the relay, once
    // started, reads the buffered input to that end of file and then closes the guest's stdin itself.
    if (!this.started && this.sinks.stdin) return;
    await Promise.race([this.stdinDone, sleep(5000)]);
    this.stdin?.destroy();
    await this.io.closeStdin(this.process.containerId, this.process.execId).catch(() => {});
  }

  /**
   * Resolves when stdout and stderr reached end of stream, or when they made no progress for idleMs (a background
   * process that inherited the pipes can hold them open forever after the main process exited).
   */
  async drained(idleMs = 3000): Promise<void> {
    const all = Promise.all(this.outputs).then(() => undefined);
    // Idle time counts from the later of the last byte and this call: a process that ran quietly for a while
    // before exiting still gets the whole grace period for its final output.
    const since = Date.now();
    for (;;) {
      const idleLeft = Math.max(this.lastActivity, since) + idleMs - Date.now();
      if (idleLeft <= 0) return;
      const timedOut = await Promise.race([all.then(() => false), sleep(idleLeft).then(() => true)]);
      if (!timedOut) return;
    }
  }

  /** Stops everything (delete of the process), including fifo opens still waiting for their peer. */
  close(): void {
    this.closed = true;
    this.opening.abort();
    this.stdin?.destroy();
    for (const s of [this.sinks.stdout, this.sinks.stderr, this.sinks.stdin]) {
      s?.then((sock) => sock.destroy()).catch(() => {});
    }
  }
}
