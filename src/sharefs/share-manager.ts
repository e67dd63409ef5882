// The share manager: owns the host side of the sandbox's shared directory. For virtio-fs it starts (or, in a later
// process, attaches to) the virtiofsd daemon that the VMM connects to; for virtio-9p the VMM serves the directory
// itself and there is only a check; for "none" there is nothing. A hypervisor driver calls it from prepare(); the
// Share it returns tells the driver what device to give the VM, the runtime how the guest mounts it, and reports
// the daemon's death (never restarted silently).
import { existsSync, writeFileSync } from "node:fs";
import type { GuestStorage } from "../agent/api/agent-api.js";
import { GUEST_SHARED_DIR, SHARE_TAG } from "../agent/api/guest-contract.js";
import { Code, HakoError } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import type { SharedFs, VirtioFsCache } from "../config/types.js";
import { ninePShare } from "./ninep.js";
import { Virtiofsd } from "./virtiofsd.js";

/** The share settings of a hypervisor section (shared_fs, virtio_fs_*, msize_9p, enable_debug). */
export interface ShareConfig {
  sharedFs: SharedFs;
  virtioFsDaemon: string;
  virtioFsCache: VirtioFsCache;
  virtioFsExtraArgs: readonly string[];
  msize9p: number;
  debug: boolean;
}

/** What the VMM attaches for the share. */
export type ShareDevice =
  | { kind: "virtio-fs"; socketPath: string }
  | { kind: "virtio-9p"; path: string }
  | { kind: "none" };

export interface ShareRequest {
  sandboxId: string;
  /** Host directory the guest sees; required unless shared_fs = "none". */
  hostDir?: string;
  /** Where the daemon's socket and pid file go (the VM's state directory). */
  socketPath: string;
  pidFile: string;
  /** The daemon's stderr, a file so it outlives this process (the VM's state directory). */
  logPath: string;
  /** Command prefix that runs the daemon in the sandbox's netns (`ip netns exec …`), if any. */
  wrapper?: readonly string[];
}

/** A share as persisted with the VM: enough for another process to attach to the daemon and stop it. */
export interface PersistedShare {
  kind: SharedFs;
  hostDir?: string;
  socketPath?: string;
  logPath?: string;
  daemonPid?: number;
}

export interface Share {
  readonly device: ShareDevice;
  /** How the guest mounts the share (empty when nothing is shared). */
  readonly guestStorages: GuestStorage[];
  readonly daemonPid: number | undefined;
  /** Resolves with an error if the share daemon dies without being asked to; never resolves otherwise. */
  readonly failure: Promise<Error>;
  /** The VMM is quitting: the daemon exits by itself once the VMM closes its socket, which is expected now. */
  expectExit(): void;
  /** Stops the daemon (SIGTERM, SIGKILL after the grace) and removes its socket. Idempotent. */
  stop(graceMs?: number): Promise<void>;
  persistable(): PersistedShare;
}

const never = new Promise<Error>(() => {});

function requireFile(path: string, what: string): void {
  if (!existsSync(path))
    throw new HakoError(Code.FailedPrecondition, `${what} ${path} does not exist`, { fields: { path } });
}

export class ShareManager {
  constructor(private readonly config: ShareConfig) {}

  /** How the guest mounts the share; the agent does it at CreateSandbox. */
  guestStorages(): GuestStorage[] {
    switch (this.config.sharedFs) {
      case "virtio-fs":
        return [
          { driver: "virtio-fs", source: SHARE_TAG, fstype: "virtiofs", options: [], mountPoint: GUEST_SHARED_DIR },
        ];
      case "virtio-9p":
        return [
          {
            driver: "9p",
            source: SHARE_TAG,
            fstype: "9p",
            options: ["trans=virtio", "version=9p2000.L", `msize=${this.config.msize9p}`],
            mountPoint: GUEST_SHARED_DIR,
          },
        ];
      case "none":
        return [];
    }
  }

  /** Readies the share for a VM about to start: starts virtiofsd (its pid written to req.pidFile). */
  async start(req: ShareRequest, logger: Logger): Promise<Share> {
    const kind = this.config.sharedFs;
    if (kind === "none") return this.share({ kind: "none" }, undefined, { kind });
    if (!req.hostDir) {
      throw new HakoError(
        Code.InvalidArgument,
        `sandbox ${req.sandboxId}: shared_fs = ${kind} needs a shared directory`,
      );
    }
    if (kind === "virtio-9p") return this.share(ninePShare(req.hostDir), undefined, { kind, hostDir: req.hostDir });
    requireFile(this.config.virtioFsDaemon, "virtiofsd");
    const daemon = await Virtiofsd.start(
      this.daemonOptions(req.hostDir, req.socketPath, req.logPath, req.wrapper),
      logger,
    );
    writeFileSync(req.pidFile, `${daemon.pid}\n`);
    return this.share({ kind, socketPath: req.socketPath }, daemon, {
      kind,
      hostDir: req.hostDir,
      socketPath: req.socketPath,
      logPath: req.logPath,
      daemonPid: daemon.pid,
    });
  }

  /** The share of a running VM, found again from its persisted form in a new process. */
  attach(p: PersistedShare, logger: Logger): Share {
    if (p.kind === "none") return this.share({ kind: "none" }, undefined, p);
    if (!p.hostDir) throw new HakoError(Code.DataLoss, `persisted ${p.kind} share has no host directory`);
    if (p.kind === "virtio-9p") return this.share({ kind: p.kind, path: p.hostDir }, undefined, p);
    if (!p.socketPath || p.daemonPid === undefined) {
      throw new HakoError(Code.DataLoss, "persisted virtio-fs share has no daemon pid or socket");
    }
    const daemon = Virtiofsd.attach(p.daemonPid, this.daemonOptions(p.hostDir, p.socketPath, p.logPath), logger);
    return this.share({ kind: p.kind, socketPath: p.socketPath }, daemon, p);
  }

  private daemonOptions(hostDir: string, socketPath: string, logPath?: string, wrapper?: readonly string[]) {
    return {
      binary: this.config.virtioFsDaemon,
      socketPath,
      ...(logPath ? { logPath } : {}),
      sourceDir: hostDir,
      cache: this.config.virtioFsCache,
      extraArgs: this.config.virtioFsExtraArgs,
      debug: this.config.debug,
      ...(wrapper ? { wrapper } : {}),
    };
  }

  private share(device: ShareDevice, daemon: Virtiofsd | undefined, persisted: PersistedShare): Share {
    const failure = daemon
      ? new Promise<Error>((resolve) => {
          void daemon.exited.then(() => {
            if (daemon.failure) resolve(daemon.failure);
          });
        })
      : never;
    return {
      device,
      guestStorages: this.guestStorages(),
      daemonPid: daemon?.pid,
      failure,
      expectExit: () => daemon?.expectExit(),
      stop: async (graceMs = 1000) => {
        await daemon?.stop(graceMs);
      },
      persistable: () => ({ ...persisted }),
    };
  }
}
