// Which kernel modules the running host kernel can load, read from /lib/modules/<release>/modules.dep, the list
// depmod writes and modprobe reads: so that hako suggests `modprobe X` only where X exists. A kernel built without
// modules (or without that driver) has no such entry, and modprobe would only fail with "Module X not found".
import { readFileSync } from "node:fs";
import { release as osRelease } from "node:os";
import { basename, join } from "node:path";
import { errnoCode } from "../common/errors.js";

export interface KernelModules {
  /** The running kernel's release (`uname -r`), to name it in messages. */
  readonly release: string;
  /** True when `modprobe name` finds the module; `-` and `_` in names are the same, as modprobe treats them. */
  loadable(name: string): boolean;
}

const canonical = (name: string) => name.replaceAll("-", "_");

/** Module names of modules.dep's text: each line is `path/name.ko[.xz|.zst|.gz]: dependencies…`. */
export function modulesDepNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const path = line.slice(0, line.indexOf(":"));
    const m = /^(.+)\.ko(?:\.\w+)?$/.exec(basename(path));
    if (m?.[1]) names.add(canonical(m[1]));
  }
  return names;
}

/**
 * The modules of kernel `release` under `root` (default: the running kernel's, /lib/modules). No modules.dep
 * (a kernel without modules, or its package not installed) means no module is loadable; another read error throws.
 */
export function hostKernelModules(root = "/lib/modules", release = osRelease()): KernelModules {
  let names: Set<string> | undefined;
  const read = (): Set<string> => {
    if (names) return names;
    try {
      names = modulesDepNames(readFileSync(join(root, release, "modules.dep"), "utf8"));
    } catch (err) {
      if (errnoCode(err) !== "ENOENT" && errnoCode(err) !== "ENOTDIR") throw err;
      names = new Set();
    }
    return names;
  };
  return { release, loadable: (name) => read().has(canonical(name)) };
}

/**
 * What to do about a device node that is missing when `module` provides it: `modprobe <module>` when this kernel has
 * the module; else the kernel option it lacks (`config`, e.g. CONFIG_VHOST_VSOCK), since modprobe cannot help.
 */
export function missingModuleFix(modules: KernelModules, module: string, config: string): string {
  return modules.loadable(module)
    ? `modprobe ${module}`
    : `kernel ${modules.release} has no ${module} module: a host kernel built with ${config} has it`;
}
