// hako's own guest kernel: Debian's linux-source-6.1 configured with `make tinyconfig` plus the fragment
// src/image/kernel/hako.config (everything hako needs built in, no modules), built once into the cache as an ELF
// vmlinux and rebuilt only when the source version, the fragment or this recipe changes.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { Code, HakoError } from "../common/errors.js";
import { run, runText } from "./exec.js";

/** The Debian package that ships the kernel source as /usr/src/<name>.tar.xz. */
export const KERNEL_SOURCE_PACKAGE = "linux-source-6.1";
/** Relative to the hako checkout. */
export const KERNEL_FRAGMENT = "src/image/kernel/hako.config";
/** Bumped when the build recipe below changes the kernel for the same source and fragment. */
const RECIPE_VERSION = 1;

export interface KernelSource {
  package: string;
  /** The installed package version (dpkg), e.g. 6.1.192-3. */
  version: string;
  tarball: string;
  fragment: string;
  fragmentSha256: string;
}

export interface BuiltKernel {
  /** The ELF vmlinux (PVH entry) in the cache. */
  vmlinux: string;
  /** `make kernelrelease`, e.g. 6.1.192. */
  release: string;
  /** The final .config, kept beside the vmlinux. */
  config: string;
}

/** The installed kernel source and the fragment; a clear error naming the package when it is not installed. */
export async function resolveKernelSource(projectDir: string): Promise<KernelSource> {
  const tarball = `/usr/src/${KERNEL_SOURCE_PACKAGE}.tar.xz`;
  // `dpkg-query -W NAME` prints "NAME<TAB>VERSION" (an empty version when it is known but not installed).
  const line = await runText("dpkg-query", ["-W", KERNEL_SOURCE_PACKAGE]).catch(() => "");
  const version = line.split("\t")[1]?.trim() ?? "";
  if (!version || !existsSync(tarball)) {
    throw new HakoError(
      Code.FailedPrecondition,
      `${KERNEL_SOURCE_PACKAGE} is not installed (apt-get install ${KERNEL_SOURCE_PACKAGE} build-essential bc flex bison libelf-dev libssl-dev), or pass --kernel-package linux-image-cloud-amd64 to use Debian's kernel`,
    );
  }
  const fragment = join(projectDir, KERNEL_FRAGMENT);
  if (!existsSync(fragment)) throw new HakoError(Code.NotFound, `kernel config fragment ${fragment} is missing`);
  const fragmentSha256 = createHash("sha256").update(readFileSync(fragment)).digest("hex");
  return { package: KERNEL_SOURCE_PACKAGE, version, tarball, fragment, fragmentSha256 };
}

/** The `CONFIG_X=value` lines of a fragment or .config (comments and `# ... is not set` lines left out). */
export function configSettings(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) out.set(m[1], m[2]);
  }
  return out;
}

/** The tick rate a kernel .config sets (CONFIG_HZ), or undefined when it does not say. */
export function configHz(configText: string): number | undefined {
  const hz = Number(configSettings(configText).get("CONFIG_HZ"));
  return Number.isInteger(hz) && hz > 0 ? hz : undefined;
}

/**
 * The fragment's settings that did not survive `make olddefconfig` (Kconfig silently drops an option whose
 * dependencies are not met), as `CONFIG_X=want (got …)` strings; empty when the fragment is fully applied.
 */
export function droppedSettings(fragment: string, finalConfig: string): string[] {
  const final = configSettings(finalConfig);
  const out: string[] = [];
  for (const [key, want] of configSettings(fragment)) {
    const got = final.get(key);
    if (got !== want) out.push(`${key}=${want} (got ${got ?? "unset"})`);
  }
  return out;
}

function cacheKey(src: KernelSource): string {
  return createHash("sha256")
    .update(`${RECIPE_VERSION}\0${src.package}\0${src.version}\0${src.fragmentSha256}`)
    .digest("hex")
    .slice(0, 16);
}

/** Where the built kernel for `src` lives in the cache (whether built or not). */
export function builtKernelPaths(src: KernelSource, cacheDir: string): BuiltKernel & { dir: string } {
  const dir = join(cacheDir, "hako-kernel", `${src.version}-${cacheKey(src)}`);
  return { dir, vmlinux: join(dir, "vmlinux"), config: join(dir, "config"), release: "" };
}

/**
 * Builds (or finds in the cache) hako's kernel for `src`. The source tree is unpacked once per source version under
 * the cache and kept, so a changed fragment rebuilds incrementally. The build runs niced: it takes minutes of every
 * core and should not starve running sandboxes.
 */
export async function buildKernel(
  src: KernelSource,
  cacheDir: string,
  step: (message: string) => void = () => {},
): Promise<BuiltKernel> {
  const out = builtKernelPaths(src, cacheDir);
  const releaseFile = join(out.dir, "release");
  if (existsSync(join(out.dir, ".complete"))) {
    return { vmlinux: out.vmlinux, config: out.config, release: readFileSync(releaseFile, "utf8").trim() };
  }
  const treeParent = join(cacheDir, "kernel-src", src.version.replaceAll(":", "%3a"));
  const tree = join(treeParent, KERNEL_SOURCE_PACKAGE);
  if (!existsSync(join(treeParent, ".complete"))) {
    step(`unpacking ${src.tarball}`);
    rmSync(treeParent, { recursive: true, force: true });
    mkdirSync(treeParent, { recursive: true });
    await run("tar", ["-xJf", src.tarball, "-C", treeParent], { code: Code.FailedPrecondition });
    if (!existsSync(join(tree, "Makefile"))) {
      throw new HakoError(Code.FailedPrecondition, `${src.tarball} did not unpack into ${KERNEL_SOURCE_PACKAGE}/`);
    }
    writeFileSync(join(treeParent, ".complete"), `${src.version}\n`);
  }
  const make = (args: string[]) => run("nice", ["-n", "10", "make", "-C", tree, ...args], { code: Code.Internal });
  step("configuring the kernel (tinyconfig + hako.config)");
  await make(["tinyconfig"]);
  await run(join(tree, "scripts/kconfig/merge_config.sh"), ["-m", "-O", tree, join(tree, ".config"), src.fragment], {
    cwd: tree,
  });
  await make(["olddefconfig"]);
  const finalConfig = readFileSync(join(tree, ".config"), "utf8");
  const dropped = droppedSettings(readFileSync(src.fragment, "utf8"), finalConfig);
  if (dropped.length > 0) {
    throw new HakoError(
      Code.FailedPrecondition,
      `${KERNEL_FRAGMENT}: options lost by make olddefconfig (a dependency is not enabled): ${dropped.join(", ")}`,
    );
  }
  const jobs = Math.max(1, cpus().length);
  step(`building vmlinux (make -j${jobs}, minutes on a small machine)`);
  await make([`-j${jobs}`, "vmlinux"]);
  const release = (await run("make", ["-s", "-C", tree, "kernelrelease"])).stdout.toString("utf8").trim();
  const tmp = `${out.dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  copyFileSync(join(tree, "vmlinux"), join(tmp, "vmlinux"));
  writeFileSync(join(tmp, "config"), finalConfig);
  writeFileSync(join(tmp, "release"), `${release}\n`);
  writeFileSync(join(tmp, ".complete"), "");
  rmSync(out.dir, { recursive: true, force: true });
  renameSync(tmp, out.dir);
  return { vmlinux: out.vmlinux, config: out.config, release };
}
