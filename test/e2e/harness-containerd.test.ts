// Self-test of the containerd harness: a private containerd starts, imports the locally built busybox image, runs a
// container with runc (no VM involved, so this pins down the harness alone), and leaves nothing behind when stopped.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { type Containerd, RUNC_RUNTIME, startContainerdWithBusybox } from "../helpers/containerd.js";

let containerd: Containerd;
let image: string;

before(async () => {
  ({ containerd, image } = await startContainerdWithBusybox());
});

after(async () => {
  await containerd?.stop();
});

test("the busybox image is listed under its local name", async () => {
  const r = await containerd.ctr(["images", "list", "-q"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.split("\n").includes(image), r.stdout);
});

test("ctr run --rm with runc prints the container's output and exit status 0", async () => {
  const r = await containerd.run(
    RUNC_RUNTIME,
    image,
    "harness-echo",
    ["sh", "-c", "echo hello from $(cat /etc/hostname 2>/dev/null || echo busybox); id -u"],
    {
      timeoutMs: 60_000,
    },
  );
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.match(lines[0] ?? "", /^hello from /);
  assert.equal(lines[1], "0");
});

test("a container sees the image's rootfs, not the host's", async () => {
  const r = await containerd.run(RUNC_RUNTIME, image, "harness-ls", ["ls", "/"], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const entries = r.stdout.split(/\s+/).filter(Boolean);
  assert.ok(entries.includes("bin") && entries.includes("etc"), r.stdout);
  assert.ok(!entries.includes("work"), "the host's own directories must not appear");
});

test("a failing command's exit status comes back through ctr", async () => {
  const r = await containerd.run(RUNC_RUNTIME, image, "harness-exit", ["sh", "-c", "exit 3"], { timeoutMs: 60_000 });
  assert.equal(r.code, 3, r.stderr);
});

test("stop() kills containerd, unmounts and removes its directory", async () => {
  const { containerd: other } = await startContainerdWithBusybox();
  const detached = await other.ctr(
    [
      "run",
      "-d",
      "--snapshotter",
      other.snapshotter,
      "--runtime",
      RUNC_RUNTIME,
      image,
      "harness-sleep",
      "sleep",
      "300",
    ],
    {
      timeoutMs: 60_000,
    },
  );
  assert.equal(detached.code, 0, detached.stderr);
  const dir = other.dir;
  await other.stop();
  assert.equal(existsSync(dir), false);
  const mounts = readFileSync("/proc/self/mountinfo", "utf8");
  assert.equal(mounts.includes(dir), false, "no mount may remain under the harness directory");
});
