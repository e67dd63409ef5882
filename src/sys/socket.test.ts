// The raw AF_UNIX calls against the real kernel: a failed call carries the code its errno maps to and the errno's
// name; a listener accepts; a socket pair carries bytes through readFd/writeFd.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, HakoError } from "../common/errors.js";
import { closeFd, dupFd, readFd, writeFd } from "./fd.js";
import { acceptNoWait, listenUnix, socketPair } from "./socket.js";

describe("sys sockets", () => {
  it("reports a missing directory as NotFound with the errno's name", () => {
    assert.throws(
      () => listenUnix("/nonexistent-hako-dir/agent.sock"),
      (err) =>
        err instanceof HakoError &&
        err.code === Code.NotFound &&
        err.fields.errno === "ENOENT" &&
        err.message === "bind /nonexistent-hako-dir/agent.sock: ENOENT",
    );
  });

  it("refuses a path longer than sockaddr_un holds", () => {
    assert.throws(
      () => listenUnix(`/tmp/${"x".repeat(120)}`),
      (err) => err instanceof HakoError && err.code === Code.InvalidArgument,
    );
  });

  it("reports a bad descriptor as Internal (EBADF has no better code)", () => {
    assert.throws(
      () => dupFd(-1),
      (err) => err instanceof HakoError && err.code === Code.Internal && err.fields.errno === "EBADF",
    );
  });

  it("accepts a connection on a listener, and -1 while nobody waits", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hako-sys-"));
    const path = join(dir, "l.sock");
    const fd = listenUnix(path);
    try {
      assert.equal(acceptNoWait(fd), -1);
      const client = connect(path);
      await new Promise<void>((resolve, reject) => client.once("connect", resolve).once("error", reject));
      let accepted = -1;
      for (let i = 0; i < 100 && accepted < 0; i++) {
        accepted = acceptNoWait(fd);
        if (accepted < 0) await sleep(10);
      }
      assert.ok(accepted >= 0, "the connection was never accepted");
      client.write("hi");
      const buf = Buffer.alloc(8);
      let n = -1;
      for (let i = 0; i < 100 && n < 0; i++) {
        n = readFd(accepted, buf);
        if (n < 0) await sleep(10);
      }
      assert.equal(buf.subarray(0, n).toString(), "hi");
      client.destroy();
      closeFd(accepted);
    } finally {
      closeFd(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("moves bytes through a socket pair, and reads -1 when nothing is ready", () => {
    const [a, b] = socketPair();
    try {
      const buf = Buffer.alloc(16);
      assert.equal(readFd(b, buf), -1);
      assert.equal(writeFd(a, Buffer.from("ping")), 4);
      assert.equal(readFd(b, buf), 4);
      assert.equal(buf.subarray(0, 4).toString(), "ping");
      closeFd(a);
      assert.equal(readFd(b, buf), 0);
    } finally {
      closeFd(b);
    }
  });
});
