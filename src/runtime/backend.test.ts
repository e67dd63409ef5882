import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, HakoError } from "../common/errors.js";
import { silentLogger } from "../common/log.js";
import { defaultConfig } from "../config/defaults.js";
import { FakeVm } from "../hypervisor/fake-vm.js";
import { agentDialer } from "./backend.js";

test("a VM that exits while the agent is dialled fails the dial at once, naming the exit", async () => {
  const config = defaultConfig();
  config.agent.dialTimeoutS = 60;
  // Nothing listens at the agent's address, as in a guest whose kernel panicked before the agent opened its port.
  const vm = new FakeVm(`dial-${process.pid}`, { kind: "serial", path: `/nonexistent/hako-${process.pid}.sock` });
  const t0 = Date.now();
  const dialing = agentDialer(config)(vm, silentLogger);
  setTimeout(() => vm.crash("SIGKILL"), 200);
  await assert.rejects(dialing, (err) => {
    assert.ok(err instanceof HakoError);
    assert.equal(Code[err.code], "Unavailable");
    assert.match(err.message, /the VM exited \(signal SIGKILL\) before its agent answered; console log .* ends:/);
    return true;
  });
  assert.ok(Date.now() - t0 < 5000, "not the 60 s dial timeout");
});
