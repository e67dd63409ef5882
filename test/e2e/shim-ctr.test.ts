// End to end through a real containerd 1.6 and ctr: containers run in hako VMs (QEMU, the built guest image, the
// agent, crun). Each `ctr run` boots a VM, so checks are grouped to keep the number of boots small.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadConfig } from "../../src/config/index.js";
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

const hostKernel = execFileSync("uname", ["-r"]).toString().trim();

/** This file's VMs, share daemons and shims (other suites may run their own at the same time). */
const ourProcesses = (address: string) =>
  new RegExp(`qemu-system-x86_64 .*-name sandbox-shim-|virtiofsd.*shared/shim-|containerd-shim-hako-v2 .*${address}`);

describe("ctr run through containerd-shim-hako-v2", () => {
  let containerd: Containerd;
  let image: string;

  before(async () => {
    ({ containerd, image } = await startContainerdWithBusybox());
  });

  after(() => stopAndAssertClean(containerd, ourProcesses(containerd.address), "/shim-"));

  const run = (id: string, cmd: string[], opts: { extra?: string[]; input?: string } = {}) =>
    containerd.run(HAKO_RUNTIME, image, `shim-${id}`, cmd, { timeoutMs: 120_000, ...opts });

  /** `ctr task ls` until it shows the task STOPPED or ms have passed; returns the listing read last. */
  const taskListOnceStopped = async (id: string, ms: number): Promise<string> => {
    const deadline = Date.now() + ms;
    let ls = "";
    while (Date.now() < deadline) {
      ls = (await containerd.ctr(["task", "ls"])).stdout;
      if (new RegExp(`${id}\\s+\\d+\\s+STOPPED`).test(ls)) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    return ls;
  };

  test("guest kernel, exit code, stdout and stderr apart, 8 MB of output intact", async () => {
    const r = await run("basic", ["sh", "-c", "uname -r >&2; yes hako | head -c 8388608; exit 3"]);
    assert.equal(r.code, 3, r.stderr);
    const guestKernel = r.stderr.trim().split("\n").at(-1);
    assert.ok(guestKernel && guestKernel !== hostKernel, `guest kernel ${guestKernel} vs host ${hostKernel}`);
    // The kernel of the assets the shim boots (HAKO_CONFIG or the system's config), as their manifest records it.
    const kernel = loadConfig({}).hypervisor.qemu.kernel;
    const manifest = JSON.parse(readFileSync(join(dirname(kernel), "manifest.json"), "utf8")) as {
      kernelRelease: string;
    };
    assert.equal(guestKernel, manifest.kernelRelease);
    assert.equal(r.stdout.length, 8 * 1024 * 1024);
    const expected = createHash("sha256").update("hako\n".repeat((8 * 1024 * 1024) / 5 + 1).slice(0, 8 * 1024 * 1024));
    assert.equal(createHash("sha256").update(r.stdout).digest("hex"), expected.digest("hex"));
  });

  test("stdin, --env and --cwd", async () => {
    const r = await run("stdin", ["sh", "-c", 'cat; echo "FOO=$FOO"; pwd'], {
      extra: ["--env", "FOO=bar baz", "--cwd", "/tmp"],
      input: "hello from stdin\n",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello from stdin\nFOO=bar baz\n/tmp\n");
  });

  test("bind mount read and write, --read-only rootfs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hako-bind-"));
    try {
      writeFileSync(join(dir, "in"), "from the host\n");
      const r = await run(
        "bind",
        ["sh", "-c", "cat /data/in; echo from the guest > /data/out; touch /rootfile 2>/dev/null || echo rootfs ro"],
        { extra: ["--read-only", "--mount", `type=bind,src=${dir},dst=/data,options=rbind:rw`] },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "from the host\nrootfs ro\n");
      assert.equal(readFileSync(join(dir, "out"), "utf8"), "from the guest\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("-t gives the process a real terminal", async () => {
    const ctr = ["ctr", "--address", containerd.address, "-n", containerd.namespace, "run", "--rm", "-t"];
    const cmd = [...ctr, "--snapshotter", containerd.snapshotter, "--runtime", HAKO_RUNTIME, image, "shim-tty"];
    const r = await runCommand(
      "script",
      ["-qfec", `stty cols 91 rows 27; ${cmd.join(" ")} sh -c 'tty; sleep 1; stty size'`, "/dev/null"],
      {
        timeoutMs: 120_000,
      },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /\/dev\/pts\/\d+/);
    assert.match(r.stdout, /27 91/);
  });

  test("a detached task: exec, ps, pause/resume, metrics, memory limit, SIGTERM trapped, delete", async () => {
    const id = "shim-detached";
    const script = 'trap "echo got term; exit 7" TERM; while true; do sleep 0.2; done';
    const started = await containerd.runDetached(HAKO_RUNTIME, image, id, ["sh", "-c", script], {
      // A v1-style cgroup mount, as ctr users write it: the guest turns it into its cgroup2 mount.
      extra: [
        "--memory-limit",
        String(256 * 1024 * 1024),
        "--mount",
        "type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:noexec:nodev",
      ],
      timeoutMs: 120_000,
    });
    assert.equal(started.code, 0, started.stderr);

    const exec = await containerd.ctr(["task", "exec", "--exec-id", "e1", id, "sh", "-c", "echo exec-out; exit 5"]);
    assert.equal(exec.code, 5, exec.stderr);
    assert.equal(exec.stdout, "exec-out\n");

    // The container's own cgroup namespace: /proc/self/cgroup says "/", /sys/fs/cgroup is its own group.
    const limit = await containerd.ctr([
      "task",
      "exec",
      "--exec-id",
      "e2",
      id,
      "sh",
      "-c",
      "cat /sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/memory.max",
    ]);
    assert.equal(limit.stdout.trim(), String(256 * 1024 * 1024), limit.stderr);

    const ps = await containerd.ctr(["task", "ps", id]);
    assert.equal(ps.code, 0, ps.stderr);
    assert.ok(ps.stdout.trim().split("\n").length >= 2, ps.stdout);

    assert.equal((await containerd.ctr(["task", "pause", id])).code, 0);
    assert.match((await containerd.ctr(["task", "ls"])).stdout, new RegExp(`${id}\\s+\\d+\\s+PAUSED`));
    assert.equal((await containerd.ctr(["task", "resume", id])).code, 0);
    assert.match((await containerd.ctr(["task", "ls"])).stdout, new RegExp(`${id}\\s+\\d+\\s+RUNNING`));

    const metrics = await containerd.ctr(["task", "metrics", id]);
    assert.equal(metrics.code, 0, metrics.stderr);
    assert.match(metrics.stdout, /memory\.usage_in_bytes|memory/i);

    assert.equal((await containerd.ctr(["task", "kill", "-s", "SIGTERM", id])).code, 0);
    const ls = await taskListOnceStopped(id, 20_000);
    assert.match(ls, new RegExp(`${id}\\s+\\d+\\s+STOPPED`));
    const del = await containerd.ctr(["task", "delete", id]);
    assert.equal(del.code, 0, del.stderr);
    assert.equal((await containerd.ctr(["container", "rm", id])).code, 0);
  });

  test("SIGKILL stops a task that ignores SIGTERM; a VM killed under a task ends it and cleans up", async () => {
    const idA = "shim-sigkill";
    const idB = "shim-vmkill";
    for (const id of [idA, idB]) {
      const r = await containerd.runDetached(HAKO_RUNTIME, image, id, ["sh", "-c", "trap '' TERM; sleep 1000"], {
        timeoutMs: 120_000,
      });
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal((await containerd.ctr(["task", "kill", "-s", "SIGKILL", idA])).code, 0);

    const qemu = processesMatching(new RegExp(`qemu-system-x86_64 .*-name sandbox-${idB}`));
    assert.equal(qemu.length, 1, "one QEMU for the sandbox");
    process.kill(Number(qemu[0]?.split(" ")[0]), "SIGKILL");

    for (const id of [idA, idB]) {
      const ls = await taskListOnceStopped(id, 15_000);
      assert.match(ls, new RegExp(`${id}\\s+\\d+\\s+STOPPED`));
      assert.equal((await containerd.ctr(["task", "delete", id])).code, 0);
      assert.equal((await containerd.ctr(["container", "rm", id])).code, 0);
    }
    assert.deepEqual(processesMatching(new RegExp(`sandbox-${idB}|shared/${idB}`)), []);
    assert.deepEqual(await mountPointsUnder(join(runDir(), "shared", idB)), []);
  });

  test("a container killed by the OOM killer exits 137 and containerd sees the /tasks/oom event", async () => {
    const events = spawn("ctr", ["--address", containerd.address, "events"], { stdio: ["ignore", "pipe", "ignore"] });
    let seen = "";
    events.stdout.on("data", (d: Buffer) => {
      seen += d.toString();
    });
    try {
      const r = await run("oom", ["sh", "-c", "echo filling; tail /dev/zero"], {
        extra: ["--memory-limit", String(32 * 1024 * 1024)],
      });
      assert.equal(r.code, 137, r.stderr);
      assert.equal(r.stdout, "filling\n");
      const deadline = Date.now() + 10_000;
      while (!/\/tasks\/oom/.test(seen) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 200));
      assert.match(seen, /\/tasks\/oom .*shim-oom/);
    } finally {
      events.kill();
    }
  });

  test("three containers started in parallel all succeed", async () => {
    const results = await Promise.all([1, 2, 3].map((n) => run(`par${n}`, ["sh", "-c", `echo container ${n}`])));
    results.forEach((r, i) => {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `container ${i + 1}\n`);
    });
  });
});
