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
