// Raw file descriptors: close, dup, pipes, non-blocking read/write, and readiness from libuv's poll watcher.
import { EAGAIN, EINTR } from "./errno.js";
import { fail, lastErrno, load } from "./libc.js";

export function closeFd(fd: number): void {
  load().close(fd);
}

export function dupFd(fd: number): number {
  const r = load().dup(fd) as number;
  if (r < 0) throw fail("dup", `fd ${fd}`);
  return r;
}

/** pipe2(O_CLOEXEC): [read end, write end]. Raw pipes outlive the crun process that hands them to a container. */
export function makePipe(): [number, number] {
  const fds = [0, 0];
  if ((load().pipe2(fds, 0o2000000) as number) !== 0) throw fail("pipe2", "");
  return [fds[0] ?? -1, fds[1] ?? -1];
}

/** Grows a pipe's kernel buffer (F_SETPIPE_SZ): fewer wake-ups when a container streams a lot. Best effort. */
export function growPipe(fd: number, bytes: number): void {
  load().fcntl(fd, 1031, "int", bytes);
}

/** read(2) on a non-blocking fd: bytes read, 0 at end of stream, -1 when nothing is ready (EAGAIN). */
export function readFd(fd: number, buf: Buffer): number {
  const r = Number(load().read(fd, buf, buf.length) as number | bigint);
  if (r < 0) {
    const e = lastErrno();
    if (e === EAGAIN || e === EINTR) return -1;
    throw fail("read", `fd ${fd}`);
  }
  return r;
}

/** write(2) on a non-blocking fd: bytes written, or -1 when the peer's buffer is full (EAGAIN). */
export function writeFd(fd: number, buf: Buffer): number {
  const r = Number(load().write(fd, buf, buf.length) as number | bigint);
  if (r < 0) {
    const e = lastErrno();
    if (e === EAGAIN || e === EINTR) return -1;
    throw fail("write", `fd ${fd}`);
  }
  return r;
}

export interface FdPoller {
  /** Watches for the given events (none: stops watching). */
  want(readable: boolean, writable: boolean): void;
  close(): void;
}

/** One libuv poll watcher per fd (libuv allows no more), re-armed with whatever the owner waits for. */
export function fdPoller(
  fd: number,
  onEvent: (ev: { readable: boolean; writable: boolean; disconnect: boolean }) => void,
): FdPoller {
  const koffi = load().koffi;
  let handle: ReturnType<typeof koffi.node.poll> | undefined;
  let closed = false;
  // koffi calls back with (status, events), whatever its typings say; a failed poll (status < 0) wakes everyone.
  const callback = ((status: number, ev?: { readable: boolean; writable: boolean; disconnect: boolean }) =>
    onEvent(status < 0 || !ev ? { readable: true, writable: true, disconnect: true } : ev)) as unknown as (ev: {
    readable: boolean;
    writable: boolean;
    disconnect: boolean;
  }) => void;
  return {
    want(readable, writable) {
      if (closed) return;
      if (!readable && !writable) {
        handle?.stop();
        return;
      }
      const opts = { readable, writable, disconnect: true };
      if (!handle) handle = koffi.node.poll(fd, opts, callback);
      else handle.start(opts, callback);
    },
    close() {
      closed = true;
      handle?.close();
      handle = undefined;
    },
  };
}

/** Polls a descriptor for readability from the event loop (koffi's epoll integration). */
export function pollReadable(fd: number, onReadable: () => void): { close(): void } {
  const handle = load().koffi.node.poll(fd, { readable: true, disconnect: true }, () => onReadable());
  return { close: () => handle.close() };
}
