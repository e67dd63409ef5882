// The system calls PID 1 needs and Node lacks (mount, reboot, waitpid, sethostname, SCM_RIGHTS, TIOCSWINSZ,
// clock_settime), bound from libc with koffi. Loaded lazily so that code importing this file still runs on hosts
// without koffi (unit tests of pure parts).
import { createRequire } from "node:module";
import { Code, HakoError } from "../../common/errors.js";

type KoffiModule = typeof import("koffi");
type Fn = (...args: unknown[]) => unknown;

interface Libc {
  koffi: KoffiModule;
  mount: Fn;
  umount2: Fn;
  reboot: Fn;
  sync: Fn;
  waitpid: Fn;
  sethostname: Fn;
  ioctl: Fn;
  socket: Fn;
  bind: Fn;
  listen: Fn;
  accept4: Fn;
  recvmsg: Fn;
  sendmsg: Fn;
  close: Fn;
  dup: Fn;
  pipe2: Fn;
  read: Fn;
  write: Fn;
  shutdown: Fn;
  socketpair: Fn;
  connect: Fn;
  getsockopt: Fn;
  fcntl: Fn;
  prctl: Fn;
  clockSettime: Fn;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  // The guest keeps koffi outside the bundle (a native addon); createRequire finds it from either place.
  const require = createRequire(import.meta.url);
  const koffi = require("koffi") as KoffiModule;
  const lib = koffi.load("libc.so.6");
  libc = {
    koffi,
    mount: lib.func(
      "int mount(const char *src, const char *target, const char *fstype, unsigned long flags, const char *data)",
    ),
    umount2: lib.func("int umount2(const char *target, int flags)"),
    reboot: lib.func("int reboot(int cmd)"),
    sync: lib.func("void sync(void)"),
    waitpid: lib.func("int waitpid(int pid, _Out_ int *status, int options)"),
    sethostname: lib.func("int sethostname(const char *name, size_t len)"),
    ioctl: lib.func("int ioctl(int fd, unsigned long request, ...)"),
    socket: lib.func("int socket(int domain, int type, int protocol)"),
    bind: lib.func("int bind(int fd, void *addr, uint32_t len)"),
    listen: lib.func("int listen(int fd, int backlog)"),
    accept4: lib.func("int accept4(int fd, void *addr, void *len, int flags)"),
    recvmsg: lib.func("intptr_t recvmsg(int fd, void *msg, int flags)"),
    sendmsg: lib.func("intptr_t sendmsg(int fd, void *msg, int flags)"),
    close: lib.func("int close(int fd)"),
    dup: lib.func("int dup(int fd)"),
    pipe2: lib.func("int pipe2(_Out_ int *fds, int flags)"),
    read: lib.func("intptr_t read(int fd, void *buf, size_t len)"),
    write: lib.func("intptr_t write(int fd, void *buf, size_t len)"),
    shutdown: lib.func("int shutdown(int fd, int how)"),
    socketpair: lib.func("int socketpair(int domain, int type, int protocol, _Out_ int *fds)"),
    connect: lib.func("int connect(int fd, void *addr, uint32_t len)"),
    getsockopt: lib.func("int getsockopt(int fd, int level, int name, _Out_ int *value, _Inout_ uint32_t *len)"),
    fcntl: lib.func("int fcntl(int fd, int cmd, ...)"),
    prctl: lib.func("int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)"),
    clockSettime: lib.func("int clock_settime(int clk, void *ts)"),
  };
  return libc;
}

const errnoNames: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  10: "ECHILD",
  11: "EAGAIN",
  16: "EBUSY",
  19: "ENODEV",
  22: "EINVAL",
};

/** A failed system call: the errno travels as `code` (ENOENT, …) in the error's fields and message. */
function fail(call: string, what: string): HakoError {
  const errno = load().koffi.errno();
  const name = errnoNames[errno] ?? `errno ${errno}`;
  return new HakoError(Code.Internal, `${call} ${what}: ${name}`, { fields: { errno } });
}

export function lastErrno(): number {
  return load().koffi.errno();
}

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_REMOUNT = 0x20;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_PRIVATE = 0x40000;
export const MS_RELATIME = 0x200000;

export function mount(source: string, target: string, fstype: string, flags: number, data = ""): void {
  if ((load().mount(source, target, fstype || null, flags, data || null) as number) !== 0) {
    throw fail("mount", `${fstype || "bind"} ${source} on ${target}`);
  }
}

