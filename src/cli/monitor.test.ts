// Unit specs for `hako monitor`: --listen parsing, and metrics gathered from every sandbox on the host.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { silentLogger } from "../common/log.js";
import { startSandboxMetricsServer } from "../metrics/server.js";
import { type SandboxStateV1, writeSandboxState } from "../runtime/sandbox-state.js";
import { parseListen, startMonitor } from "./monitor.js";

const root = mkdtempSync(join(tmpdir(), "hako-monitor-"));
const previous = process.env.HAKO_RUN_DIR;
process.env.HAKO_RUN_DIR = root;
after(() => {
  if (previous === undefined) delete process.env.HAKO_RUN_DIR;
  else process.env.HAKO_RUN_DIR = previous;
  rmSync(root, { recursive: true, force: true });
});

function state(id: string, vmPid: number, extra: Partial<SandboxStateV1> = {}): SandboxStateV1 {
  const stateDir = join(root, id);
  mkdirSync(stateDir, { recursive: true });
  return {
    version: 1,
    id,
    namespace: "default",
    ownerPid: process.pid,
    createdAt: new Date().toISOString(),
    stateDir,
    sharedDir: join(root, "shared", id),
    vm: { pid: vmPid, accelerator: "tcg", consoleLog: join(stateDir, "console.log"), vcpus: 1, memoryMiB: 2048 },
    containers: [],
    phases: {},
    ...extra,
  };
}

test("parses --listen", () => {
  assert.deepEqual(parseListen("127.0.0.1:8090"), { host: "127.0.0.1", port: 8090 });
  assert.deepEqual(parseListen("[::1]:0"), { host: "::1", port: 0 });
  assert.deepEqual(parseListen(":9"), { host: "0.0.0.0", port: 9 });
  assert.throws(() => parseListen("8090"), /HOST:PORT/);
});

test("aggregates every sandbox: scraped from its shim's socket, or read from /proc when it serves none", async () => {
  const vmA = spawn("sleep", ["30"], { stdio: "ignore" });
  const vmB = spawn("sleep", ["30"], { stdio: "ignore" });
  const socketPath = join(root, "a", "metrics.sock");
  mkdirSync(join(root, "a"), { recursive: true });
  const shimServer = await startSandboxMetricsServer({
    sandboxId: "a",
    socketPath,
    processes: () => ({ shim: process.pid, ...(vmA.pid ? { vmm: vmA.pid } : {}) }),
    guestMetrics: async () => "# TYPE guest_up gauge\nguest_up 1\n",
  });
  await writeSandboxState(join(root, "a", "sandbox.json"), state("a", vmA.pid ?? 0, { metricsSocket: socketPath }));
  await writeSandboxState(join(root, "b", "sandbox.json"), state("b", vmB.pid ?? 0));
  const monitor = await startMonitor({ host: "127.0.0.1", port: 0, logger: silentLogger });
  try {
    const res = await fetch(monitor.url);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^hako_monitor_sandboxes\{status="running"\} 2$/m);
    assert.match(text, /^guest_up\{sandbox_id="a"\} 1$/m, "a's metrics come from its shim, guest figures included");
    assert.match(text, /^hako_host_process_up\{sandbox_id="b",component="vmm"\} 1$/m, "b's come from /proc");
    assert.equal(text.match(/^# TYPE hako_host_process_up /gm)?.length, 1, "one TYPE line per family");
    assert.equal((await fetch(monitor.url.replace("/metrics", "/other"))).status, 404);
  } finally {
    await monitor.close();
    await shimServer.close();
    vmA.kill("SIGKILL");
    vmB.kill("SIGKILL");
  }
});
