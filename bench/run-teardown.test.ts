// Unit specs for bench/run-teardown.ts: the end of a benchmark or demo run leaves no base directory behind, only
// what is not its own. No containerd is started: the run's containerd is a stand-in with Containerd's stop().
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { signalExitCode, tearDownRun } from "./run-teardown.js";

const work = mkdtempSync(join(tmpdir(), "hako-run-teardown-spec-"));
const savedRunDir = process.env.HAKO_RUN_DIR;
before(() => {
  // cleanupStaleInstances also looks for stale sandboxes: here, in an empty run directory of the spec's own.
  process.env.HAKO_RUN_DIR = join(work, "run");
  mkdirSync(process.env.HAKO_RUN_DIR);
});
after(() => {
  if (savedRunDir === undefined) delete process.env.HAKO_RUN_DIR;
  else process.env.HAKO_RUN_DIR = savedRunDir;
  rmSync(work, { recursive: true, force: true });
});

/** A containerd whose stop() removes its instance directory, as Containerd.stop does. */
const stoppedContainerd = (instanceDir: string, leaked: string[]) => ({
  stop: async () => {
    rmSync(instanceDir, { recursive: true, force: true });
    return { leaked };
  },
});

test("a run's containerd stopped, its base directory goes too, and the leftovers it cleaned are reported", async () => {
  const base = join(work, "bench");
  mkdirSync(join(base, "c-1"), { recursive: true });
  const leaked = await tearDownRun(base, "hako-spec", stoppedContainerd(join(base, "c-1"), ["sandbox x"]));
  assert.deepEqual(leaked, ["sandbox x"]);
  assert.equal(existsSync(base), false);
});

test("interrupted before containerd answered: the instance a start left is removed, then the base directory", async () => {
  const base = join(work, "demo");
  mkdirSync(join(base, "c-2"), { recursive: true });
  writeFileSync(join(base, "c-2", "containerd.pid"), "999999999\n");
  assert.deepEqual(await tearDownRun(base, "hako-spec", undefined), []);
  assert.equal(existsSync(base), false);
});

test("a base directory holding something else stays; one that is already gone is no error", async () => {
  const base = join(work, "shared");
  mkdirSync(join(base, "c-3"), { recursive: true });
  writeFileSync(join(base, "someone-else"), "");
  await tearDownRun(base, "hako-spec", stoppedContainerd(join(base, "c-3"), []));
  assert.equal(existsSync(join(base, "someone-else")), true);
  assert.equal(existsSync(join(base, "c-3")), false);
  await tearDownRun(join(work, "never-made"), "hako-spec", undefined);
});

test("an interrupted run exits as a shell reports a command a signal ended", () => {
  assert.equal(signalExitCode("SIGINT"), 130);
  assert.equal(signalExitCode("SIGTERM"), 143);
  assert.equal(signalExitCode("SIGHUP"), 129);
});
