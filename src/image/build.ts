// `hako image build` as a library call: resolves the inputs, skips the build when the manifest says nothing changed
// (--if-changed), otherwise builds vmlinux, the tiny initrd, the DAX root image (and optionally the initrd-only
// variant) into a scratch directory beside the assets and moves them into place, manifest last.
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Code, HakoError } from "../common/errors.js";
import { type Logger, silentLogger } from "../common/log.js";
import { DEFAULT_AGENT_BUNDLE, guestAgentPath } from "./agent-bundle.js";
import { writeCpio } from "./cpio.js";
import { run, runText } from "./exec.js";
import { makeExt4 } from "./ext4.js";
import {
  type ExtraFile,
  fullInitrdTree,
  type HostBinaries,
  initrdTree,
  rootTree,
  type StagedModule,
  whichBinary,
} from "./guest-tree.js";
import { fetchKernelDeb, type KernelPackage, resolveKernelPackageCached, unpackKernel } from "./kernel-package.js";
import { buildKernel, type KernelSource, resolveKernelSource } from "./kernel-source.js";
import { GUEST_LIB_DIR, stageKoffi, verifyKoffi } from "./koffi.js";
import { sharedLibraries } from "./ldd.js";
import {
  ASSET_NAMES,
  assetRecord,
  BUILDER_VERSION,
  canonicalJson,
  describeKernel,
  MANIFEST_FILE,
  type Manifest,
  type ManifestInputs,
  readManifest,
  sha256File,
  staleReason,
} from "./manifest.js";
import {
  DEFAULT_MODULES,
  formatModulesDep,
  parseModuleList,
  parseModulesBuiltin,
  parseModulesDep,
  resolveModules,
} from "./modules.js";
import { type Progress, silentProgress } from "./progress.js";
import { FsTree, writeTree } from "./tree.js";
import { extractVmlinux } from "./vmlinux.js";

export const DEFAULT_ASSETS_DIR = "/var/lib/hako";
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
  log?: Logger;
  progress?: Progress;
}

export interface BuildResult {
  skipped: boolean;
  outputDir: string;
  manifest: Manifest;
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

interface Resolved {
  bins: HostBinaries;
  agent: string;
  nodeModules: string;
  extraFiles: ExtraFile[];
  kernel: { kind: "hako"; source: KernelSource } | { kind: "package"; pkg: KernelPackage };
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

async function resolveInputs(o: BuildOptions, cacheDir: string, log: Logger): Promise<Resolved> {
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
  };
  log.debug("kernel resolved", { kernel: describeKernel(inputs.kernel) });
  return { bins, agent, nodeModules, extraFiles, kernel, inputs };
}

interface StagedKernel {
  release: string;
  modules: StagedModule[];
  modulesDep: string;
  modulesBuiltin: string;
}

/** Puts the ELF vmlinux at `dest` and stages the modules the initrd loads (none for hako's own kernel). */
async function stageKernel(
  r: Resolved,
  cacheDir: string,
  dest: string,
  scratch: string,
  progress: Progress,
  log: Logger,
): Promise<StagedKernel> {
  if (r.kernel.kind === "hako") {
    progress.step(`hako's kernel from ${r.kernel.source.package} ${r.kernel.source.version}`);
    const built = await buildKernel(r.kernel.source, cacheDir, (m) => progress.step(m));
    // Symbols are of no use to QEMU (it loads the PT_LOAD segments and reads the PVH note): a smaller file to map.
    await run("objcopy", ["--strip-all", built.vmlinux, dest]);
    return { release: built.release, modules: [], modulesDep: "", modulesBuiltin: "" };
  }
  const pkg = r.kernel.pkg;
  progress.step(`fetching ${pkg.name} ${pkg.version}`);
  const deb = await fetchKernelDeb(pkg, cacheDir);
  progress.step("unpacking the kernel package");
  const kernel = await unpackKernel(pkg, deb, cacheDir);
  progress.step(`decompressing the kernel ${kernel.release}`);
  await extractVmlinux(kernel.bzImage, dest);

  progress.step("resolving kernel modules");
  const dep = parseModulesDep(readFileSync(join(kernel.modulesDir, "modules.dep"), "utf8"));
  const modulesBuiltin = readFileSync(join(kernel.modulesDir, "modules.builtin"), "utf8");
  const resolved = resolveModules(parseModuleList(r.inputs.modules), dep, parseModulesBuiltin(modulesBuiltin));
  if (resolved.builtin.length > 0) log.debug("built into the kernel", { modules: resolved.builtin });
  if (resolved.absent.length > 0) log.info("optional modules absent from this kernel", { modules: resolved.absent });
  const modules = await stageModules(resolved.order, kernel.modulesDir, scratch);
  const modulesDep = formatModulesDep(resolved.order, dep).replaceAll(/\.ko\.(xz|zst|gz)\b/g, ".ko");
  return { release: kernel.release, modules, modulesDep, modulesBuiltin };
}

async function stageModules(paths: readonly string[], modulesDir: string, scratch: string): Promise<StagedModule[]> {
  const out: StagedModule[] = [];
  for (const path of paths) {
    const source = join(modulesDir, path);
    const m = /\.ko\.(xz|zst|gz)$/.exec(path);
    if (!m) {
      out.push({ path, source });
      continue;
    }
    // busybox insmod hands the kernel raw bytes: decompress here rather than rely on in-kernel decompression.
    const tool = m[1] === "xz" ? "xz" : m[1] === "zst" ? "zstd" : "gzip";
    const plain = path.slice(0, path.length - (m[1]?.length ?? 0) - 1);
    const target = join(scratch, "modules", plain);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, (await run(tool, ["-dc", source])).stdout);
    out.push({ path: plain, source: target });
  }
  return out;
}

