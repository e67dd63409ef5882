// manifest.json of the assets directory: what went into the guest image (kernel package, host binaries, module
// list, agent bundle) and the sha256 and size of every asset. `--if-changed` compares it with the current inputs.
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Bumped whenever the builder's output changes for the same inputs, so old images get rebuilt. */
export const BUILDER_VERSION = 10;
export const MANIFEST_FILE = "manifest.json";

export const ASSET_NAMES = {
  kernel: "vmlinux",
  initrd: "hako-initrd.img",
  rootfs: "hako-rootfs.img",
  initrdFull: "hako-initrd-full.img",
} as const;

export interface HostBinaryInput {
  path: string;
  version: string;
}

/**
 * Where the guest kernel comes from: hako's own (built from a Debian kernel source package with the repo's config
 * fragment, no modules) or a Debian kernel image package (its modules carried in the initrd).
 */
export type KernelInput =
  | { kind: "hako"; source: string; version: string; fragmentSha256: string }
  | { kind: "package"; package: string; version: string };

/** One line for humans: `hako (linux-source-6.1 6.1.192-3)` or `linux-image-… 6.1.…`. */
export function describeKernel(k: KernelInput): string {
  return k.kind === "hako" ? `hako's own (${k.source} ${k.version})` : `Debian's ${k.package} ${k.version}`;
}

/**
 * The VM the agent's startup snapshot is made in, as far as it decides the CPU the guest's V8 sees (V8 refuses a
 * snapshot made under other CPU features): the QEMU binary, the accelerator and the `-cpu` value the runtime uses.
 */
export interface SnapshotInput {
  qemu: HostBinaryInput;
  accel: "tcg" | "kvm";
  cpu: string;
}

/** One line for humans: `tcg -cpu max, QEMU emulator version 7.2.x` or `none`. */
export function describeSnapshotVm(s: SnapshotInput | false): string {
  return s ? `${s.accel} -cpu ${s.cpu}, ${s.qemu.version}` : "none";
}

export interface ManifestInputs {
  builder: number;
  kernel: KernelInput;
  busybox: HostBinaryInput;
  node: HostBinaryInput;
  crun: HostBinaryInput;
  koffi: string;
  /** The module requests (names; `?` marks optional ones). */
  modules: string[];
  agent: { path: string; sha256: string };
  extraFiles: { source: string; dest: string; sha256: string }[];
  /** Digest over every host file copied into the guest (binaries, libraries, agent, koffi, extra files). */
  hostFilesSha256: string;
  initrdFull: boolean;
  initrdCompression: "none" | "gzip";
  epoch: number;
  /** The agent's startup snapshot is made in this VM; false: no snapshot (asked for, or an ES module agent). */
  snapshot: SnapshotInput | false;
}

/** The startup snapshot the root holds: a key for the CPU line it was made under (its md5), its path and size. */
export interface SnapshotRecord {
  key: string;
  /** The blob's path in the root. */
  path: string;
  size: number;
}

export interface AssetRecord {
  sha256: string;
  size: number;
}

export interface Manifest {
  schema: 1;
  inputs: ManifestInputs;
  kernelRelease: string;
  /** The kernel's tick rate (CONFIG_HZ), when the build found its config: the runtime derives `lpj=` from it. */
  kernelHz?: number;
  /** Module files in load order, relative to /lib/modules/<release>/. */
  modules: string[];
  assets: Record<string, AssetRecord>;
  /** Absent when the image has no snapshot (not asked for, or the snapshot boot failed: the build warned). */
  snapshot?: SnapshotRecord;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest("hex");
}

export async function assetRecord(path: string): Promise<AssetRecord> {
  return { sha256: await sha256File(path), size: statSync(path).size };
}

export function readManifest(dir: string): Manifest | undefined {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const m = JSON.parse(readFileSync(path, "utf8")) as Manifest;
    return m.schema === 1 && typeof m.assets === "object" ? m : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The manifest beside `path` (an asset: the kernel, an image) when it lists that file with its current size, else
 * undefined: what the runtime may trust about the file without hashing it on every start.
 */
export function manifestListing(path: string): { manifest: Manifest; record: AssetRecord } | undefined {
  const manifest = readManifest(dirname(path));
  const record = manifest?.assets[basename(path)];
  if (!manifest || !record) return undefined;
  try {
    return record.size === statSync(path).size ? { manifest, record } : undefined;
  } catch {
    return undefined;
  }
}

/** Stable JSON (sorted keys) so that equal inputs compare and hash equal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/**
 * Why `manifest` does not satisfy a build of `inputs` into `dir`, or undefined when it does: same inputs (an image
 * built with the initrd-only variant also satisfies a request without it) and every asset present with its hash.
 */
export async function staleReason(
  dir: string,
  manifest: Manifest | undefined,
  inputs: ManifestInputs,
): Promise<string | undefined> {
  if (!manifest) return "no manifest";
  const strip = (i: ManifestInputs) => canonicalJson({ ...i, initrdFull: false });
  if (canonicalJson(manifest.inputs.kernel) !== canonicalJson(inputs.kernel)) {
    const was = manifest.inputs.kernel as KernelInput | { package?: string };
    const before = "kind" in was ? describeKernel(was) : "an older image's kernel";
    const hakoBoth = "kind" in was && was.kind === "hako" && inputs.kernel.kind === "hako";
    return hakoBoth && was.version === inputs.kernel.version
      ? "the kernel config fragment changed"
      : `the kernel changed (${before} -> ${describeKernel(inputs.kernel)})`;
  }
  const was = manifest.inputs.snapshot ?? false;
  if (canonicalJson(was) !== canonicalJson(inputs.snapshot)) {
    return `the agent snapshot's VM changed (${describeSnapshotVm(was)} -> ${describeSnapshotVm(inputs.snapshot)})`;
  }
  if (strip(manifest.inputs) !== strip(inputs)) return "inputs changed";
  if (inputs.initrdFull && !manifest.inputs.initrdFull) return "the initrd-only variant was not built";
  const wanted: string[] = [ASSET_NAMES.kernel, ASSET_NAMES.initrd, ASSET_NAMES.rootfs];
  if (inputs.initrdFull) wanted.push(ASSET_NAMES.initrdFull);
  for (const name of wanted) {
    const rec = manifest.assets[name];
    const path = join(dir, name);
    if (!rec || !existsSync(path)) return `${name} is missing`;
    if (statSync(path).size !== rec.size || (await sha256File(path)) !== rec.sha256) return `${name} was modified`;
  }
  return undefined;
}
