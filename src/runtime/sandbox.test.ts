// The sandbox state machine against a fake VM, a fake agent and a fake host mount table: status transitions and their
// refusals, execs, VM death, persisted state and tear-down. Runs without root; nothing touches /run/hako. What the
// kernel does with the mounts asked for here (binds visible, read-only refused) is checked with real mounts in
// test/e2e/runtime-host-mounts.test.ts.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import { ProcessStatus } from "../agent/api/process-status.js";
import type { FakeAgent } from "../agent/client/fake-agent.js";
import { Code, HakoError } from "../common/errors.js";
import { createLogger, type Fields, memorySink } from "../common/log.js";
import type { FakeVm } from "../hypervisor/fake-vm.js";
import type { VmExit, VmRequest } from "../hypervisor/hypervisor.js";
import type { OciMount, OciProcess, OciSpec } from "../oci/spec.js";
import { cleanupSandbox } from "./cleanup.js";
import type { Container } from "./container.js";
import { fakeBackend } from "./fake-backend.js";
import { FakeHostMounts } from "./fake-host-mounts.js";
import type { ContainerProcess, ExitInfo } from "./process.js";
import { OOM_RETRY_MS } from "./sandbox/supervisor.js";
import { NEVER_STARTED_STATUS, Sandbox, type SandboxEvents, VM_DIED_STATUS } from "./sandbox.js";
import { readSandboxState } from "./sandbox-state.js";

const root = mkdtempSync(join(tmpdir(), "hako-sandbox-spec-"));
const runRoot = join(root, "run");
after(() => rmSync(root, { recursive: true, force: true }));

interface Recorded {
  exited: { container: string; exec: string; status: number }[];
  oom: string[];
  vmDied: VmExit[];
}

interface Harness {
  sandbox: Sandbox;
  vm: FakeVm;
  agent: FakeAgent;
  mounts: FakeHostMounts;
  events: Recorded;
  logs: () => Fields[];
  requests: VmRequest[];
}

function recorder(): { events: Recorded; sink: SandboxEvents } {
  const events: Recorded = { exited: [], oom: [], vmDied: [] };
  return {
    events,
    sink: {
      exited: (c: Container, p: ContainerProcess, exit: ExitInfo) =>
        events.exited.push({ container: c.id, exec: p.execId, status: exit.status }),
      oom: (id) => events.oom.push(id),
      vmDied: (exit) => events.vmDied.push(exit),
    },
  };
}

let seq = 0;
async function newSandbox(opts: { hotplug?: boolean; disableGuestSeccomp?: boolean } = {}): Promise<Harness> {
  const id = `sb${++seq}`;
  const { backend, made } = fakeBackend(runRoot);
  const { events, sink } = recorder();
  const logSink = memorySink();
  const mounts = new FakeHostMounts();
  const sandbox = await Sandbox.create({
    id,
    namespace: "spec",
    backend,
    logger: createLogger({ level: "info", sink: logSink }),
    events: sink,
    vcpus: 1,
    memoryMiB: 256,
    runRoot,
    mounts,
    ...opts,
  });
  return {
    sandbox,
    vm: made.vms[0] as FakeVm,
    agent: made.agents[0] as FakeAgent,
    mounts,
    events,
    logs: () => logSink.entries(),
    requests: made.requests,
  };
}

/** A bundle with a rootfs holding one file, so a test can see the bind mount through the share. */
function bundle(name: string): string {
  const dir = join(root, "bundles", name);
  mkdirSync(join(dir, "rootfs"), { recursive: true });
  writeFileSync(join(dir, "rootfs", "marker"), name);
  return dir;
}

function spec(args: string[], mounts: OciMount[] = []): OciSpec {
  return {
    ociVersion: "1.0.2",
    process: { user: { uid: 0, gid: 0 }, args, cwd: "/" },
    root: { path: "rootfs" },
    mounts: [{ destination: "/proc", type: "proc", source: "proc" }, ...mounts],
    linux: { namespaces: [{ type: "pid" }, { type: "mount" }] },
  };
}

const proc = (args: string[]): OciProcess => ({ user: { uid: 0, gid: 0 }, args, cwd: "/" });

function create(h: Harness, id: string, args = ["sleep", "inf"], mounts: OciMount[] = []) {
  return h.sandbox.createContainer({ id, bundle: bundle(id), spec: spec(args, mounts), rootfs: [] });
}

const refused = (code: Code, message: string | RegExp) => (err: unknown) => {
  assert.ok(err instanceof HakoError, `expected a HakoError, got ${String(err)}`);
  assert.equal(Code[err.code], Code[code], err.message);
  if (typeof message === "string") assert.equal(err.message, message);
  else assert.match(err.message, message);
  return true;
};

const tick = () => new Promise((r) => setImmediate(r));

async function waitUntil(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`${what}: not within a second`);
}
const state = (h: Harness) => readSandboxState(h.sandbox.paths.stateFile);
const warnings = (h: Harness) => h.logs().filter((e) => e.level === "warning" || e.level === "error");

