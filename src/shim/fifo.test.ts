// Specs for fifo.ts: non-blocking opens of both ends, completion when the peer appears, cancellation, no thread held.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, readdirSync, readSync, rmSync, writeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, HakoError } from "../common/errors.js";
import { endOfWriters, openFifoReader, openFifoWriter } from "./fifo.js";

const dir = mkdtempSync(join(tmpdir(), "hako-fifo-"));
let seq = 0;
function fifo(): string {
  const path = join(dir, `f${++seq}`);
  execFileSync("mkfifo", [path]);
  return path;
}

const openFds = () => readdirSync("/proc/self/fd").length;

function readAll(sock: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    sock.on("data", (d: Buffer) => {
      text += d.toString();
    });
    sock.once("end", () => resolve(text));
    sock.once("error", reject);
  });
}

describe("fifo", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("a reader opens at once and sees data and end of file only once a writer came and went", async () => {
    const path = fifo();
    const reader = await openFifoReader(path);
    const text = readAll(reader);
    let settled = false;
    void text.then(() => {
      settled = true;
    });
    await sleep(100);
    assert.equal(settled, false, "no writer yet: no end of file");
    const w = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    writeSync(w, "hello\n");
    closeSync(w);
    assert.equal(await text, "hello\n");
  });

  test("data written before reading starts is kept (the reader holds the fifo open)", async () => {
    const path = fifo();
    const reader = await openFifoReader(path);
    const w = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    writeSync(w, "early\n");
    closeSync(w);
    await sleep(50);
    assert.equal(await readAll(reader), "early\n");
  });

  test("endOfWriters ends a reader that never saw a writer; buffered bytes come first", async () => {
    const empty = fifo();
    const r1 = await openFifoReader(empty);
    const t1 = readAll(r1);
    endOfWriters(empty);
    assert.equal(await t1, "");
    const full = fifo();
    const r2 = await openFifoReader(full);
    // A writer that is still open when the client's close is announced: bytes it wrote are still read.
    const w = openSync(full, constants.O_WRONLY | constants.O_NONBLOCK);
    writeSync(w, "kept\n");
    closeSync(w);
    endOfWriters(full);
    assert.equal(await readAll(r2), "kept\n");
    endOfWriters(join(dir, "missing"));
  });

  test("a writer completes when the reader appears, and data passes", async () => {
    const path = fifo();
    const pending = openFifoWriter(path);
    await sleep(120);
    const r = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = await pending;
    await new Promise<void>((resolve) => writer.end("out\n", resolve));
    const buf = Buffer.alloc(16);
    const n = readSync(r, buf);
    closeSync(r);
    assert.equal(buf.subarray(0, n).toString(), "out\n");
  });

  test("a pending writer is cancelled by its signal and leaves no fd open", async () => {
    const path = fifo();
    const before = openFds();
    const ac = new AbortController();
    const pending = openFifoWriter(path, { signal: ac.signal });
    await sleep(50);
    ac.abort();
    await assert.rejects(pending, (err) => err instanceof HakoError && err.code === Code.Cancelled);
    assert.equal(openFds(), before);
  });

  test("a missing fifo is NotFound for both ends", async () => {
    const missing = join(dir, "missing");
    await assert.rejects(openFifoReader(missing), (err) => err instanceof HakoError && err.code === Code.NotFound);
    await assert.rejects(openFifoWriter(missing), (err) => err instanceof HakoError && err.code === Code.NotFound);
  });

  test("many opens waiting for peers do not stall file operations", async () => {
    const acs = Array.from({ length: 40 }, () => new AbortController());
    // More than libuv's whole thread pool (4 by default, 16 in the shim).
    const pending = acs.map((ac) => openFifoWriter(fifo(), { signal: ac.signal }).catch(() => {}));
    const readers = await Promise.all(Array.from({ length: 40 }, () => openFifoReader(fifo())));
    const t0 = Date.now();
    await readFile("/proc/self/status");
    assert.ok(Date.now() - t0 < 1000, "a file read completed while the opens wait");
    for (const ac of acs) ac.abort();
    await Promise.all(pending);
    for (const r of readers) r.destroy();
  });

  test("a process with a stdin fifo nobody ever opens exits at once", async () => {
    const path = fifo();
    const script = `
      const { openFifoReader, openFifoWriter } = await import(${JSON.stringify(new URL("./fifo.ts", import.meta.url).href)});
      const r = await openFifoReader(${JSON.stringify(path)});
      r.resume();
      const ac = new AbortController();
      openFifoWriter(${JSON.stringify(path)} + "-none", { signal: ac.signal }).catch(() => {});
      setTimeout(() => process.exit(0), 100);
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.once("exit", (c, s) => resolve([c, s])),
    );
    clearTimeout(timer);
    assert.deepEqual([code, signal], [0, null], "the process hung on its fifo and was killed");
  });
});
