// Unit specs for the shim's command line as containerd writes it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseShimArgs } from "./args.js";

test("parses containerd's start command line", () => {
  const args = parseShimArgs(
    [
      "-namespace",
      "k8s.io",
      "-address",
      "/run/containerd/containerd.sock",
      "-publish-binary",
      "/usr/bin/containerd",
      "-id",
      "abc",
      "-debug",
      "start",
    ],
    "/bundle",
  );
  assert.deepEqual(args, {
    namespace: "k8s.io",
    address: "/run/containerd/containerd.sock",
    publishBinary: "/usr/bin/containerd",
    id: "abc",
    bundle: "/bundle",
    debug: true,
    action: "start",
  });
});

test("accepts -flag=value and the delete action", () => {
  const args = parseShimArgs(["-namespace=default", "-id=x1", "delete"], "/b");
  assert.equal(args.namespace, "default");
  assert.equal(args.id, "x1");
  assert.equal(args.action, "delete");
});

test("rejects unknown flags and actions with a clear message", () => {
  assert.throws(() => parseShimArgs(["-id", "a", "-bogus", "1", "start"], "/"), /unknown flag -bogus/);
  assert.throws(() => parseShimArgs(["-id", "a", "frobnicate"], "/"), /unknown action "frobnicate"/);
  assert.throws(() => parseShimArgs(["-id", "a"], "/"), /no action given/);
  assert.throws(() => parseShimArgs(["start"], "/"), /-id is required/);
});
