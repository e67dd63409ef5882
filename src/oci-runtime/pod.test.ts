// Specs for pod.ts: which VM a container joins, and where its daemon listens.
import assert from "node:assert/strict";
import { test } from "node:test";
import { daemonSocketPath, podIdOf } from "./pod.js";

test("a plain container is its own pod; CRI and cri-o containers join their sandbox", () => {
  assert.equal(podIdOf("c1", undefined), "c1");
  assert.equal(
    podIdOf("c1", { "io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": "c1" }),
    "c1",
  );
  assert.equal(
    podIdOf("c2", { "io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": "p" }),
    "p",
  );
  assert.equal(
    podIdOf("c3", { "io.kubernetes.cri-o.ContainerType": "container", "io.kubernetes.cri-o.SandboxID": "q" }),
    "q",
  );
});

test("daemon sockets are short and differ per state root", () => {
  const a = daemonSocketPath(`/very/long/${"x".repeat(200)}`, "p".repeat(64));
  assert.ok(Buffer.byteLength(a) < 108, a);
  assert.notEqual(daemonSocketPath("/r1", "p"), daemonSocketPath("/r2", "p"));
  assert.equal(daemonSocketPath("/r1", "p"), daemonSocketPath("/r1", "p"));
});
