// `hako check` rules for the guest assets the configuration boots (kernel, initrd, root image), each against the
// manifest.json `hako image build` wrote beside them. Pure: assetFacts() (host-facts.ts) sizes and hashes them.
import type { AssetsFacts } from "../host-facts.js";
import { type CheckItem, item } from "./item.js";

export function assetItems(facts: AssetsFacts): CheckItem[] {
  const items: CheckItem[] = [];
  const rebuild = "run `hako image build` (or `npm run setup`)";
  for (const a of facts.assets) {
    const title = `guest ${a.role}`;
    if (!a.exists) items.push(item(`asset-${a.role}`, title, "fail", `${a.path} does not exist`, rebuild));
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
    const kernel = facts.assets.find((a) => a.role === "kernel");
    const verified =
      kernel?.manifest === "match" ? "" : " (per the manifest; the kernel file itself does not match it)";
    items.push(
      item(
        "guest-kernel-origin",
        "guest kernel in use",
        "ok",
        `${facts.kernelOrigin}, release ${facts.kernelRelease ?? "unknown"}${verified}`,
      ),
    );
  }
  return items;
}
