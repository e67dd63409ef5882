// The runtime API end to end with real QEMU, virtiofsd, the built guest image, the agent and crun, without
// containerd: one VM runs two containers (one with a host directory bind-mounted), one VM is SIGKILLed under a
// running container, and one is left behind by an owner that dies. Three boots in all; after each, nothing of that
// sandbox may be left (processes, mounts, sockets, directories).
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createLogger, type Logger, memorySink } from "../../src/common/log.js";
import { loadConfig } from "../../src/config/index.js";
import type { VmExit } from "../../src/hypervisor/hypervisor.js";
import { readManifest } from "../../src/image/manifest.js";
import { sandboxBackend } from "../../src/runtime/backend.js";
import { cleanupSandbox, findStaleSandboxes } from "../../src/runtime/cleanup.js";
import { mountPointsUnder, unmountAll } from "../../src/runtime/host-mounts.js";
import type { ExitInfo } from "../../src/runtime/process.js";
import { Sandbox, type SandboxEvents } from "../../src/runtime/sandbox.js";
import { readSandboxState } from "../../src/runtime/sandbox-state.js";
import { bindRootfs, busyboxRootfs, containerSpec, processSpec } from "../fixtures/runtime-guest.js";
import { startStaleOwner } from "../fixtures/stale-owner.js";
import { isGone, sandboxProcesses } from "../helpers/processes.js";
import { readAll, waitFor, within } from "../helpers/waiting.js";

const work = mkdtempSync(join(tmpdir(), "hako-runtime-e2e-"));
// Everything the runtime keeps on the host goes under this root, given as the runRoot option here and as
// HAKO_RUN_DIR to the stale owner; the real /run/hako is never touched.
const runRoot = join(work, "run");
const tag = `rt${process.pid}`;
const logSink = memorySink();
const logger: Logger = createLogger({ level: "info", sink: logSink });
const open: Sandbox[] = [];
const children: ChildProcess[] = [];
const ids: string[] = [];
const processesOf = (id: string) => sandboxProcesses(runRoot, id);

async function assertNothingLeft(id: string): Promise<void> {
  assert.deepEqual(processesOf(id), [], `qemu or virtiofsd of ${id} still runs`);
  for (const dir of [join(runRoot, id), join(runRoot, "shared", id)]) {
    assert.deepEqual(await mountPointsUnder(dir), [], `mounts left under ${dir}`);
    assert.ok(!existsSync(dir), `${dir} is left`);
  }
}

function recorder() {
  const exited: { container: string; exec: string; status: number }[] = [];
  const vmDied: VmExit[] = [];
  const events: SandboxEvents = {
    exited: (c, p, e: ExitInfo) => exited.push({ container: c.id, exec: p.execId, status: e.status }),
    oom: () => {},
    vmDied: (e) => vmDied.push(e),
  };
  return { exited, vmDied, events };
}

async function createSandbox(id: string, events: SandboxEvents): Promise<Sandbox> {
  ids.push(id);
  const sandbox = await Sandbox.create({
    id,
    namespace: "runtime-e2e",
    backend: sandboxBackend(loadConfig({ logger })),
    logger,
    events,
    vcpus: 1,
    memoryMiB: 512,
    runRoot,
  });
  open.push(sandbox);
  return sandbox;
}

const measured: Record<string, number> = {};

before(() => {
  const config = loadConfig();
  const h = config.hypervisor.qemu;
  for (const f of [h.kernel, h.initrd, ...(h.rootfsMode === "pmem" ? [h.image] : [])]) {
    assert.ok(existsSync(f), `${f} is missing: run \`npm run build && node bin/hako image build --if-changed\``);
  }
});

after(async () => {
  // Safety net for a failed test: nothing started here may outlive the file.
  for (const s of open) await s.stop().catch(() => {});
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const id of ids) {
    for (const p of processesOf(id)) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {}
    }
    await cleanupSandbox(id, logger, runRoot).catch(() => {});
  }
  await unmountAll(work);
  rmSync(work, { recursive: true, force: true });
  process.stderr.write(`runtime e2e measurements (ms): ${JSON.stringify(measured)}\n`);
  for (const e of logSink.entries()) if (e.level !== "info") process.stderr.write(`${JSON.stringify(e)}\n`);
});

