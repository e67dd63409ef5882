// Unit specs for bench/network.ts: reading ping's summary line (busybox and iputils forms).
import assert from "node:assert/strict";
import { test } from "node:test";
import { pingAverageMs } from "./network.js";

test("ping's average round trip, busybox and iputils", () => {
  assert.equal(pingAverageMs("20 packets transmitted\nround-trip min/avg/max = 0.080/1.234/3.000 ms\n"), 1.234);
  assert.equal(pingAverageMs("rtt min/avg/max/mdev = 0.031/0.045/0.060/0.010 ms\n"), 0.045);
  assert.equal(pingAverageMs("100% packet loss\n"), null);
});
