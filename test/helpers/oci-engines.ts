// podman 4.3 and docker 20.10 (Debian's) driving hako-runtime, for end-to-end tests and the benchmark. Each engine is
// private (own storage, state, sockets and config under one temporary directory) and runs inside a network namespace
// made for it (`nsenter --net=`: `ip netns exec` would remount /sys and hide the cgroups), so nothing touches the
// host's engines or network. Every hako-runtime call is recorded ($HAKO_RUNTIME_CALL_LOG) so that a test can list
// the runc verbs and flags the engine used, and check that each container it created left nothing behind.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DEFAULT_ROOT } from "../../src/oci-runtime/context.js";
import { daemonSocketPath } from "../../src/oci-runtime/pod.js";
import { startLockPath } from "../../src/oci-runtime/start-lock.js";
import { mountPointsUnder } from "../../src/runtime/host-mounts.js";
import { runDir, sandboxPaths } from "../../src/runtime/layout.js";
import { type CtrResult, killShims, removeInstanceDir, runCommand } from "./containerd.js";
import { buildBusyboxDockerArchive } from "./docker-archive.js";
import { hostProcesses } from "./processes.js";

/** The image every test runs. */
export const BUSYBOX = "hako.local/busybox:latest";

/** hako-runtime as the engines are given it: the one on PATH (`command -v hako-runtime`). */
export function hakoRuntimePath(): string {
  return execFileSync("sh", ["-c", "command -v hako-runtime"], { encoding: "utf8" }).trim();
}

/** A network namespace of the test's own: its path for `nsenter --net=`, with loopback up. */
export function createNetns(prefix: string): { name: string; path: string; remove(): void } {
  const name = `${prefix}-${randomBytes(3).toString("hex")}`;
  execFileSync("ip", ["netns", "add", name]);
  const path = `/var/run/netns/${name}`;
  execFileSync("nsenter", [`--net=${path}`, "ip", "link", "set", "lo", "up"]);
  return { name, path, remove: () => execFileSync("ip", ["netns", "delete", name]) };
}

export interface RuntimeCall {
  argv: string[];
}

/**
 * The hako-runtime calls recorded in `path`, oldest first: a $HAKO_RUNTIME_CALL_LOG file, or a --log file in JSON
 * (its "called" entries).
 */
export function readCalls(path: string): RuntimeCall[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RuntimeCall & { msg?: string })
    .filter((e) => Array.isArray(e.argv) && (e.msg === undefined || e.msg === "called"));
}

const VALUED_GLOBALS = new Set(["--root", "--log", "--log-format", "--criu", "--rootless"]);

/**
 * The verbs and flags (values left out) the calls used, one line per distinct shape, e.g.
 * "--root --log --log-format create --bundle --pid-file".
 */
export function callShapes(calls: readonly RuntimeCall[]): string[] {
  const shapes = new Set<string>();
  for (const { argv } of calls) {
    const out: string[] = [];
    let i = 0;
    for (; i < argv.length && (argv[i] as string).startsWith("-"); i++) {
      const a = argv[i] as string;
      out.push(a.split("=")[0] as string);
      if (VALUED_GLOBALS.has(a)) i++;
    }
    out.push(argv[i] ?? "?");
    const verbFlags = argv.slice(i + 1).filter((a) => a.startsWith("-"));
    out.push(...verbFlags.map((a) => a.split("=")[0] as string));
    shapes.add(out.join(" "));
  }
  return [...shapes].sort();
}

/**
 * The pod daemon sockets the engine's `create`s used (pod = container: the engines send no CRI annotations), from
 * each call's `--root` (or hako-runtime's default root).
 */
export function daemonSocketsOf(calls: readonly RuntimeCall[]): string[] {
  return calls
    .filter((c) => c.argv.includes("create"))
    .map(({ argv }) => {
      const i = argv.indexOf("--root");
      const eq = argv.find((a) => a.startsWith("--root="));
      const root = i >= 0 ? (argv[i + 1] as string) : (eq?.slice("--root=".length) ?? DEFAULT_ROOT);
      return daemonSocketPath(root, argv[argv.length - 1] as string);
    });
}

/** Container ids the engine created through hako-runtime (the last argument of each `create`). */
export function createdIds(calls: readonly RuntimeCall[]): string[] {
  return calls.filter((c) => c.argv.includes("create")).map((c) => c.argv[c.argv.length - 1] as string);
}

/**
 * Asserts that nothing of the engine's containers is left: no hako-runtime stand-in or daemon, no QEMU, no sandbox
 * state or share under hako's run directory, no mount there, no pod daemon socket or start lock.
 */
