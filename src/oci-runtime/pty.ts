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
const TCGETS = 0x5401;
const TCSETS = 0x5402;

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

/**
 * cfmakeraw on the terminal `fd` (struct termios: c_iflag, c_oflag, c_cflag, c_lflag at offsets 0-12): no input
 * translation, no output processing (OPOST off: Node's setRawMode keeps ONLCR, which would turn the guest's "\r\n"
 * into "\r\r\n"), no echo, no signals, 8-bit characters.
 */
export function makeRaw(fd: number): void {
  const t = Buffer.alloc(64);
  const l = load();
  if ((l.ioctl(fd, TCGETS, "void *", t) as number) !== 0) throw fail("ioctl TCGETS", `fd ${fd}`);
  t.writeUInt32LE(t.readUInt32LE(0) & ~(0o1 | 0o2 | 0o10 | 0o40 | 0o100 | 0o200 | 0o400 | 0o2000), 0);
  t.writeUInt32LE(t.readUInt32LE(4) & ~0o1, 4);
  t.writeUInt32LE((t.readUInt32LE(8) & ~(0o60 | 0o400)) | 0o60, 8);
  t.writeUInt32LE(t.readUInt32LE(12) & ~(0o10 | 0o100 | 0o2 | 0o1 | 0o100000), 12);
  if ((l.ioctl(fd, TCSETS, "void *", t) as number) !== 0) throw fail("ioctl TCSETS", `fd ${fd}`);
}
