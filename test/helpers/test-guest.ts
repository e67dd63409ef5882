// A minimal guest for hypervisor tests: Debian's cloud kernel (fetched and unpacked once into the cache, booted
// as an uncompressed vmlinux) and a tiny busybox initrd assembled from a shell script and the kernel modules it
// needs. Independent of the real guest image, so the VM layer can be tested on its own.
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { defaultCacheDir } from "../../src/image/build.js";
import {
  DEFAULT_KERNEL_PACKAGE,
  fetchKernelDeb,
  resolveKernelPackageCached,
  unpackKernel,
} from "../../src/image/kernel-package.js";
import { extractVmlinux } from "../../src/image/vmlinux.js";

export interface TestKernel {
  vmlinux: string;
  modulesDir: string;
  release: string;
}

/** The cloud kernel as an uncompressed vmlinux (QEMU enters it through its PVH note), cached across runs. */
export async function testKernel(): Promise<TestKernel> {
  const cacheDir = defaultCacheDir();
  const pkg = await resolveKernelPackageCached(DEFAULT_KERNEL_PACKAGE, cacheDir);
  const deb = await fetchKernelDeb(pkg, cacheDir);
  const kernel = await unpackKernel(pkg, deb, cacheDir);
  const vmlinux = join(cacheDir, "test", `vmlinux-${kernel.release}`);
  if (!existsSync(vmlinux)) {
    mkdirSync(dirname(vmlinux), { recursive: true });
    const tmp = `${vmlinux}.tmp-${process.pid}`;
    await extractVmlinux(kernel.bzImage, tmp);
    renameSync(tmp, vmlinux);
  }
  return { vmlinux, modulesDir: kernel.modulesDir, release: kernel.release };
}

/** `modules` and everything they depend on (modules.dep), dependencies first. */
export function moduleClosure(modulesDir: string, modules: readonly string[]): string[] {
  const deps = new Map<string, string[]>();
  for (const line of readFileSync(join(modulesDir, "modules.dep"), "utf8").split("\n")) {
    const [path, rest] = line.split(":");
    if (!path || rest === undefined) continue;
    deps.set(basename(path).replace(/\.ko(\.\w+)?$/, ""), [path, ...rest.trim().split(/\s+/).filter(Boolean)]);
  }
  const byName = (n: string) => deps.get(n) ?? deps.get(n.replaceAll("-", "_"));
  const order: string[] = [];
  const visit = (path: string) => {
    const name = basename(path).replace(/\.ko(\.\w+)?$/, "");
    const entry = byName(name);
    if (!entry) throw new Error(`module ${name} not in ${modulesDir}/modules.dep`);
    for (const dep of entry.slice(1)) visit(dep);
    if (!order.includes(entry[0] as string)) order.push(entry[0] as string);
  };
  for (const m of modules) {
    const entry = byName(m);
    if (!entry) throw new Error(`module ${m} not in ${modulesDir}/modules.dep`);
    visit(entry[0] as string);
  }
  return order;
}

export interface InitrdSpec {
  /** Output path of the (uncompressed newc) cpio. */
  out: string;
  kernel: TestKernel;
  /** Modules to load before `init` runs, by name; dependencies are added. */
  modules: readonly string[];
  /** Shell script run as PID 1 after /proc, /sys, /dev are mounted and the modules loaded. */
  init: string;
}

/** Builds a busybox initrd whose /init loads the modules, then runs the given script. */
export function buildBusyboxInitrd(spec: InitrdSpec): void {
  const stage = mkdtempSync(join(tmpdir(), "hako-initrd-"));
  try {
    for (const d of ["bin", "dev", "proc", "sys", "mnt", "tmp", "lib/modules"])
      mkdirSync(join(stage, d), { recursive: true });
    copyFileSync("/bin/busybox", join(stage, "bin/busybox"));
    chmodSync(join(stage, "bin/busybox"), 0o755);
    const insmods: string[] = [];
    for (const rel of moduleClosure(spec.kernel.modulesDir, spec.modules)) {
      const name = basename(rel);
      copyFileSync(join(spec.kernel.modulesDir, rel), join(stage, "lib/modules", name));
      insmods.push(`insmod /lib/modules/${name}`);
    }
    const init = [
      "#!/bin/busybox sh",
      "/bin/busybox --install -s /bin",
      "export PATH=/bin",
      "mount -t proc proc /proc",
      "mount -t sysfs sysfs /sys",
      "mount -t devtmpfs devtmpfs /dev",
      ...insmods,
      spec.init,
    ].join("\n");
    writeFileSync(join(stage, "init"), `${init}\n`, { mode: 0o755 });
    const list = execFileSync("find", [".", "-mindepth", "1"], { cwd: stage, encoding: "utf8" });
    const cpio = execFileSync("cpio", ["-o", "-H", "newc", "--quiet", "-R", "0:0"], {
      cwd: stage,
      input: list,
      maxBuffer: 256 * 1024 * 1024,
    });
    writeFileSync(spec.out, cpio);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** Reads the file until `pattern` shows up or the time runs out; returns the text read last. */
export async function waitForText(path: string, pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = existsSync(path) ? readFileSync(path, "utf8") : "";
    if (pattern.test(text) || Date.now() > deadline) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
}
