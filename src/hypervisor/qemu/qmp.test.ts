// Unit specs for the QMP client's protocol handling, against a scripted peer on a unix socket: capabilities
// negotiation, replies out of order, events between replies, errors, timeouts, and a peer that breaks the framing.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Code, HakoError } from "../../common/errors.js";
import { QmpClient } from "./qmp.js";

const dir = mkdtempSync(join(tmpdir(), "hako-qmp-unit-"));
const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

type Handler = (cmd: { execute: string; id: number; arguments?: unknown }, peer: Socket) => void;

/** A peer that greets, answers qmp_capabilities, then hands each command to `handler`. */
async function peer(name: string, handler: Handler): Promise<{ path: string; seen: string[] }> {
  const path = join(dir, `${name}.sock`);
  const seen: string[] = [];
  const server = createServer((sock) => {
    sock.write('{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}}\r\n');
    let buf = "";
    sock.on("data", (d) => {
      buf += d.toString();
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const cmd = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        seen.push(cmd.execute);
        if (cmd.execute === "qmp_capabilities") sock.write(`{"return": {}, "id": ${cmd.id}}\r\n`);
        else handler(cmd, sock);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(path, r));
  return { path, seen };
}

describe("QmpClient", () => {
  it("negotiates capabilities first and matches out-of-order replies by id", async () => {
    const held: { id: number; execute: string }[] = [];
    const { path, seen } = await peer("order", (cmd, sock) => {
      held.push(cmd);
      if (held.length === 2) {
        // Answer the second command first, with an event in between.
        const [a, b] = held as [{ id: number; execute: string }, { id: number; execute: string }];
        sock.write(`{"return": "${b.execute}", "id": ${b.id}}\n`);
        sock.write('{"event": "STOP", "data": {}, "timestamp": {"seconds": 10, "microseconds": 500000}}\n');
        sock.write(`{"return": "${a.execute}", "id": ${a.id}}\n`);
      }
    });
    const qmp = await QmpClient.connect(path);
    assert.equal(qmp.version, "7.2.0");
    const stop = qmp.waitForEvent("STOP", 1000);
    const [x, y] = await Promise.all([qmp.execute("first"), qmp.execute("second")]);
    assert.deepEqual([x, y], ["first", "second"]);
    assert.equal((await stop).timestamp, 10.5);
    assert.deepEqual(seen, ["qmp_capabilities", "first", "second"]);
    qmp.close();
  });

  it("turns an error reply into a HakoError with the QMP description", async () => {
    const { path } = await peer("error", (cmd, sock) => {
      sock.write(`{"error": {"class": "GenericError", "desc": "Bus 'x' not found"}, "id": ${cmd.id}}\n`);
    });
    const qmp = await QmpClient.connect(path);
    await assert.rejects(
      qmp.execute("device_add", { driver: "virtio-blk-pci" }),
      (e: unknown) =>
        e instanceof HakoError && e.code === Code.InvalidArgument && /device_add: Bus 'x' not found/.test(e.message),
    );
    qmp.close();
  });

  it("times out a command that gets no reply, and keeps working", async () => {
    const { path } = await peer("silent", (cmd, sock) => {
      if (cmd.execute === "ping") sock.write(`{"return": {}, "id": ${cmd.id}}\n`);
    });
    const qmp = await QmpClient.connect(path);
    await assert.rejects(
      qmp.execute("hang", undefined, 100),
      (e: unknown) => e instanceof HakoError && e.code === Code.DeadlineExceeded,
    );
    assert.deepEqual(await qmp.execute("ping"), {});
    qmp.close();
  });

  it("fails every pending command when the peer breaks the framing", async () => {
    const { path } = await peer("garbage", (_cmd, sock) => sock.write("this is not json\n"));
    const qmp = await QmpClient.connect(path);
    await assert.rejects(qmp.execute("x"), (e: unknown) => e instanceof HakoError && e.code === Code.DataLoss);
    await qmp.closed;
    assert.ok(qmp.isClosed);
  });
});
