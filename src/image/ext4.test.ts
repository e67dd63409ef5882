// Unit specs for the ext4 image maker: same tree → same bytes, whatever the staging files' times; owners root.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { IMAGE_ALIGN, makeExt4, uuidFromSeed } from "./ext4.js";
import { FsTree, writeTree } from "./tree.js";

test("uuids from a seed are stable and well-formed", () => {
  assert.equal(uuidFromSeed("a"), uuidFromSeed("a"));
  assert.notEqual(uuidFromSeed("a"), uuidFromSeed("b"));
  assert.match(uuidFromSeed("a"), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
});

test("two images of the same tree staged at different times are byte-identical, owned by root", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hako-ext4-"));
  try {
    const src = join(dir, "prog");
    writeFileSync(src, "#!/bin/sh\necho hi\n", { mode: 0o755 });
    const tree = new FsTree()
      .file("usr/bin/prog", src)
      .data("etc/hostname", "hako\n")
      .symlink("bin/sh", "/bin/busybox")
      .dir("tmp", 0o1777);
    const digests: string[] = [];
    for (const n of [1, 2]) {
      const staging = join(dir, `stage${n}`);
      writeTree(tree, staging);
      // Different host times each round: none of them may reach the image.
      utimesSync(join(staging, "etc/hostname"), n * 1000, n * 1000);
      const out = join(dir, `img${n}`);
      await makeExt4({ stagingDir: staging, tree, out, epoch: 1262304000, seed: "test" });
      assert.equal(statSync(out).size % IMAGE_ALIGN, 0);
      digests.push(createHash("sha256").update(readFileSync(out)).digest("hex"));
    }
    assert.equal(digests[0], digests[1]);
    const stat = execFileSync("debugfs", ["-R", "stat /etc/hostname", join(dir, "img1")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    assert.match(stat, /User:\s+0\s+Group:\s+0/);
    assert.match(stat, /ctime: 0x4b3d3b00/);
    assert.match(stat, /mtime: 0x4b3d3b00/);
    const mode = execFileSync("debugfs", ["-R", "stat /tmp", join(dir, "img1")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    assert.match(mode, /Mode:\s+01777/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
