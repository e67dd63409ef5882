// The fake agent behaves like the real one where runtime tests depend on it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, HakoError } from "../../common/errors.js";
import type { OciSpec } from "../../oci/spec.js";
import { FakeAgent } from "./fake-agent.js";

const spec = (args: string[], terminal = false): OciSpec => ({
  ociVersion: "1.0.2",
  process: { terminal, user: { uid: 0, gid: 0 }, args, cwd: "/" },
  root: { path: "/rootfs" },
});

async function readAll(agent: FakeAgent, cid: string, execId: string): Promise<string> {
  let out = "";
  for (;;) {
    const b = await agent.readStdout(cid, execId, 3);
    if (b === null) return out;
    out += Buffer.from(b).toString();
  }
}

test("cat echoes stdin and exits 0 when stdin closes", async () => {
  const a = new FakeAgent();
  await a.createContainer({ containerId: "c", spec: spec(["cat"]), storages: [] });
  await a.startContainer("c");
  assert.equal(await a.writeStdin("c", "", Buffer.from("hello")), 5);
  const reading = readAll(a, "c", "");
  await a.closeStdin("c", "");
  assert.equal(await reading, "hello");
  assert.equal(await a.waitProcess("c", ""), 0);
});

test("a long-running process exits with 128 + signal, seen by every waiter", async () => {
  const a = new FakeAgent();
  await a.createContainer({ containerId: "c", spec: spec(["sleep", "inf"]), storages: [] });
  const { pid } = await a.startContainer("c");
  assert.deepEqual(await a.listProcesses("c"), [pid]);
  const waits = [a.waitProcess("c", ""), a.waitProcess("c", "")];
  await a.signalProcess("c", "", 15);
  assert.deepEqual(await Promise.all(waits), [143, 143]);
  assert.deepEqual(await a.listProcesses("c"), []);
});

test("execs follow the container's state; echo and exit codes", async () => {
  const a = new FakeAgent();
  await a.createContainer({ containerId: "c", spec: spec(["sleep", "inf"]), storages: [] });
  await assert.rejects(
    a.execProcess("c", "e", { user: { uid: 0, gid: 0 }, cwd: "/", args: ["true"] }),
    isCode(Code.FailedPrecondition),
  );
  await a.startContainer("c");
  await a.execProcess("c", "e", { user: { uid: 0, gid: 0 }, cwd: "/", args: ["echo", "hi", "there"] });
  assert.equal(await readAll(a, "c", "e"), "hi there\n");
  await a.execProcess("c", "x", { user: { uid: 0, gid: 0 }, cwd: "/", args: ["exit", "3"] });
  assert.equal(await a.waitProcess("c", "x"), 3);
  await assert.rejects(
    a.execProcess("c", "x", { user: { uid: 0, gid: 0 }, cwd: "/", args: ["true"] }),
    isCode(Code.AlreadyExists),
  );
});

test("pause blocks signals but SIGKILL; resume needs a paused container", async () => {
  const a = new FakeAgent();
  await a.createContainer({ containerId: "c", spec: spec(["sleep", "inf"]), storages: [] });
  await a.startContainer("c");
  await a.pauseContainer("c");
  await assert.rejects(a.pauseContainer("c"), isCode(Code.FailedPrecondition));
  await a.signalProcess("c", "", 15);
  await a.resumeContainer("c");
  await assert.rejects(a.resumeContainer("c"), isCode(Code.FailedPrecondition));
  await a.signalProcess("c", "", 9);
  assert.equal(await a.waitProcess("c", ""), 137);
});

test("unknown ids are NotFound; terminals resize; OOM events queue", async () => {
  const a = new FakeAgent();
  await assert.rejects(a.startContainer("nope"), isCode(Code.NotFound));
  await a.createContainer({ containerId: "t", spec: spec(["sh"], true), storages: [] });
  await a.resizeTty("t", "", 30, 100);
  assert.deepEqual(a.ttySize("t", ""), { rows: 30, cols: 100 });
  a.injectOom("t");
  assert.equal(await a.getOomEvent(), "t");
  a.close();
  await a.closed;
  await assert.rejects(a.check(), isCode(Code.Unavailable));
});

function isCode(code: Code) {
  return (err: unknown) => err instanceof HakoError && err.code === code;
}
