// Covers the tcfilter and macvtap models against a real network namespace this spec creates (root only): a veth with an address
// gets a tap, ingress qdiscs and mirred redirects both ways; del leaves the namespace as it was, also twice and from a
// persisted copy. Nothing outside the spec's own namespace is touched.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createLogger, memorySink } from "../common/log.js";
import { parseLinks, parseQdiscs } from "./ip-json.js";
import { MacvtapModel } from "./macvtap-model.js";
import { persistedEndpoints } from "./network-model.js";
import { TcFilterModel } from "./tc-filter-model.js";

const root = process.getuid?.() === 0;
const ns = `hako-tcf-${process.pid}`;
const path = `/var/run/netns/${ns}`;
const ip = (...a: string[]) => execFileSync("ip", ["-n", ns, ...a], { encoding: "utf8" });
const tc = (...a: string[]) => execFileSync("tc", ["-n", ns, ...a], { encoding: "utf8" });
const logger = createLogger({ sink: memorySink(), level: "debug" });

describe("TcFilterModel (real netns)", { skip: !root && "needs root" }, () => {
  before(() => {
    execFileSync("ip", ["netns", "add", ns]);
    ip("link", "add", "eth0", "mtu", "1400", "type", "veth", "peer", "name", "peer0");
    ip("addr", "add", "10.77.0.5/24", "dev", "eth0");
    ip("link", "set", "eth0", "up");
    ip("link", "set", "peer0", "up");
    ip("route", "add", "default", "via", "10.77.0.1");
    ip("neigh", "add", "10.77.0.9", "lladdr", "02:00:00:00:00:09", "dev", "eth0", "nud", "permanent");
  });
  after(() => execFileSync("ip", ["netns", "del", ns]));

  it("wires the veth to a tap and unwires it completely", async () => {
    const model = new TcFilterModel();
    const before = parseLinks(ip("-json", "-d", "addr", "show"));
    const eth0 = before.find((l) => l.name === "eth0");
    const setup = await model.add(path, logger);

    assert.deepEqual(setup.endpoints, [{ link: "eth0", tap: "tap0_hako", kind: "tap", mac: eth0?.mac, mtu: 1400 }]);
    assert.deepEqual(setup.guest.interfaces, [
      { name: "eth0", mac: eth0?.mac, mtu: 1400, addresses: [{ family: 4, address: "10.77.0.5", prefixLength: 24 }] },
    ]);
    assert.ok(setup.guest.routes.some((r) => r.destination === "" && r.gateway === "10.77.0.1" && r.device === "eth0"));
    assert.deepEqual(setup.guest.neighbors, [
      { address: "10.77.0.9", mac: "02:00:00:00:00:09", device: "eth0", state: 0x80 },
    ]);

    const tap = parseLinks(ip("-json", "-d", "addr", "show")).find((l) => l.name === "tap0_hako");
    assert.equal(tap?.kind, "tun");
    assert.equal(tap?.mtu, 1400);
    const ingress = parseQdiscs(tc("-json", "qdisc", "show")).filter((q) => q.kind === "ingress");
    assert.deepEqual(ingress.map((q) => q.dev).sort(), ["eth0", "tap0_hako"]);
    assert.match(tc("filter", "show", "dev", "eth0", "ingress"), /mirred \(Egress Redirect to device tap0_hako\)/);
    assert.match(tc("filter", "show", "dev", "tap0_hako", "ingress"), /mirred \(Egress Redirect to device eth0\)/);

    // A second add must not wire the tap itself (a re-scan after a crash).
    const persisted = JSON.parse(JSON.stringify(persistedEndpoints(setup)));
    await model.del(persisted, logger);
    await model.del(persisted, logger);
    const names = parseLinks(ip("-json", "-d", "addr", "show"))
      .map((l) => l.name)
      .sort();
    assert.deepEqual(names, ["eth0", "lo", "peer0"]);
    assert.deepEqual(
      parseQdiscs(tc("-json", "qdisc", "show")).filter((q) => q.kind === "ingress"),
      [],
    );
  });

  it("does not wire its own taps again and undoes a partial add", async () => {
    const model = new TcFilterModel();
    const first = await model.add(path, logger);
    await assert.rejects(model.add(path, logger), /already wired to a VM \(ingress qdisc on eth0, tap0_hako\)/);
    // The failed add removed nothing of the first one's.
    assert.ok(parseLinks(ip("-json", "addr", "show")).some((l) => l.name === "tap0_hako"));
    await model.del(first, logger);
    assert.deepEqual(
      parseQdiscs(tc("-json", "qdisc", "show")).filter((q) => q.kind === "ingress"),
      [],
    );
  });

  it("del is a no-op once the namespace is gone", async () => {
    await new TcFilterModel().del(
      {
        model: "tcfilter",
        netns: "/var/run/netns/hako-gone",
        endpoints: [{ link: "eth0", tap: "tap0_hako", kind: "tap", mac: "", mtu: 0 }],
      },
      logger,
    );
  });

  it("macvtap: a passthru macvtap with the link's MAC and a private device node, removed by del", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hako-mvt-"));
    try {
      const model = new MacvtapModel(undefined, dir);
      const eth0 = parseLinks(ip("-json", "-d", "addr", "show")).find((l) => l.name === "eth0");
      const setup = await model.add(path, logger);
      const ep = setup.endpoints[0];
      assert.equal(ep?.kind, "macvtap");
      assert.equal(ep?.tap, "mvtap0_hako");
      const mv = parseLinks(ip("-json", "-d", "addr", "show")).find((l) => l.name === "mvtap0_hako");
      assert.equal(mv?.kind, "macvtap");
      assert.equal(mv?.mac, eth0?.mac);
      assert.match(ip("-d", "link", "show", "mvtap0_hako"), /macvtap mode passthru/);
      assert.ok(ep?.device && statSync(ep.device).isCharacterDevice());
      await model.del(JSON.parse(JSON.stringify(persistedEndpoints(setup))), logger);
      assert.deepEqual(
        parseLinks(ip("-json", "addr", "show"))
          .map((l) => l.name)
          .sort(),
        ["eth0", "lo", "peer0"],
      );
      assert.throws(() => statSync(ep?.device ?? ""), /ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
