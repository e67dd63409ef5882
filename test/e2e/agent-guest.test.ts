// hako-agent in a real guest: boots the built image in QEMU (TCG) with a virtio-fs share, once for the whole file,
// and drives the agent through the host's agent client — sandbox, containers from a busybox rootfs on the share,
// stdio, terminals, signals, pause/resume, stats, malformed requests, and a clean guest at the end.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { connect } from "node:net";
import { release, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { AgentApi } from "../../src/agent/api/agent-api.js";
import { SHARE_TAG, GUEST_SHARED_DIR as SHARED } from "../../src/agent/api/guest-contract.js";
import { waitForAgent } from "../../src/agent/client/wait-for-agent.js";
import { Code, HakoError } from "../../src/common/errors.js";
import { buildQemuArgs } from "../../src/hypervisor/qemu/cmdline/build.js";
import { kernelParams } from "../../src/hypervisor/qemu/cmdline/kernel.js";
import { buildImage } from "../../src/image/build.js";
import type { OciProcess, OciSpec } from "../../src/oci/spec.js";

const repo = resolve(fileURLToPath(import.meta.url), "../../..");
const BLOB_BYTES = 20 * 1024 * 1024;
const BUSYBOX_APPLETS = [
  "sh",
  "cat",
  "uname",
  "stty",
  "sleep",
  "ps",
  "true",
  "false",
  "echo",
  "head",
  "ls",
  "hostname",
  "tr",
];

/**
 * The agent bundled here from src/agent/server/main.ts, koffi left outside: an ES module (`.mjs`), where
 * `npm run build` makes CommonJS, so that this file also keeps the image builder's .mjs path working.
 */
async function bundleAgent(out: string): Promise<void> {
  await build({
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    legalComments: "none",
    logLevel: "warning",
    banner: {
      js: "import { createRequire as __hakoCreateRequire } from 'node:module'; const require = __hakoCreateRequire(import.meta.url);",
    },
    entryPoints: [join(repo, "src/agent/server/main.ts")],
    outfile: out,
    external: ["koffi"],
  });
}

function busyboxRootfs(dir: string): void {
  mkdirSync(join(dir, "bin"), { recursive: true });
  for (const d of ["proc", "dev", "sys", "tmp", "etc", "data"]) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, "etc/resolv.conf"), "");
  copyFileSync("/bin/busybox", join(dir, "bin/busybox"));
  chmodSync(join(dir, "bin/busybox"), 0o755);
  for (const a of BUSYBOX_APPLETS) symlinkSync("busybox", join(dir, "bin", a));
}

/** `guestNs`: no pid or uts namespace of its own, so the process sees the guest's processes and hostname. */
function containerSpec(
  containerId: string,
  args: string[],
  opts: { guestNs?: boolean; memoryLimit?: number } = {},
): OciSpec {
  const namespaces = [{ type: "ipc" }, { type: "mount" }];
  if (!opts.guestNs) namespaces.push({ type: "pid" }, { type: "uts" });
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: ["PATH=/bin", "TERM=xterm"],
      cwd: "/",
      noNewPrivileges: true,
    },
    root: { path: `${SHARED}/${containerId}/rootfs`, readonly: true },
    ...(opts.guestNs ? {} : { hostname: containerId }),
    mounts: [
      { destination: "/etc/resolv.conf", type: "bind", source: "/etc/resolv.conf", options: ["rbind", "ro"] },
      { destination: "/proc", type: "proc", source: "proc" },
      {
        destination: "/dev",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
      },
      {
        destination: "/dev/pts",
        type: "devpts",
        source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"],
      },
      { destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"] },
    ],
    linux: {
      namespaces,
      resources: {
        pids: { limit: 200 },
        ...(opts.memoryLimit ? { memory: { limit: opts.memoryLimit, swap: opts.memoryLimit } } : {}),
      },
      maskedPaths: ["/proc/kcore"],
      readonlyPaths: ["/proc/sys"],
    },
  };
}

function execSpec(args: string[], terminal = false): OciProcess {
  return { terminal, user: { uid: 0, gid: 0 }, args, env: ["PATH=/bin", "TERM=xterm"], cwd: "/" };
}

async function readAll(
  read: (max: number) => Promise<Uint8Array | null>,
  onChunk?: (b: Uint8Array) => void,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    const b = await read(1024 * 1024);
    if (b === null) return Buffer.concat(parts);
    onChunk?.(b);
    parts.push(Buffer.from(b));
  }
}

function codeOf(err: unknown): Code | undefined {
  return err instanceof HakoError ? err.code : undefined;
}

