// Reads the regular files of a tar archive (ustar, as busybox `tar -c` writes it) from a buffer: how the image
// build's snapshot boot hands files to the host on a raw disk, with no filesystem driver on either side.
import { Code, HakoError } from "../common/errors.js";

const BLOCK = 512;

function field(header: Buffer, at: number, length: number): string {
  const raw = header.subarray(at, at + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString("utf8");
}

/**
 * The regular files of the archive at the start of `data`, by name (a ustar prefix joined with "/"). Stops at the
 * end-of-archive block (or a zero block: the rest of a disk). Throws InvalidArgument on a header whose checksum is
 * wrong or a file running past the end of `data`.
 */
export function readTar(data: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let at = 0; at + BLOCK <= data.length; ) {
    const header = data.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    const stored = Number.parseInt(field(header, 148, 8).trim(), 8);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] as number);
    if (stored !== sum) throw new HakoError(Code.InvalidArgument, `tar header at byte ${at}: checksum mismatch`);
    const size = Number.parseInt(field(header, 124, 12).trim() || "0", 8);
    const type = field(header, 156, 1);
    const prefix = field(header, 345, 155);
    const name = prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100);
    const start = at + BLOCK;
    if (start + size > data.length) {
      throw new HakoError(Code.InvalidArgument, `tar entry ${name}: ${size} bytes run past the end of the archive`);
    }
    if (type === "0" || type === "") files.set(name, Buffer.from(data.subarray(start, start + size)));
    at = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  return files;
}