export async function assertNothingLeft(calls: readonly RuntimeCall[]): Promise<void> {
  const ids = createdIds(calls);
  const sockets = daemonSocketsOf(calls).flatMap((s) => [s, startLockPath(s)].filter((p) => existsSync(p)));
  assert.deepEqual(sockets, [], "pod daemon sockets or start locks are left");
  const left = hostProcesses().filter(
    (p) => ids.some((id) => p.argv.includes(id) || p.cmd.includes(`sandbox-${id} `)) && p.pid !== process.pid,
  );
  assert.deepEqual(
    left.map((p) => `${p.pid} ${p.cmd}`),
    [],
    "processes of the engine's containers are left",
  );
  for (const id of ids) {
    const paths = sandboxPaths(id);
    assert.ok(!existsSync(paths.stateDir), `sandbox state of ${id} is left`);
    assert.ok(!existsSync(paths.sharedDir), `the share of ${id} is left`);
  }
  const mounts = (await mountPointsUnder(runDir())).filter((m) => ids.some((id) => m.includes(id)));
  assert.deepEqual(mounts, [], "mounts of the engine's containers are left");
}

export interface EngineOptions {
  runtime: string;
  /** Environment for the engine (and so for hako-runtime): HAKO_CONFIG, … */
  env?: NodeJS.ProcessEnv;
}

/** podman with private --root/--runroot/--tmpdir, cgroupfs, a containers.conf of its own, in its own netns. */
export class Podman {
  readonly callLog: string;
  readonly runtimeLog: string;
  private constructor(
    readonly dir: string,
    private readonly netns: ReturnType<typeof createNetns>,
    private readonly env: NodeJS.ProcessEnv,
    private readonly runtime: string,
  ) {
    this.callLog = join(dir, "calls.jsonl");
    this.runtimeLog = join(dir, "runtime.log");
  }

  static async start(options: EngineOptions): Promise<Podman> {
    const dir = await mkdtemp("/tmp/hako-podman-");
    const conf = join(dir, "containers.conf");
    // This host caps RLIMIT_NOFILE and RLIMIT_NPROC below podman's defaults (1048576, 4194304).
    writeFileSync(
      conf,
      [
        "[containers]",
        'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
        "[engine]",
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `events_logfile_path = "${dir}/events.log"`,
        "",
      ].join("\n"),
    );
    const netns = createNetns("hako-pm");
    const env = {
      ...process.env,
      ...options.env,
      CONTAINERS_CONF: conf,
      HAKO_RUNTIME_CALL_LOG: join(dir, "calls.jsonl"),
    };
    const podman = new Podman(dir, netns, env, options.runtime);
    const load = await podman.run(["load", "-i", await buildBusyboxDockerArchive()]);
    if (load.code !== 0) {
      await podman.stop();
      throw new Error(`podman load failed: ${load.stderr}`);
    }
    return podman;
  }

  /** podman's global flags for this instance: its storage, hako-runtime (or `runtime`), cgroupfs. */
  globals(runtime = this.runtime): string[] {
    const d = this.dir;
    // conmon passes podman's environment on to the runtime only in part: what it runs logs to --log instead.
    const log =
      runtime === this.runtime ? ["--runtime-flag", `log=${this.runtimeLog}`, "--runtime-flag", "log-format=json"] : [];
    return ["--root", `${d}/root`, "--runroot", `${d}/runroot`, "--tmpdir", `${d}/tmp`, "--runtime", runtime]
      .concat(["--cgroup-manager", "cgroupfs", "--storage-driver", "overlay"])
      .concat(log);
  }

  /** Every hako-runtime call recorded: those podman made itself ($HAKO_RUNTIME_CALL_LOG), those conmon made (--log). */
  calls(): RuntimeCall[] {
    return [...readCalls(this.callLog), ...readCalls(this.runtimeLog)];
  }

  /** Runs `podman ARGS…` with this instance's storage and hako-runtime; `runtime` overrides the runtime path. */
  run(args: string[], options: { input?: string; timeoutMs?: number; runtime?: string } = {}): Promise<CtrResult> {
    return this.raw(["podman", ...this.globals(options.runtime), ...args], options);
  }

  /** Runs any command in podman's network namespace and environment (`script -c "podman …"`). */
  raw(cmd: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CtrResult> {
    return runCommand("nsenter", [`--net=${this.netns.path}`, ...cmd], {
      env: this.env,
      timeoutMs: options.timeoutMs ?? 120_000,
      ...(options.input === undefined ? {} : { input: options.input }),
    });
  }

  /** Removes every container and the storage (podman unmounts its layers), the directory and the netns. */
  async stop(): Promise<void> {
    await this.run(["rm", "--all", "--force", "--time", "0"]);
    await this.run(["system", "reset", "--force"]);
    removeInstanceDir(this.dir);
    this.netns.remove();
  }
}

/** A private containerd + dockerd (`--add-runtime hako=…`, no bridge, no iptables) in their own netns. */
export class Docker {
  readonly callLog: string;
  private readonly procs: ChildProcess[] = [];
  private constructor(
    readonly dir: string,
    private readonly netns: ReturnType<typeof createNetns>,
  ) {
    this.callLog = join(dir, "calls.jsonl");
  }

  get socket(): string {
    return join(this.dir, "docker.sock");
  }

  get containerdSocket(): string {
    return join(this.dir, "ctd", "c.sock");
  }

