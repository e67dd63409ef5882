// Fetches and unpacks Debian's guest kernel: resolves the meta package (linux-image-cloud-amd64) to the versioned
// image package it depends on, downloads that .deb once into the cache (`apt-get download`, so later builds work
// offline) and unpacks it once with `dpkg -x`. Nothing is installed on the host.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Code, HakoError } from "../common/errors.js";
import { run, runText } from "./exec.js";

export const DEFAULT_KERNEL_PACKAGE = "linux-image-cloud-amd64";

export interface KernelPackage {
  /** The versioned package that holds the kernel, e.g. linux-image-6.1.0-56-cloud-amd64. */
  name: string;
  version: string;
  /** A local .deb given instead of a package name. */
  localDeb?: string;
}

export interface UnpackedKernel extends KernelPackage {
  /** `uname -r` of the kernel (the directory name under lib/modules). */
  release: string;
  /** Root of the unpacked package. */
  root: string;
  bzImage: string;
  modulesDir: string;
}

function field(control: string, name: string): string | undefined {
  const m = new RegExp(`^${name}: (.*)$`, "m").exec(control);
  return m?.[1]?.trim();
}

/** Resolves a package name (or a local .deb path) to the versioned kernel image package. Needs no network. */
export async function resolveKernelPackage(nameOrDeb: string): Promise<KernelPackage> {
  if (nameOrDeb.endsWith(".deb")) {
    if (!existsSync(nameOrDeb)) throw new HakoError(Code.NotFound, `kernel package file ${nameOrDeb} does not exist`);
    const control = await runText("dpkg-deb", ["-f", nameOrDeb, "Package", "Version"], {
      code: Code.FailedPrecondition,
    });
    const name = field(control, "Package");
    const version = field(control, "Version");
    if (!name || !version) throw new HakoError(Code.FailedPrecondition, `${nameOrDeb} is not a Debian package`);
    return { name, version, localDeb: nameOrDeb };
  }
  let name = nameOrDeb;
  for (let depth = 0; depth < 3; depth++) {
    let control: string;
    try {
      control = await runText("apt-cache", ["show", "--no-all-versions", name], { code: Code.NotFound });
    } catch (err) {
      throw new HakoError(
        Code.NotFound,
        `kernel package ${name} is not known to apt (run apt-get update, or pass --kernel-package with another name or a .deb path)`,
        { cause: err },
      );
    }
    const version = field(control, "Version");
    if (!version) throw new HakoError(Code.NotFound, `kernel package ${name} has no installable version`);
    // A meta package depends on the versioned image package: follow it.
    const next = /(?:^|[\s,])(linux-image-\d[^\s,(|]*)/.exec(field(control, "Depends") ?? "")?.[1];
    if (!next) return { name, version };
    name = next;
  }
  throw new HakoError(Code.FailedPrecondition, `kernel package ${nameOrDeb} depends on too many meta packages`);
}

const APT_LISTS = "/var/lib/apt/lists";

/** Changes whenever apt's package lists change (apt-get update), so a cached resolution can be trusted until then. */
function aptListsStamp(): string {
  const h = createHash("sha256");
  const names = existsSync(APT_LISTS)
    ? readdirSync(APT_LISTS)
        .filter((n) => n.includes("Packages"))
        .sort()
    : [];
  for (const n of names) {
    const st = statSync(join(APT_LISTS, n));
    h.update(`${n}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return h.digest("hex");
}

/**
 * resolveKernelPackage with its answer remembered in the cache: apt-cache reads all package lists on every call
 * (over half a second where apt keeps no binary cache), which `--if-changed` on every set-up run should not pay.
 */
export async function resolveKernelPackageCached(nameOrDeb: string, cacheDir: string): Promise<KernelPackage> {
  if (nameOrDeb.endsWith(".deb")) return resolveKernelPackage(nameOrDeb);
  const file = join(cacheDir, "resolved", `${nameOrDeb.replaceAll("/", "_")}.json`);
  const stamp = aptListsStamp();
  try {
    const cached = JSON.parse(readFileSync(file, "utf8")) as { stamp: string; pkg: KernelPackage };
    if (cached.stamp === stamp && cached.pkg.name && cached.pkg.version) return cached.pkg;
  } catch {
    // no usable cache entry: ask apt
  }
  const pkg = await resolveKernelPackage(nameOrDeb);
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ stamp, pkg }));
  } catch {
    // a read-only cache only costs speed
  }
  return pkg;
}

function debFileName(pkg: KernelPackage): string {
  return `${pkg.name}_${pkg.version.replaceAll(":", "%3a")}_amd64.deb`;
}

/** The .deb of `pkg`: the local file, the cached one, apt's own cache, or a fresh `apt-get download`. */
export async function fetchKernelDeb(pkg: KernelPackage, cacheDir: string): Promise<string> {
  if (pkg.localDeb) return pkg.localDeb;
  const debs = join(cacheDir, "debs");
  const cached = join(debs, debFileName(pkg));
  if (existsSync(cached)) return cached;
  const aptCached = join("/var/cache/apt/archives", debFileName(pkg));
  if (existsSync(aptCached)) return aptCached;
  mkdirSync(debs, { recursive: true });
  const tmp = join(debs, `.download-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    await run("apt-get", ["download", "-q", `${pkg.name}=${pkg.version}`], { cwd: tmp, code: Code.Unavailable });
    const got = readdirSync(tmp).find((f) => f.endsWith(".deb"));
    if (!got) throw new HakoError(Code.Unavailable, `apt-get download ${pkg.name} produced no .deb`);
    renameSync(join(tmp, got), cached);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return cached;
}

/** Unpacks the kernel package once per version into the cache; runs depmod when the package has no modules.dep. */
export async function unpackKernel(pkg: KernelPackage, deb: string, cacheDir: string): Promise<UnpackedKernel> {
  const root = join(cacheDir, "kernels", `${pkg.name}_${pkg.version.replaceAll(":", "%3a")}`);
  if (!existsSync(join(root, ".complete"))) {
    const tmp = `${root}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    try {
      await run("dpkg", ["-x", deb, tmp], { code: Code.FailedPrecondition });
      const release = kernelRelease(tmp, deb);
      if (!existsSync(join(tmp, modulesBase(tmp), release, "modules.dep"))) {
        // Debian generates modules.dep at install time (postinst); compute it the same way without installing.
        const base = modulesBase(tmp) === "lib/modules" ? tmp : join(tmp, "usr");
        await run("depmod", ["-b", base, release], { code: Code.FailedPrecondition });
      }
      writeFileSync(join(tmp, ".complete"), `${deb}\n`);
      if (existsSync(join(root, ".complete"))) {
        rmSync(tmp, { recursive: true, force: true }); // a concurrent build got there first: keep its copy
      } else {
        rmSync(root, { recursive: true, force: true });
        renameSync(tmp, root);
      }
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
  }
  const release = kernelRelease(root, deb);
  const bzImage = join(root, "boot", `vmlinuz-${release}`);
  if (!existsSync(bzImage))
    throw new HakoError(Code.FailedPrecondition, `kernel package ${deb} has no /boot/vmlinuz-${release}`);
  return { ...pkg, release, root, bzImage, modulesDir: join(root, modulesBase(root), release) };
}

/** Where the package keeps its modules: lib/modules, or usr/lib/modules in merged-/usr packages. */
function modulesBase(root: string): string {
  return existsSync(join(root, "lib/modules")) ? "lib/modules" : "usr/lib/modules";
}

function kernelRelease(root: string, deb: string): string {
  const dir = join(root, modulesBase(root));
  const releases = existsSync(dir) ? readdirSync(dir) : [];
  const release = releases[0];
  if (releases.length !== 1 || !release) {
    throw new HakoError(
      Code.FailedPrecondition,
      `kernel package ${deb} does not hold exactly one lib/modules/<release>`,
    );
  }
  return release;
}
