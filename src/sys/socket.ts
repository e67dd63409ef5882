// AF_UNIX sockets Node's net module cannot make: a raw non-blocking listener, socket pairs, and receiving
// descriptors (SCM_RIGHTS). Socket flags shared with vsock.ts.
import { type HakoError, invalidArgument } from "../common/errors.js";
import { EAGAIN } from "./errno.js";
import { fail, lastErrno, load } from "./libc.js";

export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;

function sockaddrUn(path: string): Buffer {
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(1, 0); // AF_UNIX
  const p = Buffer.from(path);
  if (p.length > 107) throw invalidArgument(`socket path too long: ${path}`);
  p.copy(addr, 2);
  return addr;
}

/**
 * socket + bind + listen: a listening, non-blocking socket of `domain` bound to `addr`; closes the socket and
 * throws (coded from the errno) if any step fails. `what` names the address in the error.
 */
export function listenOn(domain: number, addr: Buffer, backlog: number, what: string): number {
  const l = load();
  const fd = l.socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) as number;
  if (fd < 0) throw fail("socket", what);
  if ((l.bind(fd, addr, addr.length) as number) !== 0 || (l.listen(fd, backlog) as number) !== 0) {
    const err: HakoError = fail("bind", what);
    l.close(fd);
    throw err;
  }
  return fd;
}

/** A listening, non-blocking AF_UNIX stream socket bound to `path`, with room for `backlog` pending connections. */
export function listenUnix(path: string, backlog = 4): number {
  return listenOn(1, sockaddrUn(path), backlog, path);
}

/** accept4 on a non-blocking listener: the new fd, or -1 when nobody is waiting (EAGAIN). */
export function acceptNoWait(fd: number): number {
  const r = load().accept4(fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC) as number;
  if (r < 0 && lastErrno() !== EAGAIN) throw fail("accept", `fd ${fd}`);
  return r;
}

export function shutdownWrite(fd: number): void {
  load().shutdown(fd, 1 /* SHUT_WR */);
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
    if (lastErrno() === EAGAIN) return { bytes: -1, fds: [] };
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

/** A blocking AF_UNIX stream socket connected to `path` (a console socket). Errors are coded from the errno. */
export function connectUnix(path: string): number {
  const l = load();
  const fd = l.socket(1, SOCK_STREAM | SOCK_CLOEXEC, 0) as number;
  if (fd < 0) throw fail("socket", path);
  const addr = sockaddrUn(path);
  if ((l.connect(fd, addr, addr.length) as number) !== 0) {
    const err = fail("connect", path);
    l.close(fd);
    throw err;
  }
  return fd;
}

/** sendmsg(MSG_NOSIGNAL) of `data` with `fds` in one SCM_RIGHTS control message (runc's utils.SendFd). */
export function sendFds(fd: number, data: Buffer, fds: readonly number[]): void {
  const control = Buffer.alloc(16 + ((4 * fds.length + 7) & ~7));
  control.writeBigUInt64LE(BigInt(16 + 4 * fds.length), 0);
  control.writeInt32LE(1, 8); // SOL_SOCKET
  control.writeInt32LE(1, 12); // SCM_RIGHTS
  for (const [i, f] of fds.entries()) control.writeInt32LE(f, 16 + 4 * i);
  const { msg } = msghdr(data, control);
  if (Number(load().sendmsg(fd, msg, 0x4000) as number | bigint) < 0) throw fail("sendmsg", `fd ${fd}`);
}

/** A connected pair of non-blocking AF_UNIX stream sockets (tests of fd-backed streams). */
export function socketPair(): [number, number] {
  const fds = [0, 0];
  if ((load().socketpair(1, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) as number) !== 0) {
    throw fail("socketpair", "");
  }
  return [fds[0] ?? -1, fds[1] ?? -1];
}