describe("one sandbox, two containers, through the runtime API", { timeout: 180_000 }, () => {
  const id = `${tag}-two`;
  const rec = recorder();
  let sandbox: Sandbox;
  const hostDir = join(work, "host-data");

  test("boot", async () => {
    const t0 = performance.now();
    sandbox = await createSandbox(id, rec.events);
    measured.bootToAgentReady = Math.round(performance.now() - t0);
    const state = await readSandboxState(sandbox.paths.stateFile);
    assert.equal(state?.vm?.pid, sandbox.vm.pid);
    assert.equal(sandbox.vm.consoleLogPath, join(runRoot, id, "console.log"), "the VM keeps its files in runRoot");
    assert.ok(!existsSync(join("/run/hako", id)));
    assert.equal(processesOf(id).length >= 2, true, "qemu and virtiofsd run");
  });

  test("two containers run; output, exit codes, an exec, and a host directory written from the guest", async () => {
    mkdirSync(hostDir, { recursive: true });
    writeFileSync(join(hostDir, "from-host"), "host says hi\n");
    const rootA = busyboxRootfs(join(work, "rootfs-a"));
    const rootB = busyboxRootfs(join(work, "rootfs-b"));

    await sandbox.createContainer({
      id: "c1",
      bundle: rootA,
      spec: containerSpec("c1", ["sh", "-c", "echo hello from $(cat /etc/hostname); uname -r; exit 3"]),
      rootfs: bindRootfs(rootA),
    });
    await sandbox.createContainer({
      id: "c2",
      bundle: rootB,
      spec: containerSpec(
        "c2",
        ["sh", "-c", "cat /data/from-host; echo guest-was-here > /data/from-guest; exec sleep 1000"],
        [{ destination: "/data", type: "bind", source: hostDir, options: ["rbind", "rw"] }],
      ),
      rootfs: bindRootfs(rootB),
    });
    const persisted = await readSandboxState(sandbox.paths.stateFile);
    assert.deepEqual(
      persisted?.containers.map((c) => [c.id, c.status]),
      [
        ["c1", "created"],
        ["c2", "created"],
      ],
    );

    const p1 = await sandbox.start("c1", "");
    const p2 = await sandbox.start("c2", "");
    assert.ok(p1.pid > 0 && p2.pid > 0);
    const out1 = readAll(() => sandbox.agent.readStdout("c1", "", 65536));
    const out2 = readAll(() => sandbox.agent.readStdout("c2", "", 65536));

    assert.equal((await within(60_000, "c1 exit", p1.exited)).status, 3);
    const [hello, kernel] = (await out1).trim().split("\n");
    assert.equal(hello, "hello from busybox");
    const manifest = readManifest(dirname(loadConfig().hypervisor.qemu.kernel));
    assert.equal(kernel, manifest?.kernelRelease, "c1 ran on the guest kernel");

    // The file appears before its contents: wait for the whole line.
    const fromGuest = () =>
      existsSync(join(hostDir, "from-guest")) ? readFileSync(join(hostDir, "from-guest"), "utf8") : "";
    await waitFor(() => fromGuest().endsWith("\n"), 60_000, "the guest's write reaching the host");
    assert.equal(fromGuest(), "guest-was-here\n");

    const ex = sandbox.addExec("c2", "ls", processSpec(["ls", "/data"]));
    await sandbox.start("c2", "ls");
    const lsOut = await readAll(() => sandbox.agent.readStdout("c2", "ls", 65536));
    assert.equal((await within(30_000, "exec exit", ex.exited)).status, 0);
    assert.deepEqual(lsOut.trim().split("\n").sort(), ["from-guest", "from-host"]);
    await sandbox.delete("c2", "ls");

    await sandbox.kill("c2", "", 9, false);
    assert.equal((await within(30_000, "c2 exit after SIGKILL", p2.exited)).status, 137);
    assert.equal(await out2, "host says hi\n");
    assert.deepEqual(rec.exited.map((e) => `${e.container}/${e.exec}:${e.status}`).sort(), [
      "c1/:3",
      "c2/:137",
      "c2/ls:0",
    ]);
  });

  test("delete both containers, stop the sandbox: nothing is left", async () => {
    await sandbox.delete("c1", "");
    await sandbox.delete("c2", "");
    assert.deepEqual(await mountPointsUnder(sandbox.paths.sharedDir), [sandbox.paths.sharedDir]);
    assert.deepEqual((await readSandboxState(sandbox.paths.stateFile))?.containers, []);
    await sandbox.stop();
    await assertNothingLeft(id);
    assert.equal(readFileSync(join(hostDir, "from-host"), "utf8"), "host says hi\n", "host files survive");
    assert.deepEqual(rec.vmDied, []);
  });
});

