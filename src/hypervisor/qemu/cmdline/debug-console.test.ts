// Unit specs for the debug console's QEMU arguments: exact lists, on the agent's controller and on its own.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DebugConsolePort } from "./debug-console.js";

const sock = "/run/hako/abc/debug-console.sock";

describe("DebugConsolePort", () => {
  it("hangs hako.debug.0 on the agent's virtio-serial controller", () => {
    assert.deepEqual(new DebugConsolePort(sock).args(), [
      ...["-chardev", `socket,id=chardebug0,path=${sock},server=on,wait=off`],
      ...["-device", "virtserialport,bus=serial0.0,chardev=chardebug0,name=hako.debug.0"],
    ]);
  });

  it("brings its own controller when the agent is on vsock (virtio-mmio on microvm)", () => {
    assert.deepEqual(new DebugConsolePort(sock, "mmio", false).args(), [
      ...["-device", "virtio-serial-device,id=serial1"],
      ...["-chardev", `socket,id=chardebug0,path=${sock},server=on,wait=off`],
      ...["-device", "virtserialport,bus=serial1.0,chardev=chardebug0,name=hako.debug.0"],
    ]);
    assert.deepEqual(new DebugConsolePort(sock, "pci", false).args().slice(0, 2), [
      "-device",
      "virtio-serial-pci,id=serial1",
    ]);
  });
});
