// The persisted sandbox state: written atomically (a reader never sees a torn file), read back as written, and a
// file this version cannot trust (bad JSON, another version) is DataLoss naming the path.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Code, HakoError } from "../common/errors.js";
import { readSandboxState, type SandboxStateV1, writeSandboxState } from "./sandbox-state.js";

const dir = mkdtempSync(join(tmpdir(), "hako-state-spec-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const sample = (id: string, containers = 1): SandboxStateV1 => ({
  version: 1,
  id,
  namespace: "default",
  ownerPid: 4242,
  createdAt: "2026-01-01T00:00:00.000Z",
  stateDir: `/run/hako/${id}`,
  sharedDir: `/run/hako/shared/${id}`,
  vm: { pid: 77, accelerator: "tcg", consoleLog: `/run/hako/${id}/console.log`, vcpus: 1, memoryMiB: 512 },
  containers: Array.from({ length: containers }, (_, i) => ({
    id: `c${i}`,
    bundle: `/bundles/c${i}`,
    status: "running",
    pid: 100 + i,
    hostMounts: [`/run/hako/shared/${id}/c${i}/rootfs`],
  })),
  phases: { "vm-started": 10, "agent-ready": 20 },
});

const dataLoss = (pattern: RegExp) => (err: unknown) =>
  err instanceof HakoError && err.code === Code.DataLoss && pattern.test(err.message);

describe("sandbox state", () => {
  test("round-trips, owner-only, with no temporary file left behind", async () => {
    const path = join(dir, "roundtrip.json");
    await writeSandboxState(path, sample("sb1"));
    assert.deepEqual(await readSandboxState(path), sample("sb1"));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.startsWith("roundtrip")),
      ["roundtrip.json"],
    );
  });

  test("a missing file reads as undefined (no sandbox), not an error", async () => {
    assert.equal(await readSandboxState(join(dir, "absent.json")), undefined);
  });

  test("a reader racing many rewrites always sees a whole document", async () => {
    const path = join(dir, "race.json");
    await writeSandboxState(path, sample("race", 0));
    let stop = false;
    let reads = 0;
    const reader = (async () => {
      while (!stop) {
        // Sync read between async writes: would catch a truncated or half-written file.
        const parsed = JSON.parse(readFileSync(path, "utf8")) as SandboxStateV1;
        assert.equal(parsed.id, "race");
        reads++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let i = 0; i < 200; i++) await writeSandboxState(path, sample("race", i % 50));
    stop = true;
    await reader;
    assert.ok(reads > 0);
  });

  test("concurrent writers all succeed and one whole document wins", async () => {
    const path = join(dir, "concurrent.json");
    const writes = Array.from({ length: 20 }, (_, i) => writeSandboxState(path, sample("conc", i)));
    const results = await Promise.allSettled(writes);
    assert.deepEqual(
      results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason)),
      [],
    );
    const state = await readSandboxState(path);
    assert.equal(state?.id, "conc");
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.startsWith("concurrent")),
      ["concurrent.json"],
    );
  });

  test("bad JSON is DataLoss naming the file", async () => {
    const path = join(dir, "bad.json");
    writeFileSync(path, '{"version": 1, "id": ');
    await assert.rejects(readSandboxState(path), dataLoss(/^sandbox state .*bad\.json is not valid JSON$/));
  });

  test("an unknown version is DataLoss naming the file and the version", async () => {
    const path = join(dir, "v2.json");
    writeFileSync(path, JSON.stringify({ ...sample("sb2"), version: 2 }));
    await assert.rejects(readSandboxState(path), dataLoss(/v2\.json has unknown version 2$/));
    writeFileSync(path, JSON.stringify({ id: "no-version" }));
    await assert.rejects(readSandboxState(path), dataLoss(/has unknown version undefined$/));
  });

  test("a read error other than a missing file is not hidden", async () => {
    // A directory where the file should be: EISDIR, which must surface rather than read as "no sandbox".
    await assert.rejects(readSandboxState(dir), { code: "EISDIR" });
  });
});
