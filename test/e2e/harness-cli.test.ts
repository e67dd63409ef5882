// The operator verbs against real hako sandboxes: two detached `ctr run`s boot two VMs, then `hako ps`, `hako logs`
// and `hako monitor` must find them through the runtime's state files, as an operator would on a live host.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import { startMonitor } from "../../src/cli/monitor.js";
import { silentLogger } from "../../src/common/log.js";
import { type Containerd, HAKO_RUNTIME, runCommand, startContainerdWithBusybox } from "../helpers/containerd.js";

const ID = `cli-${process.pid}`;
const ID2 = `cli2-${process.pid}`;
let containerd: Containerd | undefined;

function hako(...args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { encoding: "utf8" });
}

before(async () => {
  const started = await startContainerdWithBusybox();
  containerd = started.containerd;
  for (const id of [ID, ID2]) {
    const r = await containerd.runDetached(HAKO_RUNTIME, started.image, id, ["sleep", "600"], { timeoutMs: 180_000 });
    assert.equal(r.code, 0, `hako sandbox ${id} did not start: ${r.stderr}`);
  }
});

after(async () => {
  if (!containerd) return;
  const { leaked } = await containerd.stop();
  assert.deepEqual(leaked, [], "the shim left VMs or state behind");
});

test("hako ps lists the sandbox with its VM, accelerator and container", () => {
  const r = hako("ps", "--json");
  assert.equal(r.status, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as {
    id: string;
    status: string;
    vmPid: number;
    accelerator: string;
    vmRssMiB: number;
    containers: { id: string; status: string }[];
  }[];
  const row = rows.find((x) => x.id === ID);
  assert.ok(row, `sandbox ${ID} missing from ${r.stdout}`);
  assert.equal(row.status, "running");
  assert.ok(row.vmPid > 0);
  assert.match(
    spawnSync("ps", ["-o", "args=", "-p", String(row.vmPid)], { encoding: "utf8" }).stdout,
    new RegExp(`-name sandbox-${ID}`),
  );
  assert.ok(["kvm", "tcg"].includes(row.accelerator));
  assert.ok(row.vmRssMiB > 0);
  assert.deepEqual(
    row.containers.map((c) => c.id),
    [ID],
  );
});

test("hako logs prints the guest console", () => {
  const r = hako("logs", ID);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.length > 0, "the console log is empty");
});

test("curl on hako monitor shows per-sandbox series for both sandboxes, host and guest figures", async () => {
  const monitor = await startMonitor({ host: "127.0.0.1", port: 0, logger: silentLogger });
  try {
    // Asynchronously: the monitor serves from this very process.
    const r = await runCommand("curl", ["-sf", monitor.url], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    const text = r.stdout;
    for (const id of [ID, ID2]) {
      assert.match(text, new RegExp(`^hako_host_process_up\\{sandbox_id="${id}",component="vmm"\\} 1$`, "m"));
      const pss = new RegExp(`^hako_host_process_pss_bytes\\{sandbox_id="${id}",component="vmm"\\} (\\d+)$`, "m").exec(
        text,
      );
      assert.ok(pss && Number(pss[1]) > 10 * 1048576, `${id}: a running VM uses more than 10 MiB`);
      // Served by the sandbox's shim, from the agent in the guest.
      assert.match(text, new RegExp(`^hako_guest_memory_total_bytes\\{sandbox_id="${id}"\\} \\d+$`, "m"));
    }
  } finally {
    await monitor.close();
  }
});