let current: Harness[] = [];
beforeEach(() => {
  current = [];
});
afterEach(async () => {
  for (const h of current) await h.sandbox.stop();
});
async function sandbox(opts: { hotplug?: boolean; disableGuestSeccomp?: boolean } = {}): Promise<Harness> {
  const h = await newSandbox(opts);
  current.push(h);
  return h;
}

describe("Sandbox.create", () => {
  test("a clone of a smaller VM template is grown to the sandbox's size before CreateSandbox answers", async () => {
    const { backend, made } = fakeBackend(runRoot);
    made.hypervisor.cloneAt = { vcpus: 1, memoryMiB: 512 };
    const sandbox = await Sandbox.create({
      id: `sb${++seq}`,
      namespace: "spec",
      backend,
      logger: createLogger({ level: "info", sink: memorySink() }),
      events: recorder().sink,
      vcpus: 3,
      memoryMiB: 700,
      runRoot,
      mounts: new FakeHostMounts(),
    });
    try {
      const vm = made.vms[0] as FakeVm;
      const agent = made.agents[0] as FakeAgent;
      assert.deepEqual([vm.vcpus, vm.memoryMiB], [3, 768]);
      assert.deepEqual(
        vm.calls.filter((c) => c.startsWith("hotplug")),
        ["hotplugVcpus 3", "hotplugMemory 188"],
      );
      assert.equal(agent.calls.filter((c) => c === "onlineCpuMem").length, 2, "vCPUs and memory onlined");
      await sandbox.persist();
      const persisted = JSON.parse(readFileSync(sandbox.paths.stateFile, "utf8")) as {
        vm: { vcpus: number; memoryMiB: number };
      };
      assert.deepEqual(
        [persisted.vm.vcpus, persisted.vm.memoryMiB],
        [3, 768],
        "the size it has (whole 128 MiB blocks), recorded",
      );
    } finally {
      await sandbox.stop();
    }
  });

  test("a VM started at the requested size is not grown", async () => {
    const h = await sandbox();
    assert.deepEqual(
      h.vm.calls.filter((c) => c.startsWith("hotplug")),
      [],
    );
  });

  test("boots the VM, prepares the guest and persists its state", async () => {
    const h = await sandbox();
    const { id, paths } = h.sandbox;
    assert.deepEqual(h.requests, [
      { sandboxId: id, sharedDir: paths.sharedDir, stateRoot: runRoot, vcpus: 1, memoryMiB: 256, mayGrow: false },
    ]);
    assert.equal(h.agent.sandboxId, id);
    assert.ok(h.agent.calls.includes("createSandbox"));
    assert.deepEqual(await h.mounts.mountPointsUnder(paths.sharedDir), [paths.sharedDir], "the share is a mount point");
    const s = await state(h);
    assert.ok(s, `no state at ${paths.stateFile}`);
    assert.equal(s.id, id);
    assert.equal(s.namespace, "spec");
    assert.equal(s.ownerPid, process.pid);
    assert.equal(s.vm?.pid, h.vm.pid);
    assert.deepEqual(s.vm?.handle, h.vm.persistable(), "what Hypervisor.attach() needs is persisted");
    assert.deepEqual(s.containers, []);
    assert.ok((s.phases["sandbox-created"] ?? -1) >= 0);
    assert.deepEqual(warnings(h), []);
  });

  test("a failing step undoes the earlier ones and names the sandbox", async () => {
    const { backend, made } = fakeBackend(runRoot, {
      dialAgent: async () => {
        throw new Error("agent never answered");
      },
    });
    const { sink } = recorder();
    const mounts = new FakeHostMounts();
    await assert.rejects(
      Sandbox.create({
        id: "sb-fail",
        namespace: "spec",
        backend,
        logger: createLogger({ level: "error", sink: memorySink() }),
        events: sink,
        vcpus: 1,
        memoryMiB: 256,
        runRoot,
        mounts,
      }),
      refused(Code.Internal, "creating sandbox sb-fail: agent never answered"),
    );
    assert.equal(made.vms[0]?.state, "stopped");
    assert.ok(made.vms[0]?.calls.includes("stop"));
    assert.deepEqual(await mounts.mountPointsUnder(join(runRoot, "shared", "sb-fail")), []);
    assert.ok(!existsSync(join(runRoot, "shared", "sb-fail")));
    assert.ok(!existsSync(join(runRoot, "sb-fail")));
  });

  test("a rollback step that fails is logged by name, and the steps after it still run", async () => {
    const { backend, made } = fakeBackend(runRoot, {
      dialAgent: async () => {
        throw new Error("agent never answered");
      },
    });
    const prepare = made.hypervisor.prepare.bind(made.hypervisor);
    made.hypervisor.prepare = async (req) => {
      const prepared = await prepare(req);
      const start = async () => {
        const vm = await prepared.start();
        vm.stop = async () => {
          throw new HakoError(Code.Internal, "qemu would not quit");
        };
        return vm;
      };
      return { guestStorages: prepared.guestStorages, start, abort: () => prepared.abort() };
    };
    const mounts = new FakeHostMounts();
    const shared = join(runRoot, "shared", "sb-undo");
    mounts.busy.add(shared);
    const logs = memorySink();
    await assert.rejects(
      Sandbox.create({
        id: "sb-undo",
        namespace: "spec",
        backend,
        logger: createLogger({ level: "error", sink: logs }),
        events: recorder().sink,
        vcpus: 1,
        memoryMiB: 256,
        runRoot,
        mounts,
      }),
      refused(Code.Internal, "creating sandbox sb-undo: agent never answered"),
    );
    assert.equal(made.vms.length, 1);
    const failed = logs
      .entries()
      .filter((e) => e.msg === "rollback step failed; it may have left something behind")
      .map((e) => [e.step, (e.err as Fields).message]);
    assert.deepEqual(failed, [
      ["stop the VM", "qemu would not quit"],
      ["unmount and remove the shared directory", `cannot unmount ${shared}: target is busy`],
    ]);
  });
});

