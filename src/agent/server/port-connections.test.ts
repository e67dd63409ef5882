// hako's port-forward extension end to end over a real ttrpc connection: AgentClient → HakoPortForwardService →
// PortConnections → a TCP server on this host's loopback (standing in for the guest's): bytes both ways, half close,
// a refused port as Unavailable, unknown ids, a pending read ended by ClosePort, and connections closed when the
// agent connection that reads them ends.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, type HakoError } from "../../common/errors.js";
import { silentLogger } from "../../common/log.js";
import { TtrpcServer } from "../../ttrpc/server.js";
import type { AgentClient } from "../client/agent-client.js";
import { waitForAgent } from "../client/wait-for-agent.js";
import { PortConnections } from "./port-connections.js";
import { healthService, portForwardService } from "./rpc.js";
import { HakoPortForwardService, Health } from "./wire.js";

/** A server that answers "got:<what it read>" once its input ends, then ends too. */
function replyOnEndServer(): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    const chunks: Buffer[] = [];
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("end", () => s.end(`got:${Buffer.concat(chunks).toString()}`));
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      resolve({ server, port: typeof addr === "object" && addr ? addr.port : 0, sockets });
    }),
  );
}

/** A port on loopback that nothing listens on: one a server had, and gave back. */
async function closedPort(): Promise<number> {
  const { server, port } = await replyOnEndServer();
  await new Promise((r) => server.close(r));
  return port;
}

async function readAll(client: AgentClient, id: number): Promise<string> {
  let out = "";
  for (;;) {
    const data = await client.readPort(id, 4);
    if (data === null) return out;
    assert.ok(data.length >= 1 && data.length <= 4, `a read returns 1..max bytes, got ${data.length}`);
    out += Buffer.from(data).toString();
  }
}

describe("HakoPortForwardService", () => {
  let dir = "";
  let ttrpc: TtrpcServer;
  let client: AgentClient;
  const ports = new PortConnections(silentLogger);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "hako-ports-"));
    ttrpc = new TtrpcServer();
    ttrpc.addService(Health, healthService());
    ttrpc.addService(HakoPortForwardService, portForwardService(ports));
    await ttrpc.listen(join(dir, "agent.sock"));
    client = await waitForAgent({ kind: "serial", path: join(dir, "agent.sock") }, { timeoutMs: 5000 });
  });

  after(async () => {
    client?.close();
    await ttrpc?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("carries bytes both ways; the host's half close reaches the guest server, whose answer still comes back", async () => {
    const { server, port } = await replyOnEndServer();
    try {
      const id = await client.openPort(port);
      assert.equal(await client.writePort(id, Buffer.from("hello ")), 6);
      assert.equal(await client.writePort(id, Buffer.from("port")), 4);
      await client.closeWritePort(id);
      assert.equal(await readAll(client, id), "got:hello port");
      await client.closePort(id);
      await client.closePort(id); // twice: an unknown id is not an error
      assert.equal(ports.size, 0);
    } finally {
      server.close();
    }
  });

  it("answers a refused port with Unavailable and a bad port with InvalidArgument", async () => {
    const port = await closedPort();
    await assert.rejects(client.openPort(port), (err: HakoError) => {
      assert.equal(err.code, Code.Unavailable);
      assert.match(err.message, new RegExp(`nothing listens on 127\\.0\\.0\\.1:${port}`));
      return true;
    });
    await assert.rejects(client.openPort(70000), (err: HakoError) => err.code === Code.InvalidArgument);
    assert.equal(ports.size, 0);
  });

  it("refuses writes to an unknown connection and ends a pending read when the connection is closed", async () => {
    await assert.rejects(client.writePort(4242, Buffer.from("x")), (err: HakoError) => err.code === Code.NotFound);
    const { server, port, sockets } = await replyOnEndServer();
    try {
      const id = await client.openPort(port);
      const pending = client.readPort(id, 1024);
      await client.closePort(id);
      assert.equal(await pending, null);
      // The guest-side socket is gone: the server sees its peer close.
      await new Promise((r) => (sockets[0]?.closed ? r(undefined) : sockets[0]?.once("close", r)));
      await assert.rejects(client.writePort(id, Buffer.from("x")), (err: HakoError) => err.code === Code.NotFound);
    } finally {
      server.close();
    }
  });

  it("closes a connection whose reader went away with its agent connection", async () => {
    const { server, port, sockets } = await replyOnEndServer();
    const other = await waitForAgent({ kind: "serial", path: join(dir, "agent.sock") }, { timeoutMs: 5000 });
    try {
      const id = await other.openPort(port);
      const pending = other.readPort(id, 1024);
      pending.catch(() => {});
      for (let i = 0; i < 50 && sockets.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(ports.size, 1);
      other.close(); // as a crashed shim's connection ends
      for (let i = 0; i < 250 && !sockets[0]?.closed; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(sockets[0]?.closed, true, "the guest server sees its peer close");
      assert.equal(ports.size, 0, "the guest connection went with the host's");
    } finally {
      other.close();
      server.close();
    }
  });

  it("hands out fresh ids and forgets a connection whose socket closed on both sides", async () => {
    const { server, port } = await replyOnEndServer();
    try {
      const a = await client.openPort(port);
      const b = await client.openPort(port);
      assert.notEqual(a, b);
      for (const id of [a, b]) {
        await client.closeWritePort(id);
        assert.equal(await readAll(client, id), "got:");
      }
      for (let i = 0; i < 50 && ports.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(ports.size, 0, "both connections forgotten once closed");
    } finally {
      server.close();
    }
  });
});
