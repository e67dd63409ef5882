// Unit specs for the tar reader, against archives busybox's own tar writes (the guest's tar).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readTar } from "./ustar.js";

test("readTar returns busybox tar's files and stops at the zeros after the archive", () => {
  const dir = mkdtempSync(join(tmpdir(), "hako-ustar-"));
  try {
    const blob = Buffer.alloc(70_001, 7);
    blob[0] = 1;
    writeFileSync(join(dir, "key"), "abc\n");
    writeFileSync(join(dir, "agent.blob"), blob);
    const archive = execFileSync("busybox", ["tar", "-cf", "-", "key", "agent.blob"], { cwd: dir });
    // As on the snapshot disk: the archive, then the rest of a zeroed disk.
    const files = readTar(Buffer.concat([archive, Buffer.alloc(64 * 1024)]));
    assert.deepEqual([...files.keys()], ["key", "agent.blob"]);
    assert.equal(files.get("key")?.toString(), "abc\n");
    assert.ok(files.get("agent.blob")?.equals(blob));

    const broken = Buffer.from(archive);
    broken[0] = 0x41;
    assert.throws(() => readTar(broken), /checksum mismatch/);
    assert.throws(() => readTar(archive.subarray(0, 2048)), /run past the end/);
    assert.equal(readTar(Buffer.alloc(4096)).size, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
