// copyTree, the copy behind PID 1's writable /etc: files with their modes, nested directories and symlinks.
import assert from "node:assert/strict";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { copyTree } from "./pid1.js";

test("copyTree copies files with their modes, nested directories and symlinks as they are", () => {
  const dir = mkdtempSync(join(tmpdir(), "hako-copytree-"));
  try {
    const src = join(dir, "etc");
    mkdirSync(join(src, "hako"), { recursive: true });
    writeFileSync(join(src, "hosts"), "127.0.0.1\tlocalhost\n");
    writeFileSync(join(src, "hako", "modules"), "virtio_pmem\n");
    writeFileSync(join(src, "secret"), "x");
    chmodSync(join(src, "secret"), 0o600);
    symlinkSync("/proc/self/mounts", join(src, "mtab"));
    const dest = join(dir, "copy");
    copyTree(src, dest);
    assert.equal(readFileSync(join(dest, "hosts"), "utf8"), "127.0.0.1\tlocalhost\n");
    assert.equal(readFileSync(join(dest, "hako", "modules"), "utf8"), "virtio_pmem\n");
    assert.equal(statSync(join(dest, "secret")).mode & 0o777, 0o600);
    assert.equal(readlinkSync(join(dest, "mtab")), "/proc/self/mounts");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
