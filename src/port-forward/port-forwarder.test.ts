// The forwarder with the fake agent, whose "guest" ports are this host's loopback: a client of the forwarder reaches
// a server through openPort/readPort/writePort, half closes travel both ways, a refused guest port resets the client
// (containerd then reports an error), a large transfer arrives whole, connections beyond the cap are reset, and
// close() ends live connections and their guest side.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { FakeAgent } from "../agent/client/fake-agent.js";
import { silentLogger } from "../common/log.js";
import { PortForwarder } from "./port-forwarder.js";

async function listenLoopback(onConnection: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, onConnection);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const addr = server.address();
  return { server, port: typeof addr === "object" && addr ? addr.port : 0 };
}

/** Connects to the forwarder, sends `input` (then half closes unless told not to), collects what comes back. */
function exchange(port: number, input: Buffer | string, halfClose = true) {
  const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  socket.on("data", (c: Buffer) => chunks.push(c));
  const ended = new Promise<{ data: Buffer; error?: string }>((resolve) => {
    socket.on("error", (err: NodeJS.ErrnoException) => resolve({ data: Buffer.concat(chunks), error: err.code ?? "" }));
    socket.on("end", () => resolve({ data: Buffer.concat(chunks) }));
  });
  socket.write(input);
  if (halfClose) socket.end();
  return { socket, ended };
}

describe("PortForwarder with the fake agent", () => {
  const agent = new FakeAgent();
  let echo: { server: Server; port: number };
  let target = 0;
  let forwarder: PortForwarder;

  before(async () => {
    // Echoes, upper-cased, and ends after its input ended: the answer must travel after the client's half close.
    echo = await listenLoopback((s) => {
      s.on("data", (c: Buffer) => s.write(c.toString("latin1").toUpperCase(), "latin1"));
      s.on("end", () => s.end("<eof>"));
    });
    forwarder = await PortForwarder.listen(undefined, { guest: agent, log: silentLogger, targetPort: () => target });
  });

  after(async () => {
    await forwarder.close();
    echo.server.close();
  });

  it("carries bytes both ways and passes the client's half close to the guest server", async () => {
    target = echo.port;
    const { ended } = exchange(forwarder.port, "hello through the guest");
    const r = await ended;
    assert.equal(r.error, undefined);
    assert.equal(r.data.toString(), "HELLO THROUGH THE GUEST<eof>");
    for (let i = 0; i < 50 && agent.ports.size > 0; i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(agent.ports.size, 0, "the guest connection is closed");
    assert.ok(agent.calls.includes("closeWritePort") && agent.calls.includes("closePort"));
  });

  it("moves 8 MiB from the guest whole and in order", async () => {
    const blob = randomBytes(8 * 1024 * 1024);
    const big = await listenLoopback((s) => s.end(blob));
    try {
      target = big.port;
      const r = await exchange(forwarder.port, "").ended;
      assert.equal(r.data.length, blob.length);
      const digest = (b: Buffer) => createHash("sha256").update(b).digest("hex");
      assert.equal(digest(r.data), digest(blob));
    } finally {
      big.server.close();
    }
  });

  it("resets the client when nothing listens on the guest port", async () => {
    const gone = await listenLoopback(() => {});
    await new Promise((r) => gone.server.close(r));
    target = gone.port;
    const r = await exchange(forwarder.port, "anyone?", false).ended;
    assert.equal(r.error, "ECONNRESET");
    assert.equal(r.data.length, 0);
  });

  it("resets connections beyond its cap while the others go on", async () => {
    target = echo.port;
    const capped = await PortForwarder.listen(undefined, {
      guest: agent,
      log: silentLogger,
      targetPort: () => target,
      maxConnections: 1,
    });
    try {
      const first = exchange(capped.port, "one", false);
      await once(first.socket, "data");
      const second = await exchange(capped.port, "two", false).ended;
      assert.equal(second.error, "ECONNRESET");
      first.socket.end();
      assert.equal((await first.ended).data.toString(), "ONE<eof>");
    } finally {
      await capped.close();
    }
  });

  it("close() ends the live connections and their guest side", async () => {
    target = echo.port;
    const { socket, ended } = exchange(forwarder.port, "ping", false);
    await once(socket, "data");
    assert.equal(forwarder.connections, 1);
    await forwarder.close();
    await ended;
    assert.equal(forwarder.connections, 0);
    assert.equal(agent.ports.size, 0);
  });
});
