// virtiofsd, the vhost-user daemon behind virtio-fs: one per sandbox, started before QEMU (QEMU connects to its
// socket at start-up), supervised, stopped after QEMU. An exit nobody asked for is reported as an error and never
// silently restarted: the guest's view of its files is gone and the runtime must decide what to do. A later process
// can attach to a running daemon by its pid (attach()) and supervise and stop it the same way.
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, HakoError } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import { fileTail, TailBuffer } from "../common/tail-buffer.js";
import { type WatchedProcess, watchChild, watchPid } from "../common/watched-process.js";
import type { VirtioFsCache } from "../config/types.js";

export interface VirtiofsdOptions {
  binary: string;
  socketPath: string;
  /** The host directory the guest sees. */
  sourceDir: string;
  cache: VirtioFsCache;
  extraArgs?: readonly string[];
  debug?: boolean;
  /**
   * Where the daemon's stderr goes. A file outlives this process, so a daemon a later process attaches to can still
   * write its log (into a pipe whose reader is gone it would die of SIGPIPE, which virtiofsd does not ignore).
   * Default: a pipe read by this process.
   */
  logPath?: string;
  /** Wrap the command, e.g. ["ip", "netns", "exec", "ns1"]. */
  wrapper?: readonly string[];
  startTimeoutMs?: number;
}

export interface DaemonExit {
  code: number | null;
  signal: string | null;
  requested: boolean;
}

/**
 * Kata's cache names → the C virtiofsd's (QEMU 7.2 ships it): `never` is `none` there; `metadata` has no
 * equivalent, `auto` is the nearest (metadata cached with a timeout, data close-to-open).
 */
export function virtiofsdCacheMode(cache: VirtioFsCache): string {
  return cache === "never" ? "none" : cache === "metadata" ? "auto" : cache;
}

export function virtiofsdArgs(o: VirtiofsdOptions): string[] {
  return [
    `--socket-path=${o.socketPath}`,
    "-o",
    `source=${o.sourceDir}`,
    "-o",
    `cache=${virtiofsdCacheMode(o.cache)}`,
    // namespace sandbox: virtiofsd pivot_roots into the shared dir in its own mount/pid/net namespaces, so a
    // compromised daemon sees nothing else of the host. Works as root here.
    "-o",
    "sandbox=namespace",
    "-o",
    "xattr",
    "-o",
    `log_level=${o.debug ? "debug" : "warn"}`,
    ...(o.extraArgs ?? []),
  ];
}

export class Virtiofsd {
  private requested = false;
  private exitInfo: DaemonExit | undefined;
  private readonly stderr = new TailBuffer(8192);
  /** Resolves once, when the daemon is gone. */
  readonly exited: Promise<DaemonExit>;

  private constructor(
    private readonly proc: WatchedProcess,
    readonly options: VirtiofsdOptions,
    logger: Logger,
  ) {
    this.exited = proc.exited.then(({ code, signal }) => {
      this.exitInfo = { code, signal, requested: this.requested };
      if (!this.requested) {
        logger.error("virtiofsd exited unexpectedly", { code, signal, stderr: this.stderrText() });
      } else logger.debug("virtiofsd exited", { code, signal });
      return this.exitInfo;
    });
  }

  /** Supervises a daemon another process started (its pid file named it); its stderr is not ours to read. */
  static attach(pid: number, options: VirtiofsdOptions, logger: Logger): Virtiofsd {
    return new Virtiofsd(watchPid(pid, options.socketPath), options, logger.child({ subsystem: "virtiofsd" }));
  }

  /** The end of what the daemon wrote on stderr. */
  private stderrText(): string {
    return this.options.logPath ? fileTail(this.options.logPath, 8192) : this.stderr.text();
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** The error to report when the daemon died without being asked to. */
  get failure(): HakoError | undefined {
    const e = this.exitInfo;
    if (!e || e.requested) return undefined;
    return new HakoError(
      Code.Unavailable,
      `virtiofsd for ${this.options.sourceDir} exited unexpectedly (${e.signal ?? `code ${e.code}`}): ${this.stderrText().trim()}`,
    );
  }

  /** Starts the daemon and resolves once its socket exists. */
  static async start(options: VirtiofsdOptions, logger: Logger): Promise<Virtiofsd> {
    const log = logger.child({ subsystem: "virtiofsd" });
    rmSync(options.socketPath, { force: true });
    const argv = [...(options.wrapper ?? []), options.binary, ...virtiofsdArgs(options)];
    log.debug("starting virtiofsd", { argv });
    const logFd = options.logPath ? openSync(options.logPath, "a", 0o600) : undefined;
    const child = spawn(argv[0] as string, argv.slice(1), {
      stdio: ["ignore", "ignore", logFd ?? "pipe"],
      detached: true,
    });
    if (logFd !== undefined) closeSync(logFd);
    const daemon = new Virtiofsd(watchChild(child), options, log);
    child.stderr?.on("data", (chunk: Buffer) => daemon.stderr.push(chunk));
    const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
    const deadline = Date.now() + (options.startTimeoutMs ?? 5000);
    let gone = false;
    void daemon.exited.then(() => {
      gone = true;
    });
    let failed: Error | undefined;
    void spawnError.then((e) => {
      failed = e;
    });
    while (!existsSync(options.socketPath)) {
      if (failed)
        throw new HakoError(Code.FailedPrecondition, `cannot start virtiofsd ${options.binary}: ${failed.message}`);
      if (gone) {
        throw new HakoError(
          Code.FailedPrecondition,
          `virtiofsd exited at start-up for ${options.sourceDir}: ${daemon.stderrText().trim()}`,
        );
      }
      if (Date.now() > deadline) {
        await daemon.stop(0);
        throw new HakoError(Code.DeadlineExceeded, `virtiofsd socket ${options.socketPath} did not appear`);
      }
      await sleep(5);
    }
    log.debug("virtiofsd ready", { pid: daemon.pid, socket: options.socketPath });
    return daemon;
  }

  /** SIGTERM, then SIGKILL after the grace period; removes the socket. Idempotent. */
  async stop(graceMs = 1000): Promise<void> {
    this.requested = true;
    if (!this.exitInfo) {
      this.proc.kill("SIGTERM");
      const timer = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.options.socketPath, { force: true });
  }

  /** Marks the coming exit as expected (QEMU quitting makes virtiofsd exit on its own). */
  expectExit(): void {
    this.requested = true;
  }
}
