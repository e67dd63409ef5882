// Covers the agent's GuestNetwork with the same busybox `ip`/`arp` the guest runs, inside a network namespace this
// spec creates (root only): a NIC found by MAC is renamed, addressed and brought up; routes and ARP entries land;
// the listings read them back. Also the text readers on captured busybox output.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { HakoError } from "../../common/errors.js";
import { createLogger, memorySink } from "../../common/log.js";
import { parseAddrLines, parseLinkLines, parseRouteLines } from "./ip-text.js";
import { GuestNetwork, type NetCommand } from "./network.js";

const logger = createLogger({ sink: memorySink(), level: "debug" });

describe("ip text readers", () => {
  it("reads busybox's one-line link and address listings", () => {
    const links = parseLinkLines(
      "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n" +
        "3: eth1@if4: <BROADCAST,MULTICAST> mtu 1400 qdisc noop qlen 1000\\    link/ether 02:AA:00:00:00:05 brd ff:ff:ff:ff:ff:ff\n",
    );
    assert.deepEqual(links, [
      { index: 1, name: "lo", mac: "00:00:00:00:00:00", mtu: 65536, up: true, loopback: true },
      { index: 3, name: "eth1", mac: "02:aa:00:00:00:05", mtu: 1400, up: false, loopback: false },
    ]);
    const addrs = parseAddrLines(
      "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n" +
        "4: eth0    inet 10.88.0.5/16 brd 10.88.255.255 scope global eth0\\       valid_lft forever\n" +
        "4: eth0    inet6 fd00::2/64 scope global flags 02 \\       valid_lft forever\n" +
        "4: eth0    inet6 fe80::fc:ff:fe00:1/64 scope link \\       valid_lft forever\n",
    );
    assert.deepEqual(
      [...addrs],
      [
        [
          "eth0",
          [
            { family: 4, address: "10.88.0.5", prefixLength: 16 },
            { family: 6, address: "fd00::2", prefixLength: 64 },
          ],
        ],
      ],
    );
  });

  it("reads routes, dropping the kernel's link-local and multicast ones", () => {
    assert.deepEqual(
      parseRouteLines("default via 10.88.0.1 dev eth0 \n10.88.0.0/16 dev eth0 scope link  src 10.88.0.5 \n", 4),
      [
        { family: 4, destination: "", gateway: "10.88.0.1", device: "eth0", source: "", scope: 0 },
        { family: 4, destination: "10.88.0.0/16", gateway: "", device: "eth0", source: "10.88.0.5", scope: 253 },
      ],
    );
    const v6 =
      "fd00::/64 dev eth0  metric 256 \nfe80::/64 dev eth0  metric 256 \ndefault via fd00::1 dev eth0  metric 1024 \nmulticast ff00::/8 dev eth0  metric 256 \n";
    assert.deepEqual(
      parseRouteLines(v6, 6).map((r) => r.destination),
      ["fd00::/64", ""],
    );
  });
});

const root = process.getuid?.() === 0;
const ns = `hako-gnet-${process.pid}`;
const ip = (...a: string[]) => execFileSync("ip", ["-n", ns, ...a], { encoding: "utf8" });
const inNs: NetCommand = (argv) =>
  new Promise((resolve, reject) =>
    execFile("nsenter", [`--net=/var/run/netns/${ns}`, "busybox", ...argv], (err, out, stderr) =>
      err ? reject(new Error(stderr || err.message)) : resolve(out),
    ),
  );

describe("GuestNetwork with busybox (real netns)", { skip: !root && "needs root" }, () => {
  before(() => {
    execFileSync("ip", ["netns", "add", ns]);
    // nic0 stands for the virtio NIC; a link already named eth0 must be moved aside.
    ip("link", "add", "nic0", "address", "02:00:0a:4d:00:05", "type", "veth", "peer", "name", "eth0");
  });
  after(() => execFileSync("ip", ["netns", "del", ns]));

  it("brings lo up through the link-up function, spawning nothing", async () => {
    const up: string[] = [];
    const net = new GuestNetwork(logger, () => Promise.reject(new Error("spawned a command")), {
      linkUp: (name) => void up.push(name),
    });
    await net.loopbackUp();
    assert.deepEqual(up, ["lo"]);
  });

  it("configures the NIC found by MAC, then routes and ARP entries", async () => {
    const net = new GuestNetwork(logger, inNs);
    const iface = await net.updateInterface({
      name: "eth0",
      mac: "02:00:0A:4D:00:05",
      mtu: 1400,
      addresses: [{ family: 4, address: "10.77.0.5", prefixLength: 24 }],
    });
    assert.deepEqual(iface, {
      name: "eth0",
      mac: "02:00:0a:4d:00:05",
      mtu: 1400,
      addresses: [{ family: 4, address: "10.77.0.5", prefixLength: 24 }],
    });
    assert.match(ip("-o", "link", "show", "eth0"), /02:00:0a:4d:00:05/);

    const routes = await net.updateRoutes([
      { family: 4, destination: "", gateway: "10.77.0.1", device: "eth0", source: "", scope: 0 },
      { family: 4, destination: "10.77.0.0/24", gateway: "", device: "eth0", source: "10.77.0.5", scope: 253 },
    ]);
    assert.ok(routes.some((r) => r.destination === "" && r.gateway === "10.77.0.1" && r.device === "eth0"));
    assert.match(ip("route", "show", "default"), /default via 10.77.0.1 dev eth0/);

    await net.addArpNeighbors([{ address: "10.77.0.9", mac: "02:00:00:00:00:09", device: "eth0", state: 0x80 }]);
    assert.match(ip("neigh", "show", "10.77.0.9"), /lladdr 02:00:00:00:00:09 PERMANENT/);
    await assert.rejects(
      net.addArpNeighbors([{ address: "fd00::9", mac: "02:00:00:00:00:09", device: "eth0", state: 0x80 }]),
      /IPv6/,
    );

    const listed = await net.listInterfaces();
    assert.deepEqual(listed.find((i) => i.name === "eth0")?.addresses, [
      { family: 4, address: "10.77.0.5", prefixLength: 24 },
    ]);
  });

  it("says which MAC is missing", async () => {
    const net = new GuestNetwork(logger, inNs, { nicWaitMs: 100 });
    await assert.rejects(
      net.updateInterface({ name: "eth9", mac: "02:00:00:00:99:99", mtu: 1500, addresses: [] }),
      (err: unknown) => err instanceof HakoError && /MAC 02:00:00:00:99:99/.test(err.message),
    );
  });
});
