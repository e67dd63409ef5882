// Unit specs for `hako env`: the effective configuration over the defaults, as text and as JSON.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { collectEnv, renderEnv } from "./env.js";

const dir = mkdtempSync(join(tmpdir(), "hako-env-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("shows the file's values over the defaults, with asset facts", async () => {
  const kernel = join(dir, "vmlinux");
  writeFileSync(kernel, "not really a kernel");
  const path = join(dir, "c.toml");
  writeFileSync(
    path,
    `[hypervisor.qemu]\nkernel = "${kernel}"\nvalid_kernel_paths = ["${dir}/*"]\ndefault_memory = 512\n` +
      `[runtime]\nenable_debug = true\n`,
  );
  const r = await collectEnv(path);
  assert.equal(r.config.source, path);
  assert.equal(r.config.hypervisor.qemu.defaultMemoryMiB, 512);
  assert.equal(r.config.hypervisor.qemu.defaultVcpus, 1, "a default the file does not set");
  const k = r.assets.assets.find((a) => a.role === "kernel");
  assert.deepEqual([k?.exists, k?.size, k?.manifest], [true, 19, "no-manifest"]);
  assert.match(renderEnv(r), /defaultMemoryMiB = 512/);
  assert.match(renderEnv(r), /\[config\.hypervisor\.qemu\]/);
  assert.deepEqual(r.config.ignoredKeys, ["runtime.enable_debug"], "a key nothing acts on yet is shown");
  assert.match(renderEnv(r), /ignored_keys = \["runtime\.enable_debug"\]/);
});

test("the text shows every section of the config, [config.factory] included", async () => {
  const path = join(dir, "factory.toml");
  writeFileSync(path, `[factory]\nenable_template = true\ntemplate_path = "${dir}/t"\n`);
  const r = await collectEnv(path);
  const text = renderEnv(r);
  for (const name of Object.keys(r.config).filter((k) => !["source", "ignoredKeys", "hypervisor"].includes(k))) {
    assert.match(text, new RegExp(`^\\[config\\.${name}\\]$`, "m"), `section config.${name}`);
  }
  assert.match(
    text,
    /\[config\.factory\]\n {2}enableTemplate = true\n {2}templatePath = ".*\/t"\n {2}vmCacheNumber = 0\n/,
  );
});

test("`hako env --json` prints the same report", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "env", "--json"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { host: { accelerator: string; qemuVersion: string | null } };
  assert.ok(["kvm", "tcg"].includes(report.host.accelerator));
  assert.match(report.host.qemuVersion ?? "", /QEMU emulator version/);
});
