// Unit specs for the cpio encoder, checked against the cpio tool's own reading of the archive.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { writeCpio } from "./cpio.js";
import { FsTree } from "./tree.js";

test("the cpio tool lists and extracts what the encoder wrote, owned by root, with fixed times", () => {
  const dir = mkdtempSync(join(tmpdir(), "hako-cpio-"));
  try {
    const src = join(dir, "src.sh");
    writeFileSync(src, "#!/bin/sh\necho hi\n", { mode: 0o755 });
    const tree = new FsTree()
      .file("bin/run.sh", src)
      .data("etc/hako/modules", "a\nb\n")
      .symlink("bin/sh", "busybox")
      .chardev("dev/console", 5, 1)
      .dir("proc", 0o555);
    const archive = join(dir, "out.cpio");
    writeCpio(tree, archive, 1000);
    const listing = execFileSync("cpio", ["-itv", "--quiet", "-F", archive], { encoding: "utf8" });
    const lines = listing.trim().split("\n");
    assert.deepEqual(
      lines.map((l) => (l.split(/\s+/).slice(-1)[0] === "busybox" ? "bin/sh" : l.split(/\s+/).at(-1))),
      ["bin", "bin/run.sh", "bin/sh", "dev", "dev/console", "etc", "etc/hako", "etc/hako/modules", "proc"],
    );
    for (const l of lines) assert.match(l, /^\S+\s+\d+\s+root\s+root\s/);
    assert.match(lines[1] ?? "", /^-rwxr-xr-x/);
    assert.match(lines[4] ?? "", /^crw-------.*5,\s+1/);
    const out = join(dir, "x");
    execFileSync("sh", ["-c", `mkdir ${out} && cd ${out} && cpio -id --quiet -F ${archive} etc/hako/modules`]);
    assert.equal(readFileSync(join(out, "etc/hako/modules"), "utf8"), "a\nb\n");
    assert.equal(readFileSync(archive).length % 512, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
