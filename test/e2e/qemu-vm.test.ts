// startQemu end to end under TCG with a real kernel: the guest boots, mounts the virtio-fs share and exchanges
// files with the host; pause/resume and a graceful stop leave no process, socket or directory behind; a SIGKILLed
// QEMU is noticed at once; the microvm variant boots too; QEMU can run in a netns. Three guest boots in all (each
// costs ~3 s under TCG). Boot timings are printed as diagnostics.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, HakoError } from "../../src/common/errors.js";
import { silentLogger } from "../../src/common/log.js";
import { defaultConfig } from "../../src/config/defaults.js";
import type { HakoConfig } from "../../src/config/types.js";
import type { Vm } from "../../src/hypervisor/hypervisor.js";
import { startQemu } from "../../src/hypervisor/qemu/qemu-hypervisor.js";
import { processArgv } from "../../src/hypervisor/qemu/stale.js";
import { buildBusyboxInitrd, testKernel, waitForText } from "../helpers/test-guest.js";

const work = mkdtempSync(join(tmpdir(), "hako-vm-"));
const stateRoot = join(work, "run");
const shared = join(work, "shared");
const nonce = randomBytes(8).toString("hex");
let config: HakoConfig;
let microvmInitrd: string;
const started: Vm[] = [];

const guestInit = `
echo "HAKO-BOOTED uptime=$(cut -d' ' -f1 /proc/uptime)"
mkdir -p /mnt/shared
mount -t virtiofs kataShared /mnt/shared && echo "HAKO-MOUNTED uptime=$(cut -d' ' -f1 /proc/uptime)"
echo "HAKO-HOSTFILE $(cat /mnt/shared/from-host.txt)"
echo "HAKO-PORT $(cat /sys/class/virtio-ports/*/name)"
echo "written by the guest" > /mnt/shared/from-guest.txt && sync && echo HAKO-WROTE
mem0=$(ls -d /sys/devices/system/memory/memory* | wc -l)
while [ ! -e /sys/block/vda ]; do sleep 0.1; done; echo "HAKO-DISK sectors=$(cat /sys/block/vda/size)"
while [ ! -e /sys/devices/system/cpu/cpu1 ]; do sleep 0.1; done; echo HAKO-CPU1
while [ "$(ls -d /sys/devices/system/memory/memory* | wc -l)" -le "$mem0" ]; do sleep 0.1; done; echo HAKO-MEM
while true; do sleep 60; done
`;

before(async () => {
  const kernel = await testKernel();
  const initrd = join(work, "initrd.cpio");
  buildBusyboxInitrd({
    out: initrd,
    kernel,
    modules: ["virtio_pci", "virtiofs", "virtio_console", "virtio_blk"],
    init: guestInit,
  });
  microvmInitrd = join(work, "initrd-microvm.cpio");
  buildBusyboxInitrd({
    out: microvmInitrd,
    kernel,
    modules: ["virtio_mmio", "virtiofs", "virtio_console"],
    init: guestInit,
  });
  mkdirSync(shared);
  writeFileSync(join(shared, "from-host.txt"), `host says ${nonce}\n`);
  config = defaultConfig();
  Object.assign(config.hypervisor.qemu, {
    defaultMaxVcpus: 2,
    defaultMaxMemoryMiB: 1024,
    kernel: kernel.vmlinux,
    initrd,
    rootfsMode: "initrd",
    defaultMemoryMiB: 512,
    accel: "tcg",
    agentChannel: "serial",
  });
});

