// Unit specs for the fake VM that runtime tests rely on.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeHypervisor } from "./fake-hypervisor.js";
import { FakeVm } from "./fake-vm.js";

describe("FakeVm", () => {
  it("stop resolves exited as requested and is idempotent", async () => {
    const vm = new FakeVm("s1");
    await vm.pause();
    assert.equal(await vm.status(), "paused");
    await vm.stop();
    await vm.stop();
    assert.deepEqual(await vm.exited, { code: 0, signal: null, requested: true });
    await assert.rejects(vm.resume(), /not running/);
  });
  it("crash resolves exited as not requested", async () => {
    const vm = new FakeVm("s2");
    vm.crash();
    assert.equal((await vm.exited).requested, false);
  });
  it("hot-plug keeps totals", async () => {
    const vm = new FakeVm("s3");
    assert.equal(await vm.hotplugVcpus(3), 3);
    assert.equal(await vm.hotplugMemory(100), 2048 + 128);
  });
});

describe("FakeHypervisor", () => {
  it("prepare then start hands out a FakeVm sized as asked; attach finds it again from its persisted form", async () => {
    const hv = new FakeHypervisor();
    const prepared = await hv.prepare({ sandboxId: "p1", stateRoot: "/run/hako", vcpus: 2, memoryMiB: 512 });
    const vm = (await prepared.start()) as FakeVm;
    assert.deepEqual([vm.vcpus, vm.memoryMiB], [2, 512]);
    assert.equal(await hv.attach(vm.persistable()), vm);
    await vm.stop();
    await assert.rejects(hv.attach(vm.persistable()), /not running/);
  });
  it("abort before start is recorded; a failing step throws", async () => {
    const hv = new FakeHypervisor();
    const prepared = await hv.prepare({ sandboxId: "p2", stateRoot: "/run/hako", vcpus: 1, memoryMiB: 256 });
    await prepared.abort();
    assert.deepEqual(hv.aborted, ["p2"]);
    hv.failOn = "prepare";
    await assert.rejects(
      hv.prepare({ sandboxId: "p3", stateRoot: "/run/hako", vcpus: 1, memoryMiB: 256 }),
      /prepare failed/,
    );
  });
  it("a share daemon failure is reported while the VM runs", async () => {
    const vm = new FakeVm("s4");
    vm.failShareDaemon();
    assert.match((await vm.shareDaemonFailure).message, /virtiofsd/);
  });
});
