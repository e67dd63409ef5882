// Guest storages: mount option parsing and the checks made before mounting anything.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Code, HakoError } from "../../common/errors.js";
import { createLogger, memorySink } from "../../common/log.js";
import { MS_BIND, MS_NODEV, MS_NOSUID, MS_RDONLY, MS_REC } from "../../sys/mount.js";
import { mountStorage, parseMountOptions, unmountStorage } from "./storage.js";

test("mount options split into flags and filesystem data", () => {
  assert.deepEqual(parseMountOptions(["ro", "nosuid", "nodev", "mode=0755", "size=64k"]), {
    flags: MS_RDONLY | MS_NOSUID | MS_NODEV,
    data: "mode=0755,size=64k",
  });
  assert.deepEqual(parseMountOptions(["rbind", "ro", "rw"]), { flags: MS_BIND | MS_REC, data: "" });
  assert.deepEqual(parseMountOptions([]), { flags: 0, data: "" });
});

test("a relative mount point or an unknown driver is refused", () => {
  const s = { driver: "virtio-fs", source: "kataShared", fstype: "virtiofs", options: [], mountPoint: "run/x" };
  assert.throws(
    () => mountStorage(s),
    (err) => err instanceof HakoError && err.code === Code.InvalidArgument,
  );
  assert.throws(
    () => mountStorage({ ...s, driver: "floppy", mountPoint: "/tmp/hako-storage-test" }),
    (err) => err instanceof HakoError && err.code === Code.InvalidArgument && err.message.includes("floppy"),
  );
});

test("unmounting a storage that is no longer mounted is quiet; a refused unmount is logged", () => {
  const dir = mkdtempSync(join(tmpdir(), "hako-storage-"));
  try {
    const s = { driver: "virtio-fs", source: "kataShared", fstype: "virtiofs", options: [], mountPoint: dir };
    const warnings = (mountPoint: string) => {
      const sink = memorySink();
      unmountStorage({ ...s, mountPoint }, createLogger({ sink }));
      return sink.entries().map((e) => e.msg);
    };
    // A path that is gone: ENOENT, expected in a teardown, whoever asks.
    assert.deepEqual(warnings(join(dir, "gone")), []);
    // A directory that is not a mount point: root gets EINVAL (expected); anyone else EPERM, which is not.
    const refused = process.getuid?.() === 0 ? [] : ["storage unmount failed; the mount stays"];
    assert.deepEqual(warnings(dir), refused);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
