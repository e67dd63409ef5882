// The agent's end of the host channel. A virtio-serial port has no connections of its own: the host "connects" when
// QEMU's chardev gets a client, and until then reads return 0 at once. Each host connection becomes one Duplex for
// the ttrpc server; after it ends (or the server drops it for a protocol error) the channel waits for the next. A new
// host that connects before the guest saw the old one hang up is found by its requests' stream ids (host-restart.ts).
import { existsSync, open, read, readdirSync, readFileSync, write } from "node:fs";
import { Duplex } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, HakoError } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import { type FdPoller, fdPoller } from "../../sys/fd.js";
import { FdStream } from "../../sys/fd-stream.js";
import { acceptNoWait } from "../../sys/socket.js";
import { listenVsock } from "../../sys/vsock.js";
import { AGENT_PORT_NAME, AGENT_VSOCK_PORT } from "../api/guest-contract.js";
import { HostRestartWatch } from "./host-restart.js";

export interface AgentChannel {
  /** Resolves with the next host connection. */
  accept(): Promise<Duplex>;
}

/** /sys/class/virtio-ports/vportNpM/name holds the port's name; the device node is /dev/vportNpM. */
export function findSerialPort(name = AGENT_PORT_NAME, sysDir = "/sys/class/virtio-ports"): string | undefined {
  if (!existsSync(sysDir)) return undefined;
  for (const port of readdirSync(sysDir)) {
    try {
      if (readFileSync(`${sysDir}/${port}/name`, "utf8").trim() === name) return `/dev/${port}`;
    } catch {
      // A port without a name.
    }
  }
  return undefined;
}

export async function waitForSerialPort(log: Logger, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dev = findSerialPort();
    if (dev && existsSync(dev)) return dev;
    if (Date.now() > deadline) {
      throw new HakoError(Code.Unavailable, `no virtio-serial port named ${AGENT_PORT_NAME} appeared`);
    }
    log.debug("waiting for the agent port");
    await sleep(20);
  }
}

const IDLE_POLL_MS = 10;
const RESYNC_QUIET_MS = 200;
const READ_CHUNK = 256 * 1024;

function readAsync(fd: number, buf: Buffer): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, buf, 0, buf.length, null, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

function writeAll(fd: number, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number) => {
      if (off >= data.length) return resolve();
      write(fd, data, off, data.length - off, null, (err, n) => (err ? reject(err) : step(off + n)));
    };
    step(0);
  });
}

export class SerialChannel implements AgentChannel {
  private fd = -1;
  private current: Duplex | undefined;
  private wantMore: (() => void) | undefined;
  private waiters: ((d: Duplex) => void)[] = [];
  private readonly unclaimed: Duplex[] = [];
  private discarding = false;
  private lastByteAt = 0;
  private pumping = false;
  private readonly restarts = new HostRestartWatch();

  constructor(
    private readonly device: string,
    private readonly log: Logger,
    /** How often to look for a host while none is connected (reads return 0 at once until one is). */
    private readonly idlePollMs = IDLE_POLL_MS,
  ) {}

  async accept(): Promise<Duplex> {
    if (this.fd < 0) {
      this.fd = await new Promise<number>((resolve, reject) =>
        open(this.device, "r+", (err, fd) => (err ? reject(err) : resolve(fd))),
      );
    }
    const ready = this.unclaimed.shift();
    const next = ready ? Promise.resolve(ready) : new Promise<Duplex>((resolve) => this.waiters.push(resolve));
    if (!this.pumping) {
      this.pumping = true;
      void this.pump().catch((err) => this.log.error("agent port failed", { device: this.device, err }));
    }
    return next;
  }

  /** One reader for the port's whole life: bytes go to the current connection, or start a new one. */
  private async pump(): Promise<void> {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    for (;;) {
      const n = await readAsync(this.fd, buf);
      if (n === 0) {
        // No host (or it just went away): the connection ends; a later byte starts the next one.
        this.discarding = false;
        const c = this.current;
        this.current = undefined;
        c?.push(null);
        await sleep(this.idlePollMs);
        continue;
      }
      const bytes = Buffer.from(buf.subarray(0, n));
      this.lastByteAt = Date.now();
      if (this.discarding) {
        this.log.debug("discarding bytes after a dropped connection", { bytes: n });
        continue;
      }
      let rest: Buffer = bytes;
      while (rest.length > 0) {
        let c = this.current;
        if (!c) {
          c = this.connection();
          this.current = c;
          this.restarts.reset();
          this.log.debug("host connected on the port", { device: this.device });
          const w = this.waiters.shift();
          if (w) w(c);
          else this.unclaimed.push(c);
        }
        const at = this.restarts.feed(rest);
        const mine = at === undefined ? rest : rest.subarray(0, at);
        rest = at === undefined ? Buffer.alloc(0) : rest.subarray(at);
        if (at !== undefined) {
          // A new host began without a hang-up in between: the old connection ends where its first request starts.
          this.log.info("a new host connected without the old one's hang-up being seen", { device: this.device });
          this.current = undefined;
          if (mine.length > 0) c.push(mine);
          c.push(null);
          continue;
        }
        if (!c.push(mine)) await new Promise<void>((resolve) => (this.wantMore = resolve));
      }
    }
  }

  private connection(): Duplex {
    const fd = this.fd;
    const stream: Duplex = new Duplex({
      read: () => {
        const w = this.wantMore;
        this.wantMore = undefined;
        w?.();
      },
      write: (chunk: Buffer, _enc, cb) => {
        // Answers of a connection the host already left must not leak into the next one.
        if (this.current !== stream) return cb();
        writeAll(fd, chunk).then(() => cb(), cb);
      },
      final: (cb) => cb(),
      destroy: (err, cb) => {
        if (this.current === stream) {
          // The server dropped the connection for a protocol error while the host still sends: what follows is
          // the rest of the bad frame. Skip input until the host goes away or falls quiet, then start afresh.
          this.current = undefined;
          this.discarding = true;
          const w = this.wantMore;
          this.wantMore = undefined;
          w?.();
          const check = setInterval(() => {
            if (!this.discarding || Date.now() - this.lastByteAt >= RESYNC_QUIET_MS) {
              this.discarding = false;
              clearInterval(check);
            }
          }, RESYNC_QUIET_MS / 2);
        }
        cb(err);
      },
    });
    return stream;
  }
}

/** AF_VSOCK, port AGENT_VSOCK_PORT: every host connection is its own socket, wrapped as an FdStream (net refuses vsock fds). */
export class VsockChannel implements AgentChannel {
  private listener = -1;
  private poller: FdPoller | undefined;
  private readonly ready: FdStream[] = [];
  private waiters: ((d: Duplex) => void)[] = [];

  constructor(
    private readonly log: Logger,
    readonly port = AGENT_VSOCK_PORT,
  ) {}

  accept(): Promise<Duplex> {
    if (this.listener < 0) {
      this.listener = listenVsock(this.port);
      this.poller = fdPoller(this.listener, () => this.drain());
      this.poller.want(true, false);
      this.log.debug("listening on vsock", { port: this.port });
    }
    const conn = this.ready.shift();
    if (conn) return Promise.resolve(conn);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private drain(): void {
    for (;;) {
      let fd: number;
      try {
        fd = acceptNoWait(this.listener);
      } catch (err) {
        this.log.warn("vsock accept failed", { err });
        return;
      }
      if (fd < 0) return;
      this.log.debug("host connected over vsock", { port: this.port });
      const stream = new FdStream(fd);
      const w = this.waiters.shift();
      if (w) w(stream);
      else this.ready.push(stream);
    }
  }
}
