// Covers the NetworkModel contract as the fake and the none model keep it: add returns endpoints plus guest
// configuration, del works from persisted endpoints alone and is idempotent.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger, memorySink } from "../common/log.js";
import { FakeNetworkModel } from "./fake-network-model.js";
import { persistedEndpoints } from "./network-model.js";
import { NoneModel } from "./none-model.js";

const logger = createLogger({ sink: memorySink(), level: "debug" });

describe("FakeNetworkModel", () => {
  it("add wires the netns once and del undoes it from a persisted copy, twice without error", async () => {
    const m = new FakeNetworkModel();
    const setup = await m.add("/var/run/netns/p1", logger);
    assert.equal(setup.endpoints[0]?.tap, "tap0_hako");
    assert.equal(setup.guest.interfaces[0]?.mac, setup.endpoints[0]?.mac);
    await assert.rejects(m.add("/var/run/netns/p1", logger), /already wired/);
    const persisted = JSON.parse(JSON.stringify(persistedEndpoints(setup)));
    assert.equal("guest" in persisted, false);
    await m.del(persisted, logger);
    await m.del(persisted, logger);
    assert.equal(m.live.size, 0);
    assert.deepEqual(m.calls, [
      "add /var/run/netns/p1",
      "add /var/run/netns/p1",
      "del /var/run/netns/p1",
      "del /var/run/netns/p1",
    ]);
  });

  it("failNextAdd makes one add fail", async () => {
    const m = new FakeNetworkModel();
    m.failNextAdd = new Error("boom");
    await assert.rejects(m.add("/n", logger), /boom/);
    assert.equal((await m.add("/n", logger)).endpoints.length, 1);
  });
});

describe("NoneModel", () => {
  it("wires nothing", async () => {
    const setup = await new NoneModel().add("/var/run/netns/p1", logger);
    assert.deepEqual(setup.endpoints, []);
    assert.deepEqual(setup.guest.interfaces, []);
    await new NoneModel().del(setup, logger);
  });
});
