import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, HakoError } from "../common/errors.js";
import { RESERVED_SANDBOX_IDS, sandboxPaths } from "./layout.js";

test("a sandbox keeps its state in <run dir>/<id>, beside hako's own directories", () => {
  const p = sandboxPaths("pod1", "/run/hako");
  assert.equal(p.stateDir, "/run/hako/pod1");
  assert.equal(p.sharedDir, "/run/hako/shared/pod1");
  assert.equal(p.networkRecord, "/run/hako/network/pod1.json");
});

test("a sandbox id naming one of hako's own directories is refused, so its clean-up cannot remove theirs", () => {
  for (const id of [...RESERVED_SANDBOX_IDS, "shared", "s", "network"]) {
    assert.throws(
      () => sandboxPaths(id, "/run/hako"),
      (err: unknown) =>
        err instanceof HakoError && err.code === Code.InvalidArgument && err.message.includes(`"${id}"`),
    );
  }
  // Only the exact names: ids that merely start with one are other sandboxes.
  assert.equal(sandboxPaths("shared2", "/run/hako").stateDir, "/run/hako/shared2");
});
