// The image build's inputs: the options, the host binaries, agent bundle, koffi and extra files the root holds, the
// kernel (hako's own or a Debian package), and their versions and digests as the manifest records them.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Code, HakoError } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import { loadConfig } from "../config/load.js";
import type { HakoConfig } from "../config/types.js";
import { DEFAULT_AGENT_BUNDLE, guestAgentPath } from "./agent-bundle.js";
import { type SnapshotVm, snapshotInput, snapshotVm } from "./agent-snapshot.js";
import { runText } from "./exec.js";
import { type ExtraFile, type HostBinaries, whichBinary } from "./guest-tree.js";
import { type KernelPackage, resolveKernelPackageCached } from "./kernel-package.js";
import { type KernelSource, resolveKernelSource } from "./kernel-source.js";
import { stageKoffi } from "./koffi.js";
import { sharedLibraries } from "./ldd.js";
import { BUILDER_VERSION, describeKernel, type ManifestInputs, sha256File } from "./manifest.js";
import { DEFAULT_MODULES } from "./modules.js";
import type { Progress } from "./progress.js";
import { FsTree } from "./tree.js";

/** Every timestamp in the images (2010-01-01T00:00:00Z) unless SOURCE_DATE_EPOCH says otherwise. */
export const DEFAULT_EPOCH = 1262304000;

export interface BuildOptions {
  outputDir?: string;
  cacheDir?: string;
  ifChanged?: boolean;
  /** Also build hako-initrd-full.img (the whole root in one initrd). */
  initrdOnly?: boolean;
  /**
   * A Debian kernel image package (or .deb) to use instead of hako's own kernel (built from linux-source-6.1 with
   * src/image/kernel/hako.config); its modules go into the initrd.
   */
  kernelPackage?: string;
  /** With kernelPackage: module names replacing the default list; a leading "+" on the first entry adds to it. */
  modules?: readonly string[];
  extraFiles?: readonly ExtraFile[];
  /** The agent bundle (CommonJS, or an ES module named .mjs); default dist/hako-agent.cjs of the project. */
  agent?: string;
  /** The hako checkout (for dist/ and node_modules/); found from this file by default. */
  projectDir?: string;
  initrdCompression?: "none" | "gzip";
  /**
   * Make the agent's V8 startup snapshot in a guest booted like the runtime boots it (default true; a CommonJS
   * agent only: node cannot snapshot an ES module).
   */
  snapshot?: boolean;
  /** The configuration whose QEMU section and accelerator the snapshot boot uses (default: loadConfig()). */
  config?: HakoConfig;
  log?: Logger;
  progress?: Progress;
}

/** The default cache: /var/cache/hako for root, ~/.cache/hako otherwise (or $HAKO_CACHE_DIR). */
export function defaultCacheDir(): string {
  if (process.env.HAKO_CACHE_DIR) return process.env.HAKO_CACHE_DIR;
  if (process.getuid?.() === 0) return "/var/cache/hako";
  return join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? tmpdir(), ".cache"), "hako");
}

/** The hako checkout this code runs from (src/image/ under tsx, dist/ when bundled). */
export function findProjectDir(start = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "hako") return dir;
    if (dirname(dir) === dir)
      throw new HakoError(Code.FailedPrecondition, `cannot find the hako project above ${start}`);
  }
}

/** Splits `SRC:DEST` (the guest path may be given with or without its leading slash). */
export function parseExtraFile(spec: string): ExtraFile {
  const at = spec.lastIndexOf(":");
  const source = spec.slice(0, at);
  const dest = spec.slice(at + 1);
  if (at <= 0 || !dest.startsWith("/")) {
    throw new HakoError(Code.InvalidArgument, `--extra-file ${spec}: expected SRC:/guest/path`);
  }
  if (!existsSync(source)) throw new HakoError(Code.NotFound, `--extra-file source ${source} does not exist`);
  return { source: resolve(source), dest };
}

function moduleRequests(list: readonly string[] | undefined): string[] {
  if (!list || list.length === 0) return [...DEFAULT_MODULES];
  const first = list[0] ?? "";
  if (first.startsWith("+")) return [...DEFAULT_MODULES, first.slice(1), ...list.slice(1)];
  return [...list];
}

async function binaryVersion(path: string, args: string[]): Promise<string> {
  const out = await runText(path, args).catch(() => "");
  return out.split("\n")[0]?.trim() || "unknown";
}

/** sha256 over (guest path, mode, content digest) of every host-sourced file of a tree. */
async function hostFilesDigest(tree: FsTree): Promise<string> {
  const h = createHash("sha256");
  for (const { path, node } of tree.entries()) {
    if (node.kind === "file") h.update(`${path}\0${node.mode}\0${await sha256File(node.source)}\n`);
    else if (node.kind === "data")
      h.update(`${path}\0${node.mode}\0${createHash("sha256").update(node.data).digest("hex")}\n`);
  }
  return h.digest("hex");
}

