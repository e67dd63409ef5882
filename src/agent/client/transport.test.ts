// The agent transports: serial (unix socket), hybrid vsock handshake, vsock failure paths.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Code, HakoError } from "../../common/errors.js";
import { connectAgent } from "./transport.js";

const dir = mkdtempSync(join(tmpdir(), "hako-transport-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function listen(path: string, onConn: (s: Socket) => void): Promise<Server> {
  const server = createServer(onConn);
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

test("serial: a plain unix socket connection", async () => {
  const path = join(dir, "serial.sock");
  const server = await listen(path, (s) => s.pipe(s));
  const d = await connectAgent({ kind: "serial", path });
  d.write("ping");
  const [echo] = (await new Promise((r) => d.once("data", (b) => r([b])))) as [Buffer];
  assert.equal(echo.toString(), "ping");
  d.destroy();
  server.close();
});

test("serial: a missing socket is Unavailable", async () => {
  await assert.rejects(
    connectAgent({ kind: "serial", path: join(dir, "nothing.sock") }),
    (err) => err instanceof HakoError && err.code === Code.Unavailable,
  );
});

test("hybrid vsock: CONNECT <port>, OK, then the bytes after OK belong to the stream", async () => {
  const path = join(dir, "hv.sock");
  let asked = "";
  const server = await listen(path, (s) => {
    s.once("data", (b: Buffer) => {
      asked = b.toString();
      s.write("OK 1073741824\nEARLY");
      s.on("data", (d: Buffer) => s.write(d));
    });
  });
  const d = await connectAgent({ kind: "hybrid-vsock", path, port: 1024 });
  assert.equal(asked, "CONNECT 1024\n");
  const chunks: Buffer[] = [];
  d.on("data", (b: Buffer) => chunks.push(b));
  d.write("!");
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(Buffer.concat(chunks).toString(), "EARLY!");
  d.destroy();
  server.close();
});

test("hybrid vsock: a refusal is Unavailable", async () => {
  const path = join(dir, "hv-refuse.sock");
  const server = await listen(path, (s) => s.once("data", () => s.end("ERR no listener\n")));
  await assert.rejects(
    connectAgent({ kind: "hybrid-vsock", path, port: 1024 }),
    (err) => err instanceof HakoError && err.code === Code.Unavailable && err.message.includes("ERR"),
  );
  server.close();
});

test("vsock: a guest that is not there fails the connect within the deadline", async () => {
  // CID 3 is the first guest CID; nothing listens here (and this host may have no vsock transport at all).
  await assert.rejects(
    connectAgent({ kind: "vsock", cid: 3, port: 1024 }, { timeoutMs: 1000 }),
    (err) => err instanceof HakoError && (err.code === Code.Unavailable || err.code === Code.DeadlineExceeded),
  );
});
