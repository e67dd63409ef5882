// Unit specs for module resolution: dependency order, builtins and optional modules.
import assert from "node:assert/strict";
import { test } from "node:test";
import { HakoError } from "../common/errors.js";
import { moduleName, parseModuleList, parseModulesBuiltin, parseModulesDep, resolveModules } from "./modules.js";

const depText = [
  "kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko",
  "kernel/drivers/virtio/virtio_pci_modern_dev.ko:",
  "kernel/drivers/virtio/virtio_pci_legacy_dev.ko:",
  "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko",
  "kernel/drivers/virtio/virtio_ring.ko:",
  "kernel/fs/fuse/virtiofs.ko.xz: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko kernel/fs/fuse/fuse.ko.xz",
  "kernel/fs/fuse/fuse.ko.xz:",
  "",
].join("\n");

test("module names drop the suffix and use underscores", () => {
  assert.equal(moduleName("kernel/a/nd-pmem.ko.zst"), "nd_pmem");
  assert.equal(moduleName("x.ko"), "x");
});

test("dependencies load before the modules that need them, each once", () => {
  const dep = parseModulesDep(depText);
  const r = resolveModules(
    parseModuleList(["virtiofs", "virtio_pci", "ext4", "nope?"]),
    dep,
    parseModulesBuiltin("kernel/fs/ext4/ext4.ko\n"),
  );
  assert.deepEqual(r.order, [
    "kernel/drivers/virtio/virtio_ring.ko",
    "kernel/drivers/virtio/virtio.ko",
    "kernel/fs/fuse/fuse.ko.xz",
    "kernel/fs/fuse/virtiofs.ko.xz",
    "kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
    "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
    "kernel/drivers/virtio/virtio_pci.ko",
  ]);
  assert.deepEqual(r.builtin, ["ext4"]);
  assert.deepEqual(r.absent, ["nope"]);
});

test("a required module the kernel lacks is an error naming it", () => {
  assert.throws(
    () => resolveModules(parseModuleList(["9pnet_virtio"]), parseModulesDep(depText), new Set()),
    (e: unknown) => e instanceof HakoError && e.message.includes("9pnet_virtio"),
  );
});
