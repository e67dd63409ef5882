// Which pod a container's shim serves, from its bundle's spec: a CRI container joins its sandbox's pod, anything else
// is its own pod, and a spec that cannot be read is an error naming it (never a silent "own pod").
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Code, HakoError } from "../common/errors.js";
import { CRI_CONTAINER_TYPE, CRI_SANDBOX_ID } from "../oci/cri-annotations.js";
import { podIdOf } from "./address.js";

const root = mkdtempSync(join(tmpdir(), "hako-address-spec-"));
after(() => rmSync(root, { recursive: true, force: true }));

function bundle(name: string, config: string | undefined): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  if (config !== undefined) writeFileSync(join(dir, "config.json"), config);
  return dir;
}

const invalid = (path: string) => (err: unknown) => {
  assert.ok(err instanceof HakoError, String(err));
  assert.equal(Code[err.code], "InvalidArgument");
  assert.ok(err.message.includes(path), err.message);
  return true;
};

describe("podIdOf", () => {
  test("a CRI container joins its sandbox's pod; a sandbox container or plain container is its own", async () => {
    const cri = { annotations: { [CRI_CONTAINER_TYPE]: "container", [CRI_SANDBOX_ID]: "pod-1" } };
    assert.equal(await podIdOf(bundle("cri", JSON.stringify(cri)), "c1"), "pod-1");
    const sandbox = { annotations: { [CRI_CONTAINER_TYPE]: "sandbox", [CRI_SANDBOX_ID]: "pod-2" } };
    assert.equal(await podIdOf(bundle("sandbox", JSON.stringify(sandbox)), "pod-2"), "pod-2");
    assert.equal(await podIdOf(bundle("plain", JSON.stringify({ ociVersion: "1.0.2" })), "c3"), "c3");
  });

  test("a missing or malformed config.json is InvalidArgument naming the file", async () => {
    const missing = bundle("missing", undefined);
    await assert.rejects(podIdOf(missing, "c4"), invalid(join(missing, "config.json")));
    const torn = bundle("torn", '{"annotations": {');
    await assert.rejects(podIdOf(torn, "c5"), invalid(join(torn, "config.json")));
  });
});