/** The build's inputs, resolved: host binaries, agent, kernel, and the manifest's record of them. */
export interface Resolved {
  bins: HostBinaries;
  agent: string;
  nodeModules: string;
  extraFiles: ExtraFile[];
  kernel: { kind: "hako"; source: KernelSource } | { kind: "package"; pkg: KernelPackage };
  /** The VM the agent's startup snapshot is made in; absent when the image gets none. */
  snapshotVm?: SnapshotVm;
  inputs: ManifestInputs;
}

/** The kernel the image is built with: hako's own unless a Debian package is asked for. */
async function resolveKernel(o: BuildOptions, projectDir: string, cacheDir: string): Promise<Resolved["kernel"]> {
  if (o.kernelPackage === undefined) {
    if (o.modules !== undefined && o.modules.length > 0) {
      throw new HakoError(
        Code.InvalidArgument,
        "--modules needs --kernel-package: hako's own kernel has every driver built in and carries no modules",
      );
    }
    return { kind: "hako", source: await resolveKernelSource(projectDir) };
  }
  return { kind: "package", pkg: await resolveKernelPackageCached(o.kernelPackage, cacheDir) };
}

/** Finds every input and digests it into the manifest's `inputs` (what --if-changed compares). */
export async function resolveInputs(o: BuildOptions, cacheDir: string, log: Logger): Promise<Resolved> {
  const projectDir = o.projectDir ?? findProjectDir();
  const agent = resolve(o.agent ?? join(projectDir, DEFAULT_AGENT_BUNDLE));
  if (!existsSync(agent)) {
    throw new HakoError(
      Code.FailedPrecondition,
      `agent bundle ${agent} is missing: run \`npm run build\` (it bundles src/agent/server/main.ts into ${DEFAULT_AGENT_BUNDLE})`,
    );
  }
  const bins: HostBinaries = {
    busybox: whichBinary("busybox"),
    node: realpathSync(process.execPath),
    crun: whichBinary("crun"),
  };
  if ((await sharedLibraries(bins.busybox)).length > 0) {
    throw new HakoError(Code.FailedPrecondition, `${bins.busybox} is not statically linked (install busybox-static)`);
  }
  const nodeModules = join(projectDir, "node_modules");
  const extraFiles = [...(o.extraFiles ?? [])];
  const kernel = await resolveKernel(o, projectDir, cacheDir);

  // Everything host-sourced, as the root will hold it (modules aside: the kernel package version covers those).
  const hostTree = new FsTree();
  hostTree.file("bin/busybox", bins.busybox, 0o755);
  for (const [name, bin] of [
    ["node", bins.node],
    ["crun", bins.crun],
  ] as const) {
    hostTree.file(`usr/bin/${name}`, bin, 0o755);
    for (const lib of await sharedLibraries(bin)) hostTree.file(lib, lib, 0o755);
  }
  hostTree.file(guestAgentPath(agent), agent, 0o644);
  const koffi = stageKoffi(hostTree, nodeModules);
  for (const x of extraFiles) hostTree.file(x.dest, x.source);

  const snapshot = o.snapshot !== false && !agent.endsWith(".mjs") ? snapshotVm(o.config ?? loadConfig()) : undefined;
  const epochEnv = Number(process.env.SOURCE_DATE_EPOCH);
  const inputs: ManifestInputs = {
    builder: BUILDER_VERSION,
    kernel:
      kernel.kind === "hako"
        ? {
            kind: "hako",
            source: kernel.source.package,
            version: kernel.source.version,
            fragmentSha256: kernel.source.fragmentSha256,
          }
        : { kind: "package", package: kernel.pkg.localDeb ?? kernel.pkg.name, version: kernel.pkg.version },
    busybox: { path: bins.busybox, version: await binaryVersion(bins.busybox, []) },
    node: { path: bins.node, version: await binaryVersion(bins.node, ["--version"]) },
    crun: { path: bins.crun, version: await binaryVersion(bins.crun, ["--version"]) },
    koffi: koffi.version,
    modules: kernel.kind === "hako" ? [] : moduleRequests(o.modules),
    agent: { path: agent, sha256: await sha256File(agent) },
    extraFiles: await Promise.all(extraFiles.map(async (x) => ({ ...x, sha256: await sha256File(x.source) }))),
    hostFilesSha256: await hostFilesDigest(hostTree),
    initrdFull: o.initrdOnly ?? false,
    initrdCompression: o.initrdCompression ?? "none",
    epoch: Number.isInteger(epochEnv) && epochEnv > 0 ? epochEnv : DEFAULT_EPOCH,
    snapshot: snapshot ? await snapshotInput(snapshot) : false,
  };
  log.debug("kernel resolved", { kernel: describeKernel(inputs.kernel) });
  return { bins, agent, nodeModules, extraFiles, kernel, ...(snapshot ? { snapshotVm: snapshot } : {}), inputs };
}
