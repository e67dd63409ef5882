// The shim's Task service against a Sandbox of fakes (FakeVm, FakeAgent, a fake mount table) and a recording event
// sink: the order of a task's events, Wait answering only once the output has drained, an exec that runs only at
// Start, and a VM death reported as exits. Real fifos carry the output, as containerd's would. Runs without root.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createReadStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { create, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import type { FakeAgent } from "../agent/client/fake-agent.js";
import { silentLogger } from "../common/log.js";
import type { FakeVm } from "../hypervisor/fake-vm.js";
import type { OciProcess } from "../oci/spec.js";
import {
  CreateTaskRequestSchema,
  DeleteRequestSchema,
  ExecProcessRequestSchema,
  KillRequestSchema,
  ShutdownRequestSchema,
  StartRequestSchema,
  WaitRequestSchema,
} from "../proto/gen/containerd/task/v2/shim_pb.js";
import { fakeBackend } from "../runtime/fake-backend.js";
import { FakeHostMounts } from "../runtime/fake-host-mounts.js";
import { Sandbox } from "../runtime/sandbox.js";
import type { CallContext } from "../ttrpc/index.js";
import type { EventSink } from "./events.js";
import type { TaskEvent } from "./task-events.js";
import { TaskService } from "./task-service.js";

const root = mkdtempSync(join(tmpdir(), "hako-task-service-spec-"));
const runRoot = join(root, "run");
after(() => rmSync(root, { recursive: true, force: true }));

const ctx = { service: "", method: "", metadata: new Map(), signal: new AbortController().signal } as CallContext;
const req = <D extends DescMessage>(schema: D, init: MessageInitShape<D>) => create(schema, init);

interface Harness {
  service: TaskService;
  events: TaskEvent[];
  vm: () => FakeVm;
  agent: () => FakeAgent;
}

const open: TaskService[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.currentSandbox?.stop();
});

let seq = 0;
let bundles = 0;
function harness(onShutdown: () => void = () => {}): Harness {
  const { backend, made } = fakeBackend(runRoot);
  const events: TaskEvent[] = [];
  const sink: EventSink = { publish: (e) => void events.push(e), flush: async () => {} };
  const service = new TaskService(
    `pod${++seq}`,
    sink,
    ({ sandboxId, events }) =>
      Sandbox.create({
        id: sandboxId,
        namespace: "spec",
        backend,
        mounts: new FakeHostMounts(),
        logger: silentLogger,
        events,
        vcpus: 1,
        memoryMiB: 256,
        runRoot,
      }),
    silentLogger,
    onShutdown,
  );
  open.push(service);
  return { service, events, vm: () => made.vms[0] as FakeVm, agent: () => made.agents[0] as FakeAgent };
}

/** A bundle whose init runs args, and an empty stdout fifo for it. */
function bundle(id: string, args: string[]): { bundle: string; stdout: string } {
  const dir = join(root, "bundles", `${id}-${++bundles}`);
  mkdirSync(join(dir, "rootfs"), { recursive: true });
  const spec = { ociVersion: "1.0.2", process: { user: { uid: 0, gid: 0 }, args, cwd: "/" }, root: { path: "rootfs" } };
  writeFileSync(join(dir, "config.json"), JSON.stringify(spec));
  const stdout = join(dir, "stdout");
  execFileSync("mkfifo", [stdout]);
  return { bundle: dir, stdout };
}

function readFifo(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    createReadStream(path)
      .on("data", (d) => {
        text += d.toString();
      })
      .on("end", () => resolve(text))
      .on("error", reject);
  });
}

async function createTask(h: Harness, id: string, args: string[]): Promise<{ stdout: string }> {
  const b = bundle(id, args);
  await h.service.impl.create?.(req(CreateTaskRequestSchema, { id, bundle: b.bundle, stdout: b.stdout }), ctx);
  return b;
}

