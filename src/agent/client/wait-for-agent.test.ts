// waitForAgent: late sockets, slow first answers, and the overall deadline.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Code, HakoError } from "../../common/errors.js";
import { TtrpcServer } from "../../ttrpc/server.js";
import { Health } from "../server/wire.js";
import { waitForAgent } from "./wait-for-agent.js";

const dir = mkdtempSync(join(tmpdir(), "hako-wait-agent-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("waits for a socket that appears late and an agent slow to answer at first", async () => {
  const path = join(dir, "late.sock");
  let checks = 0;
  const server = new TtrpcServer();
  server.addService(Health, {
    // The first check is answered long after its attempt gave up: that late answer must be ignored.
    check: async () => {
      checks++;
      if (checks === 1) await new Promise((r) => setTimeout(r, 700));
      return { status: 1 };
    },
  });
  setTimeout(() => void server.listen(path), 300);
  const t0 = Date.now();
  const client = await waitForAgent({ kind: "serial", path }, { timeoutMs: 10_000, attemptMs: 200, maxAttemptMs: 200 });
  assert.ok(checks >= 2, `checks ${checks}`);
  assert.ok(Date.now() - t0 >= 300);
  await client.check();
  client.close();
  await server.close();
});

test("gives up at the deadline with DeadlineExceeded", async () => {
  const t0 = Date.now();
  await assert.rejects(
    waitForAgent({ kind: "serial", path: join(dir, "never.sock") }, { timeoutMs: 600, attemptMs: 100 }),
    (err) => err instanceof HakoError && err.code === Code.DeadlineExceeded && /never\.sock/.test(err.message),
  );
  assert.ok(Date.now() - t0 < 2000);
});
