// A private containerd 1.6 for end-to-end tests, the demo and the benchmark: its own root, state, socket and
// config under one directory, so it never touches a system containerd and leaves nothing behind when stopped.
// The hako runtime needs no entry in the config: containerd finds `containerd-shim-hako-v2` by name on PATH.
// With `cri`, its CRI plugin runs too (runtime handlers `hako` and `runc`, its own CNI config), inside a network
// namespace the test made (network safety: the CNI bridge and every pod address stay in there).
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { silentLogger } from "../../src/common/log.js";
import { cleanupSandbox, findStaleSandboxes } from "../../src/runtime/cleanup.js";
import { mountPointsIn, mountPointsUnder } from "../../src/runtime/host-mounts.js";
import { runDir, sandboxPaths } from "../../src/runtime/layout.js";
import { readSandboxState } from "../../src/runtime/sandbox-state.js";
import { shimSocketPath } from "../../src/shim/address.js";
import { BUSYBOX_IMAGE_REF, buildBusyboxImage } from "./busybox-image.js";
import { type HostProcess, hostProcesses } from "./processes.js";

export const HAKO_RUNTIME = "io.containerd.hako.v2";
export const RUNC_RUNTIME = "io.containerd.runc.v2";

export interface CtrResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time of the ctr invocation in milliseconds. */
  ms: number;
}

export interface CtrOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  /** Namespace for this call; the instance's namespace otherwise. */
  namespace?: string;
}

export interface ContainerdOptions {
  /** Parent of the instance's directory (short: socket paths are limited to 108 bytes). */
  baseDir?: string;
  namespace?: string;
  snapshotter?: "overlayfs" | "native";
  /** Extra TOML appended to the generated config. */
  extraConfig?: string;
  startTimeoutMs?: number;
  /**
   * Run containerd (and so its shims and runc's containers without a netns of their own) in this network namespace,
   * a path: network tests keep everything inside namespaces they made.
   */
  netns?: string;
  /** Enables the CRI plugin (run it in a test-made `netns`: its CNI plugins add pods there). */
  cri?: CriOptions;
}

export interface CriOptions {
  /** `sandbox_image`: must be imported into the `k8s.io` namespace before the first RunPodSandbox. */
  sandboxImage: string;
  /** The pod subnet of the CNI bridge (host-local IPAM), e.g. "10.88.7.0/24". */
  subnet: string;
  /** The bridge's name in the node namespace (at most 15 characters). */
  bridge?: string;
  /**
   * The hako handlers to register, each with its `options.ConfigPath` (the hako configuration its shims read, as the
   * runtime option config_path; none: the shim's default). Default: one handler `hako` without a ConfigPath.
   */
  hakoHandlers?: Record<string, string | undefined>;
}

/** CRI's namespace for images, containers and tasks. */
export const CRI_NAMESPACE = "k8s.io";
/** The runtime handlers the CRI config registers (RunPodSandboxRequest.runtime_handler). */
export const CRI_HAKO_HANDLER = "hako";
export const CRI_RUNC_HANDLER = "runc";

