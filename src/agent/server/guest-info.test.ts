import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Code, HakoError } from "../../common/errors.js";
import { onlineCpuMem } from "./guest-info.js";

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A sysfs-like tree: cpu0 (no online file, as the kernel has it), then CPUs with the given online states. */
function sysfs(cpus: string[], memory: string[] = []): string {
  const root = mkdtempSync(join(tmpdir(), "hako-guest-info-"));
  roots.push(root);
  mkdirSync(join(root, "cpu", "cpu0"), { recursive: true });
  for (const [i, state] of cpus.entries()) addCpu(root, i + 1, state);
  memory.forEach((state, i) => {
    mkdirSync(join(root, "memory", `memory${i}`), { recursive: true });
    writeFileSync(join(root, "memory", `memory${i}`, "online"), state);
  });
  return root;
}

function addCpu(root: string, n: number, state: string): void {
  mkdirSync(join(root, "cpu", `cpu${n}`), { recursive: true });
  writeFileSync(join(root, "cpu", `cpu${n}`, "online"), state);
}

const online = (root: string, n: number) => readFileSync(join(root, "cpu", `cpu${n}`, "online"), "utf8").trim();

describe("onlineCpuMem", () => {
  it("waits for a hot-plugged CPU the guest kernel lists only later, and onlines it", async () => {
    const root = sysfs(["1"]);
    setTimeout(() => addCpu(root, 2, "0"), 150);
    const r = await onlineCpuMem(1, true, { root, timeoutMs: 3000 });
    assert.deepEqual(r, { cpus: 1, memBlocks: 0 });
    assert.equal(online(root, 2), "1");
  });

  it("onlines only as many CPUs as were plugged, and memory blocks unless cpuOnly", async () => {
    const root = sysfs(["0", "0", "0"], ["0", "1"]);
    assert.deepEqual(await onlineCpuMem(2, false, { root }), { cpus: 2, memBlocks: 1 });
    assert.deepEqual([online(root, 1), online(root, 2), online(root, 3)], ["1", "1", "0"]);
  });

  it("0 onlines whatever is offline now, without waiting", async () => {
    const root = sysfs(["0", "1", "0"]);
    assert.deepEqual(await onlineCpuMem(0, true, { root, timeoutMs: 0 }), { cpus: 2, memBlocks: 0 });
  });

  it("fails with DeadlineExceeded, saying how many came, when plugged CPUs never appear", async () => {
    const root = sysfs(["0"]);
    await assert.rejects(onlineCpuMem(3, true, { root, timeoutMs: 100 }), (err: unknown) => {
      assert.ok(err instanceof HakoError && err.code === Code.DeadlineExceeded);
      assert.match(err.message, /onlined 1 of 3 hot-plugged CPUs/);
      return true;
    });
  });
});
