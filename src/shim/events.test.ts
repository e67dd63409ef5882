// Specs for events.ts: events raised while containerd's ttrpc socket is unreachable are queued and delivered in
// order once it answers; flush has a bound; the queue has a bound.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createLogger, silentLogger } from "../common/log.js";
import { Events } from "../proto/gen/containerd/events/ttrpc_pb.js";
import { TtrpcServer } from "../ttrpc/index.js";
import { EventPublisher } from "./events.js";

const dir = mkdtempSync(join(tmpdir(), "hako-events-"));

/** A stand-in for containerd's Events service, recording topics in arrival order. */
async function fakeContainerd(path: string): Promise<{ topics: string[]; server: TtrpcServer }> {
  const topics: string[] = [];
  const server = new TtrpcServer();
  server.addService(Events, {
    forward: async (req) => {
      topics.push(req.envelope?.topic ?? "");
      return {};
    },
  });
  await server.listen(path);
  return { topics, server };
}

describe("EventPublisher", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("events raised while containerd is down arrive in order once it is back", async () => {
    const path = join(dir, "a.sock");
    const pub = new EventPublisher(path, "ns", silentLogger, { retryMs: { first: 10, max: 50 } });
    pub.publish({ type: "start", containerId: "c1", pid: 1 });
    pub.publish({ type: "exit", containerId: "c1", id: "c1", pid: 1, exit: { status: 3, exitedAt: new Date() } });
    await sleep(200);
    const { topics, server } = await fakeContainerd(path);
    await pub.flush(5000);
    assert.deepEqual(topics, ["/tasks/start", "/tasks/exit"]);
    pub.close();
    await server.close();
  });

  test("flush with a bound returns while containerd stays away; close logs what was never sent", async () => {
    const lines: string[] = [];
    const log = createLogger({ level: "info", sink: { write: (l) => void lines.push(l) } });
    const pub = new EventPublisher(join(dir, "none.sock"), "ns", log, { retryMs: { first: 10, max: 20 } });
    pub.publish({ type: "exit", containerId: "c1", id: "c1", pid: 0, exit: { status: 0, exitedAt: new Date() } });
    const t0 = Date.now();
    await pub.flush(150);
    assert.ok(Date.now() - t0 < 1000);
    pub.close();
    assert.ok(
      lines.some((l) => l.includes("events containerd never took") && l.includes("/tasks/exit")),
      lines.join(),
    );
    assert.equal(lines.filter((l) => l.includes("cannot publish event")).length, 1, "one warning per outage");
  });

  test("the queue is bounded: the oldest events are dropped first", async () => {
    const path = join(dir, "b.sock");
    const pub = new EventPublisher(path, "ns", silentLogger, { maxQueued: 2, retryMs: { first: 10, max: 20 } });
    for (const pid of [1, 2, 3]) pub.publish({ type: "start", containerId: `c${pid}`, pid });
    pub.publish({ type: "exit", containerId: "c3", id: "c3", pid: 0, exit: { status: 0, exitedAt: new Date() } });
    const { topics, server } = await fakeContainerd(path);
    await pub.flush(5000);
    assert.deepEqual(topics, ["/tasks/start", "/tasks/exit"]);
    pub.close();
    await server.close();
  });
});
