// End to end through Debian's podman 4.3 (conmon) with hako-runtime as its OCI runtime: each container runs in a hako
// VM. podman is private (own storage and containers.conf, cgroupfs) and runs in a network namespace of the test's
// own. Each `podman run` boots a VM, so checks are grouped to keep boots few. At the end: the runc verbs and flags
// podman used (printed for docs/oci-runtime.md), and nothing left of any container it created.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  assertNothingLeft,
  assertSaneStats,
  BUSYBOX,
  callShapes,
  eventually,
  hakoRuntimePath,
  Podman,
} from "../helpers/oci-engines.js";

const hostKernel = execFileSync("uname", ["-r"]).toString().trim();

describe("podman run with hako-runtime", () => {
  let podman: Podman;
  const run = (args: string[], input?: string) =>
    podman.run(["run", "--rm", "--network", "none", ...args], input === undefined ? {} : { input });

  before(async () => {
    podman = await Podman.start({ runtime: hakoRuntimePath() });
  });

  after(async () => {
    const calls = podman.calls();
    process.stderr.write(
      `[oci-runtime] podman called:\n${callShapes(calls)
        .map((s) => `  ${s}\n`)
        .join("")}`,
    );
    await podman.stop();
    assert.ok(calls.length > 0, "hako-runtime's calls were recorded");
    await assertNothingLeft(calls);
  });

  test("the container runs in the VM: uname -r prints the guest kernel", async () => {
    const r = await run([BUSYBOX, "uname", "-r"]);
    assert.equal(r.code, 0, r.stderr);
    const kernel = r.stdout.trim();
    assert.match(kernel, /^\d+\.\d+\.\d+/);
    assert.notEqual(kernel, hostKernel);
  });

  test("exit status, stdout and stderr apart", async () => {
    const r = await run([BUSYBOX, "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"]);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, "to-stdout\n");
    assert.match(r.stderr, /to-stderr/);
    assert.doesNotMatch(r.stdout, /to-stderr/);
  });

  test("--init: catatonit is PID 1 (bind-mounted through the share) and the command's exit status comes back", async () => {
    const r = await run(["--init", BUSYBOX, "sh", "-c", 'cat /proc/1/cmdline | tr "\\0" " "; exit 7']);
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stdout, /^\/run\/podman-init -- sh -c /);
  });

  test("podman's default network: the VM is wired to podman's netns, the container sees eth0 with podman's address", async () => {
    const r = await podman.run(["run", "--rm", BUSYBOX, "sh", "-c", "ip -o -4 addr show eth0"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /eth0\s+inet 10\.88\.\d+\.\d+\/16/, `podman's subnet is 10.88.0.0/16: ${r.stdout}`);
  });

  test("-i: stdin reaches the process, and its end too", async () => {
    const r = await run(["-i", BUSYBOX, "sh", "-c", "cat; echo END"], "line one\nline two\n");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "line one\nline two\nEND\n");
  });

  test("-t under script: the process has a terminal of the caller's size", async () => {
    const podmanRun = `${["podman", ...podman.globals()].join(" ")} run --rm --network none -t ${BUSYBOX}`;
    const cmd = `stty rows 40 cols 100; ${podmanRun} sh -c 'tty; stty size; exit 4'`;
    const r = await podman.raw(["script", "-qec", cmd, "/dev/null"]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stdout, /\/dev\/pts\/\d+\r\n40 100\r\n/);
  });

  test("-e, -w, -u, -v read/write, -m 64m, --cpus, --hostname and --read-only in one container", async () => {
    const vol = mkdtempSync("/tmp/hako-podman-vol-");
    try {
      writeFileSync(join(vol, "in"), "from-host\n");
      const script = [
        'echo "env=$GREETING cwd=$(pwd) ids=$(id -u):$(id -g) host=$(hostname)"',
        "cat /data/in",
        "echo from-guest > /data/out",
        'cg="/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)"',
        'cat "$cg/memory.max" "$cg/cpu.max"',
        "touch /not-here 2>/dev/null && echo root-writable || echo root-read-only",
      ].join("; ");
      const flags = ["-e", "GREETING=hi", "-w", "/tmp", "-u", "0:0", "-v", `${vol}:/data`, "-m", "64m"];
      flags.push("--cpus", "1.5", "--hostname", "hk1", "--read-only");
      const r = await run([...flags, BUSYBOX, "sh", "-c", script]);
      assert.equal(r.code, 0, r.stderr);
      const expected = ["env=hi cwd=/tmp ids=0:0 host=hk1", "from-host", String(64 * 1024 * 1024), "150000 100000"];
      assert.equal(r.stdout, `${[...expected, "root-read-only"].join("\n")}\n`);
      assert.equal(readFileSync(join(vol, "out"), "utf8"), "from-guest\n");
      const u = await run(["-u", "1000:1000", BUSYBOX, "id", "-u"]);
      assert.equal(u.stdout.trim(), "1000", u.stderr);
    } finally {
      rmSync(vol, { recursive: true, force: true });
    }
  });

  test("a detached container: exec, inspect, pause/unpause, stop with a trapped SIGTERM, logs, rm", async () => {
    const name = "hako-detached";
    const loop = 'trap "echo last-words; exit 0" TERM; echo started; while true; do sleep 0.2; done';
    const d = await podman.run(["run", "-d", "--network", "none", "--name", name, BUSYBOX, "sh", "-c", loop]);
    assert.equal(d.code, 0, d.stderr);
    const status = async () => (await podman.run(["inspect", "-f", "{{.State.Status}}", name])).stdout.trim();
    assert.equal(await status(), "running");

    const e = await podman.run(["exec", name, "sh", "-c", "echo from-exec; echo exec-err >&2; exit 5"]);
    assert.equal(e.code, 5);
    assert.equal(e.stdout, "from-exec\n");
    assert.match(e.stderr, /exec-err/);
    const tty = `stty rows 30 cols 90; ${["podman", ...podman.globals()].join(" ")} exec -t ${name} sh -c 'tty; sleep 1; stty size; exit 6'`;
    // An exec runs at once: the caller's size reaches its terminal as a resize, shortly after (as conmon's does).
    const t = await podman.raw(["script", "-qec", tty, "/dev/null"]);
    assert.equal(t.code, 6, t.stderr);
    assert.match(t.stdout, /^\/dev\/pts\/\d+\r\n30 90\r\n$/);
    const killed = await podman.run(["exec", name, "sh", "-c", "kill -9 $$"]);
    assert.equal(killed.code, 137, "a SIGKILLed exec reports 128+9");

    await assertSaneStats((args) => podman.run(args), name);
    assert.equal((await podman.run(["pause", name])).code, 0);
    assert.equal(await status(), "paused");
    assert.equal((await podman.run(["unpause", name])).code, 0);
    assert.equal(await status(), "running");

    const stop = await podman.run(["stop", "--time", "20", name]);
    assert.equal(stop.code, 0, stop.stderr);
    const exited = await podman.run(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name]);
    assert.equal(exited.stdout.trim(), "exited 0", "the trapped SIGTERM ends the process with status 0");
    const logs = await podman.run(["logs", name]);
    assert.equal(logs.stdout, "started\nlast-words\n");
    assert.equal((await podman.run(["rm", name])).code, 0);
  });

  test("SIGKILL from podman kill: exit status 137", async () => {
    const name = "hako-killed";
    const d = await podman.run(["run", "-d", "--network", "none", "--name", name, BUSYBOX, "sleep", "1000"]);
    assert.equal(d.code, 0, d.stderr);
    assert.equal((await podman.run(["kill", "--signal", "KILL", name])).code, 0);
    const w = await podman.run(["wait", name]);
    assert.equal(w.stdout.trim(), "137");
    await eventually(async () => (await podman.run(["rm", name])).code === 0, 10_000, "podman rm");
  });
});
