// Unit specs for the /proc readers behind host metrics: stat parsing, kB fields, children of a process.
import assert from "node:assert/strict";
import { test } from "node:test";
import { childrenOf, commandOf, parseKb, parseStat, procStats } from "./proc-stats.js";

test("parses /proc/<pid>/stat with a command name holding spaces and parentheses", () => {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
  const line = `1234 (qemu (x) y) ${fields.join(" ")}`;
  const s = parseStat(line);
  assert.equal(s.ppid, 4);
  assert.equal(s.utime, 14);
  assert.equal(s.stime, 15);
  assert.equal(s.threads, 20);
  assert.equal(s.starttime, 22);
});

test("reads kB fields as bytes", () => {
  assert.equal(parseKb("Rss: 10 kB\nPss:   7 kB\n", "Pss"), 7 * 1024);
  assert.equal(parseKb("VmRSS:\t  2048 kB\n", "VmRSS"), 2048 * 1024);
  assert.equal(parseKb("Pss: 7 kB\n", "VmRSS"), null);
});

test("reports this process, and nothing for a pid that does not exist", () => {
  const me = procStats(process.pid);
  assert.ok(me);
  assert.ok(me.residentBytes > 1 << 20);
  assert.ok(me.threads >= 1);
  assert.ok(me.cpuUserSeconds + me.cpuSystemSeconds >= 0);
  assert.equal(procStats(2 ** 22 + 1), undefined);
});

test("finds a process's children and their command names", async () => {
  const { spawn } = await import("node:child_process");
  const child = spawn("sleep", ["30"], { stdio: "ignore" });
  try {
    assert.ok(child.pid);
    assert.ok(childrenOf(process.pid).includes(child.pid));
    assert.equal(commandOf(child.pid), "sleep");
  } finally {
    child.kill("SIGKILL");
  }
});
