import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { DeleteResponseSchema } from "../proto/gen/containerd/task/v2/shim_pb.js";
import { sandboxPaths } from "../runtime/layout.js";
import { shimSocketPath } from "./address.js";
import type { ShimArgs } from "./args.js";
import { nothingLeft } from "./delete-quick.js";
import { deleteResponseBytes } from "./delete-response.js";

let dir: string;
let savedRunDir: string | undefined;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "hako-delete-"));
  savedRunDir = process.env.HAKO_RUN_DIR;
  process.env.HAKO_RUN_DIR = join(dir, "run");
});
after(() => {
  if (savedRunDir === undefined) delete process.env.HAKO_RUN_DIR;
  else process.env.HAKO_RUN_DIR = savedRunDir;
  rmSync(dir, { recursive: true, force: true });
});

function bundle(id: string, annotations: Record<string, string> = {}): ShimArgs {
  const b = join(dir, "bundles", id);
  mkdirSync(b, { recursive: true });
  writeFileSync(join(b, "config.json"), JSON.stringify({ ociVersion: "1.0.2", annotations }));
  return {
    namespace: "ns",
    address: "/run/containerd/containerd.sock",
    publishBinary: "x",
    id,
    bundle: b,
    debug: false,
    action: "delete",
  };
}

function touch(path: string, asDir = false): () => void {
  if (asDir) mkdirSync(path, { recursive: true });
  else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, "");
  }
  return () => rmSync(path, { recursive: true, force: true });
}

test("the DeleteResponse bytes are the generated schema's encoding of the same message", () => {
  for (const at of [new Date(1764504000000), new Date(1764504000123), new Date(0)]) {
    const expected = toBinary(
      DeleteResponseSchema,
      create(DeleteResponseSchema, { pid: 0, exitStatus: 137, exitedAt: timestampFromDate(at) }),
    );
    assert.deepEqual(Buffer.from(deleteResponseBytes(at)), Buffer.from(expected));
  }
});

test("a pod that stopped cleanly has nothing left; each file a sandbox leaves makes delete do the full clean-up", async () => {
  const args = bundle("pod1");
  assert.equal(await nothingLeft(args), true);
  const paths = sandboxPaths("pod1");
  const leftovers: [string, boolean][] = [
    [shimSocketPath(args.address, args.namespace, "pod1"), false],
    [paths.stateDir, true],
    [paths.sharedDir, true],
    [paths.networkRecord, false],
    [paths.cgroupsRecord, false],
    [paths.portForwardRecord, false],
  ];
  for (const [path, asDir] of leftovers) {
    const remove = touch(path, asDir);
    assert.equal(await nothingLeft(args), false, path);
    remove();
  }
  assert.equal(await nothingLeft(args), true);
});

test("a CRI container looks at its own directory in its pod's share, and an unreadable spec is never nothing", async () => {
  const args = bundle("app1", {
    "io.kubernetes.cri.container-type": "container",
    "io.kubernetes.cri.sandbox-id": "pod2",
  });
  const remove = touch(join(sandboxPaths("pod2").stateDir), true);
  assert.equal(await nothingLeft(args), true, "the pod's own state is the pod's delete's business");
  remove();
  const removeShare = touch(join(sandboxPaths("pod2").sharedDir, "app1"), true);
  assert.equal(await nothingLeft(args), false);
  removeShare();
  // A pod named like one of hako's own directories is refused before anything is looked at (the full delete then
  // fails the same way and touches nothing).
  await assert.rejects(nothingLeft(bundle("shared")), /hako's own directories/);
  const broken = bundle("broken");
  writeFileSync(join(broken.bundle, "config.json"), "{ not json");
  assert.equal(await nothingLeft(broken), false);
});
