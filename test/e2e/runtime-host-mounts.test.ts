// The runtime's host mounts done for real (root, util-linux mount), without a VM: a Sandbox with a fake VM and agent
// but the system's mount table binds a container's rootfs and volumes into the share, where the files show through,
// a read-only volume refuses writes, and delete, stop and clean-up after a dead owner unmount everything without
// touching the sources. The unit specs (src/runtime/sandbox.test.ts) check the same paths against a fake table.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { silentLogger } from "../../src/common/log.js";
import { cleanupSandbox } from "../../src/runtime/cleanup.js";
import { fakeBackend } from "../../src/runtime/fake-backend.js";
import { mountPointsUnder, unmountAll } from "../../src/runtime/host-mounts.js";
import { Sandbox } from "../../src/runtime/sandbox.js";

const work = mkdtempSync(join(tmpdir(), "hako-host-mounts-e2e-"));
const runRoot = join(work, "run");
after(async () => {
  // Finds mounts only when a test failed half-way; each test asserts that nothing is left mounted.
  await unmountAll(work);
  rmSync(work, { recursive: true, force: true });
});

function hostDir(name: string, file: string, text: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), text);
  return dir;
}

async function sandbox(id: string): Promise<Sandbox> {
  return Sandbox.create({
    id,
    namespace: "spec",
    backend: fakeBackend(runRoot).backend,
    logger: silentLogger,
    events: { exited: () => {}, oom: () => {}, vmDied: () => {} },
    vcpus: 1,
    memoryMiB: 256,
    runRoot,
  });
}

async function createWithVolumes(s: Sandbox, id: string, data: string) {
  const bundle = join(work, "bundles", id);
  hostDir(join("bundles", id, "rootfs"), "marker", id);
  return s.createContainer({
    id,
    bundle,
    spec: {
      ociVersion: "1.0.2",
      process: { user: { uid: 0, gid: 0 }, args: ["sleep", "inf"], cwd: "/" },
      root: { path: "rootfs" },
      mounts: [
        { destination: "/data", type: "bind", source: data, options: ["rbind", "rw"] },
        { destination: "/ro", type: "bind", source: data, options: ["rbind", "ro"] },
      ],
    },
    rootfs: [],
  });
}

describe("host mounts, for real", () => {
  test("rootfs and volumes show through the share, read-only is enforced, delete and stop unmount all", async () => {
    const s = await sandbox("hm1");
    const { sharedDir, stateDir } = s.paths;
    try {
      assert.deepEqual(await mountPointsUnder(sharedDir), [sharedDir], "the share is a mount point");
      const data = hostDir("data", "keep", "precious");
      await createWithVolumes(s, "c1", data);
      assert.equal(readFileSync(join(sharedDir, "c1", "rootfs", "marker"), "utf8"), "c1");
      const rw = join(sharedDir, "c1", "mounts", "0-data");
      const ro = join(sharedDir, "c1", "mounts", "1-data");
      writeFileSync(join(rw, "from-guest"), "hello");
      assert.equal(readFileSync(join(data, "from-guest"), "utf8"), "hello");
      assert.throws(() => writeFileSync(join(ro, "nope"), "x"), { code: "EROFS" });

      await s.delete("c1", "");
      assert.deepEqual(await mountPointsUnder(join(sharedDir, "c1")), []);
      assert.ok(!existsSync(join(sharedDir, "c1")));
      assert.equal(readFileSync(join(data, "keep"), "utf8"), "precious", "removing the share left the source alone");
      assert.equal(readFileSync(join(work, "bundles", "c1", "rootfs", "marker"), "utf8"), "c1");

      await createWithVolumes(s, "c2", data);
      await s.start("c2", "");
    } finally {
      await s.stop();
    }
    assert.deepEqual(await mountPointsUnder(sharedDir), []);
    assert.ok(!existsSync(sharedDir) && !existsSync(stateDir));
    assert.equal(readFileSync(join(work, "data", "keep"), "utf8"), "precious");
    assert.equal(readFileSync(join(work, "bundles", "c2", "rootfs", "marker"), "utf8"), "c2");
  });

  test("clean-up after a dead owner releases the recorded mounts and the share", async () => {
    const s = await sandbox("hm2");
    const data = hostDir("data2", "keep", "kept");
    await createWithVolumes(s, "c1", data);
    const { sharedDir } = s.paths;
    // As if the owner had died now: its state file (written at create) names the mounts to release.
    const result = await cleanupSandbox("hm2", silentLogger, runRoot);
    assert.equal(result.found, true);
    assert.deepEqual(await mountPointsUnder(sharedDir), []);
    assert.ok(!existsSync(sharedDir));
    assert.equal(readFileSync(join(data, "keep"), "utf8"), "kept");
    await s.stop();
  });
});
