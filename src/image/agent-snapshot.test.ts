// Unit specs for the image build's snapshot boot: the QEMU command line (the runtime's builder, its CPU model, the
// build parameter and the scratch disk) and what the manifest records of the VM.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { defaultConfig } from "../config/defaults.js";
import { snapshotInput, snapshotQemuArgs } from "./agent-snapshot.js";

function fixture(): { dir: string; files: Record<"qemu" | "kernel" | "initrd" | "rootfs", string> } {
  const dir = mkdtempSync(join(tmpdir(), "hako-snapshot-args-"));
  const files = {
    qemu: join(dir, "qemu"),
    kernel: join(dir, "vmlinux"),
    initrd: join(dir, "initrd"),
    rootfs: join(dir, "rootfs.img"),
  };
  writeFileSync(files.qemu, '#!/bin/sh\necho "QEMU emulator version 7.2.99"\necho "Copyright"\n', { mode: 0o755 });
  for (const f of [files.kernel, files.initrd]) writeFileSync(f, "x");
  writeFileSync(files.rootfs, Buffer.alloc(4096));
  return { dir, files };
}

const value = (argv: string[], flag: string) => argv[argv.indexOf(flag) + 1] ?? "";

test("the snapshot boot uses the runtime's command line, CPU model and accelerator, plus the build flag and a disk", () => {
  const { dir, files } = fixture();
  try {
    const config = defaultConfig();
    const qemu = { ...config.hypervisor.qemu, path: files.qemu, cpuFeatures: "pmu=off", kernelParams: ["foo=1"] };
    const boot = { kernel: files.kernel, initrd: files.initrd, rootfs: files.rootfs, dir };
    const tcg = snapshotQemuArgs({ ...boot, vm: { qemu, accel: "tcg" } }, join(dir, "disk.img"));
    assert.equal(tcg[0], files.qemu);
    assert.equal(value(tcg, "-cpu"), "max,erms=off,pmu=off");
    assert.equal(value(tcg, "-kernel"), files.kernel);
    assert.equal(value(tcg, "-initrd"), files.initrd);
    const params = value(tcg, "-append").split(" ");
    // The runtime's own parameters (jitless under TCG) come first, the config's next, the build flag last.
    assert.ok(params.includes("hako.jitless=1"));
    assert.deepEqual(params.slice(-2), ["foo=1", "hako.snapshot=build"]);
    assert.ok(
      tcg.some((a) => a.includes(`mem-path=${files.rootfs}`) || a.includes(files.rootfs)),
      "no pmem root",
    );
    assert.ok(tcg.includes(`file=${join(dir, "disk.img")},if=none,id=snapshot0,format=raw`));
    assert.ok(tcg.includes("virtio-blk-pci,drive=snapshot0"));

    const kvm = snapshotQemuArgs({ ...boot, vm: { qemu: { ...qemu, machineType: "microvm" }, accel: "kvm" } }, "d");
    assert.equal(value(kvm, "-cpu"), "host,pmu=off");
    assert.ok(!value(kvm, "-append").includes("hako.jitless=1"));
    // microvm has no PCI for the DAX root: the snapshot boot uses q35 (the CPU model is the same).
    assert.match(value(kvm, "-machine"), /^q35/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the manifest records the snapshot VM's QEMU version, accelerator and -cpu value", async () => {
  const { dir, files } = fixture();
  try {
    const qemu = { ...defaultConfig().hypervisor.qemu, path: files.qemu };
    assert.deepEqual(await snapshotInput({ qemu, accel: "tcg" }), {
      qemu: { path: files.qemu, version: "QEMU emulator version 7.2.99" },
      accel: "tcg",
      cpu: "max,erms=off",
    });
    assert.equal((await snapshotInput({ qemu, accel: "kvm" })).cpu, "host");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