describe("container lifecycle", () => {
  test("create, start, kill, delete: statuses, events, mounts and persisted state follow", async () => {
    const h = await sandbox();
    const c = await create(h, "c1");
    assert.equal(c.status, ProcessStatus.Created);
    const rootfs = join(h.sandbox.paths.sharedDir, "c1", "rootfs");
    assert.deepEqual(
      h.mounts.at(rootfs),
      {
        target: rootfs,
        source: join(root, "bundles", "c1", "rootfs"),
        type: "bind",
        readonly: false,
        options: ["bind"],
      },
      "the bundle's rootfs is bound into the share",
    );
    assert.deepEqual(
      (await state(h))?.containers.map((x) => [x.id, x.status]),
      [["c1", "created"]],
    );

    const p = await h.sandbox.start("c1", "");
    assert.equal(p.status, ProcessStatus.Running);
    assert.ok(p.pid > 0);
    const persisted = (await state(h))?.containers[0];
    assert.deepEqual(persisted && [persisted.status, persisted.pid], ["running", p.pid]);
    assert.deepEqual(persisted?.hostMounts, [rootfs]);

    for (const bad of [0, 65, 999]) {
      await assert.rejects(
        h.sandbox.kill("c1", "", bad, false),
        refused(Code.InvalidArgument, new RegExp(`^signal ${bad} is not a signal number`)),
      );
    }
    assert.equal(p.status, ProcessStatus.Running);
    await h.sandbox.kill("c1", "", 15, false);
    const exit = await p.exited;
    assert.equal(exit.status, 128 + 15);
    assert.equal(c.status, ProcessStatus.Stopped);
    assert.deepEqual(h.events.exited, [{ container: "c1", exec: "", status: 143 }]);
    await waitUntil(
      async () => (await state(h))?.containers[0]?.status === "stopped",
      "the exit reaching the state file",
    );

    const { pid, exit: reported } = await h.sandbox.delete("c1", "");
    assert.equal(pid, p.pid);
    assert.equal(reported?.status, 143);
    assert.ok(h.agent.calls.includes("removeContainer"));
    assert.deepEqual(await h.mounts.mountPointsUnder(join(h.sandbox.paths.sharedDir, "c1")), []);
    assert.ok(!existsSync(join(h.sandbox.paths.sharedDir, "c1")));
    assert.equal(readFileSync(join(root, "bundles", "c1", "rootfs", "marker"), "utf8"), "c1", "host files survive");
    assert.deepEqual((await state(h))?.containers, []);
    assert.throws(
      () => h.sandbox.container("c1"),
      refused(Code.NotFound, `container c1 not found in sandbox ${h.sandbox.id}`),
    );
    assert.deepEqual(warnings(h), []);
  });

  test("the sandbox's own container, deleted last, is left to the VM's stop; others are removed from the guest", async () => {
    const h = await sandbox();
    const own = h.sandbox.id;
    await create(h, own, ["true"]);
    await create(h, "side", ["true"]);
    await h.sandbox.delete(own, "");
    assert.equal(h.agent.calls.filter((c) => c === "removeContainer").length, 1, "not last: removed in the guest");
    await create(h, own, ["true"]);
    await h.sandbox.delete("side", "");
    assert.equal(h.agent.calls.filter((c) => c === "removeContainer").length, 2);
    await h.sandbox.delete(own, "");
    assert.equal(h.agent.calls.filter((c) => c === "removeContainer").length, 2, "last: no guest round trip");
    assert.deepEqual((await state(h))?.containers, []);
  });

  test("refusals: start twice, pause a created container, delete a running one, resume a running one", async () => {
    const h = await sandbox();
    await create(h, "run");
    await create(h, "new");
    await h.sandbox.start("run", "");
    await assert.rejects(
      h.sandbox.start("run", ""),
      refused(Code.FailedPrecondition, "cannot start container run: it is running"),
    );
    await assert.rejects(
      h.sandbox.pause("new"),
      refused(Code.FailedPrecondition, "cannot pause container new: it is created"),
    );
    await assert.rejects(
      h.sandbox.delete("run", ""),
      refused(Code.FailedPrecondition, "cannot delete container run: it is running"),
    );
    await assert.rejects(
      h.sandbox.resume("run"),
      refused(Code.FailedPrecondition, "cannot resume container run: it is running"),
    );
    await assert.rejects(
      create(h, "run"),
      refused(Code.AlreadyExists, `container run already exists in sandbox ${h.sandbox.id}`),
    );
    await assert.rejects(h.sandbox.start("ghost", ""), refused(Code.NotFound, /container ghost not found/));
    // Nothing of the refused calls reached the agent.
    assert.equal(h.agent.calls.filter((c) => c === "startContainer").length, 1);
    assert.ok(!h.agent.calls.includes("pauseContainer"));
    assert.ok(!h.agent.calls.includes("removeContainer"));
  });

  test("concurrent creates and starts all end up in the persisted state", async () => {
    const h = await sandbox();
    const ids = ["k1", "k2", "k3", "k4"];
    await Promise.all(ids.map((id) => create(h, id)));
    await Promise.all(ids.map((id) => h.sandbox.start(id, "")));
    const s = await state(h);
    assert.deepEqual(
      s?.containers.map((x) => `${x.id}:${x.status}`).sort(),
      ids.map((id) => `${id}:running`),
    );
    assert.deepEqual(warnings(h), []);
  });

  test("a created container can be deleted without ever starting", async () => {
    const h = await sandbox();
    await create(h, "idle");
    const { pid, exit } = await h.sandbox.delete("idle", "");
    assert.equal(pid, 0);
    assert.equal(exit, undefined);
    assert.equal(h.sandbox.containers.size, 0);
    assert.deepEqual(await h.mounts.mountPointsUnder(join(h.sandbox.paths.sharedDir, "idle")), []);
  });

  test("pause and resume, with exec refused while paused", async () => {
    const h = await sandbox();
    const c = await create(h, "p1");
    await h.sandbox.start("p1", "");
    await h.sandbox.pause("p1");
    assert.equal(c.status, ProcessStatus.Paused);
    assert.equal((await state(h))?.containers[0]?.status, "paused");
    assert.throws(
      () => h.sandbox.addExec("p1", "e1", proc(["true"])),
      refused(Code.FailedPrecondition, "cannot exec container p1: it is paused"),
    );
    await h.sandbox.resume("p1");
    assert.equal(c.status, ProcessStatus.Running);
    assert.equal((await state(h))?.containers[0]?.status, "running");
  });

  test("an exit seen while a pause or start is answered is not undone by it", async () => {
    const h = await sandbox();
    const c = await create(h, "racy");
    await h.sandbox.start("racy", "");
    const pause = h.agent.pauseContainer.bind(h.agent);
    h.agent.pauseContainer = async (id) => {
      await pause(id);
      // The container dies (SIGKILL reaches a frozen process) before the pause reply is handled.
      await h.agent.signalProcess(id, "", 9);
      await c.init.exited;
    };
    await h.sandbox.pause("racy");
    assert.equal(c.status, ProcessStatus.Stopped);
    await h.sandbox.delete("racy", "");

    const d = await create(h, "racy2");
    const start = h.agent.startContainer.bind(h.agent);
    h.agent.startContainer = async (id) => {
      const info = await start(id);
      h.vm.crash();
      await d.init.exited;
      return info;
    };
    await h.sandbox.start("racy2", "");
    assert.equal(d.status, ProcessStatus.Stopped, "the VM died before start returned");
    await h.sandbox.delete("racy2", "");
  });

  test("kill of an exited process is NotFound", async () => {
    const h = await sandbox();
    await create(h, "quick", ["true"]);
    const p = await h.sandbox.start("quick", "");
    assert.equal((await p.exited).status, 0);
    await assert.rejects(
      h.sandbox.kill("quick", "", 9, false),
      refused(Code.NotFound, "process quick has already exited"),
    );
  });

  test("a bind-mounted host directory appears in the share, read-only when asked, and survives delete", async () => {
    const h = await sandbox();
    const data = join(root, "host-data");
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, "keep"), "precious");
    await create(
      h,
      "vol",
      ["sleep", "inf"],
      [
        { destination: "/data", type: "bind", source: data, options: ["rbind", "rw"] },
        { destination: "/ro", type: "bind", source: data, options: ["rbind", "ro"] },
      ],
    );
    const rw = join(h.sandbox.paths.sharedDir, "vol", "mounts", "1-host-data");
    const ro = join(h.sandbox.paths.sharedDir, "vol", "mounts", "2-host-data");
    assert.deepEqual(
      [h.mounts.at(rw), h.mounts.at(ro)].map((m) => m && [m.source, m.readonly]),
      [
        [data, false],
        [data, true],
      ],
    );
    await h.sandbox.delete("vol", "");
    assert.deepEqual(await h.mounts.mountPointsUnder(join(h.sandbox.paths.sharedDir, "vol")), []);
    assert.equal(readFileSync(join(data, "keep"), "utf8"), "precious", "removing the share left the source alone");
  });

  test("an agent failure at create releases the host mounts it made", async () => {
    const h = await sandbox();
    h.agent.createContainer = async () => {
      throw new HakoError(Code.InvalidArgument, "guest refused the spec");
    };
    const data = join(root, "host-data-2");
    mkdirSync(data, { recursive: true });
    await assert.rejects(
      create(h, "bad", ["true"], [{ destination: "/data", type: "bind", source: data, options: ["rbind"] }]),
      refused(Code.InvalidArgument, "guest refused the spec"),
    );
    assert.deepEqual(await h.mounts.mountPointsUnder(join(h.sandbox.paths.sharedDir, "bad")), []);
    assert.ok(!existsSync(join(h.sandbox.paths.sharedDir, "bad")));
    assert.equal(h.sandbox.containers.size, 0);
    assert.ok(existsSync(data));
  });

  test("disable_guest_seccomp drops the container's seccomp profile before the guest; off, it reaches the guest", async () => {
    for (const disable of [true, false]) {
      const h = await sandbox({ disableGuestSeccomp: disable });
      const sent: (OciSpec | undefined)[] = [];
      const real = h.agent.createContainer.bind(h.agent);
      h.agent.createContainer = async (req) => {
        sent.push(req.spec);
        return real(req);
      };
      const s = spec(["true"]);
      s.linux = { ...s.linux, seccomp: { defaultAction: "SCMP_ACT_ERRNO" } };
      await h.sandbox.createContainer({ id: "sec", bundle: bundle("sec"), spec: s, rootfs: [] });
      assert.equal(sent[0]?.linux?.seccomp === undefined, disable, `disable_guest_seccomp = ${disable}`);
      assert.ok(s.linux.seccomp, "the caller's spec is left alone");
    }
  });

  test("an oom event from the agent is passed on with the container id", async () => {
    const h = await sandbox();
    h.agent.injectOom("c-oom");
    for (let i = 0; i < 20 && h.events.oom.length === 0; i++) await tick();
    assert.deepEqual(h.events.oom, ["c-oom"]);
  });

  test("a failing oom poll is logged once and retried with back-off, not every second in silence", async () => {
    const saved = { ...OOM_RETRY_MS };
    Object.assign(OOM_RETRY_MS, { first: 20, max: 80 });
    try {
      const h = await sandbox();
      let polls = 0;
      h.agent.getOomEvent = async () => {
        polls++;
        throw new HakoError(Code.Internal, "cgroup events unreadable");
      };
      h.agent.injectOom("first"); // ends the poll already waiting; the next ones fail
      await new Promise((r) => setTimeout(r, 400));
      // Back-off 20, 40, 80, 80, … ms: about 6 polls in 400 ms, where a fixed 20 ms would make 20.
      assert.ok(polls >= 3 && polls <= 9, `${polls} polls`);
      assert.deepEqual(
        warnings(h).map((e) => [e.msg, (e.err as Fields | undefined)?.message]),
        [
          ["container hit its memory limit (oom kill)", undefined],
          ["oom events unavailable; retrying with back-off", "cgroup events unreadable"],
        ],
      );
    } finally {
      Object.assign(OOM_RETRY_MS, saved);
    }
  });

  test("a mount that cannot be released is logged, kept in the state, retried at stop and by clean-up", async () => {
    const h = await sandbox();
    await create(h, "c1");
    const { sharedDir, stateDir, stateFile } = h.sandbox.paths;
    const rootfs = join(sharedDir, "c1", "rootfs");
    h.mounts.busy.add(rootfs);
    await h.sandbox.delete("c1", "");
    assert.deepEqual(
      warnings(h).map((e) => [e.msg, e.path]),
      [["cannot release a container mount; it stays for clean-up to retry", rootfs]],
    );
    assert.deepEqual((await state(h))?.leftoverMounts, [rootfs]);
    assert.ok(existsSync(rootfs), "a directory with a live mount beneath it is not removed");

    await h.sandbox.stop();
    assert.ok(existsSync(stateFile), "the state stays for clean-up");
    assert.deepEqual((await readSandboxState(stateFile))?.leftoverMounts, [rootfs]);
    assert.deepEqual(await h.mounts.mountPointsUnder(sharedDir), [sharedDir, rootfs]);

    const quiet = createLogger({ sink: memorySink() });
    await assert.rejects(
      cleanupSandbox(h.sandbox.id, quiet, runRoot, h.mounts),
      refused(Code.Internal, /cannot unmount .*rootfs: target is busy.*its state stays for a retry$/),
    );
    assert.deepEqual((await readSandboxState(stateFile))?.leftoverMounts, [rootfs, sharedDir]);
    h.mounts.busy.clear();
    await cleanupSandbox(h.sandbox.id, quiet, runRoot, h.mounts);
    assert.deepEqual(await h.mounts.mountPointsUnder(sharedDir), []);
    assert.ok(!existsSync(sharedDir) && !existsSync(stateDir));
  });
});

