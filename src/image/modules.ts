// Which kernel modules the guest carries, in load order: parsed from the kernel's modules.dep and modules.builtin
// (pure functions: text in, lists out), so the initrd can insmod them one by one without modprobe.
import { invalidArgument } from "../common/errors.js";

/**
 * The modules the guest needs, whatever of them the kernel builds as modules (builtins are skipped). Optional ones
 * (marked `?`) are simply left out when the kernel has no such module at all.
 */
export const DEFAULT_MODULES: readonly string[] = [
  "virtio_ring?",
  "virtio?",
  "virtio_pci_modern_dev?",
  "virtio_pci_legacy_dev?",
  "virtio_pci",
  // MMIO transport: QEMU microvm, Firecracker and Cloud Hypervisor describe their devices this way.
  "virtio_mmio?",
  "virtio_rng?",
  "virtio_console",
  "virtio_blk",
  "virtio_net",
  "vsock",
  "vmw_vsock_virtio_transport",
  "fuse",
  "virtiofs",
  "overlay",
  "libnvdimm",
  "nd_virtio?",
  "virtio_pmem",
  "nd_btt?",
  "nd_pmem",
  // The root file system: built in to the cloud kernel, modules (with jbd2, mbcache, crc16) in the generic one. ext4
  // asks the crypto API for crc32c at mount time, and the guest has no modprobe to load it then.
  "crc32c_generic?",
  "ext4",
  // shared_fs = "virtio-9p": Debian's generic kernel (linux-image-amd64) has these, the cloud kernel does not.
  "9pnet?",
  "9pnet_virtio?",
  "9p?",
];

export interface ModuleEntry {
  /** Path relative to /lib/modules/<version>/, e.g. `kernel/fs/fuse/fuse.ko`. */
  path: string;
  /** Paths of the modules this one needs, as modules.dep lists them. */
  deps: string[];
}

/** Module name of a path: basename without `.ko[.xz|.zst|.gz]`, dashes as underscores (the kernel's spelling). */
export function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, "").replaceAll("-", "_");
}

/** Parses modules.dep (`path: dep dep …` per line) into a map keyed by module name. */
export function parseModulesDep(text: string): Map<string, ModuleEntry> {
  const out = new Map<string, ModuleEntry>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const path = line.slice(0, colon).trim();
    const deps = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .filter((d) => d.length > 0);
    out.set(moduleName(path), { path, deps });
  }
  return out;
}

/** Parses modules.builtin (one path per line) into the set of builtin module names. */
export function parseModulesBuiltin(text: string): Set<string> {
  return new Set(
    text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.length > 0)
      .map(moduleName),
  );
}

export interface ModuleRequest {
  name: string;
  /** An optional module missing from the kernel is skipped; a required one is an error. */
  optional: boolean;
}

/** Turns `virtio_pci,nd_btt?` style lists into requests; `-` and `_` are the same to the kernel. */
export function parseModuleList(list: readonly string[]): ModuleRequest[] {
  return list
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => ({ name: s.replace(/\?$/, "").replaceAll("-", "_"), optional: s.endsWith("?") }));
}

export interface ResolvedModules {
  /** Paths relative to /lib/modules/<version>/, each after everything it depends on. */
  order: string[];
  /** Requested modules that are built into the kernel (nothing to load). */
  builtin: string[];
  /** Optional requests the kernel does not have at all. */
  absent: string[];
}

/**
 * Resolves requests to module files in load order (dependencies first, then the request order). A required module
 * that is neither a module nor builtin is an InvalidArgument error naming it.
 */
export function resolveModules(
  requests: readonly ModuleRequest[],
  dep: ReadonlyMap<string, ModuleEntry>,
  builtin: ReadonlySet<string>,
): ResolvedModules {
  const byPath = new Map<string, ModuleEntry>();
  for (const e of dep.values()) byPath.set(e.path, e);
  const order: string[] = [];
  const done = new Set<string>();
  const visiting = new Set<string>();
  const visit = (path: string): void => {
    if (done.has(path)) return;
    if (visiting.has(path)) throw invalidArgument(`modules.dep has a dependency cycle through ${path}`);
    visiting.add(path);
    const entry = byPath.get(path);
    if (!entry) throw invalidArgument(`modules.dep names ${path} as a dependency but has no entry for it`);
    for (const d of entry.deps) visit(d);
    visiting.delete(path);
    done.add(path);
    order.push(path);
  };
  const result: ResolvedModules = { order, builtin: [], absent: [] };
  for (const req of requests) {
    const entry = dep.get(req.name);
    if (entry) visit(entry.path);
    else if (builtin.has(req.name)) result.builtin.push(req.name);
    else if (req.optional) result.absent.push(req.name);
    else throw invalidArgument(`kernel module ${req.name} is neither a module nor built into this kernel`);
  }
  return result;
}

/** Keeps only the modules.dep lines of the given modules (the guest carries a subset of the kernel's modules). */
export function formatModulesDep(paths: readonly string[], dep: ReadonlyMap<string, ModuleEntry>): string {
  const wanted = new Set(paths);
  const lines: string[] = [];
  for (const e of dep.values()) {
    if (wanted.has(e.path)) lines.push(`${e.path}:${e.deps.map((d) => ` ${d}`).join("")}`);
  }
  return lines
    .sort()
    .map((l) => `${l}\n`)
    .join("");
}