/** The CRI plugin's part of containerd's config (version 2), and the CNI network list it points at. */
function criConfig(dir: string, snapshotter: string, cri: CriOptions): { toml: string; cniConflist: string } {
  const p = '[plugins."io.containerd.grpc.v1.cri"';
  const toml = [
    `  ${p}]`,
    `    sandbox_image = "${cri.sandboxImage}"`,
    // containerd gives the sandbox oom_score_adj -998 otherwise, which needs CAP_SYS_RESOURCE the test may lack.
    "    restrict_oom_score_adj = true",
    '    stream_server_address = "127.0.0.1"',
    '    stream_server_port = "0"',
    `  ${p}.containerd]`,
    `    snapshotter = "${snapshotter}"`,
    `    default_runtime_name = "${CRI_RUNC_HANDLER}"`,
    `  ${p}.containerd.runtimes.${CRI_RUNC_HANDLER}]`,
    `    runtime_type = "${RUNC_RUNTIME}"`,
    `  ${p}.containerd.runtimes.${CRI_RUNC_HANDLER}.options]`,
    `    Root = "${dir}/runc"`,
    ...Object.entries(cri.hakoHandlers ?? { [CRI_HAKO_HANDLER]: undefined }).flatMap(([handler, configPath]) => [
      `  ${p}.containerd.runtimes.${handler}]`,
      `    runtime_type = "${HAKO_RUNTIME}"`,
      '    pod_annotations = ["io.katacontainers.*"]',
      "    privileged_without_host_devices = true",
      ...(configPath === undefined
        ? []
        : [`  ${p}.containerd.runtimes.${handler}.options]`, `    ConfigPath = "${configPath}"`]),
    ]),
    `  ${p}.cni]`,
    '    bin_dir = "/usr/lib/cni"',
    `    conf_dir = "${dir}/cni"`,
    "    max_conf_num = 1",
  ].join("\n");
  const cniConflist = JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: "hako-test",
      plugins: [
        {
          type: "bridge",
          bridge: cri.bridge ?? "hakotest0",
          isGateway: true,
          ipMasq: false,
          ipam: { type: "host-local", ranges: [[{ subnet: cri.subnet }]], dataDir: `${dir}/cni-ipam` },
        },
      ],
    },
    null,
    2,
  );
  return { toml, cniConflist };
}

const BASE_DIR = "/run/hako-test";

/** Whether overlayfs mounts work on the filesystem holding `dir` (not on every host: e.g. overlay on overlay). */
function overlayWorks(dir: string): boolean {
  const probe = join(dir, "overlay-probe");
  for (const d of ["l", "u", "w", "m"]) mkdirSync(join(probe, d), { recursive: true });
  try {
    execFileSync(
      "mount",
      ["-t", "overlay", "overlay", "-o", `lowerdir=${probe}/l,upperdir=${probe}/u,workdir=${probe}/w`, `${probe}/m`],
      {
        stdio: "ignore",
      },
    );
    execFileSync("umount", [`${probe}/m`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

/** Commands runCommand started that have not exited: killed when this process exits (an interrupted run's last ctr). */
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Runs a command to completion, collecting its output; never throws for a non-zero exit. */
export function runCommand(
  cmd: string,
  args: string[],
  options: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<CtrResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: options.env ?? process.env });
    running.add(child);
    child.on("exit", () => running.delete(child));
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            err.push(Buffer.from(`\n[harness] ${cmd} timed out after ${options.timeoutMs} ms, killed\n`));
            child.kill("SIGKILL");
          }, options.timeoutMs);
    child.on("error", (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      if (timer) clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        ms: performance.now() - started,
      });
    });
    child.stdin.on("error", () => {}); // the command may exit before reading its input
    child.stdin.end(options.input ?? "");
  });
}

/** Mount points at or below `dir`, deepest first (the order they must be unmounted in). */
function mountsUnder(dir: string): string[] {
  return mountPointsIn(readFileSync("/proc/self/mountinfo", "utf8"), dir).sort((a, b) => b.length - a.length);
}

/** Processes whose argument list satisfies `match` (never this process itself). */
function otherProcesses(match: (argv: string[]) => boolean): HostProcess[] {
  return hostProcesses().filter((p) => p.pid !== process.pid && match(p.argv));
}

/** Pids of processes whose argument list satisfies `match` (never this process itself). */
function pidsMatching(match: (argv: string[]) => boolean): number[] {
  return otherProcesses(match).map((p) => p.pid);
}

export class Containerd {
  readonly dir: string;
  readonly address: string;
  readonly namespace: string;
  readonly snapshotter: "overlayfs" | "native";
  readonly logPath: string;
  private proc: ChildProcess | undefined;
  private stopped = false;
  private exited: Promise<void> = Promise.resolve();
  private launchOptions: ContainerdOptions = {};
  /** Container ids started through this instance: after stop(), none may have left a VM or state behind. */
  private readonly ids = new Set<string>();

  private constructor(dir: string, namespace: string, snapshotter: "overlayfs" | "native") {
    this.dir = dir;
    this.address = join(dir, "c.sock");
    this.namespace = namespace;
    this.snapshotter = snapshotter;
    this.logPath = join(dir, "containerd.log");
  }