  static async start(options: EngineOptions): Promise<Docker> {
    const dir = await mkdtemp("/tmp/hako-docker-");
    const netns = createNetns("hako-dk");
    const docker = new Docker(dir, netns);
    try {
      await docker.launch(options);
      const load = await docker.run(["load", "-i", await buildBusyboxDockerArchive()]);
      if (load.code !== 0) throw new Error(`docker load failed: ${load.stderr}`);
    } catch (err) {
      await docker.stop();
      throw err;
    }
    return docker;
  }

  private spawnInNetns(cmd: string[], log: string, env: NodeJS.ProcessEnv): ChildProcess {
    const out = join(this.dir, log);
    const child = spawn("sh", ["-c", `exec nsenter --net=${this.netns.path} "$@" >>${out} 2>&1`, "sh", ...cmd], {
      env,
      stdio: "ignore",
      detached: true,
    });
    this.procs.push(child);
    return child;
  }

  private async launch(options: EngineOptions): Promise<void> {
    const ctd = join(this.dir, "ctd");
    execFileSync("mkdir", ["-p", ctd]);
    writeFileSync(
      join(ctd, "config.toml"),
      [
        "version = 2",
        `root = "${ctd}/root"`,
        `state = "${ctd}/state"`,
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        "[grpc]",
        `  address = "${this.containerdSocket}"`,
        "[ttrpc]",
        `  address = "${this.containerdSocket}.ttrpc"`,
        "",
      ].join("\n"),
    );
    // containerd → runc shim → hako-runtime: the environment travels down that chain.
    const env = { ...process.env, ...options.env, HAKO_RUNTIME_CALL_LOG: this.callLog };
    this.spawnInNetns(["containerd", "--config", join(ctd, "config.toml")], "containerd.log", env);
    await this.waitFor(() => existsSync(this.containerdSocket), "containerd's socket");
    const d = this.dir;
    this.spawnInNetns(
      [
        "dockerd",
        "--data-root",
        `${d}/data`,
        "--exec-root",
        `${d}/exec`,
        "--host",
        `unix://${this.socket}`,
        "--pidfile",
        `${d}/docker.pid`,
        "--containerd",
        this.containerdSocket,
        "--bridge",
        "none",
        "--iptables=false",
        "--ip6tables=false",
        "--add-runtime",
        `hako=${options.runtime}`,
      ],
      "dockerd.log",
      env,
    );
    await this.waitFor(() => existsSync(this.socket), "dockerd's socket");
    for (let i = 0; i < 100; i++) {
      if ((await this.run(["version"], { timeoutMs: 10_000 })).code === 0) return;
      await sleep(100);
    }
    throw new Error(`dockerd does not answer; see ${d}/dockerd.log`);
  }

  private async waitFor(check: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 300; i++) {
      if (check()) return;
      await sleep(50);
    }
    throw new Error(`timed out waiting for ${what} in ${this.dir}`);
  }

  /** Runs Debian's docker client (/usr/bin/docker, whatever else is on PATH) against this dockerd. */
  run(args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CtrResult> {
    return runCommand("/usr/bin/docker", ["--host", `unix://${this.socket}`, ...args], {
      ...(options.input === undefined ? {} : { input: options.input }),
      timeoutMs: options.timeoutMs ?? 120_000,
    });
  }

  /** Removes every container, stops dockerd then containerd (and any shim left), unmounts and removes it all. */
  async stop(): Promise<void> {
    if (existsSync(this.socket)) {
      const ids = (await this.run(["ps", "-aq"])).stdout.split("\n").filter(Boolean);
      if (ids.length > 0) await this.run(["rm", "-f", ...ids]);
    }
    for (const child of [...this.procs].reverse()) {
      if (child.exitCode !== null || child.pid === undefined) continue;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(15_000)]);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    killShims(this.containerdSocket);
    removeInstanceDir(this.dir);
    this.netns.remove();
  }
}

/** Busy-waits (100 ms steps) until `check` holds, for at most ms. */
export async function eventually(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * `ENGINE stats --no-stream` of a running container reads a cgroup with its VM's vCPU threads and stand-in in it:
 * at least one task, CPU within the host's cores. It read the engine's own group before the stand-in joined the
 * pod's (podman: 174,499 % CPU; docker: no pids).
 */
export async function assertSaneStats(engine: (args: string[]) => Promise<CtrResult>, name: string): Promise<void> {
  const r = await engine(["stats", "--no-stream", "--format", "{{.CPUPerc}} {{.PIDs}}", name]);
  assert.equal(r.code, 0, r.stderr);
  const [cpu, pids] = r.stdout.trim().split(" ");
  assert.ok(Number(pids) >= 1, `stats counts the pod's tasks: ${r.stdout}`);
  const percent = Number.parseFloat(cpu ?? "");
  assert.ok(percent >= 0 && percent <= 100 * availableParallelism(), `stats CPU within the host's cores: ${r.stdout}`);
}
