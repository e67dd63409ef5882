// The host side of a container's terminal. The container's real pty is in the guest; callers that asked for a
// terminal (`--console-socket`) get the master of a host pty instead, sent over their socket as runc sends its own
// (SCM_RIGHTS, the pty's name as the payload). The stand-in holds the slave in raw mode, so that the pair only
// carries bytes and the guest's line discipline is the one that applies.
import { closeSync, constants, openSync } from "node:fs";
import { HakoError } from "../common/errors.js";
import { fail, load } from "../sys/libc.js";
import { connectUnix, sendFds } from "../sys/socket.js";

const TIOCGPTN = 0x80045430;
const TIOCSPTLCK = 0x40045431;
const TIOCSCTTY = 0x540e;
const TIOCGWINSZ = 0x5413;

export interface HostPty {
  master: number;
  slave: number;
  /** /dev/pts/N */
  path: string;
}

/** Opens a new pty pair (posix_openpt + unlockpt + ptsname, done with /dev/ptmx ioctls). */
export function openPty(): HostPty {
  const l = load();
  const master = openSync("/dev/ptmx", constants.O_RDWR | constants.O_NOCTTY);
  try {
    const n = Buffer.alloc(4);
    if ((l.ioctl(master, TIOCSPTLCK, "void *", n) as number) !== 0) throw fail("ioctl TIOCSPTLCK", "/dev/ptmx");
    if ((l.ioctl(master, TIOCGPTN, "void *", n) as number) !== 0) throw fail("ioctl TIOCGPTN", "/dev/ptmx");
    const path = `/dev/pts/${n.readUInt32LE(0)}`;
    const slave = openSync(path, constants.O_RDWR | constants.O_NOCTTY);
    return { master, slave, path };
  } catch (err) {
    closeSync(master);
    throw HakoError.from(err);
  }
}

/** Sends `fd` (a pty master) to whoever listens on `socketPath`, as runc does for `--console-socket`. */
export function sendConsole(socketPath: string, fd: number, name: string): void {
  const sock = connectUnix(socketPath);
  try {
    sendFds(sock, Buffer.from(name), [fd]);
  } finally {
    closeSync(sock);
  }
}

/** Makes fd 0 (a pty slave) the calling session leader's controlling terminal, so resizes arrive as SIGWINCH. */
export function takeControllingTerminal(): void {
  load().ioctl(0, TIOCSCTTY, "int", 0);
}

/** The window size of the terminal on `fd`: rows × columns, or undefined if it is not a terminal. */
export function windowSize(fd: number): { rows: number; cols: number } | undefined {
  const ws = Buffer.alloc(8);
  if ((load().ioctl(fd, TIOCGWINSZ, "void *", ws) as number) !== 0) return undefined;
  return { rows: ws.readUInt16LE(0), cols: ws.readUInt16LE(2) };
}
