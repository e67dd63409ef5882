// Unit spec for the QEMU driver's persisted state: the template a clone came from survives the trip through the
// state file, so a VM another process attaches to still says it was restored, not booted.
import assert from "node:assert/strict";
import { test } from "node:test";
import { HakoError } from "../../common/errors.js";
import { qemuVmState } from "./qemu-vm.js";

const base = {
  qmpSocket: "/run/q.sock",
  pcieRootPorts: 2,
  usedPorts: [],
  dimms: 0,
  memoryMiB: 512,
  sharedMemory: true,
};

test("the template key is read back; state without one (booted, or older) still loads", () => {
  assert.equal(qemuVmState({ ...base, fromTemplate: "ab12" }).fromTemplate, "ab12");
  assert.equal(qemuVmState(base).fromTemplate, undefined);
  assert.throws(() => qemuVmState({ ...base, fromTemplate: 7 }), HakoError);
});