async function readAll(read: () => Promise<Uint8Array | null>): Promise<string> {
  let out = "";
  for (let b = await read(); b !== null; b = await read()) out += Buffer.from(b).toString();
  return out;
}

describe("exec lifecycle", () => {
  test("a terminal exec resized before its start gets that size as its process starts", async () => {
    const h = await sandbox();
    await create(h, "c1");
    await h.sandbox.start("c1", "");
    h.sandbox.addExec("c1", "t1", { ...proc(["sh"]), terminal: true });
    await h.sandbox.resizeTty("c1", "t1", 30, 90);
    assert.ok(!h.agent.calls.includes("resizeTty"), "nothing in the guest to resize yet");
    await h.sandbox.start("c1", "t1");
    assert.deepEqual(h.agent.ttySize("c1", "t1"), { rows: 30, cols: 90 });
    // A resize while the start is on its way to the guest reaches the terminal once it is there.
    h.sandbox.addExec("c1", "t2", { ...proc(["sh"]), terminal: true });
    const starting = h.sandbox.start("c1", "t2");
    await h.sandbox.resizeTty("c1", "t2", 50, 120);
    await starting;
    assert.deepEqual(h.agent.ttySize("c1", "t2"), { rows: 50, cols: 120 });
    h.sandbox.addExec("c1", "p1", proc(["true"]));
    await assert.rejects(
      h.sandbox.resizeTty("c1", "p1", 30, 90),
      refused(Code.FailedPrecondition, "exec p1 of c1 has no terminal"),
    );
  });

  test("add, start, read output, exit, delete; refusals along the way", async () => {
    const h = await sandbox();
    const c = await create(h, "c1");
    await h.sandbox.start("c1", "");

    const e1 = h.sandbox.addExec("c1", "e1", proc(["echo", "hi", "there"]));
    assert.equal(e1.status, ProcessStatus.Created);
    await assert.rejects(
      h.sandbox.kill("c1", "e1", 15, false),
      refused(Code.FailedPrecondition, "exec e1 has not been started"),
    );
    assert.throws(
      () => h.sandbox.addExec("c1", "e1", proc(["true"])),
      refused(Code.AlreadyExists, "exec e1 already exists in container c1"),
    );

    await h.sandbox.start("c1", "e1");
    assert.ok(e1.pid > 0 && e1.pid !== c.init.pid);
    assert.equal(await readAll(() => h.sandbox.agent.readStdout("c1", "e1", 4096)), "hi there\n");
    assert.equal((await e1.exited).status, 0);
    assert.equal(e1.status, ProcessStatus.Stopped);
    assert.deepEqual(h.events.exited, [{ container: "c1", exec: "e1", status: 0 }]);
    await assert.rejects(h.sandbox.start("c1", "e1"), refused(Code.FailedPrecondition, "exec e1 of c1 is stopped"));
    await assert.rejects(h.sandbox.kill("c1", "e1", 9, false), refused(Code.NotFound, "process e1 has already exited"));
    const gone = await h.sandbox.delete("c1", "e1");
    assert.deepEqual([gone.pid, gone.exit?.status], [e1.pid, 0]);
    assert.throws(() => c.process("e1"), refused(Code.NotFound, "exec e1 not found in container c1"));
    assert.equal(c.status, ProcessStatus.Running, "deleting an exec leaves its container alone");
    assert.ok(!h.agent.calls.includes("removeContainer"));
  });

  test("an exec the agent cannot start is Stopped with 255, reports no exit, and can be deleted", async () => {
    const h = await sandbox();
    await create(h, "c1");
    await h.sandbox.start("c1", "");
    h.agent.execProcess = async () => {
      throw new HakoError(Code.NotFound, "crun exec failed: executable file `/no/such` not found");
    };
    const e = h.sandbox.addExec("c1", "bad", proc(["/no/such"]));
    await assert.rejects(
      h.sandbox.start("c1", "bad"),
      refused(Code.NotFound, "crun exec failed: executable file `/no/such` not found"),
    );
    assert.equal(e.status, ProcessStatus.Stopped);
    assert.equal((await e.exited).status, NEVER_STARTED_STATUS);
    assert.deepEqual(h.events.exited, []);
    assert.equal((await h.sandbox.delete("c1", "bad")).exit?.status, NEVER_STARTED_STATUS);
  });

  test("a running exec cannot be deleted; killed, it can", async () => {
    const h = await sandbox();
    await create(h, "c1");
    await h.sandbox.start("c1", "");
    const e2 = h.sandbox.addExec("c1", "e2", proc(["sleep", "inf"]));
    await h.sandbox.start("c1", "e2");
    await assert.rejects(
      h.sandbox.delete("c1", "e2"),
      refused(Code.FailedPrecondition, "exec e2 of c1 is still running"),
    );
    await h.sandbox.kill("c1", "e2", 9, false);
    assert.equal((await e2.exited).status, VM_DIED_STATUS);
    assert.equal((await h.sandbox.delete("c1", "e2")).exit?.status, 137);
  });

  test("stdin reaches the process; closing it ends cat", async () => {
    const h = await sandbox();
    await create(h, "c1");
    await h.sandbox.start("c1", "");
    const e3 = h.sandbox.addExec("c1", "e3", proc(["cat"]));
    await h.sandbox.start("c1", "e3");
    await h.sandbox.agent.writeStdin("c1", "e3", new TextEncoder().encode("ping\n"));
    await h.sandbox.agent.closeStdin("c1", "e3");
    assert.equal(await readAll(() => h.sandbox.agent.readStdout("c1", "e3", 4096)), "ping\n");
    assert.equal((await e3.exited).status, 0);
  });

  test("kill --all of the init takes the execs with it; then no more execs", async () => {
    const h = await sandbox();
    const c = await create(h, "c1");
    await h.sandbox.start("c1", "");
    const e4 = h.sandbox.addExec("c1", "e4", proc(["sleep", "inf"]));
    await h.sandbox.start("c1", "e4");
    await h.sandbox.kill("c1", "", 9, true);
    assert.equal((await c.init.exited).status, 137);
    assert.equal((await e4.exited).status, 137);
    assert.deepEqual(h.events.exited.map((e) => e.exec).sort(), ["", "e4"]);
    assert.throws(
      () => h.sandbox.addExec("c1", "e5", proc(["true"])),
      refused(Code.FailedPrecondition, "cannot exec container c1: it is stopped"),
    );
  });
});

