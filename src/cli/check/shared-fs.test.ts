// Unit specs for `hako check`'s shared-filesystem rule: virtio-9p against what the image's kernel can mount, told by
// the manifest (a package kernel's module list, hako's own kernel's config fragment).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { findProjectDir } from "../../image/inputs.js";
import { KERNEL_FRAGMENT } from "../../image/kernel-source.js";
import type { Manifest } from "../../image/manifest.js";
import { type AssetsFacts, kernelHas9p } from "../host-facts.js";
import { sharedFsItem } from "./assets.js";

const dir = mkdtempSync(join(tmpdir(), "hako-check-9p-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const facts = (kernel9p: boolean | undefined): AssetsFacts => ({
  manifestPath: "/var/lib/hako/manifest.json",
  manifestFound: true,
  kernelRelease: "6.1.192",
  kernelOrigin: "hako's own (linux-source-6.1 6.1.192-3)",
  assets: [],
  ...(kernel9p === undefined ? {} : { kernel9p }),
});

test("virtio-9p with a kernel without 9p fails, naming virtio-fs and a 9p-capable kernel package as the fix", () => {
  const i = sharedFsItem("virtio-9p", facts(false));
  assert.equal(i?.status, "fail");
  assert.match(i?.detail ?? "", /has no 9p: mounting the share fails \(ENODEV\)/);
  assert.match(i?.fix ?? "", /shared_fs = "virtio-fs".*--kernel-package linux-image-amd64/);
  assert.equal(sharedFsItem("virtio-9p", facts(true))?.status, "ok");
  assert.equal(sharedFsItem("virtio-9p", facts(undefined))?.status, "warn");
});

test("virtio-fs, or no manifest to tell the kernel by, gives no item", () => {
  assert.equal(sharedFsItem("virtio-fs", facts(false)), undefined);
  const { kernelOrigin: _, ...noManifest } = facts(false);
  assert.equal(sharedFsItem("virtio-9p", noManifest), undefined);
});

function manifest(kernel: Manifest["inputs"]["kernel"], modules: string[]): Manifest {
  return { schema: 1, inputs: { kernel } as Manifest["inputs"], kernelRelease: "6.1", modules, assets: {} };
}

test("a package kernel has 9p when the initrd carries 9p and 9pnet_virtio (the cloud kernel has none)", () => {
  const pkg = { kind: "package", package: "linux-image-amd64", version: "6.1" } as const;
  const generic = ["kernel/net/9p/9pnet.ko", "kernel/net/9p/9pnet_virtio.ko", "kernel/fs/9p/9p.ko"];
  assert.equal(kernelHas9p(manifest(pkg, generic)), true);
  assert.equal(kernelHas9p(manifest(pkg, ["kernel/fs/fuse/virtiofs.ko"])), false);
});

test("hako's own kernel has 9p only if the fragment it was built from (same sha256) builds it in", () => {
  const fragment = join(dir, "hako.config");
  const write = (text: string) => {
    writeFileSync(fragment, text);
    return createHash("sha256").update(text).digest("hex");
  };
  const own = (sha: string) =>
    manifest({ kind: "hako", source: "linux-source-6.1", version: "6.1", fragmentSha256: sha }, []);
  assert.equal(kernelHas9p(own(write("CONFIG_VIRTIO_FS=y\n")), fragment), false);
  assert.equal(kernelHas9p(own(write("CONFIG_9P_FS=y\nCONFIG_NET_9P_VIRTIO=y\n")), fragment), true);
  assert.equal(kernelHas9p(own("0".repeat(64)), fragment), undefined, "another fragment than the one built from");
  assert.equal(kernelHas9p(own("0".repeat(64)), join(dir, "missing")), undefined);
});

test("the repository's kernel fragment has no 9p, so an image of hako's own kernel fails under virtio-9p", () => {
  const sha = createHash("sha256")
    .update(readFileSync(join(findProjectDir(), KERNEL_FRAGMENT)))
    .digest("hex");
  assert.equal(kernelHas9p(manifest({ kind: "hako", source: "s", version: "v", fragmentSha256: sha }, [])), false);
});
