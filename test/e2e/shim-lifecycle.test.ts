// The shim's lifecycle under real use, through a real containerd 1.6 and ctr: no shim outlives its task when stdin
// is never opened, pods survive a containerd restart (and an exit that happened meanwhile is reported once it is
// back), a process that cannot start is answered at once with crun's reason, and the container sees its own cgroup.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { mountPointsUnder } from "../../src/runtime/host-mounts.js";
import { runDir } from "../../src/runtime/layout.js";
import {
  type Containerd,
  HAKO_RUNTIME,
  processesMatching,
  runCommand,
  startContainerdWithBusybox,
  stopAndAssertClean,
} from "../helpers/containerd.js";
import { eventually } from "../helpers/waiting.js";

const PREFIX = "lc-";

/** This file's VMs, share daemons and shims (those of sandboxes whose id starts with `id`). */
const ours = (address: string, id = PREFIX) =>
  new RegExp(
    `qemu-system-x86_64 .*-name sandbox-${id}|virtiofsd.*shared/${id}|containerd-shim-hako-v2 .*${address}.* -id ${id}`,
  );
const ourProcesses = (address: string, id = PREFIX) => processesMatching(ours(address, id));

describe("shim lifecycle through containerd", () => {
  let containerd: Containerd;
  let image: string;

  before(async () => {
    ({ containerd, image } = await startContainerdWithBusybox());
  });

  after(() => stopAndAssertClean(containerd, ours(containerd.address), `/${PREFIX}`));

  const ctrNullStdin = (args: string[], timeoutMs?: number) => containerd.ctrWithoutStdin(args, timeoutMs);
  const runArgs = (mode: "--rm" | "-d", id: string, extra: string[] = []) => {
    containerd.track(id);
    return ["run", mode, "--snapshotter", containerd.snapshotter, "--runtime", HAKO_RUNTIME, ...extra, image, id];
  };
  const taskStatus = (id: string) => containerd.taskStatus(id);

  test("no shim is left when stdin is never opened (--rm, and detached + kill + delete)", async () => {
    const rm = await ctrNullStdin([...runArgs("--rm", `${PREFIX}null-rm`), "true"]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.ok(
      await eventually(() => ourProcesses(containerd.address, `${PREFIX}null-rm`).length === 0, 10_000),
      "shim left",
    );

    const id = `${PREFIX}null-d`;
    const d = await ctrNullStdin([...runArgs("-d", id), "sleep", "1000"]);
    assert.equal(d.code, 0, d.stderr);
    assert.equal((await containerd.ctr(["task", "kill", "-s", "SIGKILL", id])).code, 0);
    assert.ok(await eventually(async () => (await taskStatus(id)) === "STOPPED", 15_000), "task not stopped");
    assert.equal((await containerd.ctr(["task", "delete", id])).code, 0);
    assert.equal((await containerd.ctr(["container", "rm", id])).code, 0);
    assert.ok(await eventually(() => ourProcesses(containerd.address, id).length === 0, 10_000), "shim left");
  });

  test("a containerd restart keeps pods running; an exit while it was down is reported once it is back", async () => {
    const a = `${PREFIX}restart-a`;
    const b = `${PREFIX}restart-b`;
    assert.equal((await ctrNullStdin([...runArgs("-d", a), "sleep", "1000"])).code, 0);
    const rb = await ctrNullStdin([...runArgs("-d", b), "sh", "-c", "sleep 3; exit 3"]);
    assert.equal(rb.code, 0, rb.stderr);
    const logOffset = statSync(containerd.logPath).size;
    // b exits while containerd is down: its exit can only reach containerd after the restart.
    await containerd.restart(() => sleep(6000));

    assert.equal(await taskStatus(a), "RUNNING", (await containerd.ctr(["task", "ls"])).stdout);
    assert.equal(await taskStatus(b), "STOPPED");
    const forwarded = async () =>
      /msg="event forwarded".*topic=\/tasks\/exit/.test((await readFile(containerd.logPath, "utf8")).slice(logOffset));
    assert.ok(await eventually(forwarded, 15_000), "containerd never received b's /tasks/exit after its restart");

    const exec = await containerd.ctr(["task", "exec", "--exec-id", "e1", a, "sh", "-c", "echo after-restart"]);
    assert.equal(exec.code, 0, exec.stderr);
    assert.equal(exec.stdout, "after-restart\n");

    const events = spawn("ctr", ["--address", containerd.address, "events"], { stdio: ["ignore", "pipe", "ignore"] });
    let seen = "";
    events.stdout.on("data", (d: Buffer) => {
      seen += d.toString();
    });
    try {
      await sleep(500);
      assert.equal((await containerd.ctr(["task", "kill", "-s", "SIGKILL", a])).code, 0);
      assert.ok(await eventually(() => seen.includes("/tasks/exit") && seen.includes(a), 15_000), `events: ${seen}`);
    } finally {
      events.kill();
    }
    for (const id of [a, b]) {
      const del = await containerd.ctr(["task", "delete", id]);
      assert.equal(del.code, 0, del.stderr);
      assert.equal((await containerd.ctr(["container", "rm", id])).code, 0);
    }
    assert.ok(await eventually(() => ourProcesses(containerd.address, `${PREFIX}restart`).length === 0, 10_000));
  });

  test("a process that cannot start is answered at once with crun's reason, and leaves nothing behind", async () => {
    const id = `${PREFIX}execfail`;
    assert.equal((await ctrNullStdin([...runArgs("-d", id), "sleep", "1000"])).code, 0);
    const cases: { name: string; flags: string[]; cmd: string[]; reason: RegExp }[] = [
      {
        name: "missing binary",
        flags: [],
        cmd: ["/no/such/cmd"],
        reason: /\/no\/such\/cmd.*(no such file|not found)/i,
      },
      { name: "not on PATH", flags: [], cmd: ["nosuchcmd"], reason: /nosuchcmd.*(not found|no such file)/i },
      { name: "not executable", flags: [], cmd: ["/etc/passwd"], reason: /\/etc\/passwd.*permission denied/i },
      { name: "bad cwd", flags: ["--cwd", "/nonexistent"], cmd: ["true"], reason: /\/nonexistent|chdir/i },
      { name: "detached", flags: ["-d"], cmd: ["/no/such/cmd"], reason: /\/no\/such\/cmd/ },
    ];
    let n = 0;
    for (const c of cases) {
      const r = await ctrNullStdin(["task", "exec", ...c.flags, "--exec-id", `e${++n}`, id, ...c.cmd], 30_000);
      assert.notEqual(r.code, 0, `${c.name}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, c.reason, c.name);
      assert.ok(r.ms < 15_000, `${c.name}: answered after ${r.ms} ms`);
    }
    // With a terminal: ctr needs one of its own, as a user at a shell has.
    const ctr = ["ctr", "--address", containerd.address, "-n", containerd.namespace, "task", "exec", "-t"];
    const tty = await runCommand("script", ["-qfec", `${ctr.join(" ")} --exec-id et ${id} /no/such/cmd`, "/dev/null"], {
      timeoutMs: 30_000,
    });
    assert.notEqual(tty.code, 0, tty.stdout + tty.stderr);
    assert.match(tty.stdout + tty.stderr, /\/no\/such\/cmd/);
    assert.ok(tty.ms < 15_000, `-t: answered after ${tty.ms} ms`);

    // An init that cannot start fails its `ctr run` (crun checks the binary at `crun create`, so Create fails) and
    // leaves neither its sandbox nor its shim. (A missing cwd is no failure for an init: crun, like runc, makes it.)
    const initId = `${PREFIX}initfail`;
    const init = await ctrNullStdin([...runArgs("--rm", initId), "/no/such/init"], 60_000);
    assert.notEqual(init.code, 0, init.stdout);
    assert.match(init.stderr, /\/no\/such\/init/);
    assert.ok(await eventually(() => ourProcesses(containerd.address, initId).length === 0, 15_000), "init: shim left");
    await containerd.ctr(["container", "rm", initId]);

    // Nothing half-made: the container holds its init only, and a good exec still runs.
    const ps = await containerd.ctr(["task", "ps", id]);
    assert.equal(ps.stdout.trim().split("\n").length, 2, ps.stdout);
    const ok = await containerd.ctr(["task", "exec", "--exec-id", "ok", id, "sh", "-c", "echo still-fine"]);
    assert.equal(ok.stdout, "still-fine\n", ok.stderr);
    assert.equal((await containerd.ctr(["task", "kill", "-s", "SIGKILL", id])).code, 0);
    assert.ok(await eventually(async () => (await taskStatus(id)) === "STOPPED", 15_000));
    assert.equal((await containerd.ctr(["task", "delete", id])).code, 0);
    assert.equal((await containerd.ctr(["container", "rm", id])).code, 0);
  });

  test("the container sees its own cgroup: memory.max, cpu.max and pids.max at /sys/fs/cgroup, read-only", async () => {
    const script = [
      "cat /proc/self/cgroup",
      "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max",
      "mkdir /sys/fs/cgroup/x 2>/dev/null && echo writable || echo read-only",
    ].join("; ");
    const r = await ctrNullStdin([
      ...runArgs("--rm", `${PREFIX}cgroup`, ["--memory-limit", "67108864", "--cpus", "1.5"]),
      "sh",
      "-c",
      script,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "0::/\n67108864\n150000 100000\nmax\nread-only\n");
  });

  /** This sandbox's QEMU, virtiofsd and mounts: what a crash must not leave behind. */
  const leftovers = async (id: string): Promise<string[]> => [
    ...processesMatching(new RegExp(`qemu-system-x86_64 .*-name sandbox-${id} |virtiofsd.*shared/${id} `)),
    ...(await mountPointsUnder(join(runDir(), "shared", id))),
  ];
  const shimPid = (id: string): number | undefined => {
    const line = processesMatching(new RegExp(`containerd-shim-hako-v2 .*${containerd.address}.* -id ${id} `))[0];
    return line ? Number(line.split(" ")[0]) : undefined;
  };

  test("a shim SIGKILLed under a running task: containerd's clean-up leaves no QEMU, virtiofsd or mount", async () => {
    const id = `${PREFIX}shimkill`;
    assert.equal((await ctrNullStdin([...runArgs("-d", id), "sleep", "1000"])).code, 0);
    const pid = shimPid(id);
    assert.ok(pid, "the pod's shim runs");
    assert.ok((await leftovers(id)).length > 0, "the sandbox runs");
    process.kill(pid, "SIGKILL");
    assert.ok(
      await eventually(async () => (await leftovers(id)).length === 0, 20_000),
      (await leftovers(id)).join("\n"),
    );
    assert.ok(await eventually(async () => (await taskStatus(id)) !== "RUNNING", 10_000), "task still RUNNING");
    await containerd.ctr(["task", "delete", id]);
    assert.equal((await containerd.ctr(["container", "rm", id])).code, 0);
    assert.ok(!existsSync(join(runDir(), id)), `state of ${id} is left`);
  });

  test("virtiofsd SIGKILLed: the task is reported exited and delete is clean", async () => {
    const id = `${PREFIX}fskill`;
    assert.equal((await ctrNullStdin([...runArgs("-d", id), "sleep", "1000"])).code, 0);
    const daemon = processesMatching(new RegExp(`virtiofsd.*shared/${id} `))[0];
    assert.ok(daemon, "virtiofsd runs");
    process.kill(Number(daemon.split(" ")[0]), "SIGKILL");
    assert.ok(await eventually(async () => (await taskStatus(id)) === "STOPPED", 20_000), "task not reported exited");
    const del = await containerd.ctr(["task", "delete", id]);
    assert.equal(del.code, 0, del.stderr);
    assert.equal((await containerd.ctr(["container", "rm", id])).code, 0);
    assert.ok(
      await eventually(async () => (await leftovers(id)).length === 0, 10_000),
      (await leftovers(id)).join("\n"),
    );
    assert.ok(await eventually(() => shimPid(id) === undefined, 10_000), "the shim is left");
  });
});
