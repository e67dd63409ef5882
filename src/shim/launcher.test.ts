// The launchers containerd, podman and docker run (bin/) start node without NODE_EXTRA_CA_CERTS: hako makes no TLS
// connections, and node would read and parse that file at every start (see the launchers' header).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

const env = { ...process.env, NODE_EXTRA_CA_CERTS: "/nonexistent/hako-test-extra-ca.pem" };

test("node itself reads NODE_EXTRA_CA_CERTS at start (the control: it warns when the file is missing)", () => {
  const r = spawnSync(process.execPath, ["-e", "0"], { env, encoding: "utf8" });
  assert.match(r.stderr, /Ignoring extra certs from `\/nonexistent\/hako-test-extra-ca\.pem`/);
});

for (const [bin, flag] of [
  ["bin/containerd-shim-hako-v2", "-v"],
  ["bin/hako-runtime", "--version"],
] as const) {
  test(`${bin} starts node without NODE_EXTRA_CA_CERTS`, () => {
    const r = spawnSync(bin, [flag], { env, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /0\.1\.0|version/);
    assert.doesNotMatch(r.stderr, /extra certs/);
  });
}
