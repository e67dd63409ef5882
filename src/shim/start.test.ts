// The command line of the pod's long-lived `serve` process, which `start` spawns: its V8 flags must be ones node
// accepts (an unknown one makes node exit before the shim listens), and they must take effect.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { SERVE_NODE_FLAGS, serveArgv } from "./start.js";

test("serveArgv puts node's flags before the launcher and replaces `start` with `serve`", () => {
  const argv = ["-namespace", "k8s.io", "-address", "/run/c.sock", "-id", "pod1", "start"];
  assert.deepEqual(serveArgv("/opt/bin/containerd-shim-hako-v2", argv), [
    ...SERVE_NODE_FLAGS,
    "/opt/bin/containerd-shim-hako-v2",
    "-namespace",
    "k8s.io",
    "-address",
    "/run/c.sock",
    "-id",
    "pod1",
    "serve",
  ]);
});

test("node accepts the serve flags quietly and runs lite (jitless: no WebAssembly)", () => {
  const probe = "console.log(typeof WebAssembly)";
  const lite = spawnSync(process.execPath, [...SERVE_NODE_FLAGS, "-e", probe], { encoding: "utf8" });
  assert.equal(lite.status, 0, lite.stderr);
  assert.equal(lite.stdout, "undefined\n");
  // The shim's stderr is containerd's log: a flag warning there would be a line in every pod's start.
  assert.equal(lite.stderr, "");
  const plain = spawnSync(process.execPath, ["-e", probe], { encoding: "utf8" });
  assert.equal(plain.stdout, "object\n", "the control: without the flags WebAssembly is there");
});