export function umount(target: string, lazy = false): void {
  if ((load().umount2(target, lazy ? 2 : 0) as number) !== 0) throw fail("umount", target);
}

/** Powers the machine off: the host sees the VM die. Only returns if the kernel refused (not PID 1, no CAP). */
export function powerOff(): void {
  const l = load();
  l.sync();
  l.reboot(0x4321fedc); // LINUX_REBOOT_CMD_POWER_OFF
}

export interface WaitResult {
  pid: number;
  /** Exit code, or 128 + signal number for a signalled process. */
  status: number;
}

/** waitpid(pid, WNOHANG): undefined while the process runs, null when it is not our child (ECHILD). */
export function waitPidNoHang(pid: number): WaitResult | undefined | null {
  const out = [0];
  const r = load().waitpid(pid, out, 1 /* WNOHANG */) as number;
  if (r === 0) return undefined;
  if (r < 0) {
    if (lastErrno() === 10) return null;
    throw fail("waitpid", String(pid));
  }
  const raw = out[0] ?? 0;
  const sig = raw & 0x7f;
  return { pid: r, status: sig === 0 ? (raw >> 8) & 0xff : 128 + sig };
}

export function setHostname(name: string): void {
  const buf = Buffer.from(name);
  if ((load().sethostname(name, buf.length) as number) !== 0) throw fail("sethostname", name);
}

export function setChildSubreaper(): void {
  load().prctl(36 /* PR_SET_CHILD_SUBREAPER */, 1, 0, 0, 0);
}

export function setRealtime(date: Date): void {
  const ms = date.getTime();
  const ts = Buffer.alloc(16);
  ts.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
  ts.writeBigInt64LE(BigInt((ms % 1000) * 1_000_000), 8);
  if ((load().clockSettime(0 /* CLOCK_REALTIME */, ts) as number) !== 0)
    throw fail("clock_settime", date.toISOString());
}

/** TIOCSWINSZ on a terminal fd (a pty master). */
export function setWindowSize(fd: number, rows: number, cols: number): void {
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(rows, 0);
  ws.writeUInt16LE(cols, 2);
  const l = load();
  if ((l.ioctl(fd, 0x5414, "void *", ws) as number) !== 0) throw fail("ioctl TIOCSWINSZ", `fd ${fd}`);
}

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

function sockaddrUn(path: string): Buffer {
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(1, 0); // AF_UNIX
  const p = Buffer.from(path);
  if (p.length > 107) throw new HakoError(Code.InvalidArgument, `socket path too long: ${path}`);
  p.copy(addr, 2);
  return addr;
}

const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;

/** A listening, non-blocking AF_UNIX stream socket bound to `path`. */
export function listenUnix(path: string): number {
  const l = load();
  const fd = l.socket(1, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) as number;
  if (fd < 0) throw fail("socket", path);
  const addr = sockaddrUn(path);
  if ((l.bind(fd, addr, addr.length) as number) !== 0 || (l.listen(fd, 4) as number) !== 0) {
    const err = fail("bind", path);
    l.close(fd);
    throw err;
  }
  return fd;
}

/** accept4 on a non-blocking listener: the new fd, or -1 when nobody is waiting (EAGAIN). */
export function acceptNoWait(fd: number): number {
  const r = load().accept4(fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC) as number;
  if (r < 0 && lastErrno() !== 11) throw fail("accept", `fd ${fd}`);
  return r;
}

// struct msghdr (x86_64/aarch64 LP64): name ptr, namelen u32 (+pad), iov ptr, iovlen, control ptr, controllen, flags.
function msghdr(iov: Buffer, control: Buffer): { msg: Buffer; keep: Buffer[] } {
  const k = load().koffi;
  const iovec = Buffer.alloc(16);
  iovec.writeBigUInt64LE(BigInt(k.address(iov)), 0);
  iovec.writeBigUInt64LE(BigInt(iov.length), 8);
  const msg = Buffer.alloc(56);
  msg.writeBigUInt64LE(BigInt(k.address(iovec)), 16);
  msg.writeBigUInt64LE(1n, 24);
  msg.writeBigUInt64LE(BigInt(k.address(control)), 32);
  msg.writeBigUInt64LE(BigInt(control.length), 40);
  return { msg, keep: [iovec, iov, control] };
}

export interface ReceivedFds {
  /** Bytes read (0 at end of stream, -1 when nothing is ready yet). */
  bytes: number;
  fds: number[];
}

