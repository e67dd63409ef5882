// Facts about the host that `hako check` judges and `hako env` reports: tool versions, guest assets against their
// manifest, cgroup layout, containerd's configuration. Each function only observes; none changes the host.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { activeHypervisor, type HakoConfig } from "../config/index.js";
import { hakoHandlers } from "../deploy/containerd-config.js";
import { findProjectDir } from "../image/inputs.js";
import { configSettings, KERNEL_FRAGMENT } from "../image/kernel-source.js";
import {
  describeKernel,
  type KernelInput,
  MANIFEST_FILE,
  type Manifest,
  readManifest,
  sha256File,
} from "../image/manifest.js";
import { moduleName } from "../image/modules.js";
import type { SnapshotFacts } from "./check/snapshot.js";

const run = promisify(execFile);

/** First line of `binary --version`, or undefined when it cannot run. */
export async function toolVersion(binary: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(binary, ["--version"], { timeout: 10_000 });
    return stdout.split("\n")[0]?.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Where an executable named `name` is on PATH, or undefined. */
export function onPath(name: string, path = process.env.PATH ?? ""): string | undefined {
  for (const dir of path.split(":").filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export interface AssetFact {
  role: "kernel" | "initrd" | "image";
  path: string;
  exists: boolean;
  size?: number;
  /** Against manifest.json beside the kernel: matches, differs, or is not listed there. */
  manifest: "match" | "mismatch" | "unlisted" | "no-manifest";
  /** The manifest in the file's own directory names it (true for a listed file that has since been deleted). */
  listed?: boolean;
}

export interface AssetsFacts {
  manifestPath: string;
  manifestFound: boolean;
  kernelRelease?: string;
  /** Which kernel the manifest says was built in: hako's own or a Debian package (describeKernel). */
  kernelOrigin?: string;
  /** Whether that kernel can mount virtio-9p (kernelHas9p()); absent without a manifest or when it cannot be told. */
  kernel9p?: boolean;
  assets: AssetFact[];
  /** The manifest's record of the agent's startup snapshot (absent without a manifest). */
  snapshot?: SnapshotFacts;
}

/** The assets the config will boot (the root image only in pmem mode), each checked against the manifest. */
export async function assetFacts(config: HakoConfig, verifyHashes = true): Promise<AssetsFacts> {
  const hv = activeHypervisor(config);
  const wanted: { role: AssetFact["role"]; path: string }[] = [
    { role: "kernel", path: hv.kernel },
    { role: "initrd", path: hv.initrd },
  ];
  if (hv.rootfsMode === "pmem") wanted.push({ role: "image", path: hv.image });
  const dir = dirname(hv.kernel);
  const manifest = readManifest(dir);
  const out: AssetFact[] = [];
  for (const w of wanted.filter((w) => w.path !== "")) {
    const exists = existsSync(w.path);
    const fact: AssetFact = { ...w, exists, manifest: manifest ? "unlisted" : "no-manifest" };
    if (exists) fact.size = statSync(w.path).size;
    const rec = manifest && dirname(w.path) === dir ? manifest.assets[basename(w.path)] : undefined;
    if (rec) fact.listed = true;
    if (exists && rec) {
      const same = fact.size === rec.size && (!verifyHashes || (await sha256File(w.path)) === rec.sha256);
      fact.manifest = same ? "match" : "mismatch";
    }
    out.push(fact);
  }
  // Manifests of older builders have no `kind`: they were always Debian's package.
  const k = manifest?.inputs.kernel as KernelInput | { package: string; version: string } | undefined;
  const origin = k ? ("kind" in k ? describeKernel(k) : `Debian's ${k.package} ${k.version}`) : undefined;
  const has9p = manifest ? kernelHas9p(manifest) : undefined;
  return {
    manifestPath: join(dir, MANIFEST_FILE),
    manifestFound: manifest !== undefined,
    ...(manifest ? { kernelRelease: manifest.kernelRelease } : {}),
    ...(origin ? { kernelOrigin: origin } : {}),
    ...(has9p === undefined ? {} : { kernel9p: has9p }),
    assets: out,
    ...(manifest ? { snapshot: { vm: manifest.inputs.snapshot, made: manifest.snapshot } } : {}),
  };
}

/**
 * Whether the manifest's kernel has the virtio-9p client (9p over virtio: CONFIG_9P_FS and CONFIG_NET_9P_VIRTIO).
 * A Debian package kernel has it only as modules (the generic kernel builds 9p, 9pnet, 9pnet_virtio as modules, the
 * cloud kernel not at all), so the initrd's module list says. hako's own kernel has no modules: the config fragment
 * it was built from says, read from this checkout when its sha256 is the one recorded; undefined when it is not.
 */
export function kernelHas9p(manifest: Manifest, fragmentPath?: string): boolean | undefined {
  const k = manifest.inputs.kernel as KernelInput | { package: string };
  if (!("kind" in k) || k.kind === "package") {
    const names = new Set(manifest.modules.map(moduleName));
    return names.has("9p") && names.has("9pnet_virtio");
  }
  let text: string;
  try {
    text = readFileSync(fragmentPath ?? join(findProjectDir(), KERNEL_FRAGMENT), "utf8");
  } catch {
    return undefined; // not run from a checkout, or the fragment is gone
  }
  if (createHash("sha256").update(text).digest("hex") !== k.fragmentSha256) return undefined;
  const set = configSettings(text);
  return set.get("CONFIG_9P_FS") === "y" && set.get("CONFIG_NET_9P_VIRTIO") === "y";
}

export type CgroupLayout = "v2" | "hybrid" | "v1" | "none";

/** v2: cgroup2 at /sys/fs/cgroup; hybrid: v1 controllers plus a v2 `unified` mount; v1: controllers only. */
export function cgroupLayout(mounts = readFileSync("/proc/self/mounts", "utf8")): CgroupLayout {
  const lines = mounts.split("\n").map((l) => l.split(" "));
  if (lines.some((f) => f[1] === "/sys/fs/cgroup" && f[2] === "cgroup2")) return "v2";
  const v1 = lines.some((f) => f[2] === "cgroup");
  const v2 = lines.some((f) => f[2] === "cgroup2");
  if (v1 && v2) return "hybrid";
  return v1 ? "v1" : "none";
}

export interface ContainerdFacts {
  binary?: string;
  version?: string;
  configPath: string;
  configFound: boolean;
  /** A runtime in containerd's config names hako's runtime type (needed for CRI / Kubernetes, not for ctr). */
  criRuntimeConfigured: boolean;
  /** The shim that containerd resolves by name on PATH. */
  shim?: string;
}

/** The CRI handlers using hako; none when the config is missing or not TOML (check reports that as not configured). */
function criHandlers(text: string, configPath: string): string[] {
  try {
    return hakoHandlers(text, configPath);
  } catch {
    return [];
  }
}

export async function containerdFacts(configPath = "/etc/containerd/config.toml"): Promise<ContainerdFacts> {
  const binary = onPath("containerd");
  let text = "";
  try {
    text = readFileSync(configPath, "utf8");
  } catch {
    // no config: containerd runs with its defaults
  }
  const shim = onPath("containerd-shim-hako-v2");
  const version = binary ? await toolVersion(binary) : undefined;
  return {
    ...(binary ? { binary } : {}),
    ...(version ? { version } : {}),
    configPath,
    configFound: text !== "",
    criRuntimeConfigured: criHandlers(text, configPath).length > 0,
    ...(shim ? { shim } : {}),
  };
}

/** Kernel same-page merging: absent (not built in), or whether it runs and how many pages it shares now. */
export type KsmFacts = { present: false } | { present: true; running: boolean; pagesSharing: number | undefined };

export function ksmFacts(dir = "/sys/kernel/mm/ksm"): KsmFacts {
  const read = (name: string) => {
    try {
      return readFileSync(`${dir}/${name}`, "utf8").trim();
    } catch {
      return undefined;
    }
  };
  const run = read("run");
  if (run === undefined) return { present: false };
  const sharing = Number(read("pages_sharing"));
  return { present: true, running: run === "1", pagesSharing: Number.isNaN(sharing) ? undefined : sharing };
}
