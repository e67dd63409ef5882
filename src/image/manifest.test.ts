// Unit specs for the manifest check behind --if-changed.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  ASSET_NAMES,
  assetRecord,
  canonicalJson,
  type Manifest,
  type ManifestInputs,
  staleReason,
} from "./manifest.js";

const inputs: ManifestInputs = {
  builder: 1,
  kernel: { kind: "package", package: "linux-image-x", version: "1" },
  busybox: { path: "/bin/busybox", version: "b" },
  node: { path: "/usr/bin/node", version: "v20" },
  crun: { path: "/usr/bin/crun", version: "c" },
  koffi: "3",
  modules: ["virtio_pci"],
  agent: { path: "/a.mjs", sha256: "aa" },
  extraFiles: [],
  hostFilesSha256: "ff",
  initrdFull: false,
  initrdCompression: "none",
  epoch: 1,
  snapshot: false,
};

test("canonical JSON ignores key order", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 1, e: 2 }] } }),
    canonicalJson({ a: { c: [3, { e: 2, f: 1 }], d: 2 }, b: 1 }),
  );
});

test("staleReason: up to date, changed inputs, modified or missing assets, missing initrd-only variant", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hako-manifest-"));
  try {
    const assets: Manifest["assets"] = {};
    for (const name of [ASSET_NAMES.kernel, ASSET_NAMES.initrd, ASSET_NAMES.rootfs]) {
      writeFileSync(join(dir, name), name);
      assets[name] = await assetRecord(join(dir, name));
    }
    const m: Manifest = { schema: 1, inputs, kernelRelease: "r", modules: [], assets };
    assert.equal(await staleReason(dir, m, { ...inputs }), undefined);
    assert.equal(await staleReason(dir, undefined, inputs), "no manifest");
    assert.equal(await staleReason(dir, m, { ...inputs, agent: { path: "/a.mjs", sha256: "bb" } }), "inputs changed");
    const hako = { kind: "hako", source: "linux-source-6.1", version: "6.1.1-1", fragmentSha256: "f1" } as const;
    assert.equal(
      await staleReason(dir, m, { ...inputs, kernel: hako }),
      "the kernel changed (Debian's linux-image-x 1 -> hako's own (linux-source-6.1 6.1.1-1))",
    );
    const built: Manifest = { ...m, inputs: { ...inputs, kernel: hako } };
    assert.equal(
      await staleReason(dir, built, { ...inputs, kernel: { ...hako, fragmentSha256: "f2" } }),
      "the kernel config fragment changed",
    );
    assert.equal(await staleReason(dir, m, { ...inputs, initrdFull: true }), "the initrd-only variant was not built");
    // The snapshot is keyed by the VM it was made in: another accelerator or QEMU rebuilds the image.
    const tcg = {
      qemu: { path: "/usr/bin/qemu-system-x86_64", version: "QEMU 7.2" },
      accel: "tcg",
      cpu: "max",
    } as const;
    const snap: Manifest = { ...m, inputs: { ...inputs, snapshot: tcg } };
    assert.equal(await staleReason(dir, snap, { ...inputs, snapshot: tcg }), undefined);
    assert.equal(
      await staleReason(dir, snap, { ...inputs, snapshot: { ...tcg, accel: "kvm", cpu: "host" } }),
      "the agent snapshot's VM changed (tcg -cpu max, QEMU 7.2 -> kvm -cpu host, QEMU 7.2)",
    );
    assert.equal(
      await staleReason(dir, snap, { ...inputs, snapshot: { ...tcg, qemu: { ...tcg.qemu, version: "QEMU 8.0" } } }),
      "the agent snapshot's VM changed (tcg -cpu max, QEMU 7.2 -> tcg -cpu max, QEMU 8.0)",
    );
    assert.equal(
      await staleReason(dir, snap, inputs),
      "the agent snapshot's VM changed (tcg -cpu max, QEMU 7.2 -> none)",
    );
    // An image that has the initrd-only variant satisfies a request without it.
    const full: Manifest = { ...m, inputs: { ...inputs, initrdFull: true }, assets: { ...assets } };
    assert.equal(await staleReason(dir, full, inputs), undefined);
    writeFileSync(join(dir, ASSET_NAMES.rootfs), "tampered!!!!!!!");
    assert.equal(await staleReason(dir, m, inputs), "hako-rootfs.img was modified");
    rmSync(join(dir, ASSET_NAMES.initrd));
    assert.equal(await staleReason(dir, m, inputs), "hako-initrd.img is missing");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