/** recvmsg(MSG_DONTWAIT | MSG_CMSG_CLOEXEC), collecting the descriptors of an SCM_RIGHTS control message. */
export function recvFds(fd: number, buf: Buffer): ReceivedFds {
  const control = Buffer.alloc(64);
  const { msg } = msghdr(buf, control);
  const r = Number(load().recvmsg(fd, msg, 0x40 | 0x40000000) as number | bigint);
  if (r < 0) {
    if (lastErrno() === 11) return { bytes: -1, fds: [] };
    throw fail("recvmsg", `fd ${fd}`);
  }
  const fds: number[] = [];
  const controllen = Number(msg.readBigUInt64LE(40));
  let off = 0;
  while (off + 16 <= controllen) {
    const len = Number(control.readBigUInt64LE(off));
    const level = control.readInt32LE(off + 8);
    const type = control.readInt32LE(off + 12);
    if (len < 16) break;
    if (level === 1 && type === 1) for (let p = off + 16; p + 4 <= off + len; p += 4) fds.push(control.readInt32LE(p));
    off += (len + 7) & ~7;
  }
  return { bytes: r, fds };
}

/** A connected pair of non-blocking AF_UNIX stream sockets (tests of fd-backed streams). */
export function socketPair(): [number, number] {
  const fds = [0, 0];
  if ((load().socketpair(1, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) as number) !== 0) {
    throw fail("socketpair", "");
  }
  return [fds[0] ?? -1, fds[1] ?? -1];
}

/** read(2) on a non-blocking fd: bytes read, 0 at end of stream, -1 when nothing is ready (EAGAIN). */
export function readFd(fd: number, buf: Buffer): number {
  const r = Number(load().read(fd, buf, buf.length) as number | bigint);
  if (r < 0) {
    const e = lastErrno();
    if (e === 11 || e === 4) return -1;
    throw fail("read", `fd ${fd}`);
  }
  return r;
}

/** write(2) on a non-blocking fd: bytes written, or -1 when the peer's buffer is full (EAGAIN). */
export function writeFd(fd: number, buf: Buffer): number {
  const r = Number(load().write(fd, buf, buf.length) as number | bigint);
  if (r < 0) {
    const e = lastErrno();
    if (e === 11 || e === 4) return -1;
    throw fail("write", `fd ${fd}`);
  }
  return r;
}

export function shutdownWrite(fd: number): void {
  load().shutdown(fd, 1 /* SHUT_WR */);
}

const AF_VSOCK = 40;
/** VMADDR_CID_ANY */
const ANY_CID = 0xffffffff;

function sockaddrVm(cid: number, port: number): Buffer {
  const addr = Buffer.alloc(16);
  addr.writeUInt16LE(AF_VSOCK, 0);
  addr.writeUInt32LE(port >>> 0, 4);
  addr.writeUInt32LE(cid >>> 0, 8);
  return addr;
}

/** A listening, non-blocking AF_VSOCK socket on `port` (any CID: the guest's own). */
export function listenVsock(port: number): number {
  const l = load();
  const fd = l.socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) as number;
  if (fd < 0) throw fail("socket", `AF_VSOCK port ${port}`);
  const addr = sockaddrVm(ANY_CID, port);
  if ((l.bind(fd, addr, addr.length) as number) !== 0 || (l.listen(fd, 16) as number) !== 0) {
    const err = fail("bind", `vsock port ${port}`);
    l.close(fd);
    throw err;
  }
  return fd;
}

/**
 * Starts a non-blocking AF_VSOCK connect to cid:port. Returns the fd; `finish` tells, once the fd is writable,
 * whether the connection was made (0) or the errno that refused it.
 */
export function startVsockConnect(cid: number, port: number): { fd: number; finish(): number } {
  const l = load();
  const fd = l.socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) as number;
  if (fd < 0) throw fail("socket", `AF_VSOCK cid ${cid} port ${port}`);
  const addr = sockaddrVm(cid, port);
  if ((l.connect(fd, addr, addr.length) as number) !== 0 && lastErrno() !== 115 /* EINPROGRESS */) {
    const err = fail("connect", `vsock cid ${cid} port ${port}`);
    l.close(fd);
    throw err;
  }
  return {
    fd,
    finish: () => {
      const value = [0];
      const len = [4];
      if ((l.getsockopt(fd, 1 /* SOL_SOCKET */, 4 /* SO_ERROR */, value, len) as number) !== 0) return lastErrno();
      return value[0] ?? 0;
    },
  };
}

export function errnoName(errno: number): string {
  return errnoNames[errno] ?? `errno ${errno}`;
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
