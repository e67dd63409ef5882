// virtiofsd's lifecycle with the real daemon (no VM): start waits for the socket, a requested stop removes it, an
// exit nobody asked for is reported as an error with the daemon's own words, and a bad source fails the start (with
// the daemon's words read back from its log file when its stderr goes to one).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Code, HakoError } from "../../src/common/errors.js";
import { silentLogger } from "../../src/common/log.js";
import { Virtiofsd } from "../../src/sharefs/virtiofsd.js";

const dir = mkdtempSync(join(tmpdir(), "hako-vfsd-"));
const source = join(dir, "share");
mkdirSync(source);
const started: Virtiofsd[] = [];
after(async () => {
  for (const d of started) await d.stop(0);
  rmSync(dir, { recursive: true, force: true });
});

const options = (name: string) => ({
  binary: "/usr/lib/qemu/virtiofsd",
  socketPath: join(dir, `${name}.sock`),
  sourceDir: source,
  cache: "auto" as const,
});

describe("Virtiofsd", () => {
  it("starts, is ready when its socket exists, and a stop removes the socket", async () => {
    const d = await Virtiofsd.start(options("a"), silentLogger);
    started.push(d);
    assert.ok(existsSync(join(dir, "a.sock")));
    assert.ok(d.pid > 0);
    await d.stop();
    const exit = await d.exited;
    assert.equal(exit.requested, true);
    assert.equal(d.failure, undefined);
    assert.ok(!existsSync(join(dir, "a.sock")));
  });

  it("reports an exit nobody asked for as an error, and does not restart", async () => {
    const d = await Virtiofsd.start(options("b"), silentLogger);
    started.push(d);
    process.kill(d.pid, "SIGKILL");
    const exit = await d.exited;
    assert.deepEqual(exit, { code: null, signal: "SIGKILL", requested: false });
    assert.ok(d.failure instanceof HakoError);
    assert.equal(d.failure?.code, Code.Unavailable);
    assert.match(d.failure?.message ?? "", /exited unexpectedly \(SIGKILL\)/);
  });

  it("fails the start when the source directory does not exist", async () => {
    await assert.rejects(
      Virtiofsd.start({ ...options("c"), sourceDir: join(dir, "missing") }, silentLogger),
      (e: unknown) => e instanceof HakoError && e.code === Code.FailedPrecondition && /missing/.test(e.message),
    );
  });

  it("with a log file for its stderr, a failed start quotes the daemon's words from the file", async () => {
    const logPath = join(dir, "d.log");
    await assert.rejects(
      Virtiofsd.start({ ...options("d"), sourceDir: join(dir, "missing-d"), logPath }, silentLogger),
      (e: unknown) =>
        e instanceof HakoError && e.code === Code.FailedPrecondition && /failed to stat source/.test(e.message),
    );
    assert.match(readFileSync(logPath, "utf8"), /failed to stat source/);
  });
});
