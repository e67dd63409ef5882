// A process's stdio as the host pulls it: reads are serialized (no reordering), bounded by the stream's high-water
// mark (a container writing 100 MB fills the pipe, then blocks, instead of the agent's memory), and end with null.
import { Socket, type SocketConstructorOpts } from "node:net";
import { type DuplexOptions, Readable, type Writable } from "node:stream";
import { ReadStream, WriteStream } from "node:tty";
import { Code, HakoError } from "../../common/errors.js";
import { closeFd, dupFd, growPipe, makePipe } from "../../sys/fd.js";

/** Bytes the agent buffers per output stream before it stops reading the pipe. */
export const OUTPUT_BUFFER_BYTES = 256 * 1024;

export class PullReader {
  private done = false;
  private wake: (() => void) | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly stream: Readable) {
    const poke = () => {
      const w = this.wake;
      this.wake = undefined;
      w?.();
    };
    stream.on("readable", poke);
    stream.on("end", () => {
      this.done = true;
      poke();
    });
    stream.on("close", () => {
      this.done = true;
      poke();
    });
    // EIO on a pty master once the terminal's last user is gone is its end of stream, not a failure.
    stream.on("error", () => {
      this.done = true;
      poke();
    });
  }

  /** Bytes read from the source and not yet handed out. */
  get buffered(): number {
    return this.stream.readableLength;
  }

  get ended(): boolean {
    return this.done && this.stream.readableLength === 0;
  }

  /** At least one byte and at most max, or null at end of stream. Concurrent calls are answered in order. */
  read(max: number, signal?: AbortSignal): Promise<Buffer | null> {
    const next = this.tail.then(() => this.readNow(Math.max(1, max), signal));
    this.tail = next.catch(() => {});
    return next;
  }

  private async readNow(max: number, signal?: AbortSignal): Promise<Buffer | null> {
    for (;;) {
      signal?.throwIfAborted();
      const chunk = this.stream.destroyed ? null : (this.stream.read() as Buffer | null);
      if (chunk !== null) {
        if (chunk.length <= max) return chunk;
        this.stream.unshift(chunk.subarray(max));
        return chunk.subarray(0, max);
      }
      if (this.done) return null;
      await new Promise<void>((resolve, reject) => {
        this.wake = resolve;
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    }
  }

  destroy(): void {
    this.stream.destroy();
  }
}

export class StdinWriter {
  private closed = false;
  /**
   * @param eofByte for a terminal: closing its input cannot close the pty, so the terminal's EOF character is typed
   * instead (a reader in canonical mode then sees end of file).
   */
  constructor(
    private readonly stream: Writable,
    private readonly eofByte?: number,
  ) {
    // EPIPE after the process exits is reported to the writer of the next call, never as an unhandled error.
    stream.on("error", () => {
      this.closed = true;
    });
  }

  async write(data: Uint8Array): Promise<number> {
    if (this.closed || this.stream.destroyed || this.stream.writableEnded) {
      throw new HakoError(Code.FailedPrecondition, "stdin is closed");
    }
    await new Promise<void>((resolve, reject) => {
      this.stream.write(data, (err) =>
        err ? reject(new HakoError(Code.FailedPrecondition, `stdin write failed: ${err.message}`)) : resolve(),
      );
    });
    return data.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.eofByte !== undefined) this.stream.end(Buffer.from([this.eofByte]));
    else this.stream.end();
  }
}

/** The agent's side of a process's stdio, plus the descriptors to hand to the process (closed after the spawn). */
export interface ProcessStdio {
  stdin: StdinWriter | undefined;
  stdout: PullReader;
  stderr: PullReader;
  /** fds for the child's 0, 1, 2. */
  childFds: [number, number, number];
  /** Closes the child's ends in the agent once the child has them. */
  releaseChildFds(): void;
  /** The pty master when the process has a terminal. */
  ttyMaster?: number;
  destroy(): void;
}

// net.Socket hands its options to the Duplex underneath, the high-water mark included.
function readEnd(fd: number): SocketConstructorOpts & DuplexOptions {
  return { fd, readable: true, writable: false, readableHighWaterMark: OUTPUT_BUFFER_BYTES };
}

/** Three pipes the agent owns: they stay open after the crun process that passed them to the container exits. */
export function pipeStdio(withStdin: boolean): ProcessStdio {
  const [inR, inW] = withStdin ? makePipe() : [-1, -1];
  const [outR, outW] = makePipe();
  const [errR, errW] = makePipe();
  growPipe(outR, 1024 * 1024);
  const stdout = new PullReader(new Socket(readEnd(outR)));
  const stderr = new PullReader(new Socket(readEnd(errR)));
  const stdin = withStdin ? new StdinWriter(new Socket({ fd: inW, readable: false, writable: true })) : undefined;
  let released = false;
  return {
    stdin,
    stdout,
    stderr,
    childFds: [inR, outW, errW],
    releaseChildFds() {
      if (released) return;
      released = true;
      for (const fd of [inR, outW, errW]) if (fd >= 0) closeFd(fd);
    },
    destroy() {
      this.releaseChildFds();
      stdin?.close();
      stdout.destroy();
      stderr.destroy();
    },
  };
}

/** A terminal process's stdio: the pty master read and written through two descriptors, stderr merged into it. */
export function ttyStdio(master: number): ProcessStdio {
  const reader = new ReadStream(master);
  const writer = new WriteStream(dupFd(master));
  const stdout = new PullReader(reader);
  return {
    stdin: new StdinWriter(writer, 0x04),
    stdout,
    stderr: new PullReader(Readable.from([])),
    childFds: [-1, -1, -1],
    releaseChildFds() {},
    ttyMaster: master,
    destroy() {
      reader.destroy();
      writer.destroy();
    },
  };
}