after(async () => {
  for (const vm of started) await vm.stop(500).catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

function pidAlive(pid: number): boolean {
  return (processArgv(pid)?.length ?? 0) > 0;
}

describe("startQemu", () => {
  it("boots, shares files both ways over virtio-fs, hot-plugs, pauses, and stops leaving nothing behind", async () => {
    const t0 = Date.now();
    const vm = await startQemu({ id: "boot1", config, sharedDir: shared, stateRoot }, silentLogger);
    started.push(vm);
    const tStarted = Date.now();
    assert.equal(vm.accelerator, "tcg");
    assert.deepEqual(vm.agentAddress, { kind: "serial", path: join(stateRoot, "boot1", "agent.sock") });
    assert.ok(processArgv(vm.pid)?.includes("sandbox-boot1"), "ps shows the sandbox name");
    assert.ok(existsSync(join(stateRoot, "boot1", "qmp.sock")));

    const console = await waitForText(vm.consoleLogPath, /HAKO-WROTE/, 60000);
    const tWrote = Date.now();
    assert.match(console, /HAKO-BOOTED/);
    assert.match(console, /HAKO-MOUNTED/);
    assert.match(console, new RegExp(`HAKO-HOSTFILE host says ${nonce}`));
    assert.match(console, /HAKO-PORT agent\.channel\.0/, "the agent's virtio-serial port is named for the agent");
    assert.equal(readFileSync(join(shared, "from-guest.txt"), "utf8"), "written by the guest\n");
    const booted = /HAKO-BOOTED uptime=([\d.]+)/.exec(console)?.[1];
    const mounted = /HAKO-MOUNTED uptime=([\d.]+)/.exec(console)?.[1];
    process.stderr.write(
      `# boot timings (TCG): startQemu ${tStarted - t0} ms; guest init at ${booted} s uptime, virtio-fs mounted at ${mounted} s; host saw the guest's file ${tWrote - t0} ms after start\n`,
    );

    // Hot-plug into the running guest: it must see the disk, the vCPU and the memory block appear.
    const disk = join(work, "disk.raw");
    writeFileSync(disk, Buffer.alloc(0));
    truncateSync(disk, 8 * 1024 * 1024);
    await vm.hotplugBlock({ id: "vol1", path: disk, readonly: true });
    assert.match(await waitForText(vm.consoleLogPath, /HAKO-DISK/, 20000), /HAKO-DISK sectors=16384/);
    assert.equal(await vm.hotplugVcpus(2), 2);
    assert.match(await waitForText(vm.consoleLogPath, /HAKO-CPU1/, 20000), /HAKO-CPU1/);
    assert.equal(await vm.hotplugMemory(100), 512 + 128);
    assert.match(await waitForText(vm.consoleLogPath, /HAKO-MEM/, 20000), /HAKO-MEM/);

    await vm.pause();
    assert.equal(await vm.status?.(), "paused");
    await vm.resume();
    assert.equal(await vm.status?.(), "running");

    const virtiofsdPid = Number(readFileSync(join(stateRoot, "boot1", "virtiofsd.pid"), "utf8"));
    assert.ok(pidAlive(virtiofsdPid));
    const tStop = Date.now();
    await vm.stop();
    process.stderr.write(`# stop (QMP quit + clean-up) ${Date.now() - tStop} ms\n`);
    const exit = await vm.exited;
    assert.equal(exit.requested, true);
    assert.ok(!pidAlive(vm.pid), "no QEMU left");
    assert.ok(!pidAlive(virtiofsdPid), "no virtiofsd left");
    assert.ok(!existsSync(join(stateRoot, "boot1")), "state directory removed");
    assert.deepEqual(readdirSync(stateRoot), []);
    await vm.stop(); // idempotent
    await assert.rejects(vm.pause(), (e: unknown) => e instanceof HakoError && e.code === Code.FailedPrecondition);
  });

  it("notices a SIGKILLed QEMU within a second or two, and stop() still cleans up", async () => {
    const vm = await startQemu({ id: "boot2", config, sharedDir: shared, stateRoot }, silentLogger);
    started.push(vm);
    await waitForText(vm.consoleLogPath, /HAKO-MOUNTED/, 60000);
    const t0 = Date.now();
    process.kill(vm.pid, "SIGKILL");
    const exit = await vm.exited;
    const noticed = Date.now() - t0;
    process.stderr.write(`# SIGKILL noticed after ${noticed} ms\n`);
    assert.ok(noticed < 2000);
    assert.deepEqual(exit, { code: null, signal: "SIGKILL", requested: false });
    await vm.stop();
    assert.ok(!existsSync(join(stateRoot, "boot2")));
    assert.ok(!pidAlive(vm.pid));
  });

  it("boots the microvm machine (virtio-mmio) with the same share and agent port", async () => {
    const micro = structuredClone(config);
    micro.hypervisor.qemu.machineType = "microvm";
    micro.hypervisor.qemu.initrd = microvmInitrd;
    rmSync(join(shared, "from-guest.txt"), { force: true });
    const t0 = Date.now();
    const vm = await startQemu({ id: "micro", config: micro, sharedDir: shared, stateRoot }, silentLogger);
    started.push(vm);
    const console = await waitForText(vm.consoleLogPath, /HAKO-WROTE/, 60000);
    process.stderr.write(
      `# microvm (TCG): guest init at ${/HAKO-BOOTED uptime=([\d.]+)/.exec(console)?.[1]} s uptime; file seen after ${Date.now() - t0} ms\n`,
    );
    assert.match(console, new RegExp(`HAKO-HOSTFILE host says ${nonce}`));
    assert.match(console, /HAKO-PORT agent\.channel\.0/);
    assert.equal(readFileSync(join(shared, "from-guest.txt"), "utf8"), "written by the guest\n");
    await vm.stop();
    assert.ok(!existsSync(join(stateRoot, "micro")));
  });

  it("runs QEMU inside a named network namespace", async () => {
    const ns = `hako-test-${process.pid}`;
    execFileSync("ip", ["netns", "add", ns]);
    try {
      const vm = await startQemu({ id: "netns", config, sharedDir: shared, stateRoot, netns: ns }, silentLogger);
      started.push(vm);
      const want = statSync(`/var/run/netns/${ns}`).ino;
      assert.equal(statSync(`/proc/${vm.pid}/ns/net`).ino, want, "QEMU is in the pod's netns");
      assert.notEqual(statSync("/proc/self/ns/net").ino, want);
      assert.ok(processArgv(vm.pid)?.includes("sandbox-netns"), "the pid is QEMU itself, not a wrapper");
      await vm.stop(500);
      assert.ok(!existsSync(join(stateRoot, "netns")));
    } finally {
      execFileSync("ip", ["netns", "delete", ns]);
    }
  });

  it("refuses to start without its assets and leaves nothing behind", async () => {
    const broken = structuredClone(config);
    broken.hypervisor.qemu.kernel = join(work, "no-such-vmlinux");
    await assert.rejects(
      startQemu({ id: "noassets", config: broken, sharedDir: shared, stateRoot }, silentLogger),
      (e: unknown) => e instanceof HakoError && e.code === Code.FailedPrecondition && /no-such-vmlinux/.test(e.message),
    );
    assert.ok(!existsSync(join(stateRoot, "noassets")));
  });

  it("reports QEMU's own complaint when it exits at start-up, and cleans up", async () => {
    const broken = structuredClone(config);
    broken.hypervisor.qemu.kernel = join(work, "not-a-kernel");
    writeFileSync(broken.hypervisor.qemu.kernel, "this is not a kernel\n");
    await assert.rejects(
      startQemu({ id: "badkernel", config: broken, sharedDir: shared, stateRoot }, silentLogger),
      (e: unknown) => e instanceof HakoError && /exited at start-up: .*\S/.test(e.message),
    );
    assert.ok(!existsSync(join(stateRoot, "badkernel")));
  });
});