async function writeInitrd(tree: FsTree, out: string, epoch: number, compression: "none" | "gzip"): Promise<void> {
  if (compression === "none") {
    writeCpio(tree, out, epoch);
    return;
  }
  const raw = `${out}.cpio`;
  writeCpio(tree, raw, epoch);
  // -n: no name or timestamp in the gzip header (reproducible).
  writeFileSync(out, (await run("gzip", ["-n", "-6", "-c", raw])).stdout);
  rmSync(raw, { force: true });
}

/** Builds (or, with ifChanged, possibly skips) the guest assets. */
export async function buildImage(o: BuildOptions = {}): Promise<BuildResult> {
  const log = (o.log ?? silentLogger).child({ subsystem: "image" });
  const progress = o.progress ?? silentProgress;
  const outputDir = resolve(o.outputDir ?? DEFAULT_ASSETS_DIR);
  const cacheDir = resolve(o.cacheDir ?? defaultCacheDir());
  try {
    progress.step("resolving inputs");
    const r = await resolveInputs(o, cacheDir, log);
    const { inputs } = r;
    if (o.ifChanged) {
      progress.step("checking the existing image");
      const current = readManifest(outputDir);
      const why = await staleReason(outputDir, current, inputs);
      if (!why && current) {
        progress.done(`guest image in ${outputDir} is up to date`);
        return { skipped: true, outputDir, manifest: current };
      }
      progress.note("rebuilding the guest image", { reason: why ?? "unknown" });
    }
    mkdirSync(outputDir, { recursive: true });
    mkdirSync(cacheDir, { recursive: true });
    const work = mkdtempSync(join(outputDir, ".build-"));
    const scratch = mkdtempSync(join(tmpdir(), "hako-image-"));
    try {
      const kernel = await stageKernel(r, cacheDir, join(work, ASSET_NAMES.kernel), scratch, progress, log);
      const { modules } = kernel;
      const treeInput = {
        bins: r.bins,
        release: kernel.release,
        modules,
        modulesDep: kernel.modulesDep,
        modulesBuiltin: kernel.modulesBuiltin,
      };
      progress.step("writing the initrd");
      await writeInitrd(initrdTree(treeInput), join(work, ASSET_NAMES.initrd), inputs.epoch, inputs.initrdCompression);

      progress.step("laying out the root filesystem");
      const imageJson = `${JSON.stringify(
        JSON.parse(
          canonicalJson({
            kernel: { ...inputs.kernel, release: kernel.release },
            busybox: inputs.busybox.version,
            node: inputs.node.version,
            crun: inputs.crun.version,
            koffi: inputs.koffi,
            agentSha256: inputs.agent.sha256,
            modules: modules.map((m) => m.path),
          }),
        ),
        null,
        2,
      )}\n`;
      const { tree } = await rootTree({
        ...treeInput,
        agent: r.agent,
        nodeModules: r.nodeModules,
        imageJson,
        extraFiles: r.extraFiles,
      });
      const staging = join(scratch, "root");
      writeTree(tree, staging);
      progress.step("checking that koffi loads from the staged root");
      await verifyKoffi(r.bins.node, join(staging, GUEST_LIB_DIR));
      progress.step("making the ext4 root image");
      await makeExt4({
        stagingDir: staging,
        tree,
        out: join(work, ASSET_NAMES.rootfs),
        epoch: inputs.epoch,
        // Paths of the inputs do not matter, their content does.
        seed: canonicalJson([inputs.builder, inputs.kernel, inputs.modules, inputs.hostFilesSha256, inputs.epoch]),
      });
      if (inputs.initrdFull) {
        progress.step("writing the initrd-only variant");
        await writeInitrd(
          fullInitrdTree(tree),
          join(work, ASSET_NAMES.initrdFull),
          inputs.epoch,
          inputs.initrdCompression,
        );
      }

      progress.step("hashing the assets");
      const names: string[] = [ASSET_NAMES.kernel, ASSET_NAMES.initrd, ASSET_NAMES.rootfs];
      if (inputs.initrdFull) names.push(ASSET_NAMES.initrdFull);
      const assets: Manifest["assets"] = {};
      for (const name of names) assets[name] = await assetRecord(join(work, name));
      const manifest: Manifest = {
        schema: 1,
        inputs,
        kernelRelease: kernel.release,
        modules: modules.map((m) => m.path),
        assets,
      };
      // Assets first, manifest last: a crash in between leaves a manifest that does not match, never a false one.
      rmSync(join(outputDir, MANIFEST_FILE), { force: true });
      for (const name of names) renameSync(join(work, name), join(outputDir, name));
      writeFileSync(join(outputDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
      progress.done(
        `guest image built in ${outputDir} (kernel ${kernel.release}: ${describeKernel(inputs.kernel)}, ${modules.length} modules)`,
      );
      return { skipped: false, outputDir, manifest };
    } finally {
      rmSync(work, { recursive: true, force: true });
      rmSync(scratch, { recursive: true, force: true });
    }
  } catch (err) {
    progress.fail();
    throw err;
  }
}
