// Turns Debian's compressed bzImage (lz4: the cloud kernel, xz: the generic one) into the uncompressed ELF vmlinux
// that QEMU `-kernel` enters directly through its PVH note (no firmware, no in-guest decompression: the fastest boot
// under TCG).
import { readFileSync, writeFileSync } from "node:fs";
import { Code, HakoError } from "../common/errors.js";
import { run } from "./exec.js";

const LZ4_LEGACY_MAGIC = Buffer.from([0x02, 0x21, 0x4c, 0x18]);
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
/** The payload formats hako can decompress, each with the host tool that does it. */
const FORMATS = [
  { format: "lz4", magic: LZ4_LEGACY_MAGIC },
  { format: "xz", magic: XZ_MAGIC },
] as const;
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

export interface Payload {
  format: "lz4" | "xz";
  /** The compressed stream (the trailing 4-byte uncompressed size is not part of it). */
  data: Buffer;
  /** Uncompressed size the kernel build recorded after the stream. */
  size: number;
}

/**
 * Finds the lz4 or xz payload of a bzImage: the boot protocol header (2.08+) says where it starts and how long it
 * is; a plain scan for the magic is the fallback for odd headers. The kernel's build appends the uncompressed size
 * (u32 LE) to the stream; lz4 would read it as a bogus block and xz as garbage, so it is cut off here.
 */
export function findPayload(image: Buffer, source: string): Payload {
  const bad = (why: string) => new HakoError(Code.FailedPrecondition, `unreadable kernel ${source}: ${why}`);
  if (image.length < 0x260 || image.toString("latin1", 0x202, 0x206) !== "HdrS") throw bad("not a bzImage");
  const setupSects = image[0x1f1] || 4;
  const payloadOffset = image.readUInt32LE(0x248);
  const payloadLength = image.readUInt32LE(0x24c);
  let start = (setupSects + 1) * 512 + payloadOffset;
  let end = start + payloadLength;
  const startsWith = (magic: Buffer) => image.subarray(start, start + magic.length).equals(magic);
  let found = end <= image.length ? FORMATS.find((f) => startsWith(f.magic)) : undefined;
  if (!found) {
    found = FORMATS.find((f) => image.includes(f.magic));
    if (!found) throw bad("no lz4 or xz payload found; only lz4- and xz-compressed kernels are supported");
    start = image.indexOf(found.magic);
    end = image.length;
  }
  if (end - start < 8) throw bad(`${found.format} payload is truncated`);
  return { format: found.format, data: image.subarray(start, end - 4), size: image.readUInt32LE(end - 4) };
}

/**
 * Checks that `elf` is a 64-bit little-endian ELF whose PT_NOTE segments hold a Xen PVH entry note
 * (name "Xen", type 18 = XEN_ELFNOTE_PHYS32_ENTRY): without it QEMU cannot enter the kernel directly.
 */
export function checkVmlinux(elf: Buffer, source: string): void {
  const bad = (why: string) => new HakoError(Code.FailedPrecondition, `unreadable kernel ${source}: ${why}`);
  if (elf.length < 64 || !elf.subarray(0, 4).equals(ELF_MAGIC) || elf[4] !== 2 || elf[5] !== 1) {
    throw bad("did not decompress to a 64-bit little-endian ELF vmlinux");
  }
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > elf.length || elf.readUInt32LE(ph) !== 4) continue; // PT_NOTE
    const start = Number(elf.readBigUInt64LE(ph + 8));
    const end = Math.min(elf.length, start + Number(elf.readBigUInt64LE(ph + 32)));
    let at = start;
    while (at + 12 <= end) {
      const namesz = elf.readUInt32LE(at);
      const descsz = elf.readUInt32LE(at + 4);
      const type = elf.readUInt32LE(at + 8);
      const name = elf.toString("latin1", at + 12, at + 12 + Math.max(0, namesz - 1));
      if (name === "Xen" && type === 18) return;
      at += 12 + align4(namesz) + align4(descsz);
    }
  }
  throw bad("the vmlinux has no Xen PVH entry note (the kernel needs CONFIG_PVH=y)");
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Decompresses the bzImage at `bzImage` into an ELF vmlinux at `out`; returns its size. */
export async function extractVmlinux(bzImage: string, out: string): Promise<number> {
  let image: Buffer;
  try {
    image = readFileSync(bzImage);
  } catch (err) {
    throw new HakoError(Code.FailedPrecondition, `unreadable kernel ${bzImage}`, { cause: err });
  }
  const payload = findPayload(image, bzImage);
  const { stdout } = await run(payload.format, ["-dc"], { input: payload.data, code: Code.FailedPrecondition });
  if (stdout.length !== payload.size) {
    throw new HakoError(
      Code.FailedPrecondition,
      `unreadable kernel ${bzImage}: ${payload.format} gave ${stdout.length} bytes, the image says ${payload.size}`,
    );
  }
  checkVmlinux(stdout, bzImage);
  writeFileSync(out, stdout, { mode: 0o644 });
  return stdout.length;
}
