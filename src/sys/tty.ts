// Terminal ioctls.
import { fail, load } from "./libc.js";

/** TIOCSWINSZ on a terminal fd (a pty master): `rows` × `cols` characters. */
export function setWindowSize(fd: number, rows: number, cols: number): void {
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(rows, 0);
  ws.writeUInt16LE(cols, 2);
  const l = load();
  if ((l.ioctl(fd, 0x5414, "void *", ws) as number) !== 0) throw fail("ioctl TIOCSWINSZ", `fd ${fd}`);
}

const O_RDWR = 0o2;
const O_NOCTTY = 0o400;
const O_CLOEXEC = 0o2000000;

/**
 * Opens the terminal (pty slave) of a pty master with TIOCGPTPEER (Linux ≥ 4.13), which finds it whatever devpts
 * instance or mount namespace it lives in (a container's /dev/pts). Returns an fd the caller closes.
 */
export function openPtyPeer(master: number): number {
  const fd = load().ioctl(master, 0x5441, "int", O_RDWR | O_NOCTTY | O_CLOEXEC) as number;
  if (fd < 0) throw fail("ioctl TIOCGPTPEER", `fd ${master}`);
  return fd;
}
