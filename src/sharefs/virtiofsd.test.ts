// Unit specs for virtiofsd's arguments and cache-mode mapping (the daemon itself is exercised by the VM e2e test).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { virtiofsdArgs, virtiofsdCacheMode } from "./virtiofsd.js";

describe("virtiofsd", () => {
  it("maps Kata's cache names onto the C daemon's", () => {
    assert.equal(virtiofsdCacheMode("auto"), "auto");
    assert.equal(virtiofsdCacheMode("always"), "always");
    assert.equal(virtiofsdCacheMode("never"), "none");
    assert.equal(virtiofsdCacheMode("metadata"), "auto");
  });
  it("builds the argument list with socket, source, cache, sandbox and extra args last", () => {
    const args = virtiofsdArgs({
      binary: "/usr/lib/qemu/virtiofsd",
      socketPath: "/run/hako/x/virtiofsd.sock",
      sourceDir: "/run/hako/shared/x",
      cache: "never",
      extraArgs: ["--thread-pool-size=1"],
    });
    assert.deepEqual(args, [
      "--socket-path=/run/hako/x/virtiofsd.sock",
      "-o",
      "source=/run/hako/shared/x",
      "-o",
      "cache=none",
      "-o",
      "sandbox=namespace",
      "-o",
      "xattr",
      "-o",
      "log_level=warn",
      "--thread-pool-size=1",
    ]);
  });
});