  /** Starts a private containerd and waits until it answers. */
  static async start(options: ContainerdOptions = {}): Promise<Containerd> {
    const base = options.baseDir ?? BASE_DIR;
    await mkdir(base, { recursive: true });
    const dir = await mkdtemp(join(base, "c-"));
    const snapshotter = options.snapshotter ?? (overlayWorks(dir) ? "overlayfs" : "native");
    const cd = new Containerd(dir, options.namespace ?? "hako-test", snapshotter);
    try {
      await cd.launch(options);
    } catch (err) {
      await cd.stop();
      throw err;
    }
    return cd;
  }

  private async launch(options: ContainerdOptions): Promise<void> {
    this.launchOptions = options;
    const cri = options.cri && criConfig(this.dir, this.snapshotter, options.cri);
    if (cri) {
      mkdirSync(join(this.dir, "cni"), { recursive: true });
      writeFileSync(join(this.dir, "cni", "10-hako-test.conflist"), cri.cniConflist);
    }
    const config = [
      "version = 2",
      `root = "${this.dir}/root"`,
      `state = "${this.dir}/state"`,
      // Without `cri`, the tests drive containerd with ctr only: CRI would want a CNI set-up and a pause image.
      cri ? "" : 'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = "${this.address}"`,
      "[ttrpc]",
      `  address = "${this.address}.ttrpc"`,
      "[plugins]",
      '  [plugins."io.containerd.internal.v1.opt"]',
      `    path = "${this.dir}/opt"`,
      cri?.toml ?? "",
      options.extraConfig ?? "",
      "",
    ].join("\n");
    const configPath = join(this.dir, "config.toml");
    writeFileSync(configPath, config);
    const logFd = openSync(this.logPath, "a");
    try {
      const argv = ["containerd", "--config", configPath, "--log-level", "debug"];
      // nsenter execs containerd (no fork), so the pid stays containerd's.
      if (options.netns) argv.unshift("nsenter", `--net=${options.netns}`, "--");
      this.proc = spawn(argv[0] as string, argv.slice(1), {
        stdio: ["ignore", logFd, logFd],
        detached: false,
      });
    } finally {
      closeSync(logFd);
    }
    if (this.proc.pid !== undefined) writeFileSync(join(this.dir, "containerd.pid"), `${this.proc.pid}\n`);
    const proc = this.proc;
    this.exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    // If the owner exits without stop() (an uncaught error, process.exit), take containerd, its shims and their
    // VMs down with it; their sandbox state is then stale, and the next shim start or cleanupStaleInstances removes it.
    const onExit = () => this.emergencyStop();
    process.once("exit", onExit);
    void this.exited.then(() => process.off("exit", onExit));
    const exited = this.exited;
    const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
    for (;;) {
      if (existsSync(this.address)) {
        const r = await this.ctr(["version"], { timeoutMs: 5_000 });
        if (r.code === 0) return;
      }
      const gone = await Promise.race([exited.then(() => true), sleep(100).then(() => false)]);
      if (gone) throw new Error(`containerd exited during start-up; log: ${this.logPath}\n${await this.logTail()}`);
      if (Date.now() > deadline) throw new Error(`containerd did not answer on ${this.address}; log: ${this.logPath}`);
    }
  }

  /**
   * Restarts containerd alone, as a host's containerd restart or upgrade does: SIGTERM (shims keep running), then
   * the same config, root, state and sockets again. `whileDown` runs while containerd is gone.
   */
  async restart(whileDown?: () => Promise<void>): Promise<void> {
    if (!this.proc || !this.running()) throw new Error("containerd is not running");
    this.proc.kill("SIGTERM");
    await this.exited;
    await whileDown?.();
    await this.launch(this.launchOptions);
  }

  async logTail(lines = 40): Promise<string> {
    try {
      return (await readFile(this.logPath, "utf8")).split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  }

  /**
   * The JSON entries shims logged: containerd copies a shim's stderr into its own log, where hako's shim writes
   * logrus-shaped JSON lines. With `sandbox`, only the entries carrying that sandbox id.
   */
  async shimLog(sandbox?: string): Promise<Record<string, unknown>[]> {
    const text = await readFile(this.logPath, "utf8").catch(() => "");
    const out: Record<string, unknown>[] = [];
    for (const line of text.split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (sandbox === undefined || entry.sandbox === sandbox) out.push(entry);
      } catch {
        // a partial line, or not ours
      }
    }
    return out;
  }

