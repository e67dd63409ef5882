// Unit specs for bench/dd.ts: reading `time` lines, and the dd script run against the host's busybox.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ddScript, mbPerSecond, parseTimes } from "./dd.js";

test("parses busybox and bash `time` lines", () => {
  assert.deepEqual(parseTimes("real\t0m 0.50s\nuser\t0m 0.00s\nreal\t1m 2.25s\n"), [0.5, 62.25]);
  assert.deepEqual(parseTimes("real\t0m1.230s\n"), [1.23]);
  assert.deepEqual(parseTimes("dd: can't open '/data/f'"), []);
  assert.equal(mbPerSecond(64, 0.5), (64 * 1048576) / 0.5 / 1e6);
  assert.equal(mbPerSecond(64, 0), null);
});

test("the script times a write and a read with the host's busybox", () => {
  const dir = mkdtempSync(join(tmpdir(), "hako-dd-"));
  try {
    const out = execFileSync("/bin/busybox", ["sh", "-c", ddScript(join(dir, "f"), 4, "both")], { encoding: "utf8" });
    assert.equal(parseTimes(out).length, 2, out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
