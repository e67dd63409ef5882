// The image build's initrd writer: a tree as a cpio archive, plain or gzip-compressed.
import { rmSync, writeFileSync } from "node:fs";
import { writeCpio } from "./cpio.js";
import { run } from "./exec.js";
import type { FsTree } from "./tree.js";

/** Writes a tree as a newc cpio at `out`, gzipped (reproducibly) when asked. */
export async function writeInitrd(
  tree: FsTree,
  out: string,
  epoch: number,
  compression: "none" | "gzip",
): Promise<void> {
  if (compression === "none") {
    writeCpio(tree, out, epoch);
    return;
  }
  const raw = `${out}.cpio`;
  writeCpio(tree, raw, epoch);
  // -n: no name or timestamp in the gzip header (reproducible).
  writeFileSync(out, (await run("gzip", ["-n", "-6", "-c", raw])).stdout);
  rmSync(raw, { force: true });
}
