// The crun driver: its reading of crun's JSON log, and the bound on a call.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Code, HakoError } from "../../common/errors.js";
import { silentLogger } from "../../common/log.js";
import { Crun, lastCrunMessage } from "./crun.js";
import { crunErrorCode } from "./crun-errors.js";
import { Reaper } from "./reaper.js";

test("the last message of crun's JSON log is the error", () => {
  const log = [
    '{"msg": "starting", "level": "debug", "time": "x"}',
    '{"msg": "open `/run/x/rootfs`: No such file or directory", "level": "error", "time": "x"}',
    "",
  ].join("\n");
  assert.equal(lastCrunMessage(log), "open `/run/x/rootfs`: No such file or directory");
  assert.equal(lastCrunMessage(""), undefined);
  assert.equal(lastCrunMessage("plain text failure\n"), "plain text failure");
});

test("a crun call that hangs is killed after its bound and answers DeadlineExceeded", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hako-crun-"));
  try {
    const stuck = join(dir, "crun");
    writeFileSync(stuck, "#!/bin/sh\nexec sleep 30\n");
    chmodSync(stuck, 0o755);
    const crun = new Crun(
      { binary: stuck, root: dir, logDir: dir, timeoutMs: 300 },
      new Reaper(silentLogger),
      silentLogger,
    );
    const t0 = Date.now();
    await assert.rejects(
      crun.kill("c1", 9, false),
      (err) => err instanceof HakoError && err.code === Code.DeadlineExceeded,
    );
    assert.ok(Date.now() - t0 < 5000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("crun's message text maps to a code by the one table; anything else is Internal", () => {
  assert.equal(crunErrorCode("container `c1` does not exist"), Code.NotFound);
  assert.equal(crunErrorCode("open executable: No such file or directory"), Code.NotFound);
  assert.equal(crunErrorCode("container `c1` already exists"), Code.AlreadyExists);
  assert.equal(crunErrorCode("open executable: Permission denied"), Code.PermissionDenied);
  assert.equal(crunErrorCode("the container `c1` is not running"), Code.FailedPrecondition);
  assert.equal(crunErrorCode("mount `proc` to `/proc`: Operation not permitted"), Code.Internal);
});

test("start releases a created init through crun's exec fifo, and leaves the rest to crun start", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hako-crun-"));
  try {
    const calls = join(dir, "calls");
    const fake = join(dir, "crun");
    writeFileSync(fake, `#!/bin/sh\necho "$@" >> ${calls}\n`);
    chmodSync(fake, 0o755);
    const crun = new Crun({ binary: fake, root: dir, logDir: dir }, new Reaper(silentLogger), silentLogger);
    // What `crun create` leaves: the fifo in the container's state directory, held open for reading by the init.
    mkdirSync(join(dir, "c1"));
    const fifo = join(dir, "c1", "exec.fifo");
    execFileSync("mkfifo", [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      await crun.start("c1");
      const byte = Buffer.alloc(2);
      assert.equal(readSync(reader, byte), 1, "the init reads one byte");
      assert.equal(byte[0], 0);
      assert.ok(!existsSync(fifo), "the fifo is gone, so crun's state says running");
      assert.ok(!existsSync(calls), "crun was not started");
    } finally {
      closeSync(reader);
    }
    // No fifo (or no reader): crun start runs and reports for itself. Poststart hooks: crun start too.
    await crun.start("c2");
    mkdirSync(join(dir, "c3"));
    execFileSync("mkfifo", [join(dir, "c3", "exec.fifo")]);
    const reader3 = openSync(join(dir, "c3", "exec.fifo"), constants.O_RDONLY | constants.O_NONBLOCK);
    await crun.start("c3", { poststartHooks: true });
    closeSync(reader3);
    assert.ok(existsSync(join(dir, "c3", "exec.fifo")), "with poststart hooks the fifo is crun's to release");
    const lines = readFileSync(calls, "utf8").trim().split("\n");
    assert.deepEqual(
      lines.map((l) => l.split(" ").slice(-2).join(" ")),
      ["start c2", "start c3"],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
