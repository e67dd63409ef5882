// AF_VSOCK, which Node's net module cannot open: the guest agent listens on a port, the host connects to cid:port.
import { EINPROGRESS } from "./errno.js";
import { fail, lastErrno, load } from "./libc.js";
import { listenOn, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM } from "./socket.js";

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
  return listenOn(AF_VSOCK, sockaddrVm(ANY_CID, port), 16, `vsock port ${port}`);
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
  if ((l.connect(fd, addr, addr.length) as number) !== 0 && lastErrno() !== EINPROGRESS) {
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
