import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { FakeHostCgroups } from "../cgroups/fake-host-cgroups.js";
import { silentLogger } from "../common/log.js";
import { joinPodCgroup } from "./process-io.js";

describe("joinPodCgroup", () => {
  const dir = mkdtempSync(join(tmpdir(), "hako-join-cgroup-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("moves the stand-in into the group the pod's record names (where the VM is)", async () => {
    const record = join(dir, "pod1.json");
    writeFileSync(
      record,
      JSON.stringify({ version: 1, sandbox: "libpod_parent/libpod-abc", overhead: "hako_overhead/pod1" }),
    );
    const cg = new FakeHostCgroups(2);
    await cg.create("libpod_parent/libpod-abc");
    await joinPodCgroup(silentLogger, "pod1", 4242, cg, record);
    assert.equal(cg.processes.get(4242), "libpod_parent/libpod-abc");
  });

  it("leaves the stand-in where it is when the pod has no record, or its group is gone", async () => {
    const cg = new FakeHostCgroups(2);
    await joinPodCgroup(silentLogger, "pod2", 4243, cg, join(dir, "none.json"));
    const record = join(dir, "pod3.json");
    writeFileSync(record, JSON.stringify({ version: 1, sandbox: "gone/pod3" }));
    await joinPodCgroup(silentLogger, "pod3", 4244, cg, record);
    assert.equal(cg.processes.size, 0);
  });
});