  /** The start-up phases a hako shim logged for a sandbox ("sandbox ready"), ms since it began creating it. */
  async sandboxPhases(sandbox: string): Promise<Record<string, number> | undefined> {
    const ready = (await this.shimLog(sandbox)).find((e) => e.msg === "sandbox ready");
    const phases = ready?.phases;
    if (typeof phases !== "object" || phases === null) return undefined;
    return Object.fromEntries(Object.entries(phases).filter((kv): kv is [string, number] => typeof kv[1] === "number"));
  }

  /** Runs `ctr --address SOCK -n NS ARGS…`. */
  ctr(args: string[], options: CtrOptions = {}): Promise<CtrResult> {
    const full = ["--address", this.address, "--namespace", options.namespace ?? this.namespace, ...args];
    return runCommand("ctr", full, options);
  }

  /** `ctr` with its stdin from /dev/null, as in a script, a cron job or a CI step. */
  ctrWithoutStdin(args: string[], timeoutMs = 120_000): Promise<CtrResult> {
    const full = ["ctr", "--address", this.address, "--namespace", this.namespace, ...args];
    return runCommand("sh", ["-c", 'exec "$@" </dev/null', "sh", ...full], { timeoutMs });
  }

  /** A task's status as `ctr task ls` shows it (RUNNING, STOPPED, …), undefined when it is not listed. */
  async taskStatus(id: string): Promise<string | undefined> {
    const ls = await this.ctr(["task", "ls"]);
    return new RegExp(`^${id}\\s+\\d+\\s+(\\w+)`, "m").exec(ls.stdout)?.[1];
  }

  /** Builds (cached) and imports the busybox image as `hako.local/busybox:latest`; returns the reference. */
  async importBusybox(namespace?: string): Promise<string> {
    return this.importImage((await buildBusyboxImage()).path, BUSYBOX_IMAGE_REF, namespace);
  }

  /** Imports an OCI layout tar that names `ref`, unpacked for the instance's snapshotter; returns `ref`. */
  async importImage(path: string, ref: string, namespace?: string): Promise<string> {
    const r = await this.ctr(["images", "import", "--snapshotter", this.snapshotter, path], {
      timeoutMs: 120_000,
      ...(namespace === undefined ? {} : { namespace }),
    });
    if (r.code !== 0) throw new Error(`ctr images import failed (${r.code}): ${r.stderr}`);
    if (!r.stdout.includes(ref)) throw new Error(`ctr images import did not name ${ref}: ${r.stdout}`);
    return ref;
  }

  /** `ctr run --rm` of one command; `--snapshotter` follows the instance's choice. */
  run(
    runtime: string,
    image: string,
    id: string,
    command: string[],
    options: CtrOptions & { extra?: string[] } = {},
  ): Promise<CtrResult> {
    return this.ctrRun("--rm", runtime, image, id, command, options);
  }

  /** Remembers a container id started outside run()/runDetached(), so that stop() checks it for leftovers. */
  track(id: string): void {
    this.ids.add(id);
  }

  /** `ctr run -d` of one command (for concurrent sandboxes); remove it with stop() or `tasks kill` + `containers rm`. */
  runDetached(
    runtime: string,
    image: string,
    id: string,
    command: string[],
    options: CtrOptions & { extra?: string[] } = {},
  ): Promise<CtrResult> {
    return this.ctrRun("-d", runtime, image, id, command, options);
  }

  /** The `ctr run` both run() and runDetached() send; only the mode flag differs. */
  private ctrRun(
    mode: "--rm" | "-d",
    runtime: string,
    image: string,
    id: string,
    command: string[],
    options: CtrOptions & { extra?: string[] },
  ): Promise<CtrResult> {
    this.ids.add(id);
    return this.ctr(
      [
        "run",
        mode,
        "--snapshotter",
        this.snapshotter,
        "--runtime",
        runtime,
        ...this.runtimeArgs(runtime),
        ...(options.extra ?? []),
        image,
        id,
        ...command,
      ],
      options,
    );
  }

