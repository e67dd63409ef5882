// Unit specs for reading which modules the running kernel can load: modules.dep of a release under a test's own
// root, compressed module files, `-`/`_` in names, and a kernel without modules at all.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { hostKernelModules, missingModuleFix, modulesDepNames } from "./kernel-modules.js";

const root = mkdtempSync(join(tmpdir(), "hako-kmod-spec-"));
after(() => rmSync(root, { recursive: true, force: true }));

test("modules.dep names the loadable modules, whatever their compression, with - and _ alike", () => {
  mkdirSync(join(root, "6.1.0-18-amd64"), { recursive: true });
  writeFileSync(
    join(root, "6.1.0-18-amd64", "modules.dep"),
    [
      "kernel/drivers/vhost/vhost_vsock.ko.xz: kernel/drivers/vhost/vhost.ko.xz kernel/net/vmw_vsock/vsock.ko.xz",
      "kernel/drivers/vhost/vhost.ko.xz:",
      "kernel/drivers/net/tun.ko:",
      "kernel/fs/fuse/virtio-fs.ko.zst: kernel/fs/fuse/fuse.ko.zst",
      "",
    ].join("\n"),
  );
  const m = hostKernelModules(root, "6.1.0-18-amd64");
  assert.equal(m.release, "6.1.0-18-amd64");
  for (const name of ["vhost_vsock", "vhost-vsock", "tun", "virtio_fs", "vhost"]) assert.ok(m.loadable(name), name);
  assert.equal(m.loadable("vhost_net"), false);
  assert.equal(m.loadable("vsock"), false, "a dependency named only after the colon is not itself listed");
  assert.equal(missingModuleFix(m, "vhost_vsock", "CONFIG_VHOST_VSOCK"), "modprobe vhost_vsock");
});

test("a kernel with no /lib/modules entry loads no module, and the fix names the kernel option instead", () => {
  const m = hostKernelModules(root, "6.18.44-custom");
  assert.equal(m.loadable("vhost_vsock"), false);
  assert.equal(
    missingModuleFix(m, "vhost_net", "CONFIG_VHOST_NET"),
    "kernel 6.18.44-custom has no vhost_net module: a host kernel built with CONFIG_VHOST_NET has it",
  );
  assert.deepEqual([...modulesDepNames("garbage line\n\n")], []);
});
