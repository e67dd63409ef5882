import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { updateResources } from "./update-resources.js";

describe("updateResources", () => {
  it("drops what docker 20.10's `docker update --cpus 0.5` sends to mean unchanged", () => {
    const sent = {
      cpu: { cpus: "", mems: "", period: 100000, quota: 50000, shares: 0 },
      memory: { limit: 0, reservation: 0, kernel: 0, swap: 0 },
      pids: { limit: 0 },
    };
    assert.deepEqual(updateResources(sent), { cpu: { period: 100000, quota: 50000 } });
  });

  it("never passes kernel memory, which crun refuses on cgroup v2", () => {
    assert.deepEqual(updateResources({ memory: { limit: 268435456, kernel: 0, kernelTCP: 1048576 } }), {
      memory: { limit: 268435456 },
    });
  });

  it("keeps -1 (no limit), real values and the sections it does not read", () => {
    const r = {
      memory: { limit: -1, swap: -1, disableOOMKiller: true },
      cpu: { cpus: "0-1", quota: -1 },
      pids: { limit: -1 },
      unified: { "memory.high": "max" },
      devices: [{ allow: false, access: "rwm" }],
    };
    assert.deepEqual(updateResources(r), r);
  });

  it("does not change the resources it was given", () => {
    const given = { memory: { limit: 0 } };
    updateResources(given);
    assert.deepEqual(given, { memory: { limit: 0 } });
  });
});