async function stopChild(child: ChildProcess | undefined, graceMs = 2000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await gone;
  clearTimeout(timer);
}

describe("hako-agent in a QEMU guest", { timeout: 15 * 60_000 }, () => {
  let work = "";
  let share = "";
  let qemu: ChildProcess | undefined;
  let virtiofsd: ChildProcess | undefined;
  let agent: AgentApi;
  let agentSock = "";
  let bootToReadyMs = 0;
  let qemuStderr = "";
  let stopping = false;
  const blob = randomBytes(BLOB_BYTES);
  /** `uname -r` of the guest kernel the image was built with (its manifest). */
  let kernelRelease = "";

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "hako-agent-e2e-"));
    share = join(work, "share");
    const assets = join(tmpdir(), "hako-agent-e2e-assets");
    const agentBundle = join(work, "hako-agent.mjs");
    await bundleAgent(agentBundle);
    kernelRelease = (await buildImage({ outputDir: assets, agent: agentBundle, ifChanged: true })).manifest
      .kernelRelease;

    for (const id of ["c1", "probe", "orphans", "oom"]) busyboxRootfs(join(share, id, "rootfs"));
    writeFileSync(join(share, "c1", "rootfs", "data", "blob"), blob);

    const vfsSock = join(work, "vfs.sock");
    agentSock = join(work, "agent.sock");
    virtiofsd = spawn(
      "/usr/lib/qemu/virtiofsd",
      [`--socket-path=${vfsSock}`, "-o", `source=${share}`, "-o", "cache=auto"],
      { stdio: "ignore" },
    );
    for (let i = 0; i < 100 && !existsSync(vfsSock); i++) await new Promise((r) => setTimeout(r, 50));
    const args = buildQemuArgs({
      id: "agent-e2e",
      machine: "q35",
      machineOptions: "",
      accel: "tcg",
      tcgTbSizeMiB: 64,
      tcgThread: "multi",
      cpuFeatures: "",
      vcpus: 1,
      maxVcpus: 1,
      memoryMiB: 512,
      maxMemoryMiB: 1024,
      memorySlots: 2,
      kernel: join(assets, "vmlinux"),
      initrd: join(assets, "hako-initrd.img"),
      kernelParams: kernelParams({ debug: true, channel: "serial", extra: [] }),
      pmem: { path: join(assets, "hako-rootfs.img"), sizeBytes: statSync(join(assets, "hako-rootfs.img")).size },
      agent: { kind: "serial", socketPath: agentSock },
      share: { kind: "virtio-fs", socketPath: vfsSock },
      consoleLogPath: join(work, "console.log"),
      qmpSocketPath: join(work, "qmp.sock"),
      nics: [],
      pcieRootPorts: 0,
    });
    const t0 = Date.now();
    qemu = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "ignore", "pipe"] });
    qemu.stderr?.on("data", (b: Buffer) => {
      if (qemuStderr.length < 16384) qemuStderr += b.toString();
    });
    qemu.once("exit", (code, signal) => {
      if (!stopping) process.stderr.write(`qemu exited early (${code ?? signal}): ${qemuStderr}\n`);
    });
    agent = await waitForAgent({ kind: "serial", path: agentSock }, { timeoutMs: 120_000 });
    bootToReadyMs = Date.now() - t0;
  });

  after(async () => {
    stopping = true;
    agent?.close();
    await stopChild(qemu);
    await stopChild(virtiofsd);
    if (process.env.HAKO_E2E_KEEP_CONSOLE && work) {
      process.stderr.write(readFileSync(join(work, "console.log"), "utf8").slice(-20000));
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("the agent answers Health Check within a bounded time after boot", async (t) => {
    t.diagnostic(`boot-to-agent-ready under TCG: ${bootToReadyMs} ms`);
    assert.ok(bootToReadyMs < 120_000);
    await agent.check({ timeoutMs: 5000 });
    const v = await agent.version();
    assert.match(v.agentVersion, /^\d+\.\d+\.\d+/);
  });

  test("sandbox: hostname, DNS and the virtio-fs share", async () => {
    await agent.createSandbox({
      sandboxId: "agent-e2e",
      hostname: "hako-e2e",
      dns: ["nameserver 10.0.2.3", "search hako.test"],
      storages: [{ driver: "virtio-fs", source: SHARE_TAG, fstype: "virtiofs", options: [], mountPoint: SHARED }],
      kernelModules: [],
    });
    const details = await agent.getGuestDetails();
    assert.notEqual(details.kernelVersion, release());
    assert.equal(details.kernelVersion, kernelRelease);
  });

  test("a container runs in the guest kernel, from a rootfs on the share", async () => {
    await agent.createContainer({
      containerId: "c1",
      spec: containerSpec("c1", ["sh", "-c", "uname -r; cat /etc/resolv.conf 2>/dev/null; exec sleep 100000"]),
      storages: [],
    });
    // Created, not started: the process exists but has not run yet (no output).
    const early = await agent.readStdout("c1", "", 4096, { timeoutMs: 300 }).catch((err: unknown) => err);
    assert.equal(codeOf(early), Code.DeadlineExceeded);
    const { pid } = await agent.startContainer("c1");
    assert.ok(pid > 1);
    let first = "";
    while (!first.includes("search hako.test\n")) {
      first += Buffer.from((await agent.readStdout("c1", "", 4096)) ?? new Uint8Array()).toString();
    }
    const kernel = first.split("\n")[0];
    // The sandbox's DNS, written to the guest's (tmpfs) /etc/resolv.conf and bound into the container.
    assert.match(first, /nameserver 10\.0\.2\.3\n/);
    assert.notEqual(kernel, release());
    assert.equal(kernel, (await agent.getGuestDetails()).kernelVersion);
    const pids = await agent.listProcesses("c1");
    assert.ok(pids.includes(pid), `init pid ${pid} in ${pids.join(",")}`);
  });

  test("a non-zero exit code comes back from wait", async () => {
    await agent.execProcess("c1", "fail", execSpec(["sh", "-c", "echo oops >&2; exit 7"]));
    const [status, err] = await Promise.all([
      agent.waitProcess("c1", "fail"),
      readAll((m) => agent.readStderr("c1", "fail", m)),
      readAll((m) => agent.readStdout("c1", "fail", m)),
    ]);
    assert.equal(status, 7);
    assert.equal(err.toString(), "oops\n");
  });

  test("20 MB of stdout arrive intact", async (t) => {
    const t0 = Date.now();
    await agent.execProcess("c1", "blob", execSpec(["cat", "/data/blob"]));
    const hash = createHash("sha256");
    let bytes = 0;
    await readAll(
      (m) => agent.readStdout("c1", "blob", m),
      (b) => {
        hash.update(b);
        bytes += b.length;
      },
    );
    t.diagnostic(`20 MiB stdout in ${Date.now() - t0} ms`);
    assert.equal(bytes, BLOB_BYTES);
    assert.equal(hash.digest("hex"), createHash("sha256").update(blob).digest("hex"));
    assert.equal(await agent.waitProcess("c1", "blob"), 0);
  });

  test("stdin reaches the process (cat) and EOF ends it", async () => {
    await agent.execProcess("c1", "cat", execSpec(["cat"]));
    const input = Buffer.from(`${"hello from the host ".repeat(5000)}\n`);
    const reading = readAll((m) => agent.readStdout("c1", "cat", m));
    let off = 0;
    while (off < input.length) off += await agent.writeStdin("c1", "cat", input.subarray(off, off + 16384));
    await agent.closeStdin("c1", "cat");
    assert.deepEqual(await reading, input);
    assert.equal(await agent.waitProcess("c1", "cat"), 0);
  });

  test("a terminal process sees its window size change", async () => {
    await agent.execProcess("c1", "tty", execSpec(["sh"], true));
    await agent.resizeTty("c1", "tty", 42, 123);
    const reading = readAll((m) => agent.readStdout("c1", "tty", m));
    await agent.writeStdin("c1", "tty", Buffer.from("stty size; exit 3\n"));
    const out = (await reading).toString();
    assert.match(out, /\b42 123\b/);
    assert.equal(await agent.waitProcess("c1", "tty"), 3);
  });

  test("a second process is signalled and its waiters all see the status", async () => {
    const { pid } = await agent.execProcess("c1", "sleeper", execSpec(["sleep", "100000"]));
    assert.ok((await agent.listProcesses("c1")).includes(pid));
    const waiters = [agent.waitProcess("c1", "sleeper"), agent.waitProcess("c1", "sleeper")];
    await agent.signalProcess("c1", "sleeper", 15);
    assert.deepEqual(await Promise.all(waiters), [143, 143]);
    assert.equal(await agent.waitProcess("c1", "sleeper"), 143);
  });

  test("pause freezes the container and resume thaws it", async () => {
    await agent.execProcess("c1", "echo", execSpec(["cat"]));
    await agent.pauseContainer("c1");
    await agent.writeStdin("c1", "echo", Buffer.from("x"));
    const frozen = await agent.readStdout("c1", "echo", 16, { timeoutMs: 1500 }).catch((err: unknown) => err);
    assert.equal(codeOf(frozen), Code.DeadlineExceeded);
    await agent.resumeContainer("c1");
    assert.equal(Buffer.from((await agent.readStdout("c1", "echo", 16)) ?? []).toString(), "x");
    await agent.closeStdin("c1", "echo");
    assert.equal(await agent.waitProcess("c1", "echo"), 0);
  });

  test("stats come from the container's guest cgroup", async () => {
    await agent.updateContainer("c1", { pids: { limit: 150 } });
    const s = await agent.statsContainer("c1");
    assert.ok(s.memoryUsage > 0n, `memory ${s.memoryUsage}`);
    assert.ok(s.cpuUsageNs > 0n, `cpu ${s.cpuUsageNs}`);
    assert.ok(s.pidsCurrent >= 1n, `pids ${s.pidsCurrent}`);
    assert.equal(s.pidsLimit, 150n);
    const metrics = await agent.getMetrics();
    assert.match(metrics, /hako_guest_memory_total_bytes \d+/);
    assert.match(metrics, /hako_agent_resident_memory_bytes \d+/);
  });

  test("an unread stream fills its pipe instead of the agent's memory", async () => {
    const rss = async () => Number(/hako_agent_resident_memory_bytes (\d+)/.exec(await agent.getMetrics())?.[1]);
    const before = await rss();
    // 100 MB and more are on offer; nobody reads them yet.
    await agent.execProcess("c1", "flood", execSpec(["sh", "-c", "head -c 104857600 /dev/zero"]));
    await new Promise((r) => setTimeout(r, 3000));
    const during = await rss();
    assert.ok(during - before < 32 * 1024 * 1024, `agent RSS grew from ${before} to ${during}`);
    const first = await agent.readStdout("c1", "flood", 65536);
    assert.ok(first && first.length > 0);
    await agent.signalProcess("c1", "flood", 9);
    assert.equal(await agent.waitProcess("c1", "flood"), 137);
    // Whatever was buffered drains, then the stream ends.
    await readAll((m) => agent.readStdout("c1", "flood", m));
  });

  test("an OOM kill in a container's cgroup is reported", async () => {
    const oom = agent.getOomEvent();
    await agent.createContainer({
      containerId: "oom",
      spec: containerSpec("oom", ["sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived"], {
        memoryLimit: 16 * 1024 * 1024,
      }),
      storages: [],
    });
    await agent.startContainer("oom");
    assert.equal(await oom, "oom");
    await agent.waitProcess("oom", "");
    await agent.removeContainer("oom");
  });

  test("orphans reparented to the agent are reaped", async () => {
    // The shell exits at once; its background child ends up a child of PID 1 (the agent) and exits later.
    await agent.createContainer({
      containerId: "orphans",
      spec: containerSpec("orphans", ["sh", "-c", "sleep 0.5 & exit 0"], { guestNs: true }),
      storages: [],
    });
    await agent.startContainer("orphans");
    assert.equal(await agent.waitProcess("orphans", ""), 0);
    await agent.removeContainer("orphans");
  });

  test("malformed requests fail with the right codes and the agent keeps serving", async () => {
    const bad = containerSpec("bad", ["true"]);
    delete bad.root;
    await assert.rejects(agent.createContainer({ containerId: "bad", spec: bad, storages: [] }), (err) => {
      assert.equal(codeOf(err), Code.InvalidArgument);
      return true;
    });
    await assert.rejects(
      agent.createContainer({ containerId: "../x", spec: containerSpec("x", ["true"]), storages: [] }),
      (err) => {
        assert.equal(codeOf(err), Code.InvalidArgument);
        return true;
      },
    );
    const lost = containerSpec("lost", ["true"]);
    lost.root = { path: `${SHARED}/lost/rootfs` };
    await assert.rejects(agent.createContainer({ containerId: "lost", spec: lost, storages: [] }), (err) => {
      assert.equal(codeOf(err), Code.NotFound);
      return true;
    });
    await assert.rejects(agent.startContainer("no-such-container"), (err) => {
      assert.equal(codeOf(err), Code.NotFound);
      return true;
    });
    await assert.rejects(agent.waitProcess("c1", "no-such-exec"), (err) => {
      assert.equal(codeOf(err), Code.NotFound);
      return true;
    });
    await assert.rejects(
      agent.createContainer({ containerId: "c1", spec: containerSpec("c1", ["true"]), storages: [] }),
      (err) => {
        assert.equal(codeOf(err), Code.AlreadyExists);
        return true;
      },
    );
    await assert.rejects(agent.startContainer("c1"), (err) => {
      assert.equal(codeOf(err), Code.FailedPrecondition);
      return true;
    });
    // An oversized request: the client refuses to send it.
    await assert.rejects(agent.writeStdin("c1", "", new Uint8Array(5 * 1024 * 1024)), (err) => {
      assert.equal(codeOf(err), Code.ResourceExhausted);
      return true;
    });
    // A raw peer announcing an oversized frame: the agent drops that connection, then serves the next one.
    agent.close();
    await new Promise<void>((resolvePromise, reject) => {
      const raw = connect(agentSock, () => {
        const header = Buffer.alloc(10);
        header.writeUInt32BE(64 * 1024 * 1024, 0);
        header.writeUInt32BE(1, 4);
        header.writeUInt8(1, 8);
        raw.write(Buffer.concat([header, randomBytes(8192)]));
        setTimeout(() => {
          raw.destroy();
          resolvePromise();
        }, 500);
      });
      raw.on("error", reject);
    });
    agent = await waitForAgent({ kind: "serial", path: agentSock }, { timeoutMs: 30_000 });
    const pids = await agent.listProcesses("c1");
    assert.ok(pids.length >= 1);
  });

  test("removing everything leaves no process behind in the guest", async () => {
    await agent.signalProcess("c1", "", 9, true);
    assert.equal(await agent.waitProcess("c1", ""), 137);
    await agent.removeContainer("c1", 10);
    await assert.rejects(agent.listProcesses("c1"), (err) => codeOf(err) === Code.NotFound);

    // Long enough for the orphan sweep (every 2 s, two sightings) to have reaped the earlier test's orphan.
    await new Promise((r) => setTimeout(r, 5000));
    // A probe in the guest's own pid namespace lists every process the guest still runs.
    // Guest housekeeping calls, checked through the probe: a copied file, the clock, CPU onlining (nothing to do).
    await agent.copyFile("/run/hako-copy/hello.txt", Buffer.from("copied\n"), 0o640);
    await agent.setGuestDateTime(new Date());
    await agent.onlineCpuMem(0, false);
    const probe = containerSpec("probe", ["sh", "-c", "cat /tmp/copied/hello.txt; hostname; ps -o pid,stat,args"], {
      guestNs: true,
    });
    probe.mounts?.push({
      destination: "/tmp/copied",
      type: "bind",
      source: "/run/hako-copy",
      options: ["rbind", "ro"],
    });
    await agent.createContainer({ containerId: "probe", spec: probe, storages: [] });
    await agent.startContainer("probe");
    const [ps, status] = await Promise.all([
      readAll((m) => agent.readStdout("probe", "", m)),
      agent.waitProcess("probe", ""),
    ]);
    assert.equal(status, 0);
    const [copied, hostname, , ...lines] = ps.toString().trim().split("\n");
    assert.equal(copied, "copied");
    assert.equal(hostname, "hako-e2e");
    const all = lines
      .map((l) => l.trim().split(/\s+/))
      .map(([, stat = "", ...args]) => ({ stat, args: args.join(" ") }));
    // A zombie has no command line either, so look for them before dropping the bracketed kernel threads.
    assert.deepEqual(
      all.filter((p) => p.stat.startsWith("Z")),
      [],
      `zombies:\n${ps.toString()}`,
    );
    const user = all.filter((p) => !p.args.startsWith("["));
    assert.deepEqual(
      user.filter((p) => !p.args.includes("hako-agent") && !p.args.includes("ps -o pid,stat,args")),
      [],
      `unexpected guest processes:\n${ps.toString()}`,
    );
    await agent.removeContainer("probe");
    await agent.destroySandbox();
    await agent.check();
  });

  test("DestroySandbox ends a container still running (killed, waited for) without removing it first", async () => {
    // The probe's rootfs is still on the host's side of the share: mount the share again and run from it.
    const share = { driver: "virtio-fs", source: SHARE_TAG, fstype: "virtiofs", options: [], mountPoint: SHARED };
    await agent.createSandbox({
      sandboxId: "sb2",
      hostname: "hako-e2e",
      dns: [],
      storages: [share],
      kernelModules: [],
    });
    await agent.createContainer({
      containerId: "probe",
      spec: containerSpec("probe", ["sleep", "1000"]),
      storages: [],
    });
    await agent.startContainer("probe");
    const exited = agent.waitProcess("probe", "");
    await agent.destroySandbox();
    assert.equal(await exited, 137);
    await assert.rejects(agent.listProcesses("probe"), (err) => codeOf(err) === Code.NotFound);
    await agent.check();
  });
});
