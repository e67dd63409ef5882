// Sandbox.restore against fakes: a sandbox whose owner "died" (its agent connection cut, nothing torn down) is taken
// over from its state file by a new Sandbox: the same VM (FakeHypervisor.attach), the same guest (a new connection
// to the same FakeAgent), the containers and processes with their statuses, pids and exits, exits still to come
// watched again, and everything working from there: exec, kill, delete, stop. Runs without root.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { AgentApi } from "../agent/api/agent-api.js";
import { ProcessStatus } from "../agent/api/process-status.js";
import type { FakeAgent } from "../agent/client/fake-agent.js";
import { Code, HakoError } from "../common/errors.js";
import { silentLogger } from "../common/log.js";
import type { OciProcess } from "../oci/spec.js";
import { fakeBackend } from "./fake-backend.js";
import { FakeHostMounts } from "./fake-host-mounts.js";
import { Sandbox, type SandboxEvents } from "./sandbox.js";
import { readSandboxState } from "./sandbox-state.js";

const root = mkdtempSync(join(tmpdir(), "hako-restore-spec-"));
const runRoot = join(root, "run");
after(() => rmSync(root, { recursive: true, force: true }));

const proc = (args: string[]): OciProcess => ({ user: { uid: 0, gid: 0 }, args, cwd: "/" });

/**
 * A connection to the fake guest that can be cut, as a dead owner's is: after cut() nothing reaches its caller
 * any more (a dead process hears nothing), while the guest goes on.
 */
function connection(guest: FakeAgent): { api: AgentApi; cut(): void } {
  let dead = false;
  const never = new Promise<never>(() => {});
  const api = new Proxy(guest, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (dead) return never;
        const out = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(out instanceof Promise)) return out;
        return out.then(
          (v) => (dead ? never : v),
          (e) => (dead ? never : Promise.reject(e)),
        );
      };
    },
  });
  return {
    api,
    cut: () => {
      dead = true;
    },
  };
}

