// Clean-up after a dead owner, without a VM: stand-in processes carry the command lines of a sandbox's QEMU and
// virtiofsd, and a fake host mount table stands for its share. Checks what is found stale, that only a pid whose
// command line proves it is that sandbox's process gets killed, and that mounts and directories go. Runs without root.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createLogger, memorySink, silentLogger } from "../common/log.js";
import { vmPaths } from "../hypervisor/qemu/state-dir.js";
import { cleanupSandbox, findStaleSandboxes, isAlive } from "./cleanup.js";
import { FakeHostMounts } from "./fake-host-mounts.js";
import { sandboxPaths } from "./layout.js";
import { type SandboxStateV1, writeSandboxState } from "./sandbox-state.js";

const root = mkdtempSync(join(tmpdir(), "hako-cleanup-spec-"));
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

/** A long sleep whose command line reads `argv0` (what /proc/<pid>/cmdline shows first). */
async function standIn(argv0: string): Promise<ChildProcess> {
  const child = spawn("sleep", ["1000"], { argv0, stdio: "ignore" });
  children.push(child);
  await new Promise((r) => child.once("spawn", r));
  return child;
}

function signalOf(child: ChildProcess): Promise<NodeJS.Signals | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((r) => child.once("exit", (_code, signal) => r(signal)));
}

/** The pid of a process that has already exited (an owner that died). */
async function deadPid(): Promise<number> {
  const child = spawn("true", { stdio: "ignore" });
  await new Promise((r) => child.once("exit", r));
  return child.pid as number;
}

function stateOf(id: string, runRoot: string, over: Partial<SandboxStateV1> = {}): SandboxStateV1 {
  const paths = sandboxPaths(id, runRoot);
  return {
    version: 1,
    id,
    namespace: "spec",
    ownerPid: process.pid,
    createdAt: new Date().toISOString(),
    stateDir: paths.stateDir,
    sharedDir: paths.sharedDir,
    containers: [],
    phases: {},
    ...over,
  };
}

describe("findStaleSandboxes", () => {
  test("lists the sandboxes whose owner is gone, and only those", async () => {
    const runRoot = join(root, "find");
    const write = async (id: string, ownerPid: number) => {
      mkdirSync(join(runRoot, id), { recursive: true });
      await writeSandboxState(sandboxPaths(id, runRoot).stateFile, stateOf(id, runRoot, { ownerPid }));
    };
    await write("live", process.pid);
    await write("dead", await deadPid());
    mkdirSync(join(runRoot, "no-state"), { recursive: true });
    mkdirSync(join(runRoot, "corrupt"), { recursive: true });
    writeFileSync(join(runRoot, "corrupt", "sandbox.json"), "{");
    // The shared directories live beside the state directories; a state file there is not a sandbox.
    mkdirSync(join(runRoot, "shared"), { recursive: true });
    writeFileSync(join(runRoot, "shared", "sandbox.json"), JSON.stringify(stateOf("shared-lookalike", runRoot)));
    const logs = memorySink();
    assert.deepEqual(await findStaleSandboxes(runRoot, createLogger({ sink: logs })), ["dead"]);
    // Not stale (its owner is unknown), but never passed over in silence.
    assert.deepEqual(
      logs.entries().map((e) => [e.level, e.sandbox]),
      [["warning", "corrupt"]],
    );
  });

  test("a run root that does not exist has nothing stale", async () => {
    assert.deepEqual(await findStaleSandboxes(join(root, "absent")), []);
  });
});