describe("resource updates", () => {
  test("with hot-plug, the VM grows to base size + the new limits before the guest cgroup is updated", async () => {
    const h = await sandbox({ hotplug: true });
    assert.equal(h.requests[0]?.mayGrow, true, "the hypervisor is told the VM may be given vCPUs after its start");
    await create(h, "c1");
    await h.sandbox.start("c1", "");
    await h.sandbox.update("c1", { cpu: { quota: 150000, period: 100000 }, memory: { limit: 300 * 1024 * 1024 } });
    assert.deepEqual(h.sandbox.size, { vcpus: 3, memoryMiB: 256 + 384 });
    const order = h.agent.calls.filter((c) => c === "onlineCpuMem" || c === "updateContainer");
    assert.deepEqual(order, ["onlineCpuMem", "onlineCpuMem", "updateContainer"]);
    assert.deepEqual(
      h.agent.onlined,
      [
        { nbCpus: 2, cpuOnly: true },
        { nbCpus: 0, cpuOnly: false },
      ],
      "the agent is told how many CPUs were plugged, to wait for them",
    );
    assert.deepEqual((await state(h))?.vm?.vcpus, 3);
    // A smaller update leaves the VM as it is (nothing is unplugged).
    await h.sandbox.update("c1", { cpu: { quota: 50000, period: 100000 } });
    assert.equal(h.sandbox.size.vcpus, 3);
  });

  test("with hot-plug, the VM holds the sum of its containers' limits, counted from their creation", async () => {
    const h = await sandbox({ hotplug: true });
    const limited = (id: string) => {
      const s = spec(["sleep", "inf"]);
      s.linux = {
        ...s.linux,
        resources: { memory: { limit: 256 * 1024 * 1024 }, cpu: { quota: 100000, period: 100000 } },
      };
      return h.sandbox.createContainer({ id, bundle: bundle(id), spec: s, rootfs: [] });
    };
    await limited("m1");
    assert.deepEqual(h.sandbox.size, { vcpus: 2, memoryMiB: 256 + 256 });
    await limited("m2");
    assert.deepEqual(h.sandbox.size, { vcpus: 3, memoryMiB: 256 + 512 });
    // An update replaces that container's share (memory only: its CPU share stays); nothing shrinks.
    await h.sandbox.update("m1", { memory: { limit: 512 * 1024 * 1024 } });
    assert.deepEqual(h.sandbox.size, { vcpus: 3, memoryMiB: 256 + 768 });
    // A removed container's share is forgotten: a new one of 256 MiB fits without growing.
    await h.sandbox.delete("m2", "");
    await limited("m3");
    assert.deepEqual(h.sandbox.size, { vcpus: 3, memoryMiB: 256 + 768 });
  });

  test("with hot-plug, a limit beyond maxcpus is capped there with a warning, and the update still applies", async () => {
    const h = await sandbox({ hotplug: true });
    h.vm.maxVcpus = 2;
    await create(h, "c1");
    await h.sandbox.start("c1", "");
    await h.sandbox.update("c1", { cpu: { quota: 300000, period: 100000 } });
    assert.equal(h.sandbox.size.vcpus, 2);
    assert.deepEqual(h.agent.onlined, [{ nbCpus: 1, cpuOnly: true }]);
    assert.ok(h.agent.calls.includes("updateContainer"), "the guest cgroup still gets the quota");
    const warn = h.logs().find((l) => l.level === "warning" && String(l.msg).includes("no room for more vCPUs"));
    assert.equal(warn?.wanted, 4);
    // At the cap, a further update plugs nothing and asks the agent for nothing.
    await h.sandbox.update("c1", { cpu: { quota: 400000, period: 100000 } });
    assert.deepEqual(h.agent.onlined, [{ nbCpus: 1, cpuOnly: true }]);
  });

  test("under static sizing, an update only reaches the guest cgroup", async () => {
    const h = await sandbox();
    await create(h, "c1");
    await h.sandbox.start("c1", "");
    await h.sandbox.update("c1", { cpu: { quota: 400000, period: 100000 } });
    assert.deepEqual(h.sandbox.size, { vcpus: 1, memoryMiB: 256 });
    assert.ok(!h.agent.calls.includes("onlineCpuMem"));
    assert.ok(h.agent.calls.includes("updateContainer"));
  });
});

