// A Duplex over a raw non-blocking socket descriptor, for the sockets Node's net module refuses (AF_VSOCK): reads
// and writes go through koffi, readiness comes from libuv's poll watcher on the fd.
import { Duplex } from "node:stream";
import { closeFd, type FdPoller, fdPoller, readFd, writeFd } from "./fd.js";
import { shutdownWrite } from "./socket.js";

const READ_CHUNK = 64 * 1024;

export class FdStream extends Duplex {
  private readonly poller: FdPoller;
  private waitingRead = false;
  private pendingWrite: { data: Buffer; cb: (err?: Error | null) => void } | undefined;

  constructor(readonly fd: number) {
    super({ allowHalfOpen: true });
    this.poller = fdPoller(fd, (ev) => this.onEvent(ev));
  }

  override _read(): void {
    this.waitingRead = false;
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    let n: number;
    try {
      n = readFd(this.fd, buf);
    } catch (err) {
      this.destroy(err as Error);
      return;
    }
    if (n > 0) {
      this.push(buf.subarray(0, n));
    } else if (n === 0) {
      this.push(null);
    } else {
      this.waitingRead = true;
    }
    this.rearm();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pendingWrite = { data: chunk, cb };
    this.flush();
  }

  override _final(cb: (err?: Error | null) => void): void {
    shutdownWrite(this.fd);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.poller.close();
    closeFd(this.fd);
    cb(err);
  }

  private flush(): void {
    const p = this.pendingWrite;
    if (!p) return;
    try {
      while (p.data.length > 0) {
        const n = writeFd(this.fd, p.data);
        if (n < 0) break;
        p.data = p.data.subarray(n);
      }
    } catch (err) {
      this.pendingWrite = undefined;
      p.cb(err as Error);
      return;
    }
    if (p.data.length === 0) {
      this.pendingWrite = undefined;
      p.cb();
    }
    this.rearm();
  }

  private rearm(): void {
    if (this.destroyed) return;
    this.poller.want(this.waitingRead, this.pendingWrite !== undefined);
  }

  private onEvent(ev: { readable: boolean; writable: boolean; disconnect: boolean }): void {
    if ((ev.readable || ev.disconnect) && this.waitingRead) this._read();
    if ((ev.writable || ev.disconnect) && this.pendingWrite) this.flush();
  }
}
