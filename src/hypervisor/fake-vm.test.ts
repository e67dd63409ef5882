// Unit specs for the fake VM that runtime tests rely on.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
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
