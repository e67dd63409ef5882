// The crun driver: one method per crun verb. crun's own messages go to a JSON log file (not to stderr, which is
// the container's stderr during `create`/`exec`), and a failure becomes a HakoError carrying crun's last message.
import { spawn } from "node:child_process";
import { closeSync, constants, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { Code, HakoError } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import { crunErrorCode, withRuncWording } from "./crun-errors.js";
import type { Reaper } from "./reaper.js";

export interface CrunOptions {
  binary: string;
  /** crun's state directory (--root), on tmpfs. */
  root: string;
  /** Directory for per-call log files. */
  logDir: string;
  /** Bound on one crun call, in ms (CRUN_TIMEOUT_MS by default). */
  timeoutMs?: number;
}

/** Bound on one crun call, in ms: every verb hako uses returns in well under a second even under TCG. */
export const CRUN_TIMEOUT_MS = 60_000;

export interface CrunStdio {
  /** fds for the child's 0, 1, 2; -1 means /dev/null. */
  fds: [number, number, number];
}

let callSeq = 0;

export class Crun {
  constructor(
    private readonly opts: CrunOptions,
    private readonly reaper: Reaper,
    private readonly log: Logger,
  ) {}

  /** `crun create`: the container's init exists and waits for `start`. Returns its pid. */
  async create(id: string, bundle: string, pidFile: string, stdio: CrunStdio, consoleSocket?: string): Promise<number> {
    const args = ["create", "--bundle", bundle, "--pid-file", pidFile];
    if (consoleSocket) args.push("--console-socket", consoleSocket);
    args.push(id);
    await this.run(args, stdio);
    return readPid(pidFile);
  }

  /**
   * Starts a created container. When crun would do nothing but release the init, hako does it as crun does: the
   * init waits reading `<root>/<id>/exec.fifo`, made by `crun create`; start opens it for writing, unlinks it and
   * writes one byte (crun 1.8, libcrun_status_write_exec_fifo), after which crun's state says "running". That saves
   * starting crun, a dynamically linked binary that costs the guest's vCPU ~0.1 s under TCG. `crun start` itself
   * runs when the spec has poststart hooks (crun runs them after the fifo), and when the fifo cannot be opened at
   * once (no such file, or no reader: the init is gone), so that the caller gets crun's own error.
   */
  async start(id: string, opts: { poststartHooks: boolean } = { poststartHooks: false }): Promise<void> {
    if (!opts.poststartHooks && this.releaseInit(id)) return;
    await this.run(["start", id]);
  }

  /** The fifo half of `crun start`; false when the fifo cannot be opened without waiting. Throws once it is open. */
  private releaseInit(id: string): boolean {
    const fifo = join(this.opts.root, id, "exec.fifo");
    let fd: number;
    try {
      fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      this.log.debug("the exec fifo is not open for reading; starting with crun", { container: id, err });
      return false;
    }
    try {
      unlinkSync(fifo);
      writeSync(fd, Buffer.from([0]));
    } catch (err) {
      throw HakoError.from(err, Code.Internal, `container ${id}: releasing its init through ${fifo}`);
    } finally {
      closeSync(fd);
    }
    return true;
  }

  /** `crun exec --detach`: the process runs when this resolves; returns its pid. */
  async exec(
    id: string,
    processFile: string,
    pidFile: string,
    stdio: CrunStdio,
    consoleSocket?: string,
  ): Promise<number> {
    const args = ["exec", "--detach", "--process", processFile, "--pid-file", pidFile];
    if (consoleSocket) args.push("--console-socket", consoleSocket);
    args.push(id);
    await this.run(args, stdio);
    return readPid(pidFile);
  }

  async kill(id: string, signal: number, all: boolean): Promise<void> {
    await this.run(all ? ["kill", "--all", id, String(signal)] : ["kill", id, String(signal)]);
  }

  async delete(id: string, force: boolean): Promise<void> {
    await this.run(force ? ["delete", "--force", id] : ["delete", id]);
  }

  async pause(id: string): Promise<void> {
    await this.run(["pause", id]);
  }

  async resume(id: string): Promise<void> {
    await this.run(["resume", id]);
  }

  async update(id: string, resourcesFile: string): Promise<void> {
    await this.run(["update", "--resources", resourcesFile, id]);
  }

  private async run(args: string[], stdio?: CrunStdio): Promise<string> {
    const logFile = `${this.opts.logDir}/crun-${process.pid}-${++callSeq}.log`;
    const full = ["--root", this.opts.root, "--log", `file:${logFile}`, "--log-format", "json", ...args];
    this.log.debug("crun", { args: full });
    const fds = stdio?.fds ?? [-1, -1, -1];
    const child = spawn(this.opts.binary, full, {
      stdio: [fds[0] >= 0 ? fds[0] : "ignore", fds[1] >= 0 ? fds[1] : "pipe", fds[2] >= 0 ? fds[2] : "pipe"],
    });
    this.reaper.noteSpawned(child.pid);
    let output = "";
    child.stdout?.on("data", (d: Buffer) => {
      if (output.length < 65536) output += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      if (output.length < 65536) output += d.toString();
    });
    // 'exit', not 'close': the container keeps the stdio we passed open long after crun is gone.
    // No crun verb waits on the container: one that has not exited after CRUN_TIMEOUT_MS is stuck; it is killed so
    // that the RPC answers and nothing waits on it forever.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, this.opts.timeoutMs ?? CRUN_TIMEOUT_MS);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once("error", (err) =>
        reject(new HakoError(Code.Internal, `cannot run ${this.opts.binary}: ${err.message}`, { cause: err })),
      );
      child.once("exit", (c, s) => resolve([c, s]));
    }).finally(() => clearTimeout(timer));
    this.reaper.noteExited(child.pid);
    if (timedOut) {
      await rm(logFile, { force: true });
      throw new HakoError(
        Code.DeadlineExceeded,
        `crun ${args[0]} did not finish within ${this.opts.timeoutMs ?? CRUN_TIMEOUT_MS} ms`,
        {
          fields: { args },
        },
      );
    }
    if (code === 0) {
      // Only a failure's log is read; removing a success's is not waited for (two fewer trips on the start path).
      rm(logFile, { force: true }).catch(() => {});
      return output;
    }
    const logText = await readFile(logFile, "utf8").catch(() => "");
    await rm(logFile, { force: true });
    const message = withRuncWording(lastCrunMessage(logText) ?? output.trim().split("\n").pop() ?? "");
    throw new HakoError(crunErrorCode(message), `crun ${args[0]} failed: ${message || `exit ${code ?? signal}`}`, {
      fields: { args },
    });
  }
}

/** crun's JSON log holds one {"msg":…} object per line; the last error is the one that matters. */
export function lastCrunMessage(logText: string): string | undefined {
  let last: string | undefined;
  for (const line of logText.split("\n")) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { msg?: unknown };
      if (typeof entry.msg === "string") last = entry.msg;
    } catch {
      last = line.trim();
    }
  }
  return last;
}

function readPid(pidFile: string): number {
  // A few bytes on tmpfs: read at once rather than through the thread pool (see GuestContainers.create).
  const text = readFileSync(pidFile, "utf8");
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) throw new HakoError(Code.Internal, `bad pid file ${pidFile}: ${text}`);
  return pid;
}
