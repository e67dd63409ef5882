// The QMP client against a real QEMU that runs no guest (-S, no kernel): greeting and capabilities, status,
// stop/cont with their events, hot-plug of a virtio-blk disk, vCPUs and memory, error mapping, quit, and a clean
// failure when QEMU dies under a pending command.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, HakoError } from "../../src/common/errors.js";
import { hotplugBlock, hotplugMemory, hotplugVcpus } from "../../src/hypervisor/qemu/hotplug.js";
import { QmpClient as Qmp, type QmpClient, type QmpEvent } from "../../src/hypervisor/qemu/qmp.js";

const dir = mkdtempSync(join(tmpdir(), "hako-qmp-"));
const children: ChildProcess[] = [];

async function startBareQemu(name: string): Promise<{ child: ChildProcess; socket: string }> {
  const socket = join(dir, `${name}.sock`);
  const child = spawn(
    "qemu-system-x86_64",
    [
      ...["-name", `sandbox-${name}`, "-machine", "q35", "-accel", "tcg", "-nodefaults", "-nographic"],
      ...["-no-user-config", "-S", "-smp", "1,sockets=2,maxcpus=2", "-m", "128M,slots=2,maxmem=1G"],
      ...["-device", "pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=0"],
      ...["-chardev", `socket,id=qmp,path=${socket},server=on,wait=off`, "-mon", "chardev=qmp,mode=control"],
    ],
    { stdio: "ignore" },
  );
  children.push(child);
  for (let i = 0; i < 500 && !existsSync(socket); i++) await sleep(10);
  return { child, socket };
}

/** The socket file appears at bind(), a moment before QEMU listens: retry refused connections briefly. */
async function connectRetrying(socket: string): Promise<QmpClient> {
  for (let i = 0; ; i++) {
    try {
      return await Qmp.connect(socket);
    } catch (err) {
      if (i > 100) throw err;
      await sleep(20);
    }
  }
}

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

describe("QMP client against QEMU", () => {
  let qmp: QmpClient;
  let child: ChildProcess;
  const events: QmpEvent[] = [];

  before(async () => {
    const started = await startBareQemu("qmp1");
    child = started.child;
    qmp = await connectRetrying(started.socket);
    qmp.onEvent((e) => events.push(e));
  });

  it("negotiates and reports the version and status", async () => {
    assert.match(qmp.version, /^\d+\.\d+\.\d+$/);
    const status = await qmp.execute<{ status: string; running: boolean }>("query-status");
    assert.equal(status.status, "prelaunch");
    assert.equal(status.running, false);
  });

  it("cont and stop change the state and emit RESUME and STOP", async () => {
    const resumed = qmp.waitForEvent("RESUME", 5000);
    await qmp.execute("cont");
    await resumed;
    assert.equal((await qmp.execute<{ status: string }>("query-status")).status, "running");
    const stopped = qmp.waitForEvent("STOP", 5000);
    await qmp.execute("stop");
    await stopped;
    assert.equal((await qmp.execute<{ status: string }>("query-status")).status, "paused");
    assert.ok(events.some((e) => e.event === "RESUME") && events.some((e) => e.event === "STOP"));
  });

  it("matches replies to concurrent commands by id", async () => {
    const [a, b, c] = await Promise.all([
      qmp.execute<{ status: string }>("query-status"),
      qmp.execute<{ enabled: boolean }>("query-kvm"),
      qmp.execute<{ qemu: { major: number } }>("query-version"),
    ]);
    assert.equal(a.status, "paused");
    assert.equal(typeof b.enabled, "boolean");
    assert.ok(c.qemu.major >= 7);
  });

  it("hot-plugs a virtio-blk disk from a raw file into a root port", async () => {
    const disk = join(dir, "disk.raw");
    writeFileSync(disk, "");
    truncateSync(disk, 16 * 1024 * 1024);
    await hotplugBlock(qmp, { id: "vol1", path: disk, readonly: false }, "rp0");
    const blocks =
      await qmp.execute<{ inserted?: { "node-name": string; image: { filename: string } } }[]>("query-block");
    const ours = blocks.find((b) => b.inserted?.["node-name"] === "drive-vol1");
    assert.equal(ours?.inserted?.image.filename, disk);
    // The guest has not enumerated the port's bus (no firmware ran under -S), so look the device up in QOM.
    const peripherals = await qmp.execute<{ name: string }[]>("qom-list", { path: "/machine/peripheral" });
    assert.ok(peripherals.some((p) => p.name === "blk-vol1"));
    const bus = await qmp.execute<string>("qom-get", { path: "/machine/peripheral/blk-vol1", property: "parent_bus" });
    assert.match(bus, /rp0/);
  });

  it("hot-plugs a vCPU and a DIMM", async () => {
    assert.equal(await hotplugVcpus(qmp, 2), 2);
    const cpus = await qmp.execute<unknown[]>("query-cpus-fast");
    assert.equal(cpus.length, 2);
    assert.equal(await hotplugMemory(qmp, 0, 128, false), 128);
    const dimms = await qmp.execute<{ data: { id: string; size: number } }[]>("query-memory-devices");
    assert.deepEqual(
      dimms.map((d) => [d.data.id, d.data.size]),
      [["dimm0", 128 * 1024 * 1024]],
    );
  });

  it("maps QMP errors to codes", async () => {
    await assert.rejects(
      qmp.execute("no-such-command"),
      (e: unknown) => e instanceof HakoError && e.code === Code.Unimplemented,
    );
    await assert.rejects(
      qmp.execute("device_del", { id: "nothing-here" }),
      (e: unknown) => e instanceof HakoError && e.code === Code.NotFound && /nothing-here/.test(e.message),
    );
  });

  it("quit ends the process and closes the client", async () => {
    const shutdown = qmp.waitForEvent("SHUTDOWN", 5000);
    await qmp.execute("quit");
    assert.equal((await shutdown).data.reason, "host-qmp-quit");
    await qmp.closed;
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
    assert.equal(child.exitCode, 0);
    await assert.rejects(
      qmp.execute("query-status"),
      (e: unknown) => e instanceof HakoError && e.code === Code.Unavailable,
    );
  });
});

describe("QMP client failures", () => {
  it("fails a pending command at once when QEMU dies", async () => {
    const { child, socket } = await startBareQemu("qmp2");
    const qmp = await connectRetrying(socket);
    // Something still waiting when the process is killed: the answer can never come.
    const pending = qmp.waitForEvent("NEVER", 60000);
    const t0 = Date.now();
    child.kill("SIGKILL");
    await assert.rejects(pending, (e: unknown) => e instanceof HakoError && e.code === Code.Unavailable);
    await qmp.closed;
    assert.ok(Date.now() - t0 < 2000, "the failure is immediate, not a timeout");
    await assert.rejects(
      qmp.execute("query-status"),
      (e: unknown) => e instanceof HakoError && e.code === Code.Unavailable,
    );
  });

  it("times out a connect when nobody greets", async () => {
    const { createServer } = await import("node:net");
    const path = join(dir, "silent.sock");
    const server = createServer(() => {}).listen(path);
    await new Promise((r) => server.once("listening", r));
    await assert.rejects(
      Qmp.connect(path, { connectTimeoutMs: 200 }),
      (e: unknown) => e instanceof HakoError && e.code === Code.DeadlineExceeded,
    );
    server.close();
  });

  it("fails cleanly when the socket does not exist", async () => {
    await assert.rejects(
      Qmp.connect(join(dir, "absent.sock")),
      (e: unknown) => e instanceof HakoError && e.code === Code.Unavailable,
    );
  });
});
