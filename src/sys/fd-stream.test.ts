// The fd-backed Duplex (used for AF_VSOCK), exercised over an AF_UNIX socket pair.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { test } from "node:test";
import { FdStream } from "./fd-stream.js";
import { socketPair } from "./socket.js";

function collect(s: FdStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on("data", (b: Buffer) => parts.push(b));
  return new Promise((resolve, reject) => {
    s.once("end", () => resolve(Buffer.concat(parts)));
    s.once("error", reject);
  });
}

test("8 MiB each way over a socket pair, intact, with half-close as end of stream", async () => {
  const [a, b] = socketPair();
  const left = new FdStream(a);
  const right = new FdStream(b);
  const one = randomBytes(8 * 1024 * 1024);
  const two = randomBytes(8 * 1024 * 1024);
  const gotRight = collect(right);
  const gotLeft = collect(left);
  left.end(one);
  right.end(two);
  const [r, l] = await Promise.all([gotRight, gotLeft]);
  const sha = (x: Buffer) => createHash("sha256").update(x).digest("hex");
  assert.equal(sha(r), sha(one));
  assert.equal(sha(l), sha(two));
  left.destroy();
  right.destroy();
});

test("a destroyed peer ends the other side's stream", async () => {
  const [a, b] = socketPair();
  const left = new FdStream(a);
  const right = new FdStream(b);
  const ended = collect(right);
  left.write("last words");
  await new Promise((r) => setTimeout(r, 20));
  left.destroy();
  assert.equal((await ended).toString(), "last words");
  right.destroy();
});