  /**
   * Kills every task, removes containers, stops containerd and its shims, unmounts and removes its directory.
   * Returns what had to be swept up by force after containerd was gone (VM processes, sandbox state): anything
   * listed there is a leak the shim should have prevented.
   */
  async stop(): Promise<{ leaked: string[] }> {
    if (this.stopped) return { leaked: [] };
    this.stopped = true;
    if (this.running() && existsSync(this.address)) {
      await this.removeEverything().catch(() => {});
    }
    if (this.proc && this.running()) {
      this.proc.kill("SIGTERM");
      if (!(await Promise.race([this.exited.then(() => true), sleep(5_000).then(() => false)]))) {
        this.proc.kill("SIGKILL");
        await this.exited;
      }
    }
    // Order matters: shims first (so nothing starts a VM any more), then the sandboxes they may have left (their
    // mounts reference containerd's snapshots), then containerd's own directory.
    killShims(this.address);
    const leaked = await sweepSandboxes([...this.ids]);
    removeInstanceDir(this.dir);
    return { leaked };
  }

  /** Synchronous, for an `exit` handler: kill what runs and remove the directory, no waiting, no ctr. */
  private emergencyStop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.proc?.kill("SIGKILL");
    killShims(this.address);
    for (const id of this.ids) {
      for (const pid of pidsMatching((argv) => isVmOf(argv, id))) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    removeInstanceDir(this.dir);
  }

  /**
   * runc keeps container state under /run/containerd/runc/<namespace>/<id> by default, whichever containerd started
   * it: two instances using the same namespace and id would collide, and a killed shim's state would block the id.
   * A root inside the instance directory keeps runc's state private and removed with it.
   */
  runtimeArgs(runtime: string): string[] {
    return runtime === RUNC_RUNTIME ? ["--runc-root", join(this.dir, "runc")] : [];
  }

  private running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Best effort: ask containerd to tear down whatever tests left, so shims shut their VMs down properly. */
  private async removeEverything(): Promise<void> {
    const nss = await this.ctr(["namespaces", "list", "-q"], { timeoutMs: 10_000 });
    for (const ns of nss.stdout.split("\n").filter(Boolean)) {
      const tasks = await this.ctr(["tasks", "list", "-q"], { namespace: ns, timeoutMs: 10_000 });
      for (const id of tasks.stdout.split("\n").filter(Boolean)) {
        await this.ctr(["tasks", "kill", "-s", "SIGKILL", id], { namespace: ns, timeoutMs: 10_000 });
        await this.ctr(["tasks", "delete", "-f", id], { namespace: ns, timeoutMs: 30_000 });
      }
      const containers = await this.ctr(["containers", "list", "-q"], { namespace: ns, timeoutMs: 10_000 });
      for (const id of containers.stdout.split("\n").filter(Boolean)) {
        await this.ctr(["containers", "delete", id], { namespace: ns, timeoutMs: 30_000 });
      }
    }
  }
}

/** pid's descendants, deepest last (children lists of every thread, recursively). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    let children: string[] = [];
    try {
      children = readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").split(" ").filter(Boolean);
    } catch {
      // thread gone
    }
    for (const c of children) out.push(Number(c), ...descendants(Number(c)));
  }
  return out;
}

/**
 * Kills the shims started for the containerd listening on `address` (they outlive containerd by design), together
 * with everything they started: runc's container processes, hako's QEMU and virtiofsd. A hako shim killed so leaves
 * its socket (`/run/hako/s/…`, which its own shutdown would remove): that goes too.
 */
export function killShims(address: string): void {
  for (const shim of otherProcesses((argv) => argv.includes(address))) {
    for (const pid of [shim.pid, ...descendants(shim.pid)]) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    const flag = (name: string) => shim.argv[shim.argv.indexOf(name) + 1];
    const namespace = flag("-namespace");
    const podId = flag("-id");
    if (shim.argv.some((a) => a.includes("containerd-shim-hako-v2")) && namespace && podId) {
      rmSync(shimSocketPath(address, namespace, podId), { force: true });
    }
  }
}

