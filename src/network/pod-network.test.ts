// Covers the sandbox's network phase with the fake model and fake agent: the endpoints are on disk as soon as add()
// returns, unwire works from that record alone (twice), the guest configuration is applied in order, a host-network
// spec is refused before anything is wired; and (root only) the new-link watcher on a real netns.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { FakeAgent } from "../agent/client/fake-agent.js";
import { createLogger, memorySink } from "../common/log.js";
import { FakeNetworkModel } from "./fake-network-model.js";
import { newLinkName, watchNewLinks } from "./link-watch.js";
import { applyGuestNetwork, dnsLines, readEndpoints, unwirePodNetwork, wirePodNetwork } from "./pod-network.js";

const logger = createLogger({ sink: memorySink(), level: "debug" });
const podSpec = { ociVersion: "1.0.2", linux: { namespaces: [{ type: "network", path: "/var/run/netns/pod1" }] } };

describe("pod network phase", () => {
  let dir = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "hako-podnet-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("records the endpoints on add and unwires from the record", async () => {
    const model = new FakeNetworkModel();
    const recordPath = join(dir, "network", "sb1.json");
    const setup = await wirePodNetwork({ sandboxId: "sb1", spec: podSpec, model, recordPath }, logger);
    assert.equal(setup.netns, "/var/run/netns/pod1");
    assert.deepEqual(await readEndpoints(recordPath), {
      model: "tcfilter",
      netns: "/var/run/netns/pod1",
      endpoints: model.endpoints,
    });
    await unwirePodNetwork(recordPath, logger, () => model);
    await unwirePodNetwork(recordPath, logger, () => model);
    assert.equal(existsSync(recordPath), false);
    assert.deepEqual(model.calls, ["add /var/run/netns/pod1", "del /var/run/netns/pod1"]);
    assert.equal(model.live.size, 0);
  });

  it("wires nothing for an empty netns and refuses the host network before wiring", async () => {
    const model = new FakeNetworkModel();
    const empty = { ociVersion: "1.0.2", linux: { namespaces: [{ type: "network" }] } };
    const setup = await wirePodNetwork(
      { sandboxId: "sb2", spec: empty, model, recordPath: join(dir, "sb2.json") },
      logger,
    );
    assert.deepEqual(setup.endpoints, []);
    const host = { ociVersion: "1.0.2", linux: { namespaces: [{ type: "pid" }] } };
    await assert.rejects(
      wirePodNetwork({ sandboxId: "sb3", spec: host, model, recordPath: join(dir, "sb3.json") }, logger),
      /internetworking_model/,
    );
    assert.deepEqual(model.calls, []);
  });

  it("applies interfaces, then routes, then neighbours", async () => {
    const agent = new FakeAgent();
    const guest = new FakeNetworkModel().guest;
    guest.neighbors.push({ address: "10.88.0.9", mac: "02:00:00:00:00:09", device: "eth0", state: 0x80 });
    await applyGuestNetwork(agent, guest, logger);
    assert.deepEqual(agent.calls, ["updateInterface", "updateRoutes", "addArpNeighbors"]);
    assert.deepEqual(agent.interfaces.get("eth0")?.addresses, [{ family: 4, address: "10.88.0.5", prefixLength: 16 }]);
  });

  it("turns DNS into resolv.conf lines", () => {
    assert.deepEqual(dnsLines({ servers: ["10.0.0.2"], searches: ["a.local"], options: ["ndots:2"] }), [
      "nameserver 10.0.0.2",
      "search a.local",
      "options ndots:2",
    ]);
    assert.deepEqual(dnsLines(undefined), []);
  });
});

describe("watchNewLinks", () => {
  it("reads new-link lines of ip monitor", () => {
    assert.equal(newLinkName("7: extra0@extra1: <BROADCAST,MULTICAST,M-DOWN> mtu 1500 qdisc noop"), "extra0");
    assert.equal(newLinkName("Deleted 7: extra0: <BROADCAST> mtu 1500"), undefined);
  });

  const ns = `hako-watch-${process.pid}`;
  it("logs a link added after start", { skip: process.getuid?.() !== 0 && "needs root" }, async () => {
    execFileSync("ip", ["netns", "add", ns]);
    const sink = memorySink();
    const watch = watchNewLinks(`/var/run/netns/${ns}`, ["lo"], createLogger({ sink, level: "debug" }));
    try {
      await sleep(300); // ip monitor subscribes after it starts
      execFileSync("ip", ["-n", ns, "link", "add", "late0", "type", "veth", "peer", "name", "late1"]);
      for (let i = 0; i < 50 && !sink.lines.some((l) => l.includes("late0")); i++) await sleep(50);
      const entry = sink.entries().find((e) => e.link === "late0");
      assert.match(String(entry?.msg), /does not hot-plug/);
      assert.equal(entry?.level, "warning");
    } finally {
      watch.stop();
      execFileSync("ip", ["netns", "del", ns]);
    }
  });
});