describe("VM death", () => {
  test("every started process is reported exited with 137, vmDied fires once, delete and stop still work", async () => {
    const h = await sandbox();
    const a = await create(h, "a");
    const b = await create(h, "b");
    const idle = await create(h, "idle");
    await h.sandbox.start("a", "");
    await h.sandbox.start("b", "");
    const running = h.sandbox.addExec("a", "ex", proc(["sleep", "inf"]));
    await h.sandbox.start("a", "ex");
    const unstarted = h.sandbox.addExec("b", "later", proc(["true"]));
    const before = h.agent.calls.length;

    h.vm.crash();
    const exits = await Promise.all([a.init.exited, b.init.exited, running.exited]);
    assert.deepEqual(
      exits.map((e) => e.status),
      [VM_DIED_STATUS, VM_DIED_STATUS, VM_DIED_STATUS],
    );
    assert.deepEqual(h.events.vmDied, [{ code: null, signal: "SIGKILL", requested: false }]);
    const reported = h.events.exited.map((e) => `${e.container}/${e.exec}:${e.status}`).sort();
    // The created container's init is ended too (containerd must be able to delete it); an exec never started
    // has nothing to report.
    assert.deepEqual(reported, ["a/:137", "a/ex:137", "b/:137", "idle/:137"]);
    assert.equal(unstarted.status, ProcessStatus.Created);
    assert.equal(idle.status, ProcessStatus.Stopped);
    for (const c of [a, b]) assert.equal(c.status, ProcessStatus.Stopped);

    // The agent is gone with its VM: delete must not wait on it, and must still release the host mounts.
    for (const id of ["a", "b", "idle"]) await h.sandbox.delete(id, "");
    assert.deepEqual(
      h.agent.calls.slice(before).filter((c) => c !== "getOomEvent"),
      [],
    );
    assert.deepEqual(await h.mounts.mountPointsUnder(h.sandbox.paths.sharedDir), [h.sandbox.paths.sharedDir]);
    assert.equal(h.events.vmDied.length, 1);
  });

  test("a requested stop is not reported as a VM death", async () => {
    const h = await sandbox();
    await create(h, "a");
    await h.sandbox.start("a", "");
    await h.sandbox.stop();
    await tick();
    assert.deepEqual(h.events.vmDied, []);
  });

  test("the share daemon dying stops the VM (its containers cannot reach their files), logged as an error", async () => {
    const h = await sandbox();
    await create(h, "a");
    const p = await h.sandbox.start("a", "");
    h.vm.failShareDaemon();
    const exit = await h.vm.exited;
    assert.equal(exit.requested, true, "the runtime stopped the VM");
    assert.ok(h.vm.calls.includes("stop"));
    // A fault all the same: the started process is reported exited and vmDied fires.
    assert.equal((await p.exited).status, VM_DIED_STATUS);
    for (let i = 0; i < 20 && h.events.vmDied.length === 0; i++) await tick();
    assert.equal(h.events.vmDied.length, 1);
    const errors = h.logs().filter((e) => e.level === "error");
    assert.ok(
      errors.some((e) => /share daemon died/.test(String(e.msg))),
      JSON.stringify(errors),
    );
  });
});