describe("cleanupSandbox", () => {
  test("kills the VM and the share daemon, releases the mounts, removes the directories", async () => {
    const runRoot = join(root, "full");
    const id = "sb-full";
    const paths = sandboxPaths(id, runRoot);
    const vmFiles = vmPaths(id, runRoot);
    const qemu = await standIn(`qemu-system-x86_64 -name sandbox-${id}`);
    const vfs = await standIn(`virtiofsd --socket-path=${vmFiles.virtiofsdSocket} -o source=${paths.sharedDir}`);
    mkdirSync(paths.stateDir, { recursive: true });
    writeFileSync(vmFiles.qemuPid, `${qemu.pid}\n`);
    writeFileSync(vmFiles.virtiofsdPid, `${vfs.pid}\n`);

    const source = join(root, "full-src");
    mkdirSync(source, { recursive: true });
    writeFileSync(join(source, "keep"), "kept");
    const mounts = new FakeHostMounts();
    await mounts.makeSharedMountPoint(paths.sharedDir);
    const rootfs = join(paths.sharedDir, "c1", "rootfs");
    await mounts.bindMount(source, rootfs, false);
    await writeSandboxState(
      paths.stateFile,
      stateOf(id, runRoot, {
        ownerPid: await deadPid(),
        vm: { pid: qemu.pid as number, accelerator: "tcg", consoleLog: vmFiles.consoleLog, vcpus: 1, memoryMiB: 512 },
        containers: [{ id: "c1", bundle: source, status: "running", pid: 1, hostMounts: [rootfs] }],
      }),
    );

    const result = await cleanupSandbox(id, silentLogger, runRoot, mounts);
    assert.equal(result.found, true);
    assert.deepEqual([...result.killed].sort(), [qemu.pid, vfs.pid].sort());
    assert.equal(await signalOf(qemu), "SIGKILL");
    assert.equal(await signalOf(vfs), "SIGKILL");
    assert.deepEqual(await mounts.mountPointsUnder(runRoot), []);
    assert.ok(!existsSync(paths.stateDir));
    assert.ok(!existsSync(paths.sharedDir));
    assert.equal(readFileSync(join(source, "keep"), "utf8"), "kept", "the bind source is left alone");
  });

  test("a recorded pid that now belongs to another process is left alone", async () => {
    const runRoot = join(root, "reused");
    const id = "sb-reused";
    const paths = sandboxPaths(id, runRoot);
    const stranger = await standIn("sleep");
    mkdirSync(paths.stateDir, { recursive: true });
    writeFileSync(vmPaths(id, runRoot).qemuPid, `${stranger.pid}\n`);
    await writeSandboxState(
      paths.stateFile,
      stateOf(id, runRoot, {
        ownerPid: await deadPid(),
        vm: { pid: stranger.pid as number, accelerator: "tcg", consoleLog: "", vcpus: 1, memoryMiB: 512 },
      }),
    );
    const result = await cleanupSandbox(id, silentLogger, runRoot, new FakeHostMounts());
    assert.deepEqual(result.killed, []);
    assert.ok(isAlive(stranger.pid as number), "an unrelated process survived");
    assert.ok(!existsSync(paths.stateDir));
  });

  test("with an unreadable state file the VM is still found through its pid file", async () => {
    const runRoot = join(root, "corrupt");
    const id = "sb-corrupt";
    const paths = sandboxPaths(id, runRoot);
    const qemu = await standIn(`qemu-system-x86_64 -name sandbox-${id}`);
    mkdirSync(paths.stateDir, { recursive: true });
    writeFileSync(vmPaths(id, runRoot).qemuPid, `${qemu.pid}\n`);
    writeFileSync(paths.stateFile, "{ torn");
    const mounts = new FakeHostMounts();
    await mounts.makeSharedMountPoint(paths.sharedDir);

    const result = await cleanupSandbox(id, silentLogger, runRoot, mounts);
    assert.equal(result.found, false);
    assert.deepEqual(result.killed, [qemu.pid]);
    assert.equal(await signalOf(qemu), "SIGKILL");
    assert.deepEqual(await mounts.mountPointsUnder(runRoot), []);
    assert.ok(!existsSync(paths.stateDir) && !existsSync(paths.sharedDir));
  });

  test("a sandbox with nothing left is a no-op", async () => {
    const result = await cleanupSandbox("sb-none", silentLogger, join(root, "none"), new FakeHostMounts());
    assert.deepEqual(result, { sandboxId: "sb-none", killed: [], found: false });
  });
});

test("a zombie is not alive: it has exited and only waits for its parent to reap it", async () => {
  // The background child exits at once; its parent then becomes `sleep`, which never reaps it.
  const parent = spawn("sh", ["-c", "sleep 0 & echo $!; exec sleep 5"], { stdio: ["ignore", "pipe", "ignore"] });
  try {
    const pid = Number((await once(parent.stdout, "data")).toString().trim());
    let state = "";
    for (let i = 0; i < 100 && state !== "Z"; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      state = stat.charAt(stat.lastIndexOf(")") + 2);
    }
    assert.equal(state, "Z", "the child became a zombie");
    process.kill(pid, 0); // still there for kill(2)
    assert.equal(isAlive(pid), false);
    assert.equal(isAlive(parent.pid as number), true);
  } finally {
    parent.kill("SIGKILL");
  }
});
