// Hypervisor.attach() from a new process: a VM started by another process (with virtiofsd for its share) survives
// that process's SIGKILL; this process attaches to it from its persisted form, QMP answers (status, pause, resume),
// the guest still reads the share, and stop() leaves no QEMU, no virtiofsd and no state directory. A second attach
// to the stopped VM is refused. An attached VM whose QEMU is then killed is noticed as an exit nobody asked for, and
// stop() still cleans up. Two guest boots.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { Code, HakoError } from "../../src/common/errors.js";
import { silentLogger } from "../../src/common/log.js";
import { killAndWait, processMatches } from "../../src/common/watched-process.js";
import { defaultConfig } from "../../src/config/defaults.js";
import type { PersistedVm } from "../../src/hypervisor/hypervisor.js";
import { QemuHypervisor } from "../../src/hypervisor/qemu/qemu-hypervisor.js";
import { vmName, vmPaths } from "../../src/hypervisor/qemu/state-dir.js";
import { buildBusyboxInitrd, testKernel, waitForText } from "../helpers/test-guest.js";

const work = mkdtempSync(join(tmpdir(), "hako-attach-"));
const stateRoot = join(work, "run");
const shared = join(work, "shared");
const owners: ChildProcess[] = [];
const persisted: PersistedVm[] = [];
let kernel = "";
const initrd = join(work, "initrd.cpio");

const guestInit = `
mkdir -p /mnt/shared
mount -t virtiofs kataShared /mnt/shared && echo HAKO-MOUNTED
while [ ! -e /mnt/shared/after-attach.txt ]; do sleep 0.1; done
echo "HAKO-READ $(cat /mnt/shared/after-attach.txt)"
while true; do sleep 60; done
`;

before(async () => {
  const k = await testKernel();
  kernel = k.vmlinux;
  buildBusyboxInitrd({
    out: initrd,
    kernel: k,
    modules: ["virtio_pci", "virtiofs", "virtio_console"],
    init: guestInit,
  });
  mkdirSync(shared);
});

after(async () => {
  for (const o of owners) if (o.exitCode === null && o.signalCode === null) o.kill("SIGKILL");
  // Only does something when a test failed half-way; each test asserts that nothing is left.
  for (const p of persisted) {
    if (processMatches(p.pid, vmName(p.id))) await killAndWait(p.pid, 2000);
    const daemon = p.share.daemonPid;
    if (daemon !== undefined && processMatches(daemon, vmPaths(p.id, stateRoot).virtiofsdSocket))
      await killAndWait(daemon, 2000);
  }
  rmSync(work, { recursive: true, force: true });
});

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((r) =>
    child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", () => r()),
  );
}

/** Starts a VM in a child process, waits for the guest to mount the share, then SIGKILLs the child. */
async function orphanedVm(id: string): Promise<PersistedVm> {
  const args = JSON.stringify({ id, stateRoot, sharedDir: shared, kernel, initrd });
  const owner = spawn(process.execPath, ["--import", "tsx", "test/fixtures/qemu-attach-owner.ts", args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  owners.push(owner);
  const lines = createInterface({ input: owner.stdout as NodeJS.ReadableStream });
  let p: PersistedVm | undefined;
  for await (const line of lines) {
    p = JSON.parse(line) as PersistedVm;
    break;
  }
  if (!p) throw new Error("the owner exited before printing the VM's state");
  persisted.push(p);
  await waitForText(p.consoleLogPath, /HAKO-MOUNTED/, 60000);
  owner.kill("SIGKILL");
  await exitOf(owner);
  return p;
}

function attachTo(p: PersistedVm) {
  const config = defaultConfig();
  const hypervisor = new QemuHypervisor(config.hypervisor.qemu, config.agent);
  return { hypervisor, vm: hypervisor.attach(p, silentLogger) };
}

describe("QemuHypervisor.attach", () => {
  it("re-attaches to a VM whose owner was SIGKILLed: QMP works, the share still serves, stop leaves nothing", async () => {
    const id = "attach1";
    const p = await orphanedVm(id);
    const daemonPid = p.share.daemonPid;
    assert.equal(p.kind, "qemu");
    assert.equal(p.share.kind, "virtio-fs");
    assert.ok(daemonPid !== undefined, "virtiofsd's pid is persisted");
    assert.ok(processMatches(p.pid, vmName(id)), "QEMU outlives its owner");
    const paths = vmPaths(id, stateRoot);
    assert.ok(processMatches(daemonPid, paths.virtiofsdSocket), "virtiofsd outlives its owner");

    const attached = attachTo(p);
    const hypervisor = attached.hypervisor;
    const vm = await attached.vm;
    assert.equal(vm.pid, p.pid);
    assert.deepEqual(vm.agentAddress, p.agentAddress);
    assert.equal(await vm.status(), "running");
    await vm.pause();
    assert.equal(await vm.status(), "paused");
    await vm.resume();
    assert.equal(await vm.status(), "running");
    assert.deepEqual(vm.persistable(), p, "attaching changes nothing in the persisted form");

    // The guest reads a file written after the attach: the share daemon still serves it.
    writeFileSync(join(shared, "after-attach.txt"), "written after attach\n");
    assert.match(await waitForText(p.consoleLogPath, /HAKO-READ/, 20000), /HAKO-READ written after attach/);

    await vm.stop();
    assert.deepEqual(await vm.exited, { code: null, signal: null, requested: true });
    assert.ok(!processMatches(p.pid, vmName(id)), "QEMU is gone");
    assert.ok(!processMatches(daemonPid, paths.virtiofsdSocket), "virtiofsd is gone");
    assert.ok(!existsSync(paths.dir), "the VM's state directory is removed");

    await assert.rejects(
      hypervisor.attach(p, silentLogger),
      (err: unknown) =>
        err instanceof HakoError && err.code === Code.FailedPrecondition && /not running/.test(err.message),
    );
  });

  it("notices an attached VM's QEMU dying as an exit nobody asked for; stop() still cleans up", async () => {
    const id = "attach2";
    const p = await orphanedVm(id);
    const vm = await attachTo(p).vm;
    assert.equal(await vm.status(), "running");
    const t0 = Date.now();
    process.kill(p.pid, "SIGKILL");
    assert.deepEqual(await vm.exited, { code: null, signal: null, requested: false });
    const noticedMs = Date.now() - t0;
    assert.ok(noticedMs < 2000, `the death was seen after ${noticedMs} ms`);
    await assert.rejects(
      vm.status(),
      (err: unknown) => err instanceof HakoError && err.code === Code.FailedPrecondition,
    );
    await vm.stop();
    const daemonPid = p.share.daemonPid as number;
    assert.ok(!processMatches(daemonPid, vmPaths(id, stateRoot).virtiofsdSocket), "virtiofsd is gone");
    assert.ok(!existsSync(vmPaths(id, stateRoot).dir), "the VM's state directory is removed");
  });
});