describe("Sandbox.stop", () => {
  test("destroys the guest sandbox, stops the VM, removes mounts, share and state; idempotent", async () => {
    const h = await sandbox();
    const data = join(root, "host-data-stop");
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, "keep"), "kept");
    await create(h, "a", ["sleep", "inf"], [{ destination: "/data", type: "bind", source: data, options: ["rbind"] }]);
    await h.sandbox.start("a", "");
    await create(h, "b");
    const { stateDir, sharedDir, stateFile } = h.sandbox.paths;
    assert.ok(existsSync(stateFile));

    await h.sandbox.stop();
    assert.ok(h.agent.calls.includes("destroySandbox"));
    assert.equal(h.vm.state, "stopped");
    assert.deepEqual(await h.mounts.mountPointsUnder(sharedDir), []);
    assert.ok(!existsSync(sharedDir), `${sharedDir} is left`);
    assert.ok(!existsSync(stateDir), `${stateDir} is left`);
    assert.equal(readFileSync(join(data, "keep"), "utf8"), "kept");
    assert.equal(readFileSync(join(root, "bundles", "a", "rootfs", "marker"), "utf8"), "a");

    await h.sandbox.stop();
    assert.equal(h.vm.calls.filter((c) => c === "stop").length, 1);
    assert.deepEqual(h.events.vmDied, []);
    assert.deepEqual(warnings(h), []);
  });
});
