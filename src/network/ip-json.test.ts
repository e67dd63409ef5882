// Covers the iproute2 JSON readers and resolv.conf parsing on output captured from iproute2 6.1.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseLinks, parseNeighbors, parseQdiscs, parseRoutes } from "./ip-json.js";
import { parseResolvConf } from "./netns-dns.js";

const addr = JSON.stringify([
  {
    ifindex: 1,
    ifname: "lo",
    flags: ["LOOPBACK", "UP"],
    mtu: 65536,
    address: "00:00:00:00:00:00",
    addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8, scope: "host" }],
  },
  {
    ifindex: 3,
    link: "v1",
    ifname: "eth0",
    flags: ["BROADCAST", "UP", "LOWER_UP"],
    mtu: 1500,
    address: "A6:D0:A2:62:9C:7B",
    linkinfo: { info_kind: "veth" },
    addr_info: [
      { family: "inet", local: "10.88.0.5", prefixlen: 16, scope: "global" },
      { family: "inet6", local: "fd00::5", prefixlen: 64, scope: "global", tentative: true },
      { family: "inet6", local: "fe80::a4d0:a2ff:fe62:9c7b", prefixlen: 64, scope: "link" },
    ],
  },
]);

describe("ip -json readers", () => {
  it("reads links with their global addresses only", () => {
    const [lo, eth0] = parseLinks(addr);
    assert.equal(lo?.loopback, true);
    assert.deepEqual(lo?.addresses, []);
    assert.deepEqual(eth0, {
      index: 3,
      name: "eth0",
      mac: "a6:d0:a2:62:9c:7b",
      mtu: 1500,
      up: true,
      kind: "veth",
      loopback: false,
      addresses: [
        { family: 4, address: "10.88.0.5", prefixLength: 16 },
        { family: 6, address: "fd00::5", prefixLength: 64 },
      ],
    });
  });

  it("reads routes: default becomes empty destination, scopes are numbers, fe80 routes dropped", () => {
    const v4 =
      '[{"dst":"default","gateway":"10.88.0.1","dev":"eth0","flags":[]},' +
      '{"dst":"10.88.0.0/16","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"10.88.0.5","flags":[]},' +
      '{"type":"broadcast","dst":"10.88.255.255","dev":"eth0"}]';
    assert.deepEqual(parseRoutes(v4, 4), [
      { family: 4, destination: "", gateway: "10.88.0.1", device: "eth0", source: "", scope: 0 },
      { family: 4, destination: "10.88.0.0/16", gateway: "", device: "eth0", source: "10.88.0.5", scope: 253 },
    ]);
    const v6 = '[{"dst":"fd00::/64","dev":"eth0","protocol":"kernel","metric":256},{"dst":"fe80::/64","dev":"eth0"}]';
    assert.deepEqual(parseRoutes(v6, 6), [
      { family: 6, destination: "fd00::/64", gateway: "", device: "eth0", source: "", scope: 0 },
    ]);
  });

  it("keeps only permanent neighbours", () => {
    const n =
      '[{"dst":"10.88.0.9","dev":"eth0","lladdr":"02:00:00:00:00:09","state":["PERMANENT"]},' +
      '{"dst":"10.88.0.1","dev":"eth0","lladdr":"02:00:00:00:00:01","state":["REACHABLE"]}]';
    assert.deepEqual(parseNeighbors(n), [
      { address: "10.88.0.9", mac: "02:00:00:00:00:09", device: "eth0", state: 0x80 },
    ]);
  });

  it("reads qdiscs and treats empty output as none", () => {
    assert.deepEqual(parseQdiscs('[{"kind":"ingress","handle":"ffff:","dev":"eth0","parent":"ffff:fff1"}]'), [
      { dev: "eth0", kind: "ingress", handle: "ffff:" },
    ]);
    assert.deepEqual(parseQdiscs(""), []);
    assert.throws(() => parseQdiscs("Error"), /not JSON/);
  });
});

describe("parseResolvConf", () => {
  it("reads servers, search domains and options, ignoring comments", () => {
    assert.deepEqual(
      parseResolvConf(
        "# cni\nnameserver 10.88.0.1\nnameserver fd00::1 # v6\nsearch a.local b.local\noptions ndots:5\n",
      ),
      {
        servers: ["10.88.0.1", "fd00::1"],
        searches: ["a.local", "b.local"],
        options: ["ndots:5"],
      },
    );
  });
});
