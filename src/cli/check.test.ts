// Unit specs for `hako check`: PVM and TCG detection, missing assets and tools, forced accelerators, bad config.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { runChecks } from "./check/run.js";
import { onPath } from "./host-facts.js";

const dir = mkdtempSync(join(tmpdir(), "hako-check-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function config(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

const isPvmHost = existsSync("/sys/module/kvm_pvm");

test("on a PVM host, /dev/kvm is reported as PVM and TCG is chosen", {
  skip: !isPvmHost && "not a PVM host",
}, async () => {
  const report = await runChecks();
  const kvm = report.items.find((i) => i.id === "kvm");
  assert.equal(kvm?.status, "warn");
  assert.match(kvm?.detail ?? "", /PVM/);
  assert.equal(report.accelerator, "tcg");
  assert.equal(report.items.find((i) => i.id === "accelerator")?.status, "warn");
});

const ready = existsSync("/var/lib/hako/manifest.json") && onPath("containerd-shim-hako-v2") !== undefined;
test("with the guest assets built and the shim installed, the host passes", {
  skip: !ready && "set-up not done",
}, async () => {
  const report = await runChecks();
  const failed = report.items.filter((i) => i.status === "fail");
  assert.deepEqual(failed, []);
  assert.equal(report.ok, true);
});

test("a missing kernel and QEMU fail, each naming the fix", async () => {
  const path = config(
    "missing.toml",
    '[hypervisor.qemu]\npath = "/nonexistent/qemu-system-x86_64"\nkernel = "/nonexistent/vmlinux"\n' +
      'valid_hypervisor_paths = ["/nonexistent/*"]\nvalid_kernel_paths = ["/nonexistent/*"]\n',
  );
  const report = await runChecks({ configPath: path });
  assert.equal(report.ok, false);
  const qemu = report.items.find((i) => i.id === "qemu");
  assert.equal(qemu?.status, "fail");
  assert.match(qemu?.detail ?? "", /\/nonexistent\/qemu-system-x86_64/);
  assert.match(qemu?.fix ?? "", /qemu-system-x86/);
  const kernel = report.items.find((i) => i.id === "asset-kernel");
  assert.equal(kernel?.status, "fail");
  assert.match(kernel?.fix ?? "", /hako image build/);
});

test("forcing kvm where only TCG works fails; hardware KVM is ok", async () => {
  const forced = config("kvm.toml", '[hypervisor.qemu]\naccel = "kvm"\n');
  const tcgOnly = await runChecks({
    configPath: forced,
    probe: () => ({ usable: "tcg", reason: "/dev/kvm does not exist" }),
  });
  assert.equal(tcgOnly.items.find((i) => i.id === "accelerator")?.status, "fail");
  assert.equal(tcgOnly.ok, false);
  const hw = await runChecks({ probe: () => ({ usable: "kvm", reason: "hardware KVM via kvm_intel (vmx)" }) });
  assert.equal(hw.accelerator, "kvm");
  assert.equal(hw.items.find((i) => i.id === "kvm")?.status, "ok");
  assert.equal(hw.items.find((i) => i.id === "accelerator")?.status, "ok");
});

test("a host without /dev/net/tun gets a warning, not a failure: sandboxes run without it", async () => {
  const dev = mkdtempSync(join(dir, "dev-"));
  const report = await runChecks({ devRoot: dev });
  const tun = report.items.find((i) => i.id === "tun");
  assert.equal(tun?.status, "warn");
  assert.match(tun?.detail ?? "", /sandboxes run without it/);
  assert.equal(tun?.fix, "modprobe tun");
});

test("an invalid config file is one failed item naming the file", async () => {
  const bad = config("bad.toml", "[hypervisor.qemu]\nno_such_key = 1\n");
  const report = await runChecks({ configPath: bad });
  assert.equal(report.ok, false);
  assert.equal(report.items[0]?.id, "config");
  assert.match(report.items[0]?.detail ?? "", /bad\.toml/);
});

test("`hako check --json` exits non-zero when a check fails", () => {
  const path = config(
    "cli.toml",
    '[hypervisor.qemu]\nkernel = "/nonexistent/vmlinux"\nvalid_kernel_paths = ["/nonexistent/*"]\n',
  );
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "check", "--json", "--config", path], {
    encoding: "utf8",
  });
  assert.equal(r.status, 1, r.stderr);
  const report = JSON.parse(r.stdout) as { ok: boolean; items: { id: string; status: string }[] };
  assert.equal(report.ok, false);
  assert.equal(report.items.find((i) => i.id === "asset-kernel")?.status, "fail");
});
