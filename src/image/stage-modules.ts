// The image build's kernel step: the ELF vmlinux (hako's own, stripped, or a Debian package's, decompressed) and,
// for a package, the modules the initrd loads, resolved with their dependencies and decompressed for busybox insmod.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Logger } from "../common/log.js";
import { run } from "./exec.js";
import type { StagedModule } from "./guest-tree.js";
import type { Resolved } from "./inputs.js";
import { fetchKernelDeb, unpackKernel } from "./kernel-package.js";
import { buildKernel, configHz } from "./kernel-source.js";
import { formatModulesDep, parseModuleList, parseModulesBuiltin, parseModulesDep, resolveModules } from "./modules.js";
import type { Progress } from "./progress.js";
import { extractVmlinux } from "./vmlinux.js";

/** The kernel's release and the modules staged for the initrd (none for hako's own kernel). */
export interface StagedKernel {
  release: string;
  /** The kernel's tick rate (CONFIG_HZ of its .config), when its config was found. */
  hz?: number;
  modules: StagedModule[];
  modulesDep: string;
  modulesBuiltin: string;
}

/** Puts the ELF vmlinux at `dest` and stages the modules the initrd loads (none for hako's own kernel). */
export async function stageKernel(
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
    const hz = configHz(readFileSync(built.config, "utf8"));
    return { release: built.release, modules: [], modulesDep: "", modulesBuiltin: "", ...(hz ? { hz } : {}) };
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
  const config = join(kernel.root, "boot", `config-${kernel.release}`);
  const hz = existsSync(config) ? configHz(readFileSync(config, "utf8")) : undefined;
  return { release: kernel.release, modules, modulesDep, modulesBuiltin, ...(hz ? { hz } : {}) };
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
