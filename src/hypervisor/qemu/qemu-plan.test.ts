import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { assetsDir } from "../../config/defaults.js";
import { guestLpj, requireFile } from "./qemu-plan.js";

test("a missing file names its key and the fix that fits where it was looked for", () => {
  const dir = mkdtempSync(join(tmpdir(), "hako-plan-spec-"));
  try {
    writeFileSync(join(dir, "vmlinux"), "");
    requireFile(join(dir, "vmlinux"), "guest kernel", "kernel");
    assert.throws(
      () => requireFile(`${assetsDir}/no-such-vmlinux`, "guest kernel", "kernel"),
      /guest kernel \S+no-such-vmlinux does not exist \(build the guest image with `hako image build`\)/,
    );
    assert.throws(
      () => requireFile(join(dir, "initrd.img"), "guest initrd", "initrd"),
      new RegExp(
        `point \`initrd\` under \\[hypervisor.qemu\\] at an existing file, or build the assets there with \`hako image build -o ${dir}\``,
      ),
    );
    assert.throws(
      () => requireFile(join(dir, "qemu-system-x86_64"), "qemu binary", "path"),
      /install qemu-system-x86, or point `path` under \[hypervisor.qemu\] at the QEMU binary/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("lpj comes from the host's TSC and the HZ the manifest beside the kernel records for that very file", () => {
  const dir = mkdtempSync(join(tmpdir(), "hako-lpj-spec-"));
  try {
    const kernel = join(dir, "vmlinux");
    writeFileSync(kernel, "0123456789");
    const manifest = (m: object) => writeFileSync(join(dir, "manifest.json"), JSON.stringify({ schema: 1, ...m }));
    assert.equal(guestLpj(kernel, 2_596_096), undefined, "no manifest");
    manifest({ assets: { vmlinux: { sha256: "x", size: 10 } }, kernelHz: 100 });
    assert.equal(guestLpj(kernel, 2_596_096), 25_960_960);
    assert.equal(guestLpj(kernel, undefined), undefined, "no TSC rate");
    manifest({ assets: { vmlinux: { sha256: "x", size: 11 } }, kernelHz: 100 });
    assert.equal(guestLpj(kernel, 2_596_096), undefined, "the manifest lists another file");
    manifest({ assets: { vmlinux: { sha256: "x", size: 10 } } });
    assert.equal(guestLpj(kernel, 2_596_096), undefined, "an image built before kernelHz was recorded");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
