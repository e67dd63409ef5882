// The agent's kernel command line settings.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCmdline } from "./cmdline.js";

test("defaults: serial channel, no debug, no modules", () => {
  assert.deepEqual(parseCmdline("console=ttyS0 quiet"), { debug: false, channel: "serial", modules: [] });
});

test("hako.* parameters are read, others ignored", () => {
  const c = parseCmdline(
    "panic=1 hako.debug=1 hako.channel=vsock hako.modules=overlay,br_netfilter hako.modules=tun\n",
  );
  assert.deepEqual(c, { debug: true, channel: "vsock", modules: ["overlay", "br_netfilter", "tun"] });
});

test("an unknown channel keeps the serial default", () => {
  assert.equal(parseCmdline("hako.channel=carrier-pigeon").channel, "serial");
  assert.equal(parseCmdline("hako.debug=0").debug, false);
});
