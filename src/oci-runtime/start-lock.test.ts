// Specs for the pod daemon's start lock: holders in separate processes never overlap (the case of two `create`s of
// one pod), a holder that died leaves no stale lock, a waiter gives up after its timeout, and removing the lock
// while another waits makes that waiter start over on a fresh file.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Code, HakoError } from "../common/errors.js";
import { removeStartLock, startLockPath, withStartLock } from "./start-lock.js";

const dir = mkdtempSync(join(tmpdir(), "hako-start-lock-"));
const here = dirname(fileURLToPath(import.meta.url));

/** A separate process that holds the lock for `holdMs`, appending "<tag> in" and "<tag> out" to `trace`. */
function holder(lock: string, trace: string, tag: string, holdMs: number): Promise<number | null> {
  const script = `
    import { appendFile } from "node:fs/promises";
    import { setTimeout as sleep } from "node:timers/promises";
    import { withStartLock } from ${JSON.stringify(join(here, "start-lock.ts"))};
    await withStartLock(${JSON.stringify(lock)}, 20000, async () => {
      await appendFile(${JSON.stringify(trace)}, "${tag} in\\n");
      await sleep(${holdMs});
      await appendFile(${JSON.stringify(trace)}, "${tag} out\\n");
    });`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: "inherit" });
  return new Promise((resolve) => child.once("exit", resolve));
}

describe("start lock", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("two processes at once: one holds it, then the other; never both", async () => {
    const lock = startLockPath(join(dir, "a.sock"));
    const trace = join(dir, "a.trace");
    assert.deepEqual(await Promise.all([holder(lock, trace, "A", 400), holder(lock, trace, "B", 400)]), [0, 0]);
    const lines = readFileSync(trace, "utf8").trim().split("\n");
    assert.equal(lines.length, 4);
    assert.deepEqual(
      lines.map((l) => l.split(" ")[1]),
      ["in", "out", "in", "out"],
      `critical sections overlapped: ${lines.join(", ")}`,
    );
  });

  test("a holder killed while it holds the lock leaves no stale lock; a waiter times out while it is held", async () => {
    const lock = startLockPath(join(dir, "b.sock"));
    const script = `import { withStartLock } from ${JSON.stringify(join(here, "start-lock.ts"))};
      await withStartLock(${JSON.stringify(lock)}, 1000, async () => { console.log("held"); await new Promise(() => setInterval(() => {}, 1000)); });`;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script]);
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
      await assert.rejects(
        withStartLock(lock, 300, async () => {}),
        (e: unknown) => e instanceof HakoError && e.code === Code.DeadlineExceeded,
      );
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
    assert.equal(await withStartLock(lock, 2000, async () => "taken"), "taken");
  });

  test("removeStartLock takes the lock to unlink it; a later holder gets a fresh file", async () => {
    const socket = join(dir, "c.sock");
    await withStartLock(startLockPath(socket), 1000, async () => {});
    assert.ok(existsSync(startLockPath(socket)));
    await removeStartLock(socket, 1000);
    assert.ok(!existsSync(startLockPath(socket)));
    assert.equal(await withStartLock(startLockPath(socket), 1000, async () => 1), 1);
  });
});
