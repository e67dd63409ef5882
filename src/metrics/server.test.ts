// Unit specs for the metrics server: host figures of real processes plus the guest's text, and a guest that is down.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fetchMetrics } from "./fetch.js";
import { metricsSocketPath, startSandboxMetricsServer } from "./server.js";

const dir = mkdtempSync(join(tmpdir(), "hako-metrics-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("serves host figures of real processes and the guest's text, labelled with the sandbox id", async () => {
  // A real child process stands in for the VMM: its figures must come from /proc.
  const child = spawn("sleep", ["30"], { stdio: "ignore" });
  const server = await startSandboxMetricsServer({
    sandboxId: "sb1",
    socketPath: metricsSocketPath(dir),
    processes: () => ({ shim: process.pid, ...(child.pid ? { vmm: child.pid } : {}) }),
    guestMetrics: async () => "# TYPE guest_load1 gauge\nguest_load1 0.5\n",
    info: { accelerator: "tcg" },
  });
  try {
    const text = await fetchMetrics(server.socketPath);
    assert.match(text, /^hako_host_process_up\{sandbox_id="sb1",component="vmm"\} 1$/m);
    assert.match(
      text,
      /^hako_host_process_cpu_seconds_total\{sandbox_id="sb1",component="shim",mode="user"\} [\d.e+-]+$/m,
    );
    const rss = /^hako_host_process_resident_memory_bytes\{sandbox_id="sb1",component="shim"\} (\d+)$/m.exec(text);
    assert.ok(rss && Number(rss[1]) > 1 << 20, "the shim's RSS is this process's RSS");
    assert.match(text, /^hako_guest_metrics_up\{sandbox_id="sb1"\} 1$/m);
    assert.match(text, /^guest_load1\{sandbox_id="sb1"\} 0.5$/m);
    assert.match(text, /^hako_sandbox_info\{sandbox_id="sb1",accelerator="tcg"\} 1$/m);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const after = await fetchMetrics(server.socketPath);
    assert.match(after, /^hako_host_process_up\{sandbox_id="sb1",component="vmm"\} 0$/m);
  } finally {
    child.kill("SIGKILL");
    await server.close();
  }
  assert.equal(existsSync(metricsSocketPath(dir)), false);
});

test("a guest that does not answer is reported down, host figures still served", async () => {
  const server = await startSandboxMetricsServer({
    sandboxId: "sb2",
    socketPath: join(dir, "m2.sock"),
    processes: () => ({ shim: process.pid }),
    guestMetrics: () => new Promise<string>(() => {}),
    guestTimeoutMs: 100,
  });
  try {
    const text = await fetchMetrics(server.socketPath);
    assert.match(text, /^hako_guest_metrics_up\{sandbox_id="sb2"\} 0$/m);
    assert.match(text, /^hako_host_process_up\{sandbox_id="sb2",component="shim"\} 1$/m);
  } finally {
    await server.close();
  }
});