/** p, or a failure naming what did not happen within a second (a lost exit watch would hang otherwise). */
function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within a second`)), 1000);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function recorder() {
  const exited: string[] = [];
  const events: SandboxEvents = {
    exited: (c, p, e) => void exited.push(`${c.id}/${p.execId}:${e.status}`),
    oom: () => {},
    vmDied: () => {},
  };
  return { exited, events };
}

/** The creation options every owner here shares. */
const common = (mounts: FakeHostMounts) => ({
  logger: silentLogger,
  events: recorder().events,
  vcpus: 1,
  memoryMiB: 256,
  runRoot,
  mounts,
});

describe("Sandbox.restore", () => {
  test("takes over VM, guest, containers and processes; exec, kill, delete and stop work from there", async () => {
    const { backend, made } = fakeBackend(runRoot);
    const mounts = new FakeHostMounts();
    let first: { api: AgentApi; cut(): void } | undefined;
    const owner = await Sandbox.create({
      id: "sb-r",
      namespace: "spec",
      backend: {
        ...backend,
        dialAgent: async (vm, log) => {
          first = connection((await backend.dialAgent(vm, log)) as FakeAgent);
          return first.api;
        },
      },
      ...common(mounts),
      hotplug: true,
    });
    const guest = made.agents[0] as FakeAgent;
    mkdirSync(join(root, "b", "rootfs"), { recursive: true });
    const spec = { ociVersion: "1.0.2", process: proc(["sleep", "inf"]), root: { path: "rootfs" } };
    await owner.createContainer({ id: "c1", bundle: join(root, "b"), spec, rootfs: [] });
    const init = await owner.start("c1", "");
    const running = owner.addExec("c1", "long", proc(["sleep", "inf"]));
    await owner.start("c1", "long");
    const done = owner.addExec("c1", "done", proc(["exit", "3"]));
    await owner.start("c1", "done");
    await done.exited;
    owner.addExec("c1", "later", proc(["echo", "later"]));
    await owner.update("c1", { memory: { limit: 512 * 1024 * 1024 } });
    await owner.persist();

    // The owner dies: its connection goes quiet, nothing of the sandbox is torn down.
    first?.cut();
    const state = await readSandboxState(owner.paths.stateFile);
    assert.ok(state);
    const { exited, events } = recorder();
    const sandbox = await Sandbox.restore(state, {
      backend: { ...backend, dialAgent: async () => connection(guest).api },
      logger: silentLogger,
      events,
      runRoot,
      mounts,
    });

    assert.equal(sandbox.vm, made.vms[0], "the same VM, attached");
    assert.deepEqual(sandbox.size, owner.size, "the grown size");
    assert.equal(sandbox.phases["vm-started"], owner.phases["vm-started"]);
    assert.ok((sandbox.phases.restored ?? 0) >= (owner.phases["container-started"] ?? 0));
    const c = sandbox.container("c1");
    assert.deepEqual(c.hostMounts, owner.container("c1").hostMounts);
    const view = (execId: string) => {
      const p = c.process(execId);
      return [p.status, p.pid, p.exitInfo?.status];
    };
    assert.deepEqual(view(""), [ProcessStatus.Running, init.pid, undefined]);
    assert.deepEqual(view("long"), [ProcessStatus.Running, running.pid, undefined]);
    assert.deepEqual(view("done"), [ProcessStatus.Stopped, done.pid, 3]);
    assert.deepEqual(view("later"), [ProcessStatus.Created, 0, undefined]);

    // c1's recorded limits still count: a second container's 256 MiB goes on top of c1's 512 (256 + 512 + 256).
    assert.deepEqual(sandbox.size, { vcpus: 1, memoryMiB: 768 });
    await sandbox.createContainer({ id: "c2", bundle: join(root, "b"), spec, rootfs: [] });
    await sandbox.update("c2", { memory: { limit: 256 * 1024 * 1024 } });
    assert.deepEqual(sandbox.size, { vcpus: 1, memoryMiB: 1024 });
    await sandbox.delete("c2", "");

    // An exec added before the take-over starts now; a new one works too.
    await sandbox.start("c1", "later");
    assert.equal((await within(c.process("later").exited, "the started exec's exit")).status, 0);
    const fresh = sandbox.addExec("c1", "fresh", proc(["echo", "hello"]));
    await sandbox.start("c1", "fresh");
    assert.equal(new TextDecoder().decode((await sandbox.readStdout("c1", "fresh", 100)) ?? undefined), "hello\n");
    // An exit still to come is watched by the new owner.
    await sandbox.kill("c1", "long", 9, false);
    assert.equal((await within(c.process("long").exited, "the watched exec's exit")).status, 137);
    await sandbox.kill("c1", "", 15, false);
    assert.equal((await within(c.init.exited, "the watched init's exit")).status, 143);
    assert.deepEqual(exited.sort(), ["c1/:143", "c1/fresh:0", "c1/later:0", "c1/long:137"]);
    assert.ok(fresh.exitInfo);

    const persisted = await readSandboxState(sandbox.paths.stateFile);
    assert.equal(persisted?.phases.restored, sandbox.phases.restored, "the new owner persists");
    await sandbox.delete("c1", "");
    assert.deepEqual(await mounts.mountPointsUnder(join(sandbox.paths.sharedDir, "c1")), []);
    await sandbox.stop();
    assert.equal(made.vms[0]?.state, "stopped");
    assert.deepEqual(await mounts.mountPointsUnder(sandbox.paths.sharedDir), []);
    assert.equal(await readSandboxState(sandbox.paths.stateFile), undefined);
  });

  test("a state without a VM handle, or whose VM is gone, cannot be restored", async () => {
    const { backend, made } = fakeBackend(runRoot);
    const mounts = new FakeHostMounts();
    const s = await Sandbox.create({
      id: "sb-gone",
      namespace: "spec",
      backend,
      ...common(mounts),
    });
    const state = s.state();
    const options = { backend, logger: silentLogger, events: recorder().events, runRoot, mounts };
    const { handle: _, ...old } = state.vm ?? { pid: 0, accelerator: "", consoleLog: "", vcpus: 1, memoryMiB: 1 };
    await assert.rejects(Sandbox.restore({ ...state, vm: old }, options), (err: unknown) => {
      assert.ok(err instanceof HakoError);
      assert.equal(Code[err.code], "FailedPrecondition");
      assert.match(err.message, /sb-gone: its state names no VM to attach to/);
      return true;
    });
    made.vms[0]?.crash();
    await assert.rejects(Sandbox.restore(state, options), { code: Code.FailedPrecondition });
    await s.stop();
  });
});
