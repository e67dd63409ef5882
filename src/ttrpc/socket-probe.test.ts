import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { answers, connectWithin } from "./socket-probe.js";

test("connectWithin connects to a listener and passes a failed connect's own error on", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hako-probe-"));
  const path = join(dir, "s.sock");
  const server = createServer((s) => s.end());
  try {
    await assert.rejects(connectWithin(path, 1000), (err: NodeJS.ErrnoException) => err.code === "ENOENT");
    assert.equal(await answers(path), false);
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const socket = await connectWithin(path, 1000);
    assert.equal(socket.destroyed, false);
    socket.destroy();
    assert.equal(await answers(path), true);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
