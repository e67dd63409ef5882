// Unit specs for `hako exec`'s console client: one command's output and status framed out of a shared shell, and
// shell quoting.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runOnConsole, shellJoin } from "./exec.js";

// A stand-in for the guest's debug console: one long-lived busybox shell behind a unix socket, shared by every
// connection. The agent starts a shell per connection, but a reconnect the guest does not notice reaches the same
// shell, so this is the case runOnConsole must get right.
const dir = mkdtempSync(join(tmpdir(), "hako-exec-"));
const path = join(dir, "debug-console.sock");
let server: Server;
const shell = spawn("/bin/busybox", ["sh"], { stdio: ["pipe", "pipe", "pipe"] });

before(async () => {
  server = createServer((conn) => {
    const out = (b: Buffer) => conn.write(b);
    shell.stdout.on("data", out);
    shell.stderr.on("data", out);
    conn.on("data", (b) => shell.stdin.write(b));
    conn.on("close", () => {
      shell.stdout.off("data", out);
      shell.stderr.off("data", out);
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
});

after(() => {
  shell.kill("SIGKILL");
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

test("runs one command and returns its output and exit status", async () => {
  const r = await runOnConsole(path, shellJoin(["sh", "-c", "echo out; echo err >&2; exit 4"]));
  assert.equal(r.output, "out\nerr\n");
  assert.equal(r.exitCode, 4);
});

test("output left over from an earlier command does not leak into the next", async () => {
  const first = runOnConsole(path, "sleep 0.3; echo late", 100).catch((e: Error) => e);
  assert.ok((await first) instanceof Error);
  const r = await runOnConsole(path, shellJoin(["echo", "it's", "two words"]));
  assert.equal(r.output, "it's two words\n");
  assert.equal(r.exitCode, 0);
});

test("quotes words for the shell", () => {
  assert.equal(shellJoin(["ls", "-l", "/a b", "x'y"]), "ls -l '/a b' 'x'\\''y'");
});
