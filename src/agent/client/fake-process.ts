// The processes and containers behind FakeAgent: a pull-style pipe, a process that plays a few programs by their
// first argument (`cat` echoes stdin until it closes, `echo` prints its arguments, `true`/`false`/`exit N` end at
// once, anything else runs until signalled), and a container with the status rules host and guest share.
import { Code, HakoError } from "../../common/errors.js";
import type { OciLinuxResources, OciProcess } from "../../oci/spec.js";
import type { CallOptions } from "../api/agent-api.js";
import { can, type Operation, ProcessStatus } from "../api/process-status.js";

/** One direction of a process's stdio: chunks pushed by the program, pulled by the host, then end of stream. */
export class Pipe {
  private chunks: Uint8Array[] = [];
  private ended = false;
  private waiters: (() => void)[] = [];

  push(data: Uint8Array): void {
    if (this.ended || data.length === 0) return;
    this.chunks.push(data.slice());
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  get closed(): boolean {
    return this.ended;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async read(max: number, opts?: CallOptions): Promise<Uint8Array | null> {
    for (;;) {
      opts?.signal?.throwIfAborted();
      const first = this.chunks[0];
      if (first) {
        if (first.length <= max) {
          this.chunks.shift();
          return first;
        }
        this.chunks[0] = first.subarray(max);
        return first.subarray(0, max);
      }
      if (this.ended) return null;
      await new Promise<void>((resolve, reject) => {
        this.waiters.push(resolve);
        opts?.signal?.addEventListener("abort", () => reject(opts.signal?.reason), { once: true });
      });
    }
  }
}

/** A process the fake agent "runs": its pipes, stdin, tty and exit, and the few programs it can play. */
export class FakeProcess {
  readonly stdout = new Pipe();
  readonly stderr = new Pipe();
  stdinOpen = true;
  exitStatus: number | undefined;
  readonly exited: Promise<number>;
  private settle!: (s: number) => void;
  tty: { rows: number; cols: number } | undefined;

  constructor(
    readonly pid: number,
    readonly proc: OciProcess,
  ) {
    this.exited = new Promise((resolve) => {
      this.settle = resolve;
    });
    if (proc.terminal) this.tty = { rows: proc.consoleSize?.height ?? 24, cols: proc.consoleSize?.width ?? 80 };
  }

  get program(): string {
    return (this.proc.args?.[0] ?? "").split("/").pop() ?? "";
  }

  /** Runs the program's first steps; programs that need stdin or a signal keep running. */
  run(): void {
    const args = this.proc.args ?? [];
    switch (this.program) {
      case "echo":
        this.stdout.push(new TextEncoder().encode(`${args.slice(1).join(" ")}\n`));
        this.exit(0);
        break;
      case "true":
        this.exit(0);
        break;
      case "false":
        this.exit(1);
        break;
      case "exit":
        this.exit(Number(args[1] ?? 0) & 0xff);
        break;
    }
  }

  writeStdin(data: Uint8Array): number {
    if (!this.stdinOpen || this.exitStatus !== undefined)
      throw new HakoError(Code.FailedPrecondition, "stdin is closed");
    if (this.program === "cat") this.stdout.push(data);
    return data.length;
  }

  closeStdin(): void {
    this.stdinOpen = false;
    if (this.program === "cat") this.exit(0);
  }

  exit(status: number): void {
    if (this.exitStatus !== undefined) return;
    this.exitStatus = status;
    this.stdout.end();
    this.stderr.end();
    this.settle(status);
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }
}

/** A container of the fake agent: its status (the shared ProcessStatus rules), init and execs. */
export class FakeContainer {
  status: ProcessStatus = ProcessStatus.Created;
  readonly execs = new Map<string, FakeProcess>();
  resources: OciLinuxResources = {};
  constructor(
    readonly id: string,
    readonly init: FakeProcess,
  ) {
    void init.exited.then(() => {
      this.status = ProcessStatus.Stopped;
      for (const p of this.execs.values()) p.exit(137);
    });
  }

  /** The agent's refusal: FailedPrecondition naming the container and its status. */
  mustAllow(op: Operation): void {
    if (!can(this.status, op)) throw new HakoError(Code.FailedPrecondition, `container ${this.id} is ${this.status}`);
  }
}
