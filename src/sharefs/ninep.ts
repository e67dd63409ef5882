// virtio-9p: QEMU serves the shared directory itself, so there is no daemon to run. This only checks the directory
// and names the share the way the command-line builder wants it.
import { statSync } from "node:fs";
import { Code, HakoError } from "../common/errors.js";

export interface NinePShare {
  kind: "virtio-9p";
  path: string;
}

export function ninePShare(sourceDir: string): NinePShare {
  let isDir = false;
  try {
    isDir = statSync(sourceDir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new HakoError(Code.FailedPrecondition, `9p share ${sourceDir} is not a directory`);
  return { kind: "virtio-9p", path: sourceDir };
}
