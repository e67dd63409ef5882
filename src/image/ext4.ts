// Makes the read-only ext4 root image with `mkfs.ext4 -d` (no mounts, no root needed) so that it is byte-for-byte
// reproducible and usable with DAX: 4k blocks, no journal, fixed UUID and hash seed, and every inode's owner and
// times rewritten with debugfs afterwards, because mke2fs 1.47.0 copies them (ctime included) from the staging files.
import { createHash } from "node:crypto";
import { rmSync, statSync, writeFileSync } from "node:fs";
import { Code, HakoError } from "../common/errors.js";
import { run } from "./exec.js";
import type { FsTree } from "./tree.js";

const BLOCK = 4096;
/**
 * QEMU maps the image as guest memory (virtio-pmem) at the start of the hot-plug area, so its size decides where a
 * hot-plugged DIMM lands: the guest only adds memory aligned to its 128 MiB memory-block size (x86-64), so the image
 * is padded to that (the padding is sparse, and the pmem driver itself wants 2 MiB units).
 */
export const IMAGE_ALIGN = 128 * 1024 * 1024;

/** A UUID spelled from a digest of `seed`, so the same inputs always give the same filesystem identity. */
export function uuidFromSeed(seed: string): string {
  const h = createHash("sha256").update(seed).digest("hex");
  const v = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  return v;
}

/** Image size for the tree: content rounded to blocks, metadata and slack, in IMAGE_ALIGN units. */
export function imageSize(tree: FsTree): number {
  let blocks = 0;
  let inodes = 0;
  for (const { node } of tree.entries()) {
    inodes++;
    if (node.kind === "file") blocks += Math.ceil(statSync(node.source).size / BLOCK) + 1;
    else if (node.kind === "data") blocks += Math.ceil(node.data.length / BLOCK) + 1;
    else if (node.kind === "dir") blocks += 1;
  }
  const bytes = blocks * BLOCK * 1.05 + inodes * 256 + 8 * 1024 * 1024;
  return Math.ceil(bytes / IMAGE_ALIGN) * IMAGE_ALIGN;
}

function quote(path: string): string {
  if (/["\s\\]/.test(path)) throw new HakoError(Code.InvalidArgument, `guest path ${path} cannot be passed to debugfs`);
  return `"${path}"`;
}

export interface Ext4Options {
  /** Staging directory holding exactly `tree` (see writeTree). */
  stagingDir: string;
  tree: FsTree;
  out: string;
  /** Seconds since the epoch for every timestamp in the image. */
  epoch: number;
  /** Seeds the UUID and directory hash seed. */
  seed: string;
  label?: string;
}

export async function makeExt4(o: Ext4Options): Promise<number> {
  const size = imageSize(o.tree);
  const entries = o.tree.entries();
  const uuid = uuidFromSeed(`${o.seed}/uuid`);
  const hashSeed = uuidFromSeed(`${o.seed}/hash`);
  const env = { ...process.env, E2FSPROGS_FAKE_TIME: String(o.epoch), LC_ALL: "C" };
  rmSync(o.out, { force: true });
  await run(
    "mkfs.ext4",
    [
      "-q",
      "-F",
      "-b",
      String(BLOCK),
      "-I",
      "256",
      "-N",
      String(entries.length + 64),
      "-m",
      "0",
      "-O",
      "^has_journal,^resize_inode",
      "-L",
      o.label ?? "hako-root",
      "-U",
      uuid,
      "-E",
      `hash_seed=${hashSeed},root_owner=0:0,nodiscard,lazy_itable_init=0`,
      "-d",
      o.stagingDir,
      o.out,
      `${size / 1024}k`,
    ],
    { env, code: Code.Internal },
  );
  const cmds: string[] = [];
  for (const path of ["/", "/lost+found", ...entries.map((e) => `/${e.path}`)]) {
    const p = quote(path);
    for (const f of ["uid", "gid"]) cmds.push(`sif ${p} ${f} 0`);
    for (const f of ["atime", "mtime", "ctime", "crtime"]) cmds.push(`sif ${p} ${f} @${o.epoch}`);
  }
  const cmdFile = `${o.out}.debugfs`;
  writeFileSync(cmdFile, `${cmds.join("\n")}\n`);
  try {
    const { stderr } = await run("debugfs", ["-w", "-f", cmdFile, o.out], { env, code: Code.Internal });
    const problems = stderr.split("\n").filter((l) => l.trim() && !l.startsWith("debugfs "));
    if (problems.length > 0) {
      throw new HakoError(Code.Internal, `debugfs on ${o.out}: ${problems.slice(0, 3).join("; ")}`);
    }
  } finally {
    rmSync(cmdFile, { force: true });
  }
  await run("e2fsck", ["-fn", o.out], { env, code: Code.Internal });
  return size;
}
