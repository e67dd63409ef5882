// End to end through Debian's docker 20.10: a private dockerd (own data-root, exec-root, socket, pidfile, containerd;
// no bridge, no iptables) in a network namespace of the test's own, with hako-runtime added as runtime "hako" and
// driven by containerd's runc shim. Each `docker run` boots a VM, so checks are grouped. At the end: the runc verbs
// and flags docker used, and nothing left of any container it created.
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
  Docker,
  hakoRuntimePath,
  readCalls,
} from "../helpers/oci-engines.js";

const hostKernel = execFileSync("uname", ["-r"]).toString().trim();

describe("docker run --runtime hako", () => {
  let docker: Docker;
  const run = (args: string[], input?: string) =>
    docker.run(
      ["run", "--rm", "--runtime", "hako", "--network", "none", ...args],
      input === undefined ? {} : { input },
    );

  before(async () => {
    docker = await Docker.start({ runtime: hakoRuntimePath() });
  });

  after(async () => {
    const calls = readCalls(docker.callLog);
    process.stderr.write(
      `[oci-runtime] docker called:\n${callShapes(calls)
        .map((s) => `  ${s}\n`)
        .join("")}`,
    );
    await docker.stop();
    assert.ok(calls.length > 0, "hako-runtime's calls were recorded");
    await assertNothingLeft(calls);
  });

  test("uname -r prints the guest kernel; the exit status comes back", async () => {
    const r = await run([BUSYBOX, "sh", "-c", "uname -r; exit 7"]);
    assert.equal(r.code, 7, r.stderr);
    const kernel = r.stdout.trim();
    assert.match(kernel, /^\d+\.\d+\.\d+/);
    assert.notEqual(kernel, hostKernel);
  });

  test("--init: docker-init (tini) is PID 1, bind-mounted through the share; the exit status comes back", async () => {
    const r = await run(["--init", BUSYBOX, "sh", "-c", 'cat /proc/1/cmdline | tr "\\0" " "; exit 5']);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stdout, /^\/sbin\/docker-init -- sh -c /);
  });

  test("a command that does not exist exits 127, as with runc", async () => {
    const r = await run([BUSYBOX, "/not-here"]);
    assert.equal(r.code, 127, r.stderr);
    assert.match(r.stderr, /executable file not found/);
  });

  test("-i: stdin reaches the process", async () => {
    const r = await run(["-i", BUSYBOX, "sh", "-c", "cat; echo END"], "from stdin\n");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "from stdin\nEND\n");
  });

  test("-v read/write and -m 64m", async () => {
    const vol = mkdtempSync("/tmp/hako-docker-vol-");
    try {
      writeFileSync(join(vol, "in"), "from-host\n");
      const script =
        'cat /data/in; echo from-guest > /data/out; cat "/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/memory.max"';
      const r = await run(["-v", `${vol}:/data`, "-m", "64m", BUSYBOX, "sh", "-c", script]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `from-host\n${64 * 1024 * 1024}\n`);
      assert.equal(readFileSync(join(vol, "out"), "utf8"), "from-guest\n");
    } finally {
      rmSync(vol, { recursive: true, force: true });
    }
  });

  test("a detached container: exec, stop with a trapped SIGTERM, rm", async () => {
    const name = "hako-detached";
    const loop = 'trap "echo last-words; exit 0" TERM; echo started; while true; do sleep 0.2; done';
    const d = await docker.run([
      "run",
      "-d",
      "--runtime",
      "hako",
      "--network",
      "none",
      "--name",
      name,
      BUSYBOX,
      "sh",
      "-c",
      loop,
    ]);
    assert.equal(d.code, 0, d.stderr);
    const e = await docker.run(["exec", name, "sh", "-c", "echo from-exec; exit 5"]);
    assert.equal(e.code, 5, e.stderr);
    assert.equal(e.stdout, "from-exec\n");
    // docker sends every resource, the unchanged ones as 0 (memory limit, kernel memory): only the CPU limit changes.
    const u = await docker.run(["update", "--cpus", "0.5", name]);
    assert.equal(u.code, 0, u.stderr);
    const cg = 'cg="/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)"; cat "$cg/cpu.max" "$cg/memory.max"';
    const limits = await docker.run(["exec", name, "sh", "-c", cg]);
    assert.equal(limits.stdout, "50000 100000\nmax\n", limits.stderr);
    // docker reads the cgroup of the pid hako-runtime gave it: the stand-in's, moved into the pod's (the VM's).
    await assertSaneStats((args) => docker.run(args), name);
    const stop = await docker.run(["stop", "--time", "20", name]);
    assert.equal(stop.code, 0, stop.stderr);
    const exited = await docker.run(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name]);
    assert.equal(exited.stdout.trim(), "exited 0");
    const logs = await docker.run(["logs", name]);
    assert.equal(logs.stdout, "started\nlast-words\n");
    assert.equal((await docker.run(["rm", name])).code, 0);
  });
});
