// `hako check` rules for the guest assets the configuration boots (kernel, initrd, root image), each against the
// manifest.json `hako image build` wrote beside them, and for the shared filesystem that kernel has to mount. Pure:
// assetFacts() (host-facts.ts) sizes and hashes them.
import { dirname } from "node:path";
import { assetsDir } from "../../config/defaults.js";
import type { SharedFs } from "../../config/types.js";
import { ASSET_NAMES } from "../../image/manifest.js";
import type { AssetFact, AssetsFacts } from "../host-facts.js";
import { type CheckItem, item } from "./item.js";

const rebuild = "run `hako image build` (or `npm run setup`)";
/** The config key under [hypervisor.qemu] and the file name `hako image build` gives each asset. */
const ASSET_KEY = {
  kernel: ["kernel", ASSET_NAMES.kernel],
  initrd: ["initrd", ASSET_NAMES.initrd],
  image: ["image", ASSET_NAMES.rootfs],
} as const;

/**
 * What to do about a file that does not exist: rebuild it when an image should have it (the manifest lists it, or
 * the default assets directory holds no image yet); otherwise the configured path is what is wrong.
 */
function missingFix(a: AssetFact, manifestPath: string): string {
  if (a.listed || (a.manifest === "no-manifest" && dirname(a.path) === assetsDir)) return rebuild;
  const [key, name] = ASSET_KEY[a.role];
  const there =
    a.manifest === "unlisted"
      ? `${manifestPath} lists no such file (the image's ${a.role} is ${name})`
      : `${dirname(a.path)} holds no image built by hako`;
  return `point \`${key}\` under [hypervisor.qemu] at an existing file: ${there}; \`hako image build\` writes ${assetsDir}/${name} (or DIR/${name} with --output DIR)`;
}

export function assetItems(facts: AssetsFacts): CheckItem[] {
  const items: CheckItem[] = [];
  for (const a of facts.assets) {
    const title = `guest ${a.role}`;
    if (!a.exists)
      items.push(item(`asset-${a.role}`, title, "fail", `${a.path} does not exist`, missingFix(a, facts.manifestPath)));
    else if (a.manifest === "mismatch") {
      items.push(
        item(
          `asset-${a.role}`,
          title,
          "fail",
          `${a.path} differs from ${facts.manifestPath} (size or sha256)`,
          `${rebuild} to rebuild it`,
        ),
      );
    } else if (a.manifest === "match")
      items.push(item(`asset-${a.role}`, title, "ok", `${a.path} matches the manifest`));
    else {
      const why = a.manifest === "no-manifest" ? `no ${facts.manifestPath}` : `not listed in ${facts.manifestPath}`;
      items.push(
        item(
          `asset-${a.role}`,
          title,
          "warn",
          `${a.path} present but unverified (${why})`,
          "use assets built by `hako image build`, which records their sha256",
        ),
      );
    }
  }
  if (facts.kernelOrigin) {
    const recorded = `${facts.kernelOrigin}, release ${facts.kernelRelease ?? "unknown"}`;
    const kernel = facts.assets.find((a) => a.role === "kernel");
    // The manifest describes the kernel it built, which is the one that boots only if the file is that kernel.
    if (kernel?.manifest === "match") items.push(item("guest-kernel-origin", "guest kernel in use", "ok", recorded));
    else {
      const what = !kernel
        ? "no kernel is configured"
        : !kernel.exists
          ? `${kernel.path} does not exist`
          : `${kernel.path} is not the kernel it records`;
      items.push(
        item(
          "guest-kernel-origin",
          "guest kernel in use",
          "warn",
          `unknown: ${what} (${facts.manifestPath} records ${recorded})`,
          kernel && !kernel.exists ? missingFix(kernel, facts.manifestPath) : `${rebuild} to rebuild it`,
        ),
      );
    }
  }
  return items;
}

/**
 * virtio-9p needs the 9p client in the guest kernel, which neither hako's own kernel nor Debian's cloud kernel
 * has (docs/architecture.md): the agent's `mount -t 9p` then fails with ENODEV and no container starts. Nothing to
 * say under virtio-fs (the virtiofsd item covers it) or without a manifest to tell the kernel by.
 */
export function sharedFsItem(sharedFs: SharedFs, facts: AssetsFacts): CheckItem | undefined {
  if (sharedFs !== "virtio-9p" || !facts.kernelOrigin) return undefined;
  const title = "shared filesystem";
  const kernel = `${facts.kernelOrigin}, release ${facts.kernelRelease ?? "unknown"}`;
  const fix =
    'set shared_fs = "virtio-fs" under [hypervisor.qemu], or build an image whose kernel has 9p: `hako image build --kernel-package linux-image-amd64 --output DIR` and point kernel, initrd and image into DIR';
  if (facts.kernel9p === true) {
    return item("shared-fs", title, "ok", `virtio-9p: the guest kernel (${kernel}) has the 9p client`);
  }
  if (facts.kernel9p === false) {
    return item(
      "shared-fs",
      title,
      "fail",
      `shared_fs = "virtio-9p" but the guest kernel (${kernel}) has no 9p: mounting the share fails (ENODEV) and no container starts`,
      fix,
    );
  }
  return item(
    "shared-fs",
    title,
    "warn",
    `shared_fs = "virtio-9p": cannot tell whether the guest kernel (${kernel}) has 9p (the config fragment it was built from is not in this checkout)`,
    fix,
  );
}
