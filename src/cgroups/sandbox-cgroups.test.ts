import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { silentLogger } from "../common/log.js";
import { FakeHostCgroups } from "./fake-host-cgroups.js";
import { systemCgroups } from "./host-cgroups.js";
import { placeSandbox, releaseSandboxCgroups } from "./sandbox-cgroups.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hako-cgroups-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const request = (sandboxOnly: boolean) => ({
  sandboxId: "abc",
  cgroupsPath: "/kubepods/pod1/abc",
  sandboxOnly,
  shimPid: 10,
  vmmPid: 20,
  daemonPids: [30],
  vcpuThreads: [21, 22],
});

test("sandbox_cgroup_only: shim, VMM and share daemon in the pod's cgroup; all of it removed after", async () => {
  const cg = new FakeHostCgroups();
  const record = join(dir, "rec.json");
  await placeSandbox(cg, request(true), record, silentLogger);
  assert.deepEqual(
    [...cg.processes],
    [
      [10, "kubepods/pod1/abc"],
      [30, "kubepods/pod1/abc"],
      [20, "kubepods/pod1/abc"],
    ],
  );
  assert.equal(cg.threads.size, 0);
  // The VM stopped: its processes left the group.
  cg.processes.delete(20);
  cg.processes.delete(30);
  await releaseSandboxCgroups(cg, record, silentLogger, 10);
  assert.equal(cg.processes.get(10), "kubepods/pod1", "the shim moved to the parent so its group can go");
  assert.equal(cg.exists("kubepods/pod1/abc"), false);
  assert.equal(cg.exists("kubepods/pod1"), true, "parents are kubelet's");
  assert.equal(existsSync(record), false);
});

test("otherwise: vCPU threads in the pod's cgroup, the rest in hako_overhead/<id> (v1)", async () => {
  const cg = new FakeHostCgroups(1);
  const record = join(dir, "rec.json");
  await placeSandbox(cg, request(false), record, silentLogger);
  assert.deepEqual(JSON.parse(readFileSync(record, "utf8")), {
    version: 1,
    sandbox: "kubepods/pod1/abc",
    overhead: "hako_overhead/abc",
  });
  assert.deepEqual(
    [...cg.processes],
    [
      [10, "hako_overhead/abc"],
      [30, "hako_overhead/abc"],
      [20, "hako_overhead/abc"],
    ],
  );
  assert.deepEqual(
    [...cg.threads],
    [
      [21, "kubepods/pod1/abc"],
      [22, "kubepods/pod1/abc"],
    ],
  );
  // After a crash: no shim to move; the VMM and daemon are gone (killed by clean-up).
  cg.processes.clear();
  await releaseSandboxCgroups(cg, record, silentLogger);
  assert.equal(cg.exists("kubepods/pod1/abc") || cg.exists("hako_overhead/abc"), false);
});

test("cgroup v2 cannot split threads: the whole VMM goes into the pod's cgroup", async () => {
  const cg = new FakeHostCgroups(2);
  await placeSandbox(cg, { ...request(false), cgroupsPath: undefined }, join(dir, "rec.json"), silentLogger);
  assert.equal(cg.processes.get(20), "hako/abc", "no cgroupsPath: hako/<id>");
  assert.equal(cg.processes.get(10), "hako_overhead/abc");
  assert.equal(cg.threads.size, 0);
});

test("a group that stays busy keeps the record and fails, naming the group", async () => {
  const cg = new FakeHostCgroups();
  const record = join(dir, "rec.json");
  await placeSandbox(cg, request(true), record, silentLogger);
  await assert.rejects(releaseSandboxCgroups(cg, record, silentLogger), /cgroup kubepods\/pod1\/abc holds 10, 30, 20/);
  assert.equal(existsSync(record), true);
});

test("v1 hierarchies on disk: every mounted hierarchy gets the group; a new cpuset inherits cpus and mems", async () => {
  for (const h of ["cpu", "memory", "cpuset", "unified"]) {
    mkdirSync(join(dir, h));
    writeFileSync(join(dir, h, "cgroup.procs"), "");
    // v1 hierarchies have a tasks file; the hybrid cgroup2 one ("unified") does not.
    if (h !== "unified") writeFileSync(join(dir, h, "tasks"), "");
  }
  writeFileSync(join(dir, "cpuset", "cpuset.cpus"), "0-1\n");
  writeFileSync(join(dir, "cpuset", "cpuset.mems"), "0\n");
  // What the kernel would give a new cpuset group: the files, empty.
  const cg = systemCgroups(dir);
  assert.equal(cg.version, 1);
  mkdirSync(join(dir, "cpuset", "k8s.io"));
  writeFileSync(join(dir, "cpuset", "k8s.io", "cpuset.cpus"), "");
  writeFileSync(join(dir, "cpuset", "k8s.io", "cpuset.mems"), "");
  await cg.create("k8s.io/abc");
  for (const h of ["cpu", "memory", "cpuset"]) assert.equal(existsSync(join(dir, h, "k8s.io/abc")), true, h);
  assert.equal(readFileSync(join(dir, "cpuset", "k8s.io", "cpuset.cpus"), "utf8"), "", "an existing group is kept");
  await cg.addProcess("k8s.io/abc", 42);
  assert.equal(readFileSync(join(dir, "memory", "k8s.io/abc", "cgroup.procs"), "utf8"), "42");
  await cg.addThread("k8s.io/abc", 43);
  assert.equal(readFileSync(join(dir, "cpu", "k8s.io/abc", "tasks"), "utf8"), "43");
  assert.equal(existsSync(join(dir, "unified", "k8s.io/abc", "tasks")), false, "no thread move in cgroup2");
});
