// Turns Debian's compressed bzImage into the uncompressed ELF vmlinux that QEMU `-kernel` enters directly through
// its PVH note (no firmware, no in-guest decompression: the fastest boot under TCG).
import { readFileSync, writeFileSync } from "node:fs";
import { Code, HakoError } from "../common/errors.js";
import { run } from "./exec.js";

const LZ4_LEGACY_MAGIC = Buffer.from([0x02, 0x21, 0x4c, 0x18]);
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

export interface Payload {
  /** The compressed stream (the trailing 4-byte uncompressed size is not part of it). */
  data: Buffer;
  /** Uncompressed size the kernel build recorded after the stream. */
  size: number;
}

/**
 * Finds the lz4 payload of a bzImage: the boot protocol header (2.08+) says where it starts and how long it is; a
 * plain scan for the lz4 magic is the fallback for odd headers. The kernel's build appends the uncompressed size
 * (u32 LE) to the stream; the lz4 tool would read it as a bogus block, so it is cut off here.
 */
export function findLz4Payload(image: Buffer, source: string): Payload {
  const bad = (why: string) => new HakoError(Code.FailedPrecondition, `unreadable kernel ${source}: ${why}`);
  if (image.length < 0x260 || image.toString("latin1", 0x202, 0x206) !== "HdrS") throw bad("not a bzImage");
  const setupSects = image[0x1f1] || 4;
  const payloadOffset = image.readUInt32LE(0x248);
  const payloadLength = image.readUInt32LE(0x24c);
  let start = (setupSects + 1) * 512 + payloadOffset;
  let end = start + payloadLength;
  if (!image.subarray(start, start + 4).equals(LZ4_LEGACY_MAGIC) || end > image.length) {
    start = image.indexOf(LZ4_LEGACY_MAGIC);
    if (start < 0) throw bad("no lz4 payload (magic 02 21 4c 18) found; only lz4-compressed kernels are supported");
    end = image.length;
  }
  if (end - start < 8) throw bad("lz4 payload is truncated");
  return { data: image.subarray(start, end - 4), size: image.readUInt32LE(end - 4) };
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
  const payload = findLz4Payload(image, bzImage);
  const { stdout } = await run("lz4", ["-dc"], { input: payload.data, code: Code.FailedPrecondition });
  if (stdout.length !== payload.size) {
    throw new HakoError(
      Code.FailedPrecondition,
      `unreadable kernel ${bzImage}: lz4 gave ${stdout.length} bytes, the image says ${payload.size}`,
    );
  }
  checkVmlinux(stdout, bzImage);
  writeFileSync(out, stdout, { mode: 0o644 });
  return stdout.length;
}
