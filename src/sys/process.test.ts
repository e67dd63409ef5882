// waitpid against the real kernel: a running child, its exit status, and a pid that is not our child.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { waitPidNoHang } from "./process.js";

it("waitPidNoHang tells running from not-our-child", async () => {
  const child = spawn("sleep", ["5"], { stdio: "ignore" });
  try {
    await once(child, "spawn");
    const pid = child.pid ?? -1;
    // libuv reaps its own children; while this one runs, waitpid(WNOHANG) sees it and answers "still running".
    assert.equal(waitPidNoHang(pid), undefined);
  } finally {
    child.kill("SIGKILL");
  }
  await once(child, "exit");
  await sleep(10);
  // Reaped by libuv: no longer our child (ECHILD), which the reaper must tell from a failure.
  assert.equal(waitPidNoHang(child.pid ?? -1), null);
  // Our parent is not our child either.
  assert.equal(waitPidNoHang(process.ppid), null);
});