describe("QEMU SIGKILLed under a running container", { timeout: 180_000 }, () => {
  const id = `${tag}-kill`;
  const rec = recorder();

  test("the container's processes are reported exited within seconds; delete and stop clean up", async () => {
    const sandbox = await createSandbox(id, rec.events);
    const rootfs = busyboxRootfs(join(work, "rootfs-kill"));
    await sandbox.createContainer({
      id: "victim",
      bundle: rootfs,
      spec: containerSpec("victim", ["sleep", "1000"]),
      rootfs: bindRootfs(rootfs),
    });
    const init = await sandbox.start("victim", "");
    sandbox.addExec("victim", "side", processSpec(["sleep", "1000"]));
    const side = await sandbox.start("victim", "side");
    const vfs = processesOf(id).filter((p) => p.cmd.includes("virtiofsd"));
    assert.ok(vfs.length > 0, "virtiofsd runs");

    const t0 = performance.now();
    process.kill(sandbox.vm.pid, "SIGKILL");
    const [a, b] = await within(10_000, "exits after the VM died", Promise.all([init.exited, side.exited]));
    measured.qemuSigkillToExited = Math.round(performance.now() - t0);
    assert.equal(a.status, 137);
    assert.equal(b.status, 137);
    assert.ok(measured.qemuSigkillToExited < 5000, `${measured.qemuSigkillToExited} ms to notice the VM died`);
    assert.equal(rec.vmDied.length, 1);
    assert.equal(rec.vmDied[0]?.signal, "SIGKILL");
    assert.equal(rec.vmDied[0]?.requested, false);
    assert.deepEqual(rec.exited.map((e) => `${e.container}/${e.exec}:${e.status}`).sort(), [
      "victim/:137",
      "victim/side:137",
    ]);

    await sandbox.delete("victim", "side");
    await within(10_000, "delete after the VM died", sandbox.delete("victim", ""));
    await within(15_000, "stop after the VM died", sandbox.stop());
    await waitFor(() => vfs.every((p) => isGone(p.pid)), 5000, "virtiofsd exiting");
    await assertNothingLeft(id);
  });
});

describe("stale state left by a dead owner", { timeout: 180_000 }, () => {
  const id = `${tag}-stale`;

  test("findStaleSandboxes finds it; cleanupSandbox kills its QEMU and virtiofsd and removes everything", async () => {
    ids.push(id);
    const rootfs = busyboxRootfs(join(work, "rootfs-stale"));
    const child = await startStaleOwner(id, rootfs, runRoot);
    children.push(child);
    const state = await readSandboxState(join(runRoot, id, "sandbox.json"));
    assert.ok(state?.vm, "the owner persisted its VM");
    assert.equal(state.ownerPid, child.pid);
    assert.deepEqual(
      state.containers.map((c) => [c.id, c.status]),
      [["orphan", "running"]],
    );
    assert.deepEqual(await findStaleSandboxes(runRoot), [], "a live owner's sandbox is not stale");

    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    const qemuPid = state.vm.pid;
    const vfsPids = processesOf(id)
      .filter((p) => p.cmd.includes("virtiofsd"))
      .map((p) => p.pid);
    assert.ok(!isGone(qemuPid), "QEMU outlives its owner (that is what makes it stale)");
    assert.ok(vfsPids.length > 0, "virtiofsd outlives its owner");
    assert.ok((await mountPointsUnder(runRoot)).length > 0, "the owner's mounts are still there");

    assert.deepEqual(await findStaleSandboxes(runRoot), [id]);
    const t0 = performance.now();
    const result = await cleanupSandbox(id, logger, runRoot);
    measured.staleCleanup = Math.round(performance.now() - t0);
    assert.equal(result.found, true);
    assert.ok(result.killed.includes(qemuPid), `killed ${result.killed} should include qemu ${qemuPid}`);
    assert.ok(isGone(qemuPid), `qemu ${qemuPid} still runs`);
    for (const pid of vfsPids) assert.ok(isGone(pid), `virtiofsd ${pid} still runs`);
    await assertNothingLeft(id);
    assert.deepEqual(await findStaleSandboxes(runRoot), []);
  });
});
