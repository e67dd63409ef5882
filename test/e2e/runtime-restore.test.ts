// Sandbox.restore end to end with real QEMU, virtiofsd, the guest agent and crun: an owner process creates a sandbox
// with a running container and is SIGKILLed (the VM is not); this process takes the sandbox over from its state
// file, execs in the running container and reads the output, sees the container's exit, and stops it all, leaving
// nothing (processes, mounts, directories). One boot.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ProcessStatus } from "../../src/agent/api/process-status.js";
import { createLogger, type Logger, memorySink } from "../../src/common/log.js";
import { loadConfig } from "../../src/config/index.js";
import { sandboxBackend } from "../../src/runtime/backend.js";
import { cleanupSandbox, findStaleSandboxes } from "../../src/runtime/cleanup.js";
import { mountPointsUnder, unmountAll } from "../../src/runtime/host-mounts.js";
import { Sandbox } from "../../src/runtime/sandbox.js";
import { readSandboxState } from "../../src/runtime/sandbox-state.js";
import { busyboxRootfs, processSpec } from "../fixtures/runtime-guest.js";
import { startStaleOwner } from "../fixtures/stale-owner.js";
import { isGone, sandboxProcesses } from "../helpers/processes.js";
import { readAll, within } from "../helpers/waiting.js";

const work = mkdtempSync(join(tmpdir(), "hako-restore-e2e-"));
// Everything goes under this root (runRoot here, HAKO_RUN_DIR for the owner); the real /run/hako is never touched.
const runRoot = join(work, "run");
const id = `rs${process.pid}`;
const logSink = memorySink();
const logger: Logger = createLogger({ level: "info", sink: logSink });
const children: ChildProcess[] = [];
let restored: Sandbox | undefined;

after(async () => {
  // Safety net for a failed test: nothing started here may outlive the file.
  await restored?.stop().catch(() => {});
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const p of sandboxProcesses(runRoot, id)) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {}
  }
  await cleanupSandbox(id, logger, runRoot).catch(() => {});
  await unmountAll(work);
  rmSync(work, { recursive: true, force: true });
  for (const e of logSink.entries()) if (e.level !== "info") process.stderr.write(`${JSON.stringify(e)}\n`);
});

/** Starts the owner (test/fixtures/runtime-stale-owner.ts) and waits for its "ready". */
async function startOwner(rootfs: string): Promise<ChildProcess> {
  const child = await startStaleOwner(id, rootfs, runRoot);
  children.push(child);
  return child;
}

describe("a sandbox taken over by a new process", { timeout: 240_000 }, () => {
  test("restore re-attaches VM, agent and share; exec works; stop leaves nothing", async () => {
    const owner = await startOwner(busyboxRootfs(join(work, "rootfs")));
    const before = await readSandboxState(join(runRoot, id, "sandbox.json"));
    assert.ok(before?.vm?.handle, "the owner persisted what attach needs");
    const exited = new Promise((r) => owner.once("exit", r));
    owner.kill("SIGKILL");
    await exited;
    assert.ok(!isGone(before.vm.pid), "the VM outlives its owner");
    assert.deepEqual(await findStaleSandboxes(runRoot), [id], "a dead owner's sandbox is stale until taken over");

    const exits: string[] = [];
    const state = await readSandboxState(join(runRoot, id, "sandbox.json"));
    assert.ok(state);
    const t0 = performance.now();
    restored = await Sandbox.restore(state, {
      backend: sandboxBackend(loadConfig({ logger })),
      logger,
      events: {
        exited: (c, p, e) => void exits.push(`${c.id}/${p.execId}:${e.status}`),
        oom: () => {},
        vmDied: () => {},
      },
      runRoot,
    });
    const restoreMs = Math.round(performance.now() - t0);
    const sandbox = restored;
    assert.equal(sandbox.vm.pid, before.vm.pid, "the same QEMU");
    assert.deepEqual(await findStaleSandboxes(runRoot), [], "the new owner is alive");
    assert.equal((await readSandboxState(sandbox.paths.stateFile))?.ownerPid, process.pid);
    const orphan = sandbox.container("orphan");
    assert.equal(orphan.status, ProcessStatus.Running);
    assert.equal(orphan.init.pid, before.containers[0]?.pid);

    // An exec in the container that kept running: the agent answers this process now.
    sandbox.addExec("orphan", "probe", processSpec(["sh", "-c", "echo restored; ls /bin/busybox"]));
    const probe = await sandbox.start("orphan", "probe");
    const output = await within(
      30_000,
      "the exec's output",
      readAll(() => sandbox.readStdout("orphan", "probe", 65536)),
    );
    assert.equal(output, "restored\n/bin/busybox\n");
    assert.equal((await within(30_000, "the exec's exit", probe.exited)).status, 0);

    // The container's own exit, watched again by the new owner.
    await sandbox.kill("orphan", "", 9, false);
    assert.equal((await within(30_000, "the container's exit", orphan.init.exited)).status, 137);
    assert.deepEqual(exits.sort(), ["orphan/:137", "orphan/probe:0"]);
    await sandbox.delete("orphan", "probe");
    await sandbox.delete("orphan", "");
    await sandbox.stop();
    restored = undefined;

    assert.ok(isGone(before.vm.pid), "QEMU is gone");
    assert.deepEqual(sandboxProcesses(runRoot, id), [], "qemu or virtiofsd still runs");
    for (const dir of [join(runRoot, id), join(runRoot, "shared", id)]) {
      assert.deepEqual(await mountPointsUnder(dir), [], `mounts left under ${dir}`);
      assert.ok(!existsSync(dir), `${dir} is left`);
    }
    process.stderr.write(`restore took ${restoreMs} ms\n`);
  });
});
