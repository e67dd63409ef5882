import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { qemuEnvironment } from "./qemu-launch.js";

describe("qemuEnvironment", () => {
  it("keeps the caller's variables and sets glib's slice allocator to malloc", () => {
    const env = qemuEnvironment({ PATH: "/usr/bin", LANG: "C" });
    assert.deepEqual(env, { PATH: "/usr/bin", LANG: "C", G_SLICE: "always-malloc" });
  });

  it("leaves a G_SLICE the caller set", () => {
    assert.equal(qemuEnvironment({ G_SLICE: "debug-blocks" }).G_SLICE, "debug-blocks");
  });

  it("does not change the environment it was given", () => {
    const given = { PATH: "/usr/bin" };
    qemuEnvironment(given);
    assert.deepEqual(given, { PATH: "/usr/bin" });
  });
});
