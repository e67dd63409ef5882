// Unit specs for `hako check`: PVM and TCG detection, missing assets and tools, forced accelerators, bad config and
// the command's failure. The rules get facts (src/cli/check/*.ts), so every spec runs, whatever host runs it.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, mock, test } from "node:test";
import { Code, HakoError } from "../common/errors.js";
import { defaultConfig } from "../config/defaults.js";
import { fakeKernelModules } from "../sys/fake-kernel-modules.js";
import { acceleratorItems } from "./check/accelerator.js";
import { assetItems } from "./check/assets.js";
import { checkCommand } from "./check/command.js";
import { deviceItems } from "./check/devices.js";
import { runChecks } from "./check/run.js";
import { toolItems } from "./check/tools.js";
import type { AssetsFacts } from "./host-facts.js";

const dir = mkdtempSync(join(tmpdir(), "hako-check-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function config(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

const PVM_REASON =
  "/dev/kvm is provided by kvm_pvm (PVM), which runs only PVM-enabled guest kernels, not standard ones";

test("on a PVM host, /dev/kvm is reported as PVM and TCG is chosen", () => {
  const { items, accel } = acceleratorItems(defaultConfig(), { usable: "tcg", reason: PVM_REASON });
  const kvm = items.find((i) => i.id === "kvm");
  assert.equal(kvm?.status, "warn");
  assert.match(kvm?.detail ?? "", /PVM/);
  assert.match(kvm?.fix ?? "", /hardware KVM/);
  assert.equal(accel, "tcg");
  assert.equal(items.find((i) => i.id === "accelerator")?.status, "warn");
});

test("assets matching the manifest pass; a differing one fails and an unlisted one warns", () => {
  const facts: AssetsFacts = {
    manifestPath: "/assets/manifest.json",
    manifestFound: true,
    kernelRelease: "6.1.0",
    kernelOrigin: "hako's own kernel",
    assets: [
      { role: "kernel", path: "/assets/vmlinux", exists: true, manifest: "match" },
      { role: "initrd", path: "/assets/initrd", exists: true, manifest: "match" },
    ],
  };
  const ok = assetItems(facts);
  assert.deepEqual(
    ok.map((i) => [i.id, i.status]),
    [
      ["asset-kernel", "ok"],
      ["asset-initrd", "ok"],
      ["guest-kernel-origin", "ok"],
    ],
  );
  assert.match(ok[2]?.detail ?? "", /^hako's own kernel, release 6\.1\.0$/);
  const off = assetItems({
    ...facts,
    assets: [
      { role: "kernel", path: "/assets/vmlinux", exists: true, manifest: "mismatch" },
      { role: "initrd", path: "/assets/initrd", exists: true, manifest: "unlisted" },
    ],
  });
  assert.equal(off[0]?.status, "fail");
  assert.match(off[0]?.detail ?? "", /differs from \/assets\/manifest\.json/);
  assert.equal(off[1]?.status, "warn");
  assert.equal(off[2]?.status, "warn", "a kernel that is not the manifest's is not reported as in use");
  assert.match(off[2]?.detail ?? "", /^unknown: \/assets\/vmlinux is not the kernel it records/);
});

test("a missing kernel: the kernel in use is unknown, and the fix is the config path unless an image belongs there", () => {
  const facts: AssetsFacts = {
    manifestPath: "/srv/img/manifest.json",
    manifestFound: true,
    kernelRelease: "6.1.0",
    kernelOrigin: "hako's own kernel",
    assets: [{ role: "kernel", path: "/srv/img/vmlinuz", exists: false, manifest: "unlisted" }],
  };
  const wrongPath = assetItems(facts);
  assert.deepEqual(
    wrongPath.map((i) => [i.id, i.status]),
    [
      ["asset-kernel", "fail"],
      ["guest-kernel-origin", "warn"],
    ],
  );
  assert.match(
    wrongPath[0]?.fix ?? "",
    /^point `kernel` under \[hypervisor\.qemu\].*lists no such file \(the image's kernel is vmlinux\)/,
  );
  assert.match(wrongPath[1]?.detail ?? "", /^unknown: \/srv\/img\/vmlinuz does not exist/);
  const nowhere = assetItems({
    manifestPath: "/typo/manifest.json",
    manifestFound: false,
    assets: [{ role: "initrd", path: "/typo/hako-initrd.img", exists: false, manifest: "no-manifest" }],
  });
  assert.match(nowhere[0]?.fix ?? "", /^point `initrd` .*\/typo holds no image built by hako/);
  const deleted = assetItems({
    ...facts,
    assets: [{ role: "kernel", path: "/srv/img/vmlinux", exists: false, manifest: "unlisted", listed: true }],
  });
  assert.match(deleted[0]?.fix ?? "", /^run `hako image build`/);
  const defaultDir = assetItems({
    manifestPath: "/var/lib/hako/manifest.json",
    manifestFound: false,
    assets: [{ role: "kernel", path: "/var/lib/hako/vmlinux", exists: false, manifest: "no-manifest" }],
  });
  assert.match(defaultDir[0]?.fix ?? "", /^run `hako image build`/);
});

test("a missing kernel and QEMU fail, each naming the fix", () => {
  const cfg = defaultConfig();
  cfg.hypervisor.qemu.path = "/nonexistent/qemu-system-x86_64";
  const qemu = toolItems(cfg, { qemu: undefined, virtiofsd: "virtiofsd 7.2" }).find((i) => i.id === "qemu");
  assert.equal(qemu?.status, "fail");
  assert.match(qemu?.detail ?? "", /\/nonexistent\/qemu-system-x86_64/);
  assert.match(qemu?.fix ?? "", /qemu-system-x86/);
  const kernel = assetItems({
    manifestPath: "/var/lib/hako/manifest.json",
    manifestFound: false,
    assets: [{ role: "kernel", path: "/var/lib/hako/vmlinux", exists: false, manifest: "no-manifest" }],
  }).find((i) => i.id === "asset-kernel");
  assert.equal(kernel?.status, "fail");
  assert.match(kernel?.detail ?? "", /\/var\/lib\/hako\/vmlinux does not exist/);
  assert.match(kernel?.fix ?? "", /hako image build/);
});

test("forcing kvm where only TCG works fails; hardware KVM is ok", () => {
  const forced = defaultConfig();
  forced.hypervisor.qemu.accel = "kvm";
  const tcgOnly = acceleratorItems(forced, { usable: "tcg", reason: "/dev/kvm does not exist" });
  assert.equal(tcgOnly.items.find((i) => i.id === "accelerator")?.status, "fail");
  const hw = acceleratorItems(defaultConfig(), { usable: "kvm", reason: "hardware KVM via kvm_intel (vmx)" });
  assert.equal(hw.accel, "kvm");
  assert.equal(hw.items.find((i) => i.id === "kvm")?.status, "ok");
  assert.equal(hw.items.find((i) => i.id === "accelerator")?.status, "ok");
});

test("a host without /dev/net/tun gets a warning, not a failure: sandboxes run without it", () => {
  const tun = deviceItems(defaultConfig(), {
    vhostVsock: true,
    vhostNet: true,
    tun: false,
    modules: fakeKernelModules(["tun"]),
  }).find((i) => i.id === "tun");
  assert.equal(tun?.status, "warn");
  assert.match(tun?.detail ?? "", /sandboxes run without it/);
  assert.equal(tun?.fix, "modprobe tun");
});

// The one spec through runChecks: a config that does not load stops the checks before any host fact is read.
test("an invalid config file is one failed item naming the file", async () => {
  const bad = config("bad.toml", "[hypervisor.qemu]\nno_such_key = 1\n");
  const report = await runChecks({ configPath: bad });
  assert.equal(report.ok, false);
  assert.deepEqual(
    report.items.map((i) => [i.id, i.status]),
    [["config", "fail"]],
  );
  assert.match(report.items[0]?.detail ?? "", /bad\.toml/);
});

test("`hako check --json` prints the report and fails with FailedPrecondition naming the failed checks", async () => {
  const bad = config("cli.toml", "[hypervisor.qemu]\nno_such_key = 1\n");
  const out: string[] = [];
  const write = mock.method(process.stdout, "write", (chunk: string) => {
    out.push(chunk);
    return true;
  });
  try {
    await assert.rejects(
      checkCommand().parseAsync(["--json", "--config", bad], { from: "user" }),
      (err: unknown) =>
        err instanceof HakoError && err.code === Code.FailedPrecondition && /failed checks: config$/.test(err.message),
    );
  } finally {
    write.mock.restore();
  }
  const report = JSON.parse(out.join("")) as { ok: boolean; items: { id: string; status: string }[] };
  assert.equal(report.ok, false);
  assert.equal(report.items[0]?.id, "config");
});