const call = {
  start: (h: Harness, id: string, execId = "") => h.service.impl.start?.(req(StartRequestSchema, { id, execId }), ctx),
  wait: (h: Harness, id: string, execId = "") => h.service.impl.wait?.(req(WaitRequestSchema, { id, execId }), ctx),
  delete: (h: Harness, id: string, execId = "") =>
    h.service.impl.delete?.(req(DeleteRequestSchema, { id, execId }), ctx),
  kill: (h: Harness, id: string, execId: string, signal: number) =>
    h.service.impl.kill?.(req(KillRequestSchema, { id, execId, signal }), ctx),
  exec: (h: Harness, id: string, execId: string, process: OciProcess) =>
    h.service.impl.exec?.(
      req(ExecProcessRequestSchema, {
        id,
        execId,
        spec: { typeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Process", value: json(process) },
      }),
      ctx,
    ),
};
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const summary = (events: TaskEvent[]) =>
  events.map((e) => ("id" in e ? `${e.type}:${e.id}` : "execId" in e ? `${e.type}:${e.execId}` : e.type));
const exitStatus = (r: unknown) => (r as { exitStatus: number }).exitStatus;

describe("TaskService", () => {
  test("Shutdown whose sandbox stop fails still ends the shim (containerd's delete cleans up after it)", async () => {
    let ended = 0;
    const h = harness(() => void ended++);
    await createTask(h, "c0", ["true"]);
    const sandbox = h.service.currentSandbox;
    assert.ok(sandbox);
    const stop = sandbox.stop.bind(sandbox);
    sandbox.stop = async () => {
      await stop();
      throw new Error("EBUSY: resource busy or locked");
    };
    await assert.rejects(
      Promise.resolve(h.service.impl.shutdown?.(req(ShutdownRequestSchema, { id: "c0", now: true }), ctx)),
      /EBUSY/,
    );
    await new Promise((r) => setImmediate(r));
    assert.equal(ended, 1);
    sandbox.stop = stop;
  });

  test("a task's events come in order: create, start, exit, delete; the output reaches its fifo", async () => {
    const h = harness();
    const { stdout } = await createTask(h, "c1", ["echo", "hello"]);
    const output = readFifo(stdout);
    const started = await call.start(h, "c1");
    assert.ok((started as { pid: number }).pid > 0);
    assert.equal(exitStatus(await call.wait(h, "c1")), 0);
    assert.equal(await output, "hello\n");
    await call.delete(h, "c1");
    assert.deepEqual(summary(h.events), ["create", "start", "exit:c1", "delete"]);
    const [created, , exited] = h.events;
    assert.equal(created?.type === "create" && created.pid, h.vm().pid, "create names the VM's pid");
    assert.equal(exited?.type === "exit" && exited.pid, (started as { pid: number }).pid);
  });

  test("Wait answers, and the exit is published, only once the output has drained", async () => {
    const h = harness();
    const { stdout } = await createTask(h, "c1", ["echo", "late reader"]);
    await call.start(h, "c1");
    let answered = false;
    const waiting = Promise.resolve(call.wait(h, "c1")).then((r) => {
      answered = true;
      return r;
    });
    // The process has exited in the guest, but nobody reads its stdout yet: its output is still on the way.
    await sleep(300);
    assert.equal(answered, false, "Wait answered before the output was delivered");
    assert.deepEqual(summary(h.events), ["create", "start"]);
    const output = await readFifo(stdout);
    assert.equal(output, "late reader\n");
    assert.equal(exitStatus(await waiting), 0);
    assert.deepEqual(summary(h.events), ["create", "start", "exit:c1"]);
  });

  test("Exec registers the process, Start runs it; its exit is reported under its exec id, delete has no event", async () => {
    const h = harness();
    await createTask(h, "c1", ["sleep", "inf"]);
    await call.start(h, "c1");
    await call.exec(h, "c1", "e1", { user: { uid: 0, gid: 0 }, args: ["exit", "3"], cwd: "/" });
    assert.ok(!h.agent().calls.includes("execProcess"), "Exec alone runs nothing in the guest");
    assert.deepEqual(summary(h.events), ["create", "start", "exec-added:e1"]);
    const started = await call.start(h, "c1", "e1");
    assert.ok(h.agent().calls.includes("execProcess"));
    assert.equal(exitStatus(await call.wait(h, "c1", "e1")), 3);
    await call.delete(h, "c1", "e1");
    const last = h.events.at(-1);
    assert.deepEqual(summary(h.events), ["create", "start", "exec-added:e1", "exec-started:e1", "exit:e1"]);
    assert.equal(last?.type === "exit" && last.pid, (started as { pid: number }).pid);
    await call.kill(h, "c1", "", 9);
    assert.equal(exitStatus(await call.wait(h, "c1")), 137);
  });

  test("when the VM dies, every started process is reported exited (137) and Wait answers", async () => {
    const h = harness();
    await createTask(h, "c1", ["sleep", "inf"]);
    await call.start(h, "c1");
    await call.exec(h, "c1", "e1", { user: { uid: 0, gid: 0 }, args: ["sleep", "inf"], cwd: "/" });
    await call.start(h, "c1", "e1");
    h.vm().crash();
    const [init, exec] = await Promise.all([call.wait(h, "c1"), call.wait(h, "c1", "e1")]);
    assert.deepEqual([exitStatus(init), exitStatus(exec)], [137, 137]);
    assert.deepEqual(summary(h.events).slice(4).sort(), ["exit:c1", "exit:e1"]);
    await call.delete(h, "c1");
    assert.equal(h.events.at(-1)?.type, "delete");
  });
});
