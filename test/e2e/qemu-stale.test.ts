// Stale clean-up by a new process: a QEMU left running with its pid file is killed only when /proc proves it is
// that sandbox's QEMU; a pid file naming some other process leaves that process alone. No guest boots here.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { cleanupStaleVm, liveVmPid, processArgv } from "../../src/hypervisor/qemu/stale.js";
import { vmPaths } from "../../src/hypervisor/qemu/state-dir.js";

const stateRoot = mkdtempSync(join(tmpdir(), "hako-stale-"));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(stateRoot, { recursive: true, force: true });
});

function exitOf(child: ChildProcess): Promise<string | null> {
  return new Promise((r) =>
    child.exitCode !== null || child.signalCode !== null ? r(child.signalCode) : child.once("exit", (_c, s) => r(s)),
  );
}

describe("cleanupStaleVm", () => {
  it("kills the sandbox's own QEMU found through its pid file and removes the directory", async () => {
    const paths = vmPaths("stale1", stateRoot);
    mkdirSync(paths.dir, { recursive: true });
    const qemu = spawn(
      "qemu-system-x86_64",
      ["-name", "sandbox-stale1", "-machine", "q35", "-accel", "tcg", "-nodefaults", "-nographic", "-S"],
      { stdio: "ignore", detached: true },
    );
    children.push(qemu);
    writeFileSync(paths.qemuPid, `${qemu.pid}\n`);
    for (let i = 0; i < 100 && !processArgv(qemu.pid as number)?.includes("sandbox-stale1"); i++) await sleep(10);
    assert.equal(liveVmPid("stale1", stateRoot), qemu.pid);

    const result = await cleanupStaleVm("stale1", { stateRoot });
    assert.deepEqual(result.killed, [qemu.pid]);
    assert.equal(await exitOf(qemu), "SIGKILL");
    assert.ok(!existsSync(paths.dir));
    assert.equal(liveVmPid("stale1", stateRoot), undefined);
  });

  it("leaves alone a process whose command line is not that sandbox's QEMU", async () => {
    const paths = vmPaths("stale2", stateRoot);
    mkdirSync(paths.dir, { recursive: true });
    const other = spawn("sleep", ["30"], { stdio: "ignore" });
    children.push(other);
    writeFileSync(paths.qemuPid, `${other.pid}\n`);
    writeFileSync(paths.virtiofsdPid, `${process.pid}\n`);
    const result = await cleanupStaleVm("stale2", { stateRoot });
    assert.deepEqual(result.killed, []);
    assert.ok((processArgv(other.pid as number)?.length ?? 0) > 0, "the unrelated process still runs");
    assert.ok(!existsSync(paths.dir));
    other.kill("SIGKILL");
  });
});
