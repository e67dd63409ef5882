// Receives a terminal's pty master from crun (`--console-socket`): crun connects to a unix socket and passes the fd
// with SCM_RIGHTS, which Node's net module cannot receive, hence koffi.
import { rmSync } from "node:fs";
import { Code, HakoError } from "../../common/errors.js";
import { closeFd, pollReadable } from "../../sys/fd.js";
import { acceptNoWait, listenUnix, recvFds } from "../../sys/socket.js";

export class ConsoleSocket {
  private readonly listener: number;
  private readonly received: Promise<number>;
  private cleanup: (() => void)[] = [];
  private rejectWait: ((err: Error) => void) | undefined;

  constructor(readonly path: string) {
    rmSync(path, { force: true });
    this.listener = listenUnix(path);
    this.received = new Promise<number>((resolve, reject) => {
      this.rejectWait = reject;
      const l = pollReadable(this.listener, () => {
        const conn = acceptNoWait(this.listener);
        if (conn < 0) return;
        l.close();
        const c = pollReadable(conn, () => {
          try {
            const got = recvFds(conn, Buffer.alloc(4096));
            if (got.bytes < 0) return;
            c.close();
            closeFd(conn);
            const fd = got.fds[0];
            for (const extra of got.fds.slice(1)) closeFd(extra);
            if (fd === undefined) reject(new HakoError(Code.Internal, `no pty master received on ${path}`));
            else resolve(fd);
          } catch (err) {
            c.close();
            closeFd(conn);
            reject(err);
          }
        });
        this.cleanup.push(() => c.close());
      });
      this.cleanup.push(() => l.close());
    });
    this.received.catch(() => {});
  }

  /** The pty master; call after crun returned successfully (it sends the fd before exiting). */
  master(timeoutMs = 5000): Promise<number> {
    const timer = setTimeout(
      () => this.rejectWait?.(new HakoError(Code.DeadlineExceeded, `no pty master from crun on ${this.path}`)),
      timeoutMs,
    );
    return this.received.finally(() => clearTimeout(timer));
  }

  close(): void {
    for (const c of this.cleanup.splice(0)) {
      try {
        c();
      } catch {
        // Already closed.
      }
    }
    closeFd(this.listener);
    rmSync(this.path, { force: true });
  }
}
