// Pull-style stdio: order, end of stream, aborted long polls, and the bound on what the agent buffers.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { PassThrough, Readable } from "node:stream";
import { test } from "node:test";
import { OUTPUT_BUFFER_BYTES, PullReader, pipeStdio } from "./stdio.js";

test("reads return what was written, in order, at most max bytes, then null", async () => {
  const src = new PassThrough();
  const r = new PullReader(src);
  src.write("hello ");
  src.write("world");
  src.end();
  const got: string[] = [];
  for (;;) {
    const b = await r.read(4);
    if (b === null) break;
    assert.ok(b.length >= 1 && b.length <= 4);
    got.push(b.toString());
  }
  assert.equal(got.join(""), "hello world");
  assert.equal(await r.read(4), null);
});

test("concurrent reads are answered in order and none is lost", async () => {
  const src = new PassThrough();
  const r = new PullReader(src);
  const reads = [r.read(1), r.read(1), r.read(1)];
  src.write("abc");
  src.end();
  assert.deepEqual(
    (await Promise.all(reads)).map((b) => b?.toString()),
    ["a", "b", "c"],
  );
});

test("an aborted long poll rejects and leaves the data for the next read", async () => {
  const src = new PassThrough();
  const r = new PullReader(src);
  const ac = new AbortController();
  const pending = r.read(10, ac.signal);
  ac.abort(new Error("deadline"));
  await assert.rejects(pending, /deadline/);
  src.end("later");
  assert.equal((await r.read(10))?.toString(), "later");
});

test("a stream that ends empty reads as null", async () => {
  assert.equal(await new PullReader(Readable.from([])).read(10), null);
});

test("a writer faster than its reader fills the pipe, not the agent's memory", async () => {
  const stdio = pipeStdio(false);
  const total = 32 * 1024 * 1024;
  const child = spawn("head", ["-c", String(total), "/dev/zero"], { stdio: ["ignore", stdio.childFds[1], "ignore"] });
  stdio.releaseChildFds();
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(stdio.stdout.buffered <= OUTPUT_BUFFER_BYTES + 256 * 1024, `buffered ${stdio.stdout.buffered}`);
  assert.equal(child.exitCode, null, "the writer is blocked on the full pipe");
  let got = 0;
  for (;;) {
    const b = await stdio.stdout.read(1024 * 1024);
    if (b === null) break;
    got += b.length;
  }
  assert.equal(got, total);
  stdio.destroy();
});