/** Unmounts everything under an instance's directory and removes it; best effort, never throws. */
export function removeInstanceDir(dir: string): void {
  for (const m of mountsUnder(dir)) {
    try {
      execFileSync("umount", ["-l", m], { stdio: "ignore" });
    } catch {
      // raced with another unmount
    }
  }
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    // a busy leftover must not stop the rest of the clean-up; the next cleanupStaleInstances retries
  }
}

/**
 * Removes instances a killed process left under `baseDir`, and the stale hako sandboxes of `namespace` (owner shim
 * gone). The demo and the benchmark call this first, so a run interrupted by SIGKILL is cleaned by the next one.
 * Only call it on a base directory and namespace no live process is using.
 */
export async function cleanupStaleInstances(baseDir: string, namespace: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of existsSync(baseDir) ? readdirSync(baseDir) : []) {
    const dir = join(baseDir, name);
    try {
      const pid = Number(readFileSync(join(dir, "containerd.pid"), "utf8").trim());
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (argv.includes(join(dir, "config.toml"))) process.kill(pid, "SIGKILL");
    } catch {
      // no pid file, or containerd already gone
    }
    killShims(join(dir, "c.sock"));
    removed.push(dir);
  }
  for (const id of await findStaleSandboxes()) {
    const state = await readSandboxState(sandboxPaths(id).stateFile).catch(() => undefined);
    if (state?.namespace !== namespace) continue;
    await cleanupSandbox(id, silentLogger);
    removed.push(`sandbox ${id}`);
  }
  for (const name of existsSync(baseDir) ? readdirSync(baseDir) : []) removeInstanceDir(join(baseDir, name));
  return removed;
}

/** QEMU runs with `-name sandbox-<id>` (possibly followed by `,option=…`). */
function isVmOf(argv: string[], id: string): boolean {
  return argv.some((a) => a === `sandbox-${id}` || a.startsWith(`sandbox-${id},`));
}

/**
 * Kills VM processes named after the given sandboxes (QEMU runs with `-name sandbox-<id>`) and removes their
 * hako state and mounts. Returns a description of each thing found: none should be, once the shims are gone.
 */
export async function sweepSandboxes(ids: string[]): Promise<string[]> {
  const leaked: string[] = [];
  for (const id of ids) {
    for (const pid of pidsMatching((argv) => isVmOf(argv, id))) {
      leaked.push(`vm process ${pid} of sandbox ${id}`);
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    const paths = sandboxPaths(id);
    if (existsSync(paths.stateDir) || existsSync(paths.sharedDir) || mountsUnder(paths.sharedDir).length > 0) {
      leaked.push(`state of sandbox ${id} under ${runDir()}`);
      await cleanupSandbox(id, silentLogger);
    }
  }
  return leaked;
}

/** Command lines of host processes matching `pattern`, as "pid cmd" (for assertion messages). */
export function processesMatching(pattern: RegExp): string[] {
  return hostProcesses()
    .filter((p) => pattern.test(p.cmd))
    .map((p) => `${p.pid} ${p.cmd}`);
}

/**
 * The end of an e2e suite: stops containerd, then asserts that nothing was swept up by force, that no process
 * matching `ours` (the suite's VMs, share daemons, shims) is left, and no mount under the run dir containing `mountPart`.
 */
export async function stopAndAssertClean(containerd: Containerd, ours: RegExp, mountPart: string): Promise<void> {
  const { leaked } = await containerd.stop();
  assert.deepEqual(leaked, [], "the shim left VMs or state behind");
  assert.deepEqual(processesMatching(ours), [], "qemu, virtiofsd or shim processes are left");
  const mounts = (await mountPointsUnder(runDir())).filter((m) => m.includes(mountPart));
  assert.deepEqual(mounts, [], `mounts are left under ${runDir()}`);
}

/** Starts a private containerd with the busybox image imported: the common start of every e2e test. */
export async function startContainerdWithBusybox(
  options: ContainerdOptions = {},
): Promise<{ containerd: Containerd; image: string }> {
  const containerd = await Containerd.start(options);
  try {
    const image = await containerd.importBusybox();
    return { containerd, image };
  } catch (err) {
    await containerd.stop();
    throw err;
  }
}
